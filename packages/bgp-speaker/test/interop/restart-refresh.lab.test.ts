// Graceful restart and route refresh of caracal-bgpd against BIRD 2, with traffic across:
//   client (10.5.0.2) — bird (router, AS 4200000001) — us (router, caracal-bgpd AS 4200000002) — svc (10.6.0.2)
// We originate svc's subnet 10.6.0.0/24; BIRD announces the client subnet and a few statics.
// Graceful restart: caracal-bgpd is killed with SIGKILL while the client pings svc; BIRD keeps our route
// (stale), both kernels keep forwarding, so the ping loses (almost) nothing; caracal-bgpd restarts with the
// same config, the session comes back, routes reconcile, and a route BIRD withdrew while we were down
// (kept in our kernel from the previous run) is swept after End-of-RIB.
// Route refresh: our import policy is changed in the file and SIGHUP sent: caracal-bgpd sends
// ROUTE-REFRESH, BIRD re-sends its routes, the newly accepted prefix appears and the newly rejected one
// disappears, and the session never drops.
import { type Topology, waitUntil } from '@caracal/lab';
import { describeLab, useLab } from '@caracal/lab/vitest';
import { beforeAll, expect, it } from 'vitest';
import { BirdDaemon, birdPreamble, birdStatics, buildSpeaker, CaracalBgpd, kernelRoutes } from './peers.js';

const OUR_AS = 4200000002;
const BIRD_AS = 4200000001;

const topology: Topology = {
  name: 'caracal-bgpd graceful restart and route refresh',
  routers: [{ name: 'bird' }, { name: 'us' }],
  hosts: [
    { name: 'client', routes: [{ to: 'default', via: '10.5.0.1' }] },
    { name: 'svc', routes: [{ to: 'default', via: '10.6.0.1' }] },
  ],
  links: [
    {
      a: { host: 'client', interface: 'eth0', addresses: ['10.5.0.2/24'] },
      b: { host: 'bird', interface: 'client', addresses: ['10.5.0.1/24'] },
    },
    {
      a: { host: 'bird', interface: 'us', addresses: ['10.1.0.1/24'] },
      b: { host: 'us', interface: 'bird', addresses: ['10.1.0.2/24'] },
    },
    {
      a: { host: 'us', interface: 'svc', addresses: ['10.6.0.1/24'] },
      b: { host: 'svc', interface: 'eth0', addresses: ['10.6.0.2/24'] },
    },
  ],
};

/** BIRD's config; `withKeep4 = false` is the config it restarts with in the peer-restart test. */
const birdConfig = (withKeep4: boolean) => `${birdPreamble('10.1.0.1')}
protocol direct { ipv4; interface "client"; }
${withKeep4 ? birdStatics('keep4', 'ipv4', ['10.44.0.0/24']) : ''}
${birdStatics('gone4', 'ipv4', ['10.45.0.0/24'])}
${birdStatics('refresh4', 'ipv4', ['10.46.0.0/24', '10.47.0.0/24'])}
protocol bgp caracal {
  local 10.1.0.1 as ${BIRD_AS};
  neighbor 10.1.0.2 as ${OUR_AS};
  hold time 9;
  connect retry time 1;
  error wait time 1,2;
  graceful restart on;
  ipv4 { import all; export where source = RTS_STATIC || source = RTS_DEVICE; };
}
`;

/** A policy term `{name, match, then: {action}}` (built by entries: a literal `then` key reads as a thenable). */
function policyTerm(name: string, match: Record<string, unknown>, action: 'accept' | 'reject') {
  return Object.fromEntries([
    ['name', name],
    ['match', match],
    ['then', { action }],
  ]);
}

/** Our config; `reject` is the prefix our import policy refuses. */
function ourConfig(reject: string) {
  return {
    asNumber: OUR_AS,
    routerId: '10.1.0.2',
    listen: { address: '0.0.0.0', port: 179 },
    kernel: { install: true },
    gracefulRestart: { enabled: true, restartTime: 60 },
    originate: [{ prefix: '10.6.0.0/24' }],
    peers: [
      {
        name: 'bird',
        address: '10.1.0.1',
        asNumber: BIRD_AS,
        holdTime: 9,
        connectRetryTime: 1,
        families: ['ipv4-unicast'],
        import: [
          policyTerm('refused', { prefix: [reject] }, 'reject'),
          policyTerm('rest', { prefix: [{ prefix: '0.0.0.0/0', le: 32 }] }, 'accept'),
        ],
        export: { action: 'accept' },
      },
    ],
  };
}

