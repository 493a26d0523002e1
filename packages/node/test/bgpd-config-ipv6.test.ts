// Unit tests of caracal-node's dual-stack BGP output: an IPv4-only node's bgpd.yaml and peers.json stay byte
// for byte what the version before IPv6 routing wrote (fixtures rendered by it from the same inputs, which
// include IPv6 blocks, IPv6 pod addresses and an IPv6 BGPPeer), so upgrading the agent reloads no bgpd; a
// node with an IPv6 address gets, besides its unchanged IPv4 mesh sessions, an ipv6-unicast session to each
// node that also has one (between the IPv6 addresses, our address as localAddress, the higher address
// passive), originates its IPv6 blocks and borrowed /128s, and caracal-bgpd's parser accepts the file.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type BgpdConfig, parseConfig } from '@caracal/bgp-speaker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blocksToAdvertise } from '../src/agent/blocks-state.js';
import { borrowedAddressesToAdvertise, type LocalWorkload } from '../src/agent/workloads-state.js';
import { bgpdConfigFor, renderBgpdConfig } from '../src/bgpd-config.js';
import {
  type PeeringBgpPeer,
  type PeeringGlobal,
  type PeeringNode,
  type PeeringPlan,
  planPeerings,
} from '../src/peering.js';

const fixture = (name: string) => readFileSync(resolve(import.meta.dirname, 'fixtures', name), 'utf8');
const mesh: PeeringGlobal = { asNumber: 64512, nodeToNodeMeshEnabled: true, listenPort: 179 };

const AFFINE = ['10.65.1.64/26', 'fd00:65::/122', '10.65.0.0/26'];
const POOLS = [
  { cidr: '10.65.0.0/16', disableBGPExport: false },
  { cidr: 'fd00:65::/112', disableBGPExport: false },
];
const WORKLOADS: LocalWorkload[] = [
  { key: 'w1', ipNetworks: ['10.65.7.9/32', 'fd00:65::ff05/128'] },
  { key: 'w2', ipNetworks: ['10.65.0.5/32', 'fd00:65::5/128'] },
];
const BGP_PEERS: PeeringBgpPeer[] = [
  {
    name: 'tor',
    peerIp: '10.0.0.1',
    asNumber: 65000,
    holdTimeSeconds: 30,
    keepaliveTimeSeconds: 10,
    nextHopMode: 'Self',
    maxRestartTimeSeconds: 300,
  },
  { name: 'tor6', peerIp: 'fd00::1', peerPort: 1179, asNumber: 65000 },
];

/** bgpd.yaml of `self` as the agent renders it (blocks and borrowed addresses by the node's IPv6 address). */
function render(self: string, nodes: readonly PeeringNode[], bgpPeers = BGP_PEERS) {
  const plan = planPeerings(self, nodes, bgpPeers, mesh);
  const ipv6 = { ipv6: plan.localIpv6Address !== undefined };
  const blocks = blocksToAdvertise(AFFINE, POOLS, ipv6);
  const borrowed = borrowedAddressesToAdvertise(WORKLOADS, AFFINE, POOLS, ipv6);
  const { config } = bgpdConfigFor({
    nodeName: self,
    plan,
    listenPort: 179,
    blocks,
    borrowedAddresses: borrowed.prefixes,
    runDir: '/run/caracal',
    metricsPort: 9092,
    healthPort: 9097,
    logLevel: 'info',
    gracefulRestartSeconds: 120,
  });
  return { plan, text: renderBgpdConfig(self, config) };
}

