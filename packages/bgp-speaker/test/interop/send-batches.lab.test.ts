// caracal-bgpd's send path against real peers: 20,000 originated prefixes, each with its own community
// (20,000 attribute sets: one ~60-octet UPDATE per prefix, written back to back into ~64 KiB batches that
// the update group's members share), sent to GoBGP 3.10 and BIRD 2.0.12 (eBGP, one update group).
// Proves: both peers receive every prefix with its own community, our AS path and next hop self; GoBGP
// counts exactly as many UPDATE messages received as we count sent (messagesOut.update stays exact when
// one socket write carries many UPDATEs); a reload that withdraws half and gives the other half new
// communities (withdrawals, then one UPDATE per changed set to established members) leaves both peers
// with exactly the new table, the sessions up; no error-level log line.
import { type Topology, waitUntil } from '@caracal/lab';
import { describeLab, useLab } from '@caracal/lab/vitest';
import { beforeAll, expect, it } from 'vitest';
import {
  BirdDaemon,
  birdPreamble,
  buildSpeaker,
  CaracalBgpd,
  GobgpDaemon,
  type GobgpPath,
  gobgpAsPath,
  gobgpConfig,
  gobgpNextHop,
} from './peers.js';

const PREFIXES = 20_000;
const OUR_AS = 65002;
const GOBGP_AS = 65001;
const BIRD_AS = 65003;
const US = '10.9.0.2';
const GOBGP = '10.9.0.1';
const BIRD = '10.9.0.3';

const topology: Topology = {
  name: 'caracal-bgpd sends 20k distinct attribute sets to GoBGP and BIRD',
  segments: [{ name: 'wire' }],
  hosts: [
    { name: 'us', interfaces: [{ name: 'eth0', segment: 'wire', addresses: [`${US}/24`] }] },
    { name: 'gobgp', interfaces: [{ name: 'eth0', segment: 'wire', addresses: [`${GOBGP}/24`] }] },
    { name: 'bird', interfaces: [{ name: 'eth0', segment: 'wire', addresses: [`${BIRD}/24`] }] },
  ],
};

/** The i-th /24 from 20.0.0.0. */
function prefixAt(i: number): string {
  const base = ((20 << 24) >>> 0) + i * 256;
  return `${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.0/24`;
}

/** Our originations: prefix i with community OUR_AS:community(i) (distinct values: distinct sets). */
function ourConfig(indices: readonly number[], community: (i: number) => number) {
  return {
    asNumber: OUR_AS,
    routerId: US,
    logLevel: 'info',
    listen: { address: US, port: 179 },
    kernel: { install: false },
    originate: indices.map((i) => ({ prefix: prefixAt(i), communities: [`${OUR_AS}:${community(i)}`] })),
    peers: [
      { name: 'gobgp', address: GOBGP, asNumber: GOBGP_AS },
      { name: 'bird', address: BIRD, asNumber: BIRD_AS },
    ].map((peer) => ({
      ...peer,
      holdTime: 30,
      families: ['ipv4-unicast'],
      import: { action: 'reject' },
      export: { action: 'accept' },
    })),
  };
}

const BIRD_CONFIG = `${birdPreamble(BIRD, { kernelExport: false })}
protocol bgp caracal {
  local ${BIRD} as ${BIRD_AS};
  neighbor ${US} as ${OUR_AS};
  hold time 30;
  ipv4 { import all; export none; };
}
`;

const range = (count: number, step = 1) =>
  Array.from({ length: Math.ceil(count / step) }, (_, k) => k * step);

