// Unit tests of the peering inputs kept from resource watch events: a fake store (rxjs Subjects per kind)
// drives PeeringState; the plan is recomputed on Node, BGPPeer and BGPConfiguration changes; a BGPPeer's
// peerIP (IPv4 or IPv6, with or without a port) reaches caracal-bgpd's configuration, checked by bgpd's own
// parser, with the address and port the model's validation read from the same text. Also the Node
// registration's merge (labels and other fields kept, prefix required).
import { parseConfig } from '@caracal/bgp-speaker';
import type { ResourceWatchEvent } from '@caracal/datastore';
import { formatAddressWithPort, formatIp, type IpAddress } from '@caracal/ip';
import {
  type BGPConfigurationResource,
  type BGPPeerResource,
  type NodeResource,
  validateResource,
} from '@caracal/model';
import fc from 'fast-check';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  ClaimedLabels,
  durationSeconds,
  PeeringState,
  WATCHED_KINDS,
  type WatchedKind,
} from '../../src/agent/plan-state.js';
import { desiredNode } from '../../src/agent/register.js';
import { bgpdConfigFor, renderBgpdConfig } from '../../src/bgpd-config.js';
import type { PeeringPlan } from '../../src/peering.js';

const node = (name: string, ip: string, labels: Record<string, string> = {}): NodeResource => ({
  apiVersion: 'caracal.io/v1',
  kind: 'Node',
  metadata: { name, labels },
  spec: { bgp: { ipv4Address: ip } },
});
const peer = (name: string, spec: BGPPeerResource['spec']): BGPPeerResource => ({
  apiVersion: 'caracal.io/v1',
  kind: 'BGPPeer',
  metadata: { name },
  spec,
});
const config = (name: string, spec: BGPConfigurationResource['spec']): BGPConfigurationResource => ({
  apiVersion: 'caracal.io/v1',
  kind: 'BGPConfiguration',
  metadata: { name },
  spec,
});

/** A fake store: one Subject per kind, wired into PeeringState the way the agent does it. */
function fakeCluster(self: string) {
  const state = new PeeringState();
  const subjects = new Map(WATCHED_KINDS.map((k) => [k, new Subject<ResourceWatchEvent>()]));
  const plans: PeeringPlan[] = [];
  for (const kind of WATCHED_KINDS) {
    subjects.get(kind)?.subscribe((event) => {
      if (state.apply(kind, event) && state.inSync) plans.push(state.plan(self));
    });
  }
  const emit = (kind: WatchedKind, event: ResourceWatchEvent) => subjects.get(kind)?.next(event);
  const sync = (kind: WatchedKind, items: unknown[]) => {
    emit(kind, { type: 'snapshot', items: items as never, revision: 1, resync: false });
    emit(kind, { type: 'in-sync', revision: 1 });
  };
  return { state, emit, sync, plans };
}

