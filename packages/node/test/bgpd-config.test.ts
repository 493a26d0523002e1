// Unit tests of bgpdConfigFor/renderBgpdConfig: the generated document passes caracal-bgpd's own parser
// (parseConfig) and says what the node needs — router ID and listen address = node address, kernel install
// with protocol 201, graceful restart, every affine block originated without a blackhole, the mesh with the
// higher address passive, BGPPeer timers and route-reflector roles — and values bgpd would refuse are left
// out with a warning instead of breaking the whole file.
import { type BgpdConfig, parseConfig } from '@caracal/bgp-speaker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BgpdConfigError,
  type BgpdConfigInputs,
  bgpdConfigFor,
  prefixOrder,
  renderBgpdConfig,
} from '../src/bgpd-config.js';
import { type PeeringGlobal, type PeeringNode, planPeerings } from '../src/peering.js';

const mesh: PeeringGlobal = { asNumber: 64512, nodeToNodeMeshEnabled: true, listenPort: 179 };
const node = (name: string, ipv4Address: string, extra: Partial<PeeringNode> = {}): PeeringNode => ({
  name,
  ipv4Address,
  labels: {},
  ...extra,
});
const nodes = [node('n1', '10.0.0.11/24'), node('n2', '10.0.0.12/24'), node('n3', '10.0.0.13/24')];

function inputs(overrides: Partial<BgpdConfigInputs> = {}): BgpdConfigInputs {
  return {
    nodeName: 'n2',
    plan: planPeerings('n2', nodes, [], mesh),
    listenPort: 179,
    blocks: ['10.65.1.64/26', '10.65.0.0/26'],
    runDir: '/run/caracal',
    metricsPort: 9092,
    healthPort: 9097,
    logLevel: 'info',
    ...overrides,
  };
}

