// Validates the interop harness itself on BIRD 2 ↔ GoBGP, without caracal-bgpd: both daemons start in
// their own namespaces, the IPv4 (over IPv4) and IPv6 (over IPv6) sessions come up, routes go both ways,
// BIRD's kernel gets GoBGP's routes (GoBGP has no zebra here: its RIB is checked instead), and
// withdrawals propagate. If this file fails, the interop tests' findings about caracal-bgpd mean nothing.
import { type Topology, waitUntil } from '@caracal/lab';
import { describeLab, useLab } from '@caracal/lab/vitest';
import { expect, it } from 'vitest';
import {
  BirdDaemon,
  birdPreamble,
  birdStatics,
  GobgpDaemon,
  gobgpAsPath,
  gobgpConfig,
  gobgpNextHop,
  kernelRoutes,
} from './peers.js';

const topology: Topology = {
  name: 'interop harness: BIRD and GoBGP',
  hosts: [{ name: 'bird' }, { name: 'gobgp' }],
  links: [
    {
      a: { host: 'bird', interface: 'eth0', addresses: ['10.77.0.1/24', 'fd00:77::1/64'] },
      b: { host: 'gobgp', interface: 'eth0', addresses: ['10.77.0.2/24', 'fd00:77::2/64'] },
    },
  ],
};

const BIRD_AS = 4200000001;
const GOBGP_AS = 65001;

describeLab('interop harness: BIRD 2 ↔ GoBGP', () => {
  const lab = useLab(topology);

  it('brings both sessions up, exchanges IPv4 and IPv6 routes into BIRD’s kernel and GoBGP’s RIB, and propagates withdrawals', async () => {
    const bird = await BirdDaemon.start(
      lab(),
      'bird',
      `${birdPreamble('10.77.0.1')}
${birdStatics('statics4', 'ipv4', ['10.20.0.0/24', '10.20.1.0/24'])}
${birdStatics('statics6', 'ipv6', ['2001:db8:20::/48'])}
protocol bgp gobgp4 {
  local 10.77.0.1 as ${BIRD_AS};
  neighbor 10.77.0.2 as ${GOBGP_AS};
  hold time 9;
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp gobgp6 {
  local fd00:77::1 as ${BIRD_AS};
  neighbor fd00:77::2 as ${GOBGP_AS};
  hold time 9;
  ipv6 { import all; export where source = RTS_STATIC; };
}
`,
    );
    const gobgp = await GobgpDaemon.start(
      lab(),
      'gobgp',
      gobgpConfig({
        asNumber: GOBGP_AS,
        routerId: '10.77.0.2',
        neighbors: [
          { address: '10.77.0.1', peerAs: BIRD_AS, families: ['ipv4-unicast'] },
          { address: 'fd00:77::1', peerAs: BIRD_AS, families: ['ipv6-unicast'] },
        ],
      }),
    );
    await bird.waitEstablished('gobgp4');
    await bird.waitEstablished('gobgp6');
    await gobgp.waitEstablished('10.77.0.1');
    await gobgp.waitEstablished('fd00:77::1');

    // BIRD → GoBGP: the statics with BIRD's 4-octet AS in the path.
    const rib4 = await waitUntil('GoBGP to learn BIRD’s IPv4 statics', async () => {
      const rib = await gobgp.rib('ipv4');
      return rib['10.20.0.0/24'] && rib['10.20.1.0/24'] ? rib : undefined;
    });
    const path = rib4['10.20.0.0/24']?.[0];
    expect(path && gobgpAsPath(path)).toEqual([BIRD_AS]);
    expect(path && gobgpNextHop(path)).toBe('10.77.0.1');
    const rib6 = await waitUntil('GoBGP to learn BIRD’s IPv6 static', async () => {
      const rib = await gobgp.rib('ipv6');
      return rib['2001:db8:20::/48'] ? rib : undefined;
    });
    expect(rib6['2001:db8:20::/48']?.[0] && gobgpNextHop(rib6['2001:db8:20::/48'][0])).toBe('fd00:77::1');

    // GoBGP → BIRD → BIRD's kernel.
    await gobgp.addRoute('ipv4', '10.30.0.0/24');
    await gobgp.addRoute('ipv6', '2001:db8:30::/48');
    const kernel4 = await waitUntil('BIRD’s kernel to get 10.30.0.0/24', async () =>
      (await kernelRoutes(lab(), 'bird', { family: 4, protocol: 'bird' })).find(
        (r) => r.dst === '10.30.0.0/24',
      ),
    );
    expect(kernel4.gateway).toBe('10.77.0.2');
    const kernel6 = await waitUntil('BIRD’s kernel to get 2001:db8:30::/48', async () =>
      (await kernelRoutes(lab(), 'bird', { family: 6, protocol: 'bird' })).find(
        (r) => r.dst === '2001:db8:30::/48',
      ),
    );
    expect(kernel6.gateway).toBe('fd00:77::2');
    const birdRoute = (await bird.routes('master4', 'gobgp4')).find((r) => r.prefix === '10.30.0.0/24');
    expect(birdRoute?.attributes['BGP.as_path']).toBe(String(GOBGP_AS));

    // Withdrawals both ways.
    await gobgp.deleteRoute('ipv4', '10.30.0.0/24');
    await waitUntil('BIRD’s kernel to lose 10.30.0.0/24', async () =>
      (await kernelRoutes(lab(), 'bird', { family: 4, protocol: 'bird' })).some(
        (r) => r.dst === '10.30.0.0/24',
      )
        ? undefined
        : true,
    );
    await bird.birdc('disable', 'statics4');
    await waitUntil('GoBGP to lose BIRD’s IPv4 statics', async () => {
      const rib = await gobgp.rib('ipv4');
      return rib['10.20.0.0/24'] || rib['10.20.1.0/24'] ? undefined : true;
    });
    // The IPv6 side is untouched by both withdrawals.
    expect(Object.keys(await gobgp.rib('ipv6'))).toContain('2001:db8:20::/48');
    expect((await kernelRoutes(lab(), 'bird', { family: 6, protocol: 'bird' })).map((r) => r.dst)).toContain(
      '2001:db8:30::/48',
    );
  });
});