describe('PeeringState', () => {
  it('plans nothing before every kind is in sync, then the mesh with the right passive side', () => {
    const c = fakeCluster('n1');
    c.sync('Node', [node('n1', '10.0.0.5/24'), node('n2', '10.0.0.9/24'), node('n0', '10.0.0.2/24')]);
    c.sync('BGPPeer', []);
    expect(c.plans).toEqual([]);
    c.sync('BGPConfiguration', []);
    const plan = c.plans.at(-1);
    expect(plan?.localAsNumber).toBe(64512);
    expect(plan?.peers.map((p) => [p.address, p.passive])).toEqual(
      expect.arrayContaining([
        ['10.0.0.9', false],
        ['10.0.0.2', true],
      ]),
    );
    expect(plan?.peers).toHaveLength(2);
  });

  it('recomputes on a node added and deleted, a BGPPeer with a selector, and the mesh switched off', () => {
    const c = fakeCluster('n1');
    c.sync('Node', [node('n1', '10.0.0.5/24', { rack: 'a' })]);
    c.sync('BGPPeer', []);
    c.sync('BGPConfiguration', []);
    expect(c.plans.at(-1)?.peers).toEqual([]);
    c.emit('Node', { type: 'put', resource: node('n2', '10.0.0.9/24'), revision: 2 });
    expect(c.plans.at(-1)?.peers.map((p) => p.name)).toEqual(['mesh-n2']);
    c.emit('BGPPeer', {
      type: 'put',
      resource: peer('tor', {
        peerIP: '10.0.0.1:1179',
        asNumber: 65000,
        nodeSelector: "rack == 'a'",
        holdTime: '1m30s',
      }),
      revision: 3,
    });
    const torPeer = c.plans.at(-1)?.peers.find((p) => p.address === '10.0.0.1');
    expect(torPeer).toMatchObject({ port: 1179, asNumber: 65000, holdTimeSeconds: 90, origin: 'bgppeer' });
    c.emit('BGPConfiguration', {
      type: 'put',
      resource: config('default', { asNumber: 65100, nodeToNodeMeshEnabled: false }),
      revision: 4,
    });
    expect(c.plans.at(-1)?.localAsNumber).toBe(65100);
    expect(c.plans.at(-1)?.peers.map((p) => p.address)).toEqual(['10.0.0.1']);
    c.emit('BGPPeer', { type: 'delete', kind: 'BGPPeer', name: 'tor', revision: 5 } as ResourceWatchEvent);
    expect(c.plans.at(-1)?.peers).toEqual([]);
  });

  it('a BGPPeer whose nodeSelector does not match this node adds nothing', () => {
    const c = fakeCluster('n1');
    c.sync('Node', [node('n1', '10.0.0.5/24', { rack: 'b' })]);
    c.sync('BGPPeer', [peer('tor', { peerIP: '10.0.0.1', asNumber: 65000, nodeSelector: "rack == 'a'" })]);
    c.sync('BGPConfiguration', []);
    expect(c.plans.at(-1)?.peers).toEqual([]);
  });

  it('a resync snapshot replaces the state', () => {
    const c = fakeCluster('n1');
    c.sync('Node', [node('n1', '10.0.0.5/24'), node('n2', '10.0.0.9/24')]);
    c.sync('BGPPeer', []);
    c.sync('BGPConfiguration', []);
    expect(c.plans.at(-1)?.peers).toHaveLength(1);
    c.emit('Node', { type: 'snapshot', items: [node('n1', '10.0.0.5/24')], revision: 9, resync: true });
    c.emit('Node', { type: 'in-sync', revision: 9 });
    expect(c.plans.at(-1)?.peers).toEqual([]);
  });

  /** The plan of n1 with these BGPPeers (mesh off), rendered as bgpd.yaml and read back by bgpd's parser. */
  function bgpdPeersFor(peers: BGPPeerResource[]) {
    const c = fakeCluster('n1');
    c.sync('Node', [node('n1', '10.0.0.5/24')]);
    c.sync('BGPPeer', peers);
    c.sync('BGPConfiguration', [config('default', { nodeToNodeMeshEnabled: false })]);
    const plan = c.plans.at(-1) as PeeringPlan;
    const { config: document } = bgpdConfigFor({
      nodeName: 'n1',
      plan,
      listenPort: 179,
      blocks: ['10.65.0.0/26'],
      runDir: '/run/caracal',
      metricsPort: 9092,
      healthPort: 0,
      logLevel: 'info',
    });
    const checked = parseConfig(renderBgpdConfig('n1', document), 'bgpd.yaml');
    if (!checked.ok) throw new Error(checked.issues.map((i) => `${i.path}: ${i.reason}`).join('; '));
    return { plan, peers: checked.config.peers.map((p) => [p.name, p.address, p.port, p.asNumber]) };
  }

  it('an IPv6 BGPPeer with and without a port reaches bgpd.yaml with its address and port', () => {
    const bgpPeers = [
      peer('v6-port', { peerIP: '[fd00::1]:1179', asNumber: 65000 }),
      peer('v6-bare', { peerIP: 'FD00:0::2', asNumber: 65001 }),
      // Two or more colons without brackets: one address (fd00::1:179), never fd00::1 port 179.
      peer('v6-digits', { peerIP: 'fd00::1:179', asNumber: 65002 }),
      peer('v4-port', { peerIP: '10.0.0.1:1179', asNumber: 65003 }),
      peer('v4-bare', { peerIP: '10.0.0.2', asNumber: 65004 }),
    ];
    for (const bgpPeer of bgpPeers) expect(validateResource(bgpPeer).problems).toEqual([]);
    const { plan, peers } = bgpdPeersFor(bgpPeers);
    expect(plan.warnings).toEqual([]);
    expect(peers).toEqual([
      ['peer-v4-port', '10.0.0.1', 1179, 65003],
      ['peer-v4-bare', '10.0.0.2', 179, 65004],
      ['peer-v6-port', 'fd00::1', 1179, 65000],
      ['peer-v6-bare', 'fd00::2', 179, 65001],
      ['peer-v6-digits', 'fd00::1:179', 179, 65002],
    ]);
  });

  it('any address with or without a port, as the model accepts it, is the planned address and port', () => {
    const address = fc.oneof(
      fc.bigInt({ min: 0n, max: 0xffffffffn }).map((value): IpAddress => ({ version: 4, value })),
      fc
        .array(fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 0xffffn })), {
          minLength: 8,
          maxLength: 8,
        })
        .map((groups): IpAddress => ({ version: 6, value: groups.reduce((v, g) => (v << 16n) | g, 0n) })),
    );
    fc.assert(
      fc.property(
        address,
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.boolean(),
        (peerAddress, port, upperCase) => {
          const text = formatAddressWithPort({ address: peerAddress, port });
          const peerIP = upperCase ? text.toUpperCase() : text;
          const bgpPeer = peer('p', { peerIP, asNumber: 65000 });
          expect(validateResource(bgpPeer).problems, peerIP).toEqual([]);
          const planned = new PeeringState();
          planned.apply('Node', {
            type: 'snapshot',
            items: [node('n1', '10.0.0.5/24')] as never,
            revision: 1,
            resync: false,
          });
          planned.apply('BGPPeer', {
            type: 'snapshot',
            items: [bgpPeer] as never,
            revision: 1,
            resync: false,
          });
          const plan = planned.plan('n1');
          const expected = formatIp(peerAddress);
          if (expected === '10.0.0.5') return; // a peer at the node's own address is no session
          expect(
            plan.peers.map((p) => [p.address, p.port]),
            peerIP,
          ).toEqual([[expected, port ?? 179]]);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a BGPPeer whose peerIP is no address (written past the model) is skipped with a warning naming it', () => {
    const { plan, peers } = bgpdPeersFor([
      peer('bad', { peerIP: 'fd00::1]:179', asNumber: 65000 }),
      peer('good', { peerIP: '[fd00::1]:179', asNumber: 65000 }),
    ]);
    expect(peers).toEqual([['peer-good', 'fd00::1', 179, 65000]]);
    expect(plan.warnings).toEqual([
      'BGPPeer bad skipped: BGPPeer bad spec.peerIP "fd00::1]:179": "]" without an opening "["',
    ]);
  });

  it('parses Go durations and refuses others', () => {
    expect(durationSeconds('1m30s', 'x')).toBe(90);
    expect(durationSeconds('500ms', 'x')).toBe(0.5);
    expect(() => durationSeconds('90', 'BGPPeer p spec.holdTime')).toThrow(
      'BGPPeer p spec.holdTime: "90" is not',
    );
  });
});