function parsed(input: BgpdConfigInputs): BgpdConfig {
  const { config } = bgpdConfigFor(input);
  const result = parseConfig(renderBgpdConfig(input.nodeName, config), 'bgpd.yaml');
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.reason}`).join('\n'));
  return result.config;
}

describe('bgpdConfigFor', () => {
  it('is a valid caracal-bgpd config for a mesh node, with what the node needs', () => {
    const config = parsed(inputs());
    expect(config.routerId).toBe('10.0.0.12');
    expect(config.asNumber).toBe(64512);
    expect(config.listen).toEqual({
      address: '10.0.0.12',
      addresses: ['10.0.0.12'],
      port: 179,
      enabled: true,
    });
    expect(config.kernel).toEqual({ install: true, protocol: 201, table: 254, ecmp: true });
    expect(config.gracefulRestart).toEqual({ enabled: true, restartTime: 120 });
    // Sorted, and no blackhole: Felix owns the block's blackhole route.
    expect(config.originate).toEqual([
      { prefix: '10.65.0.0/26', blackhole: false, communities: [] },
      { prefix: '10.65.1.64/26', blackhole: false, communities: [] },
    ]);
    expect(config.control.socket).toBe('/run/caracal/bgpd.sock');
    expect(config.metrics).toEqual({ address: '0.0.0.0', port: 9092 });
    expect(config.health).toEqual({ address: '127.0.0.1', port: 9097 });
    // Active towards the higher address, passive towards the lower one; iBGP with graceful restart.
    expect(config.peers.map((p) => [p.name, p.address, p.asNumber, p.port, p.passive])).toEqual([
      ['mesh-n1', '10.0.0.11', 64512, 179, true],
      ['mesh-n3', '10.0.0.13', 64512, 179, false],
    ]);
    expect(config.peers.every((p) => p.gracefulRestart.enabled && !p.routeReflectorClient)).toBe(true);
  });

  it('is byte-identical for the same inputs (an unchanged plan causes no reload)', () => {
    const a = bgpdConfigFor(inputs());
    const b = bgpdConfigFor(inputs({ blocks: ['10.65.0.0/26', '10.65.1.64/26', '10.65.0.0/26'] }));
    expect(renderBgpdConfig('n2', b.config)).toBe(renderBgpdConfig('n2', a.config));
  });

  it('uses the listen port, the health port 0 (none), the log level and the node AS', () => {
    const plan = planPeerings(
      'n2',
      [...nodes.slice(0, 1), node('n2', '10.0.0.12/24', { asNumber: 65001 })],
      [],
      {
        ...mesh,
        listenPort: 1790,
      },
    );
    const config = parsed(inputs({ plan, listenPort: 1790, healthPort: 0, logLevel: 'fatal', blocks: [] }));
    expect(config.listen.port).toBe(1790);
    expect(config.health).toBeUndefined();
    expect(config.logLevel).toBe('error');
    expect(config.asNumber).toBe(65001);
    expect(config.originate).toEqual([]);
    expect(config.peers[0]).toMatchObject({ address: '10.0.0.11', port: 1790, asNumber: 64512 });
  });

  it('carries BGPPeer timers, next-hop mode and max restart time', () => {
    const plan = planPeerings(
      'n2',
      nodes,
      [
        {
          name: 'tor',
          peerIp: '192.0.2.1',
          peerPort: 1179,
          asNumber: 65100,
          holdTimeSeconds: 30,
          keepaliveTimeSeconds: 10,
          maxRestartTimeSeconds: 300,
          nextHopMode: 'Self',
        },
      ],
      { ...mesh, nodeToNodeMeshEnabled: false },
    );
    const config = parsed(inputs({ plan }));
    expect(config.peers).toHaveLength(1);
    expect(config.peers[0]).toMatchObject({
      name: 'peer-tor',
      address: '192.0.2.1',
      port: 1179,
      asNumber: 65100,
      passive: false,
      holdTime: 30,
      keepaliveTime: 10,
      nextHop: 'self',
      gracefulRestart: { enabled: true, restartTime: 300 },
    });
  });

  it('leaves out timers bgpd would refuse, with a warning naming the peer', () => {
    const plan = planPeerings(
      'n2',
      nodes,
      [
        { name: 'bad-hold', peerIp: '192.0.2.1', asNumber: 65100, holdTimeSeconds: 2 },
        {
          name: 'bad-keepalive',
          peerIp: '192.0.2.2',
          asNumber: 65100,
          holdTimeSeconds: 30,
          keepaliveTimeSeconds: 20,
        },
        { name: 'bad-restart', peerIp: '192.0.2.3', asNumber: 65100, maxRestartTimeSeconds: 5000 },
      ],
      { ...mesh, nodeToNodeMeshEnabled: false },
    );
    const { warnings } = bgpdConfigFor(inputs({ plan }));
    expect(warnings).toEqual([
      "peer peer-bad-hold (192.0.2.1): hold time 2 s is not 0 or 3-65535 whole seconds; bgpd's default is used",
      'peer peer-bad-keepalive (192.0.2.2): keepalive 20 s is not a whole number at most a third of the hold time (30 s); bgpd uses hold/3',
      "peer peer-bad-restart (192.0.2.3): maxRestartTime 5000 s is not 1-4095 whole seconds (RFC 4724); the node's is used",
    ]);
    const config = parsed(inputs({ plan }));
    expect(
      config.peers.map((p) => [p.name, p.holdTime, p.keepaliveTime, p.gracefulRestart.restartTime]),
    ).toEqual([
      ['peer-bad-hold', 90, 30, 120],
      ['peer-bad-keepalive', 30, 10, 120],
      ['peer-bad-restart', 90, 30, 120],
    ]);
  });

  it('on a route reflector: cluster ID, iBGP clients reflected, eBGP peers plain', () => {
    const rrNodes = [
      node('rr1', '10.0.0.1/24', { routeReflectorClusterId: '224.0.0.1', labels: { rr: 'yes' } }),
      node('c1', '10.0.0.21/24'),
      node('c2', '10.0.0.22/24', { asNumber: 65002 }),
    ];
    const plan = planPeerings(
      'rr1',
      rrNodes,
      [{ name: 'to-clients', nodeSelector: (l) => l.rr === 'yes', peerSelector: (l) => l.rr !== 'yes' }],
      { ...mesh, nodeToNodeMeshEnabled: false },
    );
    const config = parsed(inputs({ nodeName: 'rr1', plan }));
    expect(config.clusterId).toBe('224.0.0.1');
    expect(config.peers.map((p) => [p.address, p.asNumber, p.routeReflectorClient])).toEqual([
      ['10.0.0.21', 64512, true],
      ['10.0.0.22', 65002, false],
    ]);
  });

  it('listens on the node IPv6 address too when the Node has one (spec.bgp.ipv6Address), IPv4 first', () => {
    const dualStack = [
      node('n1', '10.0.0.11/24'),
      node('n2', '10.0.0.12/24', { ipv6Address: 'FD00:0::12/64' }),
      node('n3', '10.0.0.13/24'),
    ];
    const plan = planPeerings('n2', dualStack, [], { ...mesh, listenPort: 1790 });
    expect(plan.localIpv6Address).toBe('fd00::12');
    expect(plan.warnings).toEqual([]);
    const input = inputs({ plan, listenPort: 1790 });
    const config = parsed(input);
    expect(config.listen).toEqual({
      address: '10.0.0.12',
      addresses: ['10.0.0.12', 'fd00::12'],
      port: 1790,
      enabled: true,
    });
    // The router ID and the mesh stay IPv4.
    expect(config.routerId).toBe('10.0.0.12');
    expect(config.peers.map((peer) => peer.address)).toEqual(['10.0.0.11', '10.0.0.13']);
    expect(renderBgpdConfig('n2', bgpdConfigFor(input).config)).toContain(
      'listen:\n  addresses:\n    - 10.0.0.12\n    - fd00::12\n  port: 1790\n',
    );
  });

  it('keeps the one-address listen of an IPv4-only node (its bgpd.yaml text is unchanged)', () => {
    expect(renderBgpdConfig('n2', bgpdConfigFor(inputs()).config)).toContain(
      'listen:\n  address: 10.0.0.12\n  port: 179\n',
    );
  });

  it('listens on IPv4 only, with a warning naming the value, when spec.bgp.ipv6Address is no IPv6 address', () => {
    for (const [value, reason] of [
      ['10.0.0.99/24', '"10.0.0.99/24": is an IPv4 address, not IPv6'],
      ['fd00::zz/64', '"fd00::zz/64": group 2 "zz" is not hexadecimal'],
    ] as const) {
      const self = node('n2', '10.0.0.12/24', { ipv6Address: value });
      const plan = planPeerings('n2', [node('n1', '10.0.0.11/24'), self], [], mesh);
      expect(plan.localIpv6Address).toBeUndefined();
      expect(plan.warnings).toEqual([
        `node n2 spec.bgp.ipv6Address ${reason}: caracal-bgpd listens on the IPv4 address only`,
      ]);
      expect(parsed(inputs({ plan })).listen.addresses).toEqual(['10.0.0.12']);
    }
  });

  it('plans no session to a BGPPeer at the node own IPv6 address', () => {
    const self = node('n2', '10.0.0.12/24', { ipv6Address: 'fd00::12/64' });
    const plan = planPeerings(
      'n2',
      [self],
      [
        { name: 'loop', peerIp: 'fd00::12' },
        { name: 'tor', peerIp: 'fd00::1' },
      ],
      mesh,
    );
    expect(plan.peers.map((peer) => peer.name)).toEqual(['peer-tor']);
  });

  it('refuses a plan without router ID, naming the node', () => {
    const plan = planPeerings('n9', nodes, [], mesh);
    expect(() => bgpdConfigFor(inputs({ nodeName: 'n9', plan }))).toThrow(
      new BgpdConfigError(
        'node n9 has no BGP IPv4 address: caracal-bgpd needs it as router ID and listen address',
      ),
    );
  });

  it('for any cluster, every node gets a valid config and exactly one side of each pair connects', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 250 }), { minLength: 1, maxLength: 8 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 1023 }), { maxLength: 5 }),
        (hosts, blockIndexes) => {
          const cluster = hosts.map((h) => node(`n${h}`, `10.1.0.${h}/24`));
          const configs = new Map<string, BgpdConfig>();
          for (const self of cluster) {
            const plan = planPeerings(self.name, cluster, [], mesh);
            const blocks = blockIndexes.map((i) => `10.70.${i >> 2}.${(i & 3) * 64}/26`);
            const config = parsed(inputs({ nodeName: self.name, plan, blocks }));
            expect(config.peers).toHaveLength(cluster.length - 1);
            expect(config.originate.map((o) => o.prefix).sort()).toEqual([...blocks].sort());
            configs.set(config.routerId, config);
          }
          for (const [address, config] of configs) {
            for (const peer of config.peers) {
              const back = configs.get(peer.address)?.peers.find((p) => p.address === address);
              expect(back).toBeDefined();
              expect(peer.passive).not.toBe(back?.passive);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('prefixOrder (the originate list order)', () => {
  it('orders by network as a number, then shorter first; text that is no prefix last, by text', () => {
    const prefixes = [
      '10.65.10.0/26',
      '10.65.9.0/26',
      '10.0.0.0/8',
      '10.0.0.0/16',
      '9.0.0.0/8',
      'fd00::/64',
      'x/1',
    ];
    expect([...prefixes].sort(prefixOrder)).toEqual([
      '9.0.0.0/8',
      '10.0.0.0/8',
      '10.0.0.0/16',
      '10.65.9.0/26',
      '10.65.10.0/26',
      'fd00::/64',
      'x/1',
    ]);
  });

  it('is the order of the originate list bgpdConfigFor writes', () => {
    const blocks = ['10.65.10.0/26', '10.65.9.192/26', '10.65.9.0/26'];
    const config = parsed(inputs({ blocks, borrowedAddresses: ['10.65.9.70/32', '10.65.100.1/32'] }));
    expect(config.originate.map((o) => String(o.prefix))).toEqual([
      '10.65.9.0/26',
      '10.65.9.70/32',
      '10.65.9.192/26',
      '10.65.10.0/26',
      '10.65.100.1/32',
    ]);
  });
});