const ourKernel = async () =>
  (await kernelRoutes(lab(), 'us', { family: 4, protocol: 201 })).map((r) => r.dst);
const birdKernel = async () =>
  (await kernelRoutes(lab(), 'bird', { family: 4, protocol: 'bird' })).map((r) => r.dst);
let lab: () => import('@caracal/lab').Lab;

describeLab('caracal-bgpd graceful restart and route refresh with BIRD 2', () => {
  lab = useLab(topology);
  let us: CaracalBgpd;
  let bird: BirdDaemon;

  beforeAll(async () => {
    await buildSpeaker();
    bird = await BirdDaemon.start(lab(), 'bird', birdConfig(true));
    us = await CaracalBgpd.start(lab(), 'us', ourConfig('10.46.0.0/24'));
    await us.waitEstablished('bird');
    await bird.waitEstablished('caracal');
  });

  it('forwards client → svc over the routes each side learned', async () => {
    await waitUntil(
      'our kernel to have BIRD’s routes',
      async () => {
        const routes = await ourKernel();
        return (
          ['10.5.0.0/24', '10.44.0.0/24', '10.45.0.0/24', '10.47.0.0/24'].every((p) => routes.includes(p)) ||
          undefined
        );
      },
      { timeoutMs: 20_000 },
    );
    expect(await ourKernel()).not.toContain('10.46.0.0/24');
    await waitUntil(
      'BIRD’s kernel to have 10.6.0.0/24',
      async () => (await birdKernel()).includes('10.6.0.0/24') || undefined,
      { timeoutMs: 20_000 },
    );
    const peer = await us.peer('bird');
    expect(peer.gracefulRestart.negotiated).toBe(true);
    expect((await lab().ping('client', '10.6.0.2')).ok).toBe(true);
  });

  it('graceful restart: SIGKILL while pinging, BIRD keeps our route stale, traffic flows, restart reconciles and sweeps', async () => {
    const pinging = lab().exec('client', ['ping', '-n', '-i', '0.1', '-c', '200', '-W', '1', '10.6.0.2'], {
      timeoutMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 2000));
    await us.kill9();
    // BIRD keeps our prefix (stale) and in its kernel; the session is down.
    const during = await waitUntil(
      'BIRD to see the session go down',
      async () => {
        const details = await bird.protocolDetails('caracal');
        return /Established/.test((await bird.protocol('caracal')).info) ? undefined : details;
      },
      { timeoutMs: 15_000 },
    );
    const stale = (await bird.routes('master4', 'caracal')).find((r) => r.prefix === '10.6.0.0/24');
    expect(stale, `BIRD dropped our route at once; protocol:\n${during}`).toBeDefined();
    expect(await birdKernel()).toContain('10.6.0.0/24');
    // Our kernel still forwards (nobody removed our routes); meanwhile BIRD withdraws one of its prefixes.
    expect(await ourKernel()).toContain('10.45.0.0/24');
    await bird.birdc('disable', 'gone4');
    await new Promise((r) => setTimeout(r, 2000));
    expect(await birdKernel()).toContain('10.6.0.0/24');

    await us.restart();
    await us.waitEstablished('bird');
    await bird.waitEstablished('caracal');
    const result = await pinging;
    const counts = /(\d+) packets transmitted, (\d+) received/.exec(result.stdout);
    expect(counts, result.stdout + result.stderr).not.toBeNull();
    const lost = Number(counts?.[1]) - Number(counts?.[2]);
    console.log(
      `graceful restart: ping client → svc lost ${lost} of ${counts?.[1]} packets across kill -9 and restart`,
    );
    expect(lost).toBeLessThanOrEqual(2);

    // Reconciled: the prefix BIRD withdrew while we were down is swept from our kernel, the rest stays.
    await waitUntil(
      '10.45.0.0/24 swept from our kernel',
      async () => ((await ourKernel()).includes('10.45.0.0/24') ? undefined : true),
      { timeoutMs: 70_000 },
    );
    expect(await ourKernel()).toEqual(
      expect.arrayContaining(['10.5.0.0/24', '10.44.0.0/24', '10.47.0.0/24']),
    );
    await waitUntil('restart to complete', async () => ((await us.status()).restarting ? undefined : true), {
      timeoutMs: 70_000,
    });
    const row = (await us.routes()).find((r) => r.prefix === '10.44.0.0/24');
    expect(row?.paths[0]?.stale).toBe(false);
    expect(row?.installed).toBe(true);
    // BIRD has our route again, fresh.
    const again = (await bird.routes('master4', 'caracal')).find((r) => r.prefix === '10.6.0.0/24');
    expect(again).toBeDefined();
    expect((await lab().ping('client', '10.6.0.2')).ok).toBe(true);
  });

  it('route refresh: a new import policy via SIGHUP sends ROUTE-REFRESH and BIRD’s re-sent routes are re-evaluated, session up', async () => {
    const before = await us.peer('bird');
    const birdSince = (await bird.protocol('caracal')).info;
    expect(await ourKernel()).not.toContain('10.46.0.0/24');
    us.reload(ourConfig('10.47.0.0/24'));
    await waitUntil(
      '10.46.0.0/24 accepted into our kernel',
      async () => (await ourKernel()).includes('10.46.0.0/24') || undefined,
      { timeoutMs: 20_000 },
    );
    await waitUntil(
      '10.47.0.0/24 gone from our kernel',
      async () => ((await ourKernel()).includes('10.47.0.0/24') ? undefined : true),
      { timeoutMs: 20_000 },
    );
    const after = await us.peer('bird');
    expect(after.messagesOut.routeRefresh).toBeGreaterThan(before.messagesOut.routeRefresh);
    expect(after.state).toBe('Established');
    expect(after.flaps).toBe(before.flaps);
    expect(after.uptimeSeconds ?? 0).toBeGreaterThanOrEqual(before.uptimeSeconds ?? 0);
    expect((await bird.protocol('caracal')).info).toBe(birdSince);
    const routes = await us.routes();
    expect(routes.find((r) => r.prefix === '10.46.0.0/24')?.paths[0]?.from).toBe('bird');
    expect(routes.find((r) => r.prefix === '10.47.0.0/24')).toBeUndefined();
  });

  it('peer graceful restart: BIRD killed -9 and restarted with -R: its routes stay (stale) in our kernel, then what it no longer has is swept', async () => {
    await bird.process.stop({ signal: 'SIGKILL' });
    const restarting = await waitUntil(
      'us to see BIRD restarting',
      async () => {
        const row = await us.peer('bird');
        return row.state !== 'Established' && row.gracefulRestart.peerRestarting ? row : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(restarting.prefixes.stale).toBeGreaterThan(0);
    const stale = (await us.routes('10.44.0.0/24')).find((r) => r.prefix === '10.44.0.0/24');
    expect(stale?.paths[0]?.stale).toBe(true);
    expect(await ourKernel()).toEqual(
      expect.arrayContaining(['10.5.0.0/24', '10.44.0.0/24', '10.46.0.0/24']),
    );
    // BIRD comes back as a restarting speaker, without 10.44.0.0/24 in its config.
    bird = await BirdDaemon.start(lab(), 'bird', birdConfig(false), 'bird-restarted', ['-R']);
    await us.waitEstablished('bird');
    await waitUntil(
      '10.44.0.0/24 swept from our kernel',
      async () => ((await ourKernel()).includes('10.44.0.0/24') ? undefined : true),
      { timeoutMs: 60_000 },
    );
    await waitUntil(
      'no stale paths left',
      async () => ((await us.peer('bird')).prefixes.stale === 0 ? true : undefined),
      { timeoutMs: 60_000 },
    );
    expect(await ourKernel()).toEqual(
      expect.arrayContaining(['10.5.0.0/24', '10.45.0.0/24', '10.46.0.0/24']),
    );
    const fresh = (await us.routes('10.5.0.0/24')).find((r) => r.prefix === '10.5.0.0/24');
    expect(fresh?.paths[0]?.stale).toBe(false);
  });

  it('logged no errors along the way', () => {
    expect(us.logLines(50)).toEqual([]);
  });
});