describe('desiredNode', () => {
  it('creates a valid Node with the address and AS', () => {
    const n = desiredNode(undefined, { nodeName: 'n1', ipv4Address: '10.0.0.5/24', asNumber: 65001 });
    expect(n.spec.bgp).toEqual({ ipv4Address: '10.0.0.5/24', asNumber: 65001 });
  });
  it('keeps labels, other fields and the resourceVersion of an existing Node', () => {
    const existing: NodeResource = {
      ...node('n1', '10.0.0.4/24', { rack: 'a' }),
      metadata: { name: 'n1', labels: { rack: 'a' }, resourceVersion: '42', uid: 'u' },
      spec: {
        bgp: { ipv4Address: '10.0.0.4/24', routeReflectorClusterID: '1.1.1.1' },
        ipv4VXLANTunnelAddr: '10.9.0.1',
      },
    };
    const n = desiredNode(existing, { nodeName: 'n1', ipv4Address: '10.0.0.5/24', asNumber: undefined });
    expect(n.metadata).toMatchObject({ labels: { rack: 'a' }, resourceVersion: '42', uid: 'u' });
    expect(n.spec).toEqual({
      bgp: { ipv4Address: '10.0.0.5/24', routeReflectorClusterID: '1.1.1.1' },
      ipv4VXLANTunnelAddr: '10.9.0.1',
    });
  });
  it('refuses a bare address through the model validation', () => {
    expect(() =>
      desiredNode(undefined, { nodeName: 'n1', ipv4Address: '10.0.0.5', asNumber: undefined }),
    ).toThrow();
  });
});

