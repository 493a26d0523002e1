// caracal-bgpd between real peers: BIRD 2 (eBGP, 4-octet AS 4200000001, an IPv4 session over IPv4 and an
// IPv6 session over IPv6), GoBGP (eBGP AS 65001, same two sessions) and a second BIRD as an iBGP peer
// (our AS 4200000002). Proves: every session comes up; routes go both ways in both families and land in
// each kernel (ours: proto 201; BIRD: proto bird; GoBGP has no zebra here, so its RIB is checked);
// routes transit us between BIRD and GoBGP with our AS prepended; iBGP gets eBGP routes (next hop self)
// and we learn the iBGP peer's route; withdrawals propagate through us; cutting the veths expires the
// hold timer on both sides and removes the routes; restoring them brings the sessions back.
import { type Topology, waitUntil } from '@caracal/lab';
import { describeLab, useLab } from '@caracal/lab/vitest';
import { beforeAll, expect, it } from 'vitest';
import {
  BirdDaemon,
  birdPreamble,
  birdStatics,
  buildSpeaker,
  CaracalBgpd,
  GobgpDaemon,
  gobgpAsPath,
  gobgpConfig,
  gobgpNextHop,
  kernelRoutes,
} from './peers.js';

const OUR_AS = 4200000002;
const BIRD_AS = 4200000001;
const GOBGP_AS = 65001;
const HOLD = 6;

// BIRD and GoBGP reach us over bridges (segments), so cutting our side of the link (admin down) leaves
// their carrier up: BIRD shuts a direct session at once when its own link goes down ("Link down"), and
// the point here is the hold timer.
const topology: Topology = {
  name: 'caracal-bgpd exchange with BIRD, GoBGP, iBGP BIRD',
  segments: [{ name: 'sbird' }, { name: 'sgobgp' }],
  routers: [
    {
      name: 'us',
      interfaces: [
        { name: 'bird', segment: 'sbird', addresses: ['10.1.0.2/24', 'fd00:1::2/64'] },
        { name: 'gobgp', segment: 'sgobgp', addresses: ['10.2.0.2/24', 'fd00:2::2/64'] },
      ],
    },
  ],
  hosts: [
    {
      name: 'bird',
      interfaces: [{ name: 'eth0', segment: 'sbird', addresses: ['10.1.0.1/24', 'fd00:1::1/64'] }],
    },
    {
      name: 'gobgp',
      interfaces: [{ name: 'eth0', segment: 'sgobgp', addresses: ['10.2.0.1/24', 'fd00:2::1/64'] }],
    },
    { name: 'ibird' },
  ],
  links: [
    {
      a: { host: 'us', interface: 'ibird', addresses: ['10.3.0.2/24'] },
      b: { host: 'ibird', interface: 'eth0', addresses: ['10.3.0.1/24'] },
    },
  ],
};

const accept = { action: 'accept' };
function ourConfig(originate: readonly string[]) {
  return {
    asNumber: OUR_AS,
    routerId: '10.1.0.2',
    listen: { address: '::', port: 179 },
    kernel: { install: true },
    originate: originate.map((prefix) => ({ prefix })),
    peers: [
      {
        name: 'bird4',
        address: '10.1.0.1',
        asNumber: BIRD_AS,
        holdTime: HOLD,
        connectRetryTime: 1,
        families: ['ipv4-unicast'],
        import: accept,
        export: accept,
      },
      {
        name: 'bird6',
        address: 'fd00:1::1',
        asNumber: BIRD_AS,
        holdTime: HOLD,
        connectRetryTime: 1,
        families: ['ipv6-unicast'],
        import: accept,
        export: accept,
      },
      {
        name: 'gobgp4',
        address: '10.2.0.1',
        asNumber: GOBGP_AS,
        holdTime: HOLD,
        connectRetryTime: 1,
        families: ['ipv4-unicast'],
        import: accept,
        export: accept,
      },
      {
        name: 'gobgp6',
        address: 'fd00:2::1',
        asNumber: GOBGP_AS,
        holdTime: HOLD,
        connectRetryTime: 1,
        families: ['ipv6-unicast'],
        import: accept,
        export: accept,
      },
      {
        name: 'ibird',
        address: '10.3.0.1',
        asNumber: OUR_AS,
        holdTime: HOLD,
        connectRetryTime: 1,
        nextHop: 'self',
        families: ['ipv4-unicast'],
        import: accept,
        export: accept,
      },
    ],
  };
}