describeLab('caracal-bgpd sending many distinct attribute sets to GoBGP and BIRD', () => {
  const lab = useLab(topology);
  let us: CaracalBgpd;
  let gobgp: GobgpDaemon;
  let bird: BirdDaemon;

  /** GoBGP's count of UPDATE messages received from us. */
  const gobgpUpdatesReceived = async () => {
    const neighbor = JSON.parse(await gobgp.gobgp('neighbor', US, '-j')) as {
      state: { messages?: { received?: { update?: number } } };
    };
    return neighbor.state.messages?.received?.update ?? 0;
  };

  /** What GoBGP and BIRD hold from us that differs from `expected` (prefix → community), AS path and next hop included. */
  const differences = async (expected: ReadonlyMap<string, number>): Promise<string[]> => {
    const wrong: string[] = [];
    if ((await gobgp.ribCount('ipv4')) !== expected.size) wrong.push('GoBGP: prefix count');
    if ((await bird.routeCount('master4', 'caracal')) !== expected.size) wrong.push('BIRD: prefix count');
    if (wrong.length > 0) return wrong;
    const rib = await gobgp.rib('ipv4');
    for (const [prefix, community] of expected) {
      const path: GobgpPath | undefined = rib[prefix]?.[0];
      const communities = path?.attrs.find((a) => a.type === 8)?.communities;
      if (
        path === undefined ||
        communities?.length !== 1 ||
        communities[0] !== ((OUR_AS << 16) | community) >>> 0 ||
        gobgpAsPath(path).join(' ') !== String(OUR_AS) ||
        gobgpNextHop(path) !== US
      )
        wrong.push(`GoBGP ${prefix}: ${JSON.stringify(path)}`);
    }
    const routes = await bird.routes('master4', 'caracal');
    if (routes.length !== expected.size) wrong.push(`BIRD: ${routes.length} routes parsed`);
    for (const route of routes) {
      const community = expected.get(route.prefix);
      if (
        community === undefined ||
        route.attributes['BGP.community'] !== `(${OUR_AS},${community})` ||
        route.attributes['BGP.as_path'] !== String(OUR_AS) ||
        route.attributes['BGP.next_hop'] !== US
      )
        wrong.push(`BIRD ${route.prefix}: ${route.text}`);
    }
    return wrong;
  };

  /** Waits for both peers to hold exactly `expected`; on timeout, fails showing the first differences. */
  const expectTables = async (expected: ReadonlyMap<string, number>) => {
    let last: string[] = [];
    try {
      await waitUntil(
        `GoBGP and BIRD to hold exactly our ${expected.size} prefixes and communities`,
        async () => {
          last = await differences(expected);
          return last.length === 0 ? true : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
    } finally {
      expect(last.slice(0, 5)).toEqual([]);
    }
  };

  beforeAll(async () => {
    await buildSpeaker();
    gobgp = await GobgpDaemon.start(
      lab(),
      'gobgp',
      gobgpConfig({
        asNumber: GOBGP_AS,
        routerId: GOBGP,
        neighbors: [{ address: US, peerAs: OUR_AS, holdTime: 30, families: ['ipv4-unicast'] }],
      }),
    );
    bird = await BirdDaemon.start(lab(), 'bird', BIRD_CONFIG);
    us = await CaracalBgpd.start(
      lab(),
      'us',
      ourConfig(range(PREFIXES), (i) => i),
    );
  });

  it(`sends all ${PREFIXES.toLocaleString('en-US')} prefixes, each with its own community, to both peers`, async () => {
    await us.waitEstablished('gobgp');
    await us.waitEstablished('bird');
    await gobgp.waitEstablished(US);
    await bird.waitEstablished('caracal');
    await expectTables(new Map(range(PREFIXES).map((i) => [prefixAt(i), i])));
    // One UPDATE per prefix plus End-of-RIB, counted one by one on both sides of batched writes.
    const sent = (await us.peer('gobgp')).messagesOut.update;
    expect(sent).toBeGreaterThanOrEqual(PREFIXES + 1);
    expect(await gobgpUpdatesReceived()).toBe(sent);
  });

  it('withdraws half and re-announces the other half with new communities to the established peers', async () => {
    const before = await us.peer('gobgp');
    const kept = range(PREFIXES, 2);
    const newCommunity = (i: number) => i + 30_000;
    us.reload(ourConfig(kept, newCommunity));
    await expectTables(new Map(kept.map((i) => [prefixAt(i), newCommunity(i)])));
    const after = await us.peer('gobgp');
    expect(after.state).toBe('Established');
    expect(after.flaps).toBe(before.flaps);
    // Withdrawals (packed) plus one UPDATE per changed set.
    expect(after.messagesOut.update - before.messagesOut.update).toBeGreaterThan(kept.length);
    await waitUntil(
      'GoBGP to count every UPDATE we sent',
      async () => ((await gobgpUpdatesReceived()) === after.messagesOut.update ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    expect((await us.peer('bird')).state).toBe('Established');
    expect(us.logLines(50)).toEqual([]);
  });
});