describe('ClaimedLabels', () => {
  it('a label change already in the Node snapshot is seen when the LAST kind gets in sync (the node lab flake)', () => {
    // The agent claimed with no labels; the label was added before its watches listed the Nodes, and the
    // Node watch was in sync before the BGPPeer and BGPConfiguration watches.
    const c = fakeCluster('n1');
    const claimed = new ClaimedLabels('n1');
    claimed.claiming({});
    const after = (kind: WatchedKind, event: ResourceWatchEvent) => {
      c.emit(kind, event);
      return claimed.changedSinceClaim(c.state);
    };
    expect(
      after('Node', {
        type: 'snapshot',
        items: [node('n1', '10.0.0.5/24', { rack: 'r1' })] as never,
        revision: 3,
        resync: false,
      }),
    ).toBe(false);
    expect(after('Node', { type: 'in-sync', revision: 3 })).toBe(false);
    expect(after('BGPPeer', { type: 'snapshot', items: [], revision: 3, resync: false })).toBe(false);
    expect(after('BGPPeer', { type: 'in-sync', revision: 3 })).toBe(false);
    expect(after('BGPConfiguration', { type: 'snapshot', items: [], revision: 3, resync: false })).toBe(
      false,
    );
    // Not a Node event, and no Node event follows: the change must be seen here.
    expect(after('BGPConfiguration', { type: 'in-sync', revision: 3 })).toBe(true);
    claimed.claiming({ rack: 'r1' });
    expect(claimed.changedSinceClaim(c.state)).toBe(false);
  });

  it('a later label change and only a change calls for a claim; nothing before the first claim', () => {
    const c = fakeCluster('n1');
    const claimed = new ClaimedLabels('n1');
    c.sync('Node', [node('n1', '10.0.0.5/24', { rack: 'r1' })]);
    c.sync('BGPPeer', []);
    c.sync('BGPConfiguration', []);
    expect(claimed.changedSinceClaim(c.state)).toBe(false); // no claim made yet
    claimed.claiming({ rack: 'r1' });
    c.emit('Node', { type: 'put', resource: node('n1', '10.0.0.6/24', { rack: 'r1' }), revision: 4 });
    expect(claimed.changedSinceClaim(c.state)).toBe(false); // the address changed, not the labels
    c.emit('Node', { type: 'put', resource: node('n2', '10.0.0.9/24', { rack: 'r2' }), revision: 5 });
    expect(claimed.changedSinceClaim(c.state)).toBe(false); // another node's labels
    c.emit('Node', { type: 'put', resource: node('n1', '10.0.0.6/24', { rack: 'r2' }), revision: 6 });
    expect(claimed.changedSinceClaim(c.state)).toBe(true);
  });
});