// BIRD retries quickly after an error (defaults: 60 s error wait, 120 s connect retry), but not so quickly
// that its "Last error: Hold timer expired" is overwritten (by a failed reconnect) before we look.
const BIRD_TIMERS = 'hold time 6; connect retry time 1; error wait time 5,10;';

const BIRD_CONFIG = `${birdPreamble('10.1.0.1')}
${birdStatics('statics4', 'ipv4', ['10.11.0.0/24', '10.11.1.0/24'])}
${birdStatics('statics6', 'ipv6', ['2001:db8:11::/48'])}
protocol bgp caracal4 {
  local 10.1.0.1 as ${BIRD_AS};
  neighbor 10.1.0.2 as ${OUR_AS};
  ${BIRD_TIMERS}
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp caracal6 {
  local fd00:1::1 as ${BIRD_AS};
  neighbor fd00:1::2 as ${OUR_AS};
  ${BIRD_TIMERS}
  ipv6 { import all; export where source = RTS_STATIC; };
}
`;

const IBIRD_CONFIG = `${birdPreamble('10.3.0.1')}
${birdStatics('statics4', 'ipv4', ['10.33.0.0/24'])}
protocol bgp caracal {
  local 10.3.0.1 as ${OUR_AS};
  neighbor 10.3.0.2 as ${OUR_AS};
  ${BIRD_TIMERS}
  # iBGP is multihop with recursive next hops by default, and this BIRD has no IGP table: we are adjacent.
  direct;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`;

const hasRoute = async (node: string, family: 4 | 6, protocol: string | number, prefix: string) =>
  (await kernelRoutes(lab(), node, { family, protocol })).find((route) => route.dst === prefix);
let lab: () => import('@caracal/lab').Lab;

