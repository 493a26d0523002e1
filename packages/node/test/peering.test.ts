// Unit tests of the peering plan: full mesh with the higher address passive, mesh off, explicit peers by
// node / nodeSelector / peerSelector / peerIP, route-reflector roles by cluster ID, and the invariant that
// for any two nodes exactly one side of each mutual session is passive. Addresses are read by @caracal/ip:
// IPv6 peers in their canonical text, node and peer addresses that are no address left out with a warning
// naming the node or BGPPeer and the value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressOf,
  addressOrder,
  isPassiveTowards,
  type LabelMatcher,
  type PeeringNode,
  planPeerings,
} from '../src/peering.js';

const global = { asNumber: 64512, nodeToNodeMeshEnabled: true, listenPort: 179 };
const node = (name: string, ip: string, extra: Partial<PeeringNode> = {}): PeeringNode => ({
  name,
  ipv4Address: `${ip}/24`,
  labels: {},
  ...extra,
});
const has =
  (key: string): LabelMatcher =>
  (labels) =>
    key in labels;
const not =
  (m: LabelMatcher): LabelMatcher =>
  (labels) =>
    !m(labels);

describe('planPeerings', () => {
  const nodes = [node('a', '10.0.0.1'), node('b', '10.0.0.2'), node('c', '10.0.0.3')];

  it('meshes with every other node; the higher address is passive', () => {
    const plan = planPeerings('b', nodes, [], global);
    expect(plan.peers.map((p) => [p.name, p.address, p.passive, p.asNumber])).toEqual([
      ['mesh-a', '10.0.0.1', true, 64512],
      ['mesh-c', '10.0.0.3', false, 64512],
    ]);
    expect(plan.routerId).toBe('10.0.0.2');
  });

  it('plans nothing without the mesh and without peers', () => {
    expect(planPeerings('b', nodes, [], { ...global, nodeToNodeMeshEnabled: false }).peers).toEqual([]);
  });

  it('says why when this node has no address yet', () => {
    const plan = planPeerings('x', [{ name: 'x', labels: {} }], [], global);
    expect(plan.warnings).toEqual(['node x has no BGP IPv4 address yet: no sessions planned']);
  });

  it('route reflectors: clients peer only with RRs; RRs of one cluster are non-clients to each other', () => {
    const rrNodes = [
      node('rr1', '10.0.0.101', { routeReflectorClusterId: '224.0.0.1', labels: { routeReflector: 'true' } }),
      node('rr2', '10.0.0.102', { routeReflectorClusterId: '224.0.0.1', labels: { routeReflector: 'true' } }),
      ...nodes,
    ];
    const peers = [
      { name: 'to-rr', nodeSelector: not(has('routeReflector')), peerSelector: has('routeReflector') },
      { name: 'rr-mesh', nodeSelector: has('routeReflector'), peerSelector: has('routeReflector') },
      { name: 'rr-clients', nodeSelector: has('routeReflector'), peerSelector: not(has('routeReflector')) },
    ];
    const off = { ...global, nodeToNodeMeshEnabled: false };
    const client = planPeerings('a', rrNodes, peers, off);
    expect(client.peers.map((p) => [p.name, p.routeReflectorClient])).toEqual([
      ['peer-to-rr-rr1', false],
      ['peer-to-rr-rr2', false],
    ]);
    const rr = planPeerings('rr1', rrNodes, peers, off);
    expect(rr.routeReflectorClusterId).toBe('224.0.0.1');
    expect(rr.peers.map((p) => [p.address, p.routeReflectorClient])).toEqual([
      ['10.0.0.1', true],
      ['10.0.0.2', true],
      ['10.0.0.3', true],
      ['10.0.0.102', false],
    ]);
    // With the mesh on, RRs still stay out of it.
    expect(planPeerings('a', rrNodes, [], global).peers.map((p) => p.name)).toEqual(['mesh-b', 'mesh-c']);
  });

  it('explicit peers: by node name, to an external address with port, overriding the mesh session', () => {
    const peers = [
      { name: 'tor', node: 'a', peerIp: '192.0.2.1', peerPort: 1179, asNumber: 65000, holdTimeSeconds: 30 },
      { name: 'other-node-only', node: 'b', peerIp: '192.0.2.9' },
      { name: 'to-c', peerIp: '10.0.0.3', keepaliveTimeSeconds: 10 },
    ];
    const plan = planPeerings('a', nodes, peers, global);
    expect(plan.peers).toContainEqual({
      name: 'peer-tor',
      address: '192.0.2.1',
      port: 1179,
      asNumber: 65000,
      passive: false,
      routeReflectorClient: false,
      origin: 'bgppeer',
      holdTimeSeconds: 30,
    });
    expect(plan.peers.find((p) => p.address === '192.0.2.9')).toBeUndefined();
    expect(plan.peers.find((p) => p.address === '10.0.0.3')).toMatchObject({
      origin: 'bgppeer',
      keepaliveTimeSeconds: 10,
    });
    expect(plan.peers.filter((p) => p.address === '10.0.0.3')).toHaveLength(1);
  });

  it('IPv6 peers: canonical address, the port of the BGPPeer or 179', () => {
    const plan = planPeerings(
      'a',
      nodes,
      [
        { name: 'v6-port', peerIp: 'FD00:0::1', peerPort: 1179, asNumber: 65000 },
        { name: 'v6', peerIp: 'fd00::1:179', asNumber: 65001 },
      ],
      { ...global, nodeToNodeMeshEnabled: false },
    );
    expect(plan.warnings).toEqual([]);
    expect(plan.peers.map((p) => [p.name, p.address, p.port, p.asNumber])).toEqual([
      ['peer-v6-port', 'fd00::1', 1179, 65000],
      ['peer-v6', 'fd00::1:179', 179, 65001],
    ]);
  });

  it('a node or peer address that is no address is left out with a warning naming it and the value', () => {
    const cluster = [
      ...nodes,
      node('d', '10.0.0.300'),
      { name: 'e', ipv4Address: 'fd00::5/64', labels: {} },
      { name: 'f', ipv4Address: '010.0.0.6/24', labels: {} },
    ];
    const plan = planPeerings(
      'a',
      cluster,
      [
        { name: 'p', peerIp: '192.0.2.1:1179', asNumber: 65000 },
        { name: 'q', peerIp: '192.0.2.300', asNumber: 65000 },
      ],
      global,
    );
    expect(plan.peers.map((p) => p.name)).toEqual(['mesh-b', 'mesh-c']);
    expect(plan.warnings).toEqual([
      'node d spec.bgp.ipv4Address "10.0.0.300/24": octet 4 is 300, more than 255: no session from a',
      'node e spec.bgp.ipv4Address "fd00::5/64": is an IPv6 address, not IPv4: no session from a',
      'node f spec.bgp.ipv4Address "010.0.0.6/24": octet 1 "010" has a leading zero (ambiguous: inet_aton reads it as octal): no session from a',
      'BGPPeer p peer address "192.0.2.1:1179": has a port (the address goes alone in peerIp, the port in peerPort): no session',
      'BGPPeer q peer address "192.0.2.300": octet 4 is 300, more than 255: no session',
    ]);
    const broken = planPeerings('d', cluster, [], global);
    expect(broken).toMatchObject({ routerId: undefined, peers: [] });
    expect(broken.warnings).toEqual([
      'node d spec.bgp.ipv4Address "10.0.0.300/24": octet 4 is 300, more than 255: no sessions planned',
    ]);
  });

  it('addressOf: the canonical address of a node address with or without its length', () => {
    expect(addressOf('10.0.0.5/24')).toBe('10.0.0.5');
    expect(addressOf('10.0.0.5')).toBe('10.0.0.5');
    expect(() => addressOf('10.0.0.5/33')).toThrow(
      '"10.0.0.5/33": prefix length must be 0..32 for IPv4, not 33',
    );
  });

  it('every mutual session has exactly one active side', () => {
    const nodesArb = fc
      .uniqueArray(fc.integer({ min: 1, max: 250 }), { minLength: 2, maxLength: 12 })
      .map((octets) => octets.map((o, i) => node(`n${i}`, `10.1.0.${o}`)));
    fc.assert(
      fc.property(nodesArb, (all) => {
        for (const a of all) {
          for (const peer of planPeerings(a.name, all, [], global).peers) {
            const b = all.find((n) => n.ipv4Address === `${peer.address}/24`)!;
            const back = planPeerings(b.name, all, [], global).peers.find(
              (p) => `${p.address}/24` === a.ipv4Address,
            )!;
            expect(back.passive).toBe(!peer.passive);
          }
        }
      }),
    );
  });
});

