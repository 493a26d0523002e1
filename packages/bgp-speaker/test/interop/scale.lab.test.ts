// caracal-bgpd receiving 100,000 prefixes from BIRD 2 (static routes generated into BIRD's config, all
// exported over one eBGP session): every prefix reaches our Adj-RIB-In, the Loc-RIB and the kernel
// (proto 201), with the right next hop; then BIRD withdraws them all and our kernel is empty again.
// How fast is measured in bench/src/bgpd.bench.ts, not here.
import { type Topology, waitUntil } from '@caracal/lab';
import { describeLab, useLab } from '@caracal/lab/vitest';
import { beforeAll, expect, it } from 'vitest';
import {
  BirdDaemon,
  birdPreamble,
  buildSpeaker,
  CaracalBgpd,
  kernelRouteCount,
  kernelRoutes,
} from './peers.js';

const PREFIXES = 100_000;
const OUR_AS = 65002;
const BIRD_AS = 65001;

/** The i-th /24 from 20.0.0.0 (100k of them end in 21.134.159.0/24). */
function prefixAt(i: number): string {
  const base = ((20 << 24) >>> 0) + i * 256;
  return `${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.0/24`;
}

const topology: Topology = {
  name: 'caracal-bgpd 100k prefixes from BIRD',
  hosts: [{ name: 'bird' }, { name: 'us' }],
  links: [
    {
      a: { host: 'bird', interface: 'eth0', addresses: ['10.1.0.1/24'] },
      b: { host: 'us', interface: 'eth0', addresses: ['10.1.0.2/24'] },
    },
  ],
};

describeLab('caracal-bgpd receiving 100k prefixes from BIRD 2', () => {
  const lab = useLab(topology);
  let us: CaracalBgpd;
  let bird: BirdDaemon;

  beforeAll(async () => {
    await buildSpeaker();
    const routes: string[] = [];
    for (let i = 0; i < PREFIXES; i++) routes.push(`  route ${prefixAt(i)} blackhole;`);
    bird = await BirdDaemon.start(
      lab(),
      'bird',
      `${birdPreamble('10.1.0.1', { kernelExport: false })}
protocol static many {
  ipv4;
${routes.join('\n')}
}
protocol bgp caracal {
  local 10.1.0.1 as ${BIRD_AS};
  neighbor 10.1.0.2 as ${OUR_AS};
  hold time 30;
  ipv4 { import none; export where source = RTS_STATIC; };
}
`,
    );
    us = await CaracalBgpd.start(lab(), 'us', {
      asNumber: OUR_AS,
      routerId: '10.1.0.2',
      logLevel: 'info',
      listen: { address: '10.1.0.2', port: 179 },
      kernel: { install: true },
      peers: [
        {
          name: 'bird',
          address: '10.1.0.1',
          asNumber: BIRD_AS,
          holdTime: 30,
          families: ['ipv4-unicast'],
          import: { action: 'accept' },
          export: { action: 'reject' },
        },
      ],
    });
  });

  it(`puts all ${PREFIXES.toLocaleString('en-US')} prefixes in the Loc-RIB and the kernel, and removes them on withdrawal`, async () => {
    expect(await bird.routeCount('master4', 'many')).toBe(PREFIXES);
    await us.waitEstablished('bird');
    const peer = await waitUntil(
      'all prefixes accepted into our Loc-RIB',
      async () => {
        const row = await us.peer('bird');
        return row.prefixes.accepted >= PREFIXES ? row : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(peer.prefixes.received).toBe(PREFIXES);
    expect(peer.prefixes.accepted).toBe(PREFIXES);
    expect((await us.status()).locRib.prefixes).toBe(PREFIXES);
    const installed = await waitUntil(
      'all prefixes in our kernel',
      async () => {
        const count = await kernelRouteCount(lab(), 'us', 4, 201);
        return count >= PREFIXES ? count : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    expect(installed).toBe(PREFIXES);
    // First, last and one in the middle, each via BIRD.
    for (const prefix of [prefixAt(0), prefixAt(PREFIXES / 2), prefixAt(PREFIXES - 1)]) {
      const [route] = (await us.routes(prefix)).filter((r) => r.prefix === prefix);
      expect(route?.installed, prefix).toBe(true);
      expect(route?.paths[0]?.nextHop, prefix).toBe('10.1.0.1');
    }
    const sample = (await kernelRoutes(lab(), 'us', { family: 4, protocol: 201 })).find(
      (r) => r.dst === prefixAt(PREFIXES - 1),
    );
    expect(sample?.gateway).toBe('10.1.0.1');
    expect((await us.peer('bird')).state).toBe('Established');

    await bird.birdc('disable', 'many');
    await waitUntil(
      'our kernel to be empty of proto 201',
      async () => ((await kernelRouteCount(lab(), 'us', 4, 201)) === 0 ? true : undefined),
      {
        timeoutMs: 120_000,
        intervalMs: 1000,
      },
    );
    expect((await us.status()).locRib.prefixes).toBe(0);
  });
});