describeLab('caracal-bgpd ↔ BIRD 2 and GoBGP (eBGP v4/v6, iBGP, 4-octet AS)', () => {
  lab = useLab(topology);
  let us: CaracalBgpd;
  let bird: BirdDaemon;
  let ibird: BirdDaemon;
  let gobgp: GobgpDaemon;

  beforeAll(async () => {
    await buildSpeaker();
    // Linux drops an interface's global IPv6 addresses when it is set down, unless told to keep them.
    await lab().exec(
      'us',
      ['sysctl', '-qw', 'net.ipv6.conf.bird.keep_addr_on_down=1', 'net.ipv6.conf.gobgp.keep_addr_on_down=1'],
      { check: true },
    );
    bird = await BirdDaemon.start(lab(), 'bird', BIRD_CONFIG);
    ibird = await BirdDaemon.start(lab(), 'ibird', IBIRD_CONFIG);
    gobgp = await GobgpDaemon.start(
      lab(),
      'gobgp',
      gobgpConfig({
        asNumber: GOBGP_AS,
        routerId: '10.2.0.1',
        neighbors: [
          { address: '10.2.0.2', peerAs: OUR_AS, holdTime: HOLD, families: ['ipv4-unicast'] },
          { address: 'fd00:2::2', peerAs: OUR_AS, holdTime: HOLD, families: ['ipv6-unicast'] },
        ],
      }),
    );
    us = await CaracalBgpd.start(lab(), 'us', ourConfig(['10.99.0.0/24', '2001:db8:99::/48']));
  });

  it('brings every session up on both sides with the 4-octet ASes', async () => {
    for (const name of ['bird4', 'bird6', 'gobgp4', 'gobgp6', 'ibird']) {
      const row = await us.waitEstablished(name);
      expect(row.localAs).toBe(OUR_AS);
    }
    expect((await us.peer('bird4')).peerAs).toBe(BIRD_AS);
    expect((await us.peer('bird4')).kind).toBe('ebgp');
    expect((await us.peer('ibird')).kind).toBe('ibgp');
    await bird.waitEstablished('caracal4');
    await bird.waitEstablished('caracal6');
    await ibird.waitEstablished('caracal');
    await gobgp.waitEstablished('10.2.0.2');
    await gobgp.waitEstablished('fd00:2::2');
  });

  it('learns BIRD’s IPv4 and IPv6 routes into the Loc-RIB and our kernel (proto 201)', async () => {
    const v4 = await waitUntil('10.11.0.0/24 in our kernel', () => hasRoute('us', 4, 201, '10.11.0.0/24'), {
      timeoutMs: 20_000,
    });
    expect(v4.gateway).toBe('10.1.0.1');
    expect(await hasRoute('us', 4, 201, '10.11.1.0/24')).toBeDefined();
    const v6 = await waitUntil(
      '2001:db8:11::/48 in our kernel',
      () => hasRoute('us', 6, 201, '2001:db8:11::/48'),
      { timeoutMs: 20_000 },
    );
    // BIRD sends its global and link-local next hop; either is right, the link-local one needs the device.
    expect(v6.gateway === 'fd00:1::1' || (v6.gateway?.startsWith('fe80:') && v6.dev === 'bird')).toBe(true);
    const rows = await us.routes();
    const row = rows.find((r) => r.prefix === '10.11.0.0/24');
    expect(row?.paths[0]).toMatchObject({ from: 'bird4', asPath: String(BIRD_AS), best: true });
    expect(row?.installed).toBe(true);
  });

  it('learns GoBGP’s routes and passes them on to BIRD (kernel) with our AS prepended', async () => {
    await gobgp.addRoute('ipv4', '10.22.0.0/24');
    await gobgp.addRoute('ipv6', '2001:db8:22::/48');
    const ours = await waitUntil('10.22.0.0/24 in our kernel', () => hasRoute('us', 4, 201, '10.22.0.0/24'), {
      timeoutMs: 20_000,
    });
    expect(ours.gateway).toBe('10.2.0.1');
    await waitUntil('2001:db8:22::/48 in our kernel', () => hasRoute('us', 6, 201, '2001:db8:22::/48'), {
      timeoutMs: 20_000,
    });
    const birds = await waitUntil(
      '10.22.0.0/24 in BIRD’s kernel',
      () => hasRoute('bird', 4, 'bird', '10.22.0.0/24'),
      { timeoutMs: 20_000 },
    );
    expect(birds.gateway).toBe('10.1.0.2');
    await waitUntil(
      '2001:db8:22::/48 in BIRD’s kernel',
      () => hasRoute('bird', 6, 'bird', '2001:db8:22::/48'),
      { timeoutMs: 20_000 },
    );
    const inBird = (await bird.routes('master4', 'caracal4')).find((r) => r.prefix === '10.22.0.0/24');
    expect(inBird?.attributes['BGP.as_path']).toBe(`${OUR_AS} ${GOBGP_AS}`);
  });

  it('passes BIRD’s routes on to GoBGP and announces our originated prefixes to both', async () => {
    const rib4 = await waitUntil(
      'GoBGP to have 10.11.0.0/24 and 10.99.0.0/24',
      async () => {
        const rib = await gobgp.rib('ipv4');
        return rib['10.11.0.0/24'] && rib['10.99.0.0/24'] ? rib : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const transit = rib4['10.11.0.0/24']?.[0];
    expect(transit && gobgpAsPath(transit)).toEqual([OUR_AS, BIRD_AS]);
    expect(transit && gobgpNextHop(transit)).toBe('10.2.0.2');
    const originated = rib4['10.99.0.0/24']?.[0];
    expect(originated && gobgpAsPath(originated)).toEqual([OUR_AS]);
    const rib6 = await waitUntil(
      'GoBGP to have 2001:db8:11::/48 and 2001:db8:99::/48',
      async () => {
        const rib = await gobgp.rib('ipv6');
        return rib['2001:db8:11::/48'] && rib['2001:db8:99::/48'] ? rib : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(rib6['2001:db8:99::/48']?.[0] && gobgpNextHop(rib6['2001:db8:99::/48'][0])).toBe('fd00:2::2');
    const birdKernel = await waitUntil(
      '10.99.0.0/24 in BIRD’s kernel',
      () => hasRoute('bird', 4, 'bird', '10.99.0.0/24'),
      { timeoutMs: 20_000 },
    );
    expect(birdKernel.gateway).toBe('10.1.0.2');
    await waitUntil(
      '2001:db8:99::/48 in BIRD’s kernel',
      () => hasRoute('bird', 6, 'bird', '2001:db8:99::/48'),
      { timeoutMs: 20_000 },
    );
  });

  it('iBGP: the iBGP BIRD gets eBGP routes with next hop self and unchanged AS path; we learn its route', async () => {
    const fromIbird = await waitUntil(
      '10.33.0.0/24 in our kernel',
      () => hasRoute('us', 4, 201, '10.33.0.0/24'),
      { timeoutMs: 20_000 },
    );
    expect(fromIbird.gateway).toBe('10.3.0.1');
    const row = (await us.routes()).find((r) => r.prefix === '10.33.0.0/24');
    expect(row?.paths[0]).toMatchObject({ from: 'ibird', asPath: '', localPref: 100 });
    const routes = await waitUntil(
      'the iBGP BIRD to have 10.11.0.0/24 and 10.22.0.0/24',
      async () => {
        const all = await ibird.routes('master4', 'caracal');
        return all.some((r) => r.prefix === '10.11.0.0/24') && all.some((r) => r.prefix === '10.22.0.0/24')
          ? all
          : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const fromBird = routes.find((r) => r.prefix === '10.11.0.0/24');
    expect(fromBird?.attributes['BGP.as_path']).toBe(String(BIRD_AS));
    expect(fromBird?.attributes['BGP.next_hop']).toBe('10.3.0.2');
    expect(fromBird?.attributes['BGP.local_pref']).toBeDefined();
    expect(
      await waitUntil('10.22.0.0/24 in the iBGP BIRD’s kernel', () =>
        hasRoute('ibird', 4, 'bird', '10.22.0.0/24'),
      ),
    ).toMatchObject({ gateway: '10.3.0.2' });
  });

  it('propagates withdrawals both ways (GoBGP → us → BIRD, BIRD → us → GoBGP, ours via SIGHUP)', async () => {
    await gobgp.deleteRoute('ipv4', '10.22.0.0/24');
    await waitUntil(
      '10.22.0.0/24 gone from our kernel',
      async () => ((await hasRoute('us', 4, 201, '10.22.0.0/24')) ? undefined : true),
      { timeoutMs: 20_000 },
    );
    await waitUntil(
      '10.22.0.0/24 gone from BIRD’s kernel',
      async () => ((await hasRoute('bird', 4, 'bird', '10.22.0.0/24')) ? undefined : true),
      { timeoutMs: 20_000 },
    );
    await bird.birdc('disable', 'statics6');
    await waitUntil(
      '2001:db8:11::/48 gone from our kernel',
      async () => ((await hasRoute('us', 6, 201, '2001:db8:11::/48')) ? undefined : true),
      { timeoutMs: 20_000 },
    );
    await waitUntil(
      '2001:db8:11::/48 gone from GoBGP',
      async () => ((await gobgp.rib('ipv6'))['2001:db8:11::/48'] ? undefined : true),
      { timeoutMs: 20_000 },
    );
    us.reload(ourConfig(['2001:db8:99::/48']));
    await waitUntil(
      '10.99.0.0/24 gone from BIRD’s kernel',
      async () => ((await hasRoute('bird', 4, 'bird', '10.99.0.0/24')) ? undefined : true),
      { timeoutMs: 20_000 },
    );
    await waitUntil(
      '10.99.0.0/24 gone from GoBGP',
      async () => ((await gobgp.rib('ipv4'))['10.99.0.0/24'] ? undefined : true),
      { timeoutMs: 20_000 },
    );
    // Untouched routes stay, and no session dropped.
    expect(await hasRoute('us', 4, 201, '10.11.0.0/24')).toBeDefined();
    expect(await hasRoute('us', 6, 201, '2001:db8:22::/48')).toBeDefined();
    for (const name of ['bird4', 'bird6', 'gobgp4', 'gobgp6', 'ibird'])
      expect((await us.peer(name)).state).toBe('Established');
  });

  // (GoBGP's `neighbor … softresetin` re-applies its import policy to its own Adj-RIB-In and sends no
  // ROUTE-REFRESH — the fixture capture shows none from it — so BIRD is the one that asks.)
  it('answers ROUTE-REFRESH from BIRD (reload in) by re-sending its routes, session up', async () => {
    const birdBefore = await us.peer('bird4');
    await bird.birdc('reload', 'in', 'caracal4');
    const birdAfter = await waitUntil('our ROUTE-REFRESH counter from BIRD', async () => {
      const row = await us.peer('bird4');
      return row.messagesIn.routeRefresh > birdBefore.messagesIn.routeRefresh &&
        row.messagesOut.update > birdBefore.messagesOut.update
        ? row
        : undefined;
    });
    expect(birdAfter.flaps).toBe(birdBefore.flaps);
    // Nothing was lost on the way: BIRD still has what we announce.
    expect(await hasRoute('bird', 6, 'bird', '2001:db8:22::/48')).toBeDefined();
    expect((await bird.routes('master4', 'caracal4')).length).toBeGreaterThan(0);
    expect((await bird.protocol('caracal4')).info).toMatch(/^Established/);
  });

  it('cutting the links expires the hold timer on both sides, removes the routes, and the sessions come back', async () => {
    await lab().setLinkState('us', 'bird', 'down');
    await lab().setLinkState('us', 'gobgp', 'down');
    const expired = await waitUntil(
      'our sessions to BIRD and GoBGP to leave Established',
      async () => {
        const rows = (await us.status()).peers.filter((p) => p.name !== 'ibird');
        return rows.every((p) => p.state !== 'Established') ? rows : undefined;
      },
      { timeoutMs: HOLD * 1000 + 8000, intervalMs: 250 },
    );
    // NOTIFICATION code 4 is Hold Timer Expired (RFC 4271 §6.5).
    for (const row of expired)
      expect(`${row.name}: ${row.lastError}`).toMatch(/hold timer|NOTIFICATION 4\/0/i);
    const birdSide = await waitUntil(
      'BIRD to report the hold timer',
      async () => {
        const details = await bird.protocolDetails('caracal4');
        if (!/Last error:.*Hold timer expired/.test(details)) throw new Error(details);
        return details;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(birdSide).toMatch(/Hold timer expired/);
    await waitUntil(
      'GoBGP to leave established',
      async () => ((await gobgp.neighborStates()).get('10.2.0.2') === 'established' ? undefined : true),
      { timeoutMs: 15_000 },
    );
    expect(gobgp.process.log()).toMatch(/hold timer expired/i);
    // Their routes left our Loc-RIB (and the kernel); the iBGP session stayed up.
    const rows = await us.routes();
    expect(rows.find((r) => r.prefix === '10.11.0.0/24')).toBeUndefined();
    expect(rows.find((r) => r.prefix === '2001:db8:22::/48')).toBeUndefined();
    expect(await hasRoute('us', 4, 201, '10.11.0.0/24')).toBeUndefined();
    expect((await us.peer('ibird')).state).toBe('Established');

    await lab().setLinkState('us', 'bird', 'up');
    await lab().setLinkState('us', 'gobgp', 'up');
    for (const name of ['bird4', 'bird6', 'gobgp4', 'gobgp6']) await us.waitEstablished(name, 60_000);
    await waitUntil('10.11.0.0/24 back in our kernel', () => hasRoute('us', 4, 201, '10.11.0.0/24'), {
      timeoutMs: 20_000,
    });
  });

  it('logged no errors along the way', () => {
    expect(us.logLines(50)).toEqual([]);
  });
});