describe('addressOrder and isPassiveTowards', () => {
  it('orders addresses numerically (not as text), IPv4 before IPv6, any IPv6 spelling alike', () => {
    const texts = ['10.0.0.10', 'fd00::10', '9.0.0.1', '10.0.0.9', 'FD00:0::2', '192.168.0.1', '::1'];
    expect([...texts].sort(addressOrder)).toEqual([
      '9.0.0.1',
      '10.0.0.9',
      '10.0.0.10',
      '192.168.0.1',
      '::1',
      'FD00:0::2',
      'fd00::10',
    ]);
    expect(addressOrder('FD00:0::2', 'fd00::2')).toBe(0);
  });

  it('puts text that is no address after every address, by text (a total order)', () => {
    expect(['peer-b', '10.0.0.1', '010.0.0.1', 'fd00::1'].sort(addressOrder)).toEqual([
      '10.0.0.1',
      'fd00::1',
      '010.0.0.1',
      'peer-b',
    ]);
  });

  it('makes exactly one side of any two distinct addresses passive', () => {
    const ipv4 = fc
      .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
      .map((octets) => octets.join('.'));
    fc.assert(
      fc.property(ipv4, ipv4, (a, b) => {
        fc.pre(a !== b);
        expect(isPassiveTowards(a, b)).not.toBe(isPassiveTowards(b, a));
        const number = (text: string) => text.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
        expect(isPassiveTowards(a, b)).toBe(number(a) > number(b));
      }),
    );
    expect(isPassiveTowards('10.0.0.10', '10.0.0.9')).toBe(true);
    expect(isPassiveTowards('10.0.0.9', '10.0.0.10')).toBe(false);
  });
});