function parsed(text: string): BgpdConfig {
  const result = parseConfig(text, 'bgpd.yaml');
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.reason}`).join('\n'));
  return result.config;
}

const peersJson = (plan: PeeringPlan, node: string) => `${JSON.stringify({ node, ...plan }, null, 2)}\n`;

describe('an IPv4-only node', () => {
  const nodes: PeeringNode[] = [
    { name: 'n1', ipv4Address: '10.0.0.11/24', labels: {} },
    { name: 'n2', ipv4Address: '10.0.0.12/24', labels: { rack: 'a' } },
    { name: 'n3', ipv4Address: '10.0.0.13/24', labels: {}, asNumber: 65003 },
  ];

  it('keeps bgpd.yaml and peers.json byte for byte as before IPv6 routing (no reload on upgrade)', () => {
    const { plan, text } = render('n2', nodes);
    expect(text).toBe(fixture('bgpd-ipv4-only.yaml'));
    expect(peersJson(plan, 'n2')).toBe(fixture('peers-ipv4-only.json'));
    expect(text).not.toContain('fd00:65');
    expect(text).not.toContain('families');
  });

  it('stays so when other nodes have IPv6 addresses (no IPv6 session without one of its own)', () => {
    const others = nodes.map((n) => (n.name === 'n2' ? n : { ...n, ipv6Address: `fd00::${n.name}1/64` }));
    expect(render('n2', others).text).toBe(fixture('bgpd-ipv4-only.yaml'));
  });
});

describe('a node with an IPv6 address', () => {
  const nodes: PeeringNode[] = [
    { name: 'n1', ipv4Address: '10.0.0.11/24', ipv6Address: 'fd00::11/64', labels: {} },
    { name: 'n2', ipv4Address: '10.0.0.12/24', ipv6Address: 'FD00:0::12/64', labels: {} },
    { name: 'n3', ipv4Address: '10.0.0.13/24', labels: {} },
    { name: 'n4', ipv4Address: '10.0.0.14/24', ipv6Address: 'fd00::4/64', labels: {} },
  ];

  it('adds an ipv6-unicast session per IPv6 node, keeps the IPv4 ones, originates its IPv6 block and /128s', () => {
    const { text } = render('n2', nodes, []);
    const config = parsed(text);
    expect(config.listen.addresses).toEqual(['10.0.0.12', 'fd00::12']);
    expect(
      config.peers.map((p) => [p.name, p.address, p.passive, [...p.families], p.localAddress ?? null]),
    ).toEqual([
      ['mesh-n1', '10.0.0.11', true, ['ipv4-unicast'], null],
      ['mesh-n3', '10.0.0.13', false, ['ipv4-unicast'], null],
      ['mesh-n4', '10.0.0.14', false, ['ipv4-unicast'], null],
      // IPv6 sessions: the higher IPv6 address waits (fd00::12 > fd00::4, fd00::12 > fd00::11).
      ['mesh6-n4', 'fd00::4', true, ['ipv6-unicast'], 'fd00::12'],
      ['mesh6-n1', 'fd00::11', true, ['ipv6-unicast'], 'fd00::12'],
    ]);
    expect(config.originate.map((o) => [String(o.prefix), o.blackhole])).toEqual([
      ['10.65.0.0/26', false],
      ['10.65.1.64/26', false],
      ['10.65.7.9/32', false],
      ['fd00:65::/122', false],
      ['fd00:65::ff05/128', false],
    ]);
    // The IPv4 mesh peers are written exactly as for an IPv4-only node.
    expect(text).toContain(
      '  - name: mesh-n1\n    address: 10.0.0.11\n    asNumber: 64512\n    port: 179\n    passive: true\n  - name: mesh-n3',
    );
    expect(text).toContain(
      '  - name: mesh6-n1\n    address: fd00::11\n    asNumber: 64512\n    port: 179\n    passive: true\n    families:\n      - ipv6-unicast\n    localAddress: fd00::12\n',
    );
  });

  it("warns about another node's IPv6 address that is no IPv6 address, and plans no IPv6 session to it", () => {
    const bad = nodes.map((n) => (n.name === 'n1' ? { ...n, ipv6Address: '10.9.9.9/24' } : n));
    const plan = planPeerings('n2', bad, [], mesh);
    expect(plan.peers.map((p) => p.name)).not.toContain('mesh6-n1');
    expect(plan.warnings).toEqual([
      'node n1 spec.bgp.ipv6Address "10.9.9.9/24": is an IPv4 address, not IPv6: no IPv6 session from n2',
    ]);
  });

  it('with the mesh off, plans no IPv6 session either', () => {
    const plan = planPeerings('n2', nodes, [], { ...mesh, nodeToNodeMeshEnabled: false });
    expect(plan.peers).toEqual([]);
  });

  it('for any cluster, IPv6 sessions exist exactly between nodes that both have an IPv6 address, one side active', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 250 }), { minLength: 1, maxLength: 7 }),
        fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
        fc.array(fc.integer({ min: 1, max: 0xffff }), { minLength: 7, maxLength: 7 }),
        (hosts, hasIpv6, v6Hosts) => {
          const cluster: PeeringNode[] = hosts.map((h, i) => ({
            name: `n${h}`,
            ipv4Address: `10.1.0.${h}/24`,
            labels: {},
            // Unique per node (the host number in the low bits), unrelated to the IPv4 order.
            ...(hasIpv6[i]
              ? { ipv6Address: `fd00::${(v6Hosts[i] as number).toString(16)}:${h.toString(16)}/64` }
              : {}),
          }));
          const configs = new Map<string, BgpdConfig>();
          for (const self of cluster) configs.set(self.name, parsed(render(self.name, cluster, []).text));
          for (const self of cluster) {
            const config = configs.get(self.name) as BgpdConfig;
            for (const other of cluster) {
              if (other === self) continue;
              const six = config.peers.find((p) => p.name === `mesh6-${other.name}`);
              expect(six !== undefined).toBe(
                self.ipv6Address !== undefined && other.ipv6Address !== undefined,
              );
              if (six === undefined) continue;
              expect([...six.families]).toEqual(['ipv6-unicast']);
              const back = configs.get(other.name)?.peers.find((p) => p.name === `mesh6-${self.name}`);
              expect(back?.passive).toBe(!six.passive);
              expect(six.localAddress).toBe(back?.address);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('IPv6 blocks and borrowed /128s', () => {
  it('advertises IPv6 blocks only with ipv6, and none of a disableBGPExport IPv6 pool', () => {
    expect(blocksToAdvertise(AFFINE, POOLS)).toEqual(['10.65.0.0/26', '10.65.1.64/26']);
    expect(blocksToAdvertise(AFFINE, POOLS, { ipv6: true })).toEqual([
      '10.65.0.0/26',
      '10.65.1.64/26',
      'fd00:65::/122',
    ]);
    const noExport = [POOLS[0], { cidr: 'fd00:65::/112', disableBGPExport: true }] as typeof POOLS;
    expect(blocksToAdvertise(AFFINE, noExport, { ipv6: true })).toEqual(['10.65.0.0/26', '10.65.1.64/26']);
  });

  it('gives a /128 for an IPv6 address outside the affine blocks, inside a pool; warns about non-/128 networks', () => {
    const workloads: LocalWorkload[] = [
      ...WORKLOADS,
      { key: 'w3', ipNetworks: ['fd00:65::41/128', 'FD00:65:0::200'] },
      { key: 'w4', ipNetworks: ['fd00:65::100/120', 'fd00:99::1/128'] },
    ];
    const result = borrowedAddressesToAdvertise(workloads, AFFINE, POOLS, { ipv6: true });
    // The affine /122 is fd00:65::0-::3f: ::5 is inside it (no /128); ::41, ::200 and ::ff05 are outside.
    expect(result.prefixes).toEqual([
      '10.65.7.9/32',
      'fd00:65::41/128',
      'fd00:65::200/128',
      'fd00:65::ff05/128',
    ]);
    expect(result.warnings).toEqual([
      'endpoint w4: ipNetwork "fd00:65::100/120" is not one IPv6 address (/128: a /120 network); not advertised',
    ]);
    expect(borrowedAddressesToAdvertise(workloads, AFFINE, POOLS).prefixes).toEqual(['10.65.7.9/32']);
  });
});
