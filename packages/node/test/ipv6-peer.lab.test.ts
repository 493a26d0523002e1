// Lab test of a BGPPeer at an IPv6 address with a port (`[fdXX::1]:<port>`, the form the old peerIP split
// turned into the address "[fdXX::1]") against the real thing: a one-node lab cluster (etcd, caracal-node with
// caracal-felix and caracal-bgpd in a namespace), an IPv6 /64 added to the cluster segment, and a BGP
// speaker in this test process (@caracal/bgp-speaker's Speaker, passive) listening on the root side's IPv6
// address at a free port only. The BGPPeer is written to etcd; caracal-node must write it to bgpd.yaml with
// that address and port, caracal-bgpd must connect there, the session must come up (readiness names nothing
// missing) and the node's block must arrive over it with the node's IPv4 address as next hop. Then the other
// direction: the Node gets spec.bgp.ipv6Address, bgpd.yaml must list it in listen.addresses, and once bgpd
// has restarted (it applies `listen` at start; the test SIGKILLs it and the agent restarts it) a speaker
// that listens nowhere must get a session by connecting from the root side's IPv6 address INTO caracal-bgpd.
// The set-up and the waits are ipv6-lab.ts's.
import { randomBytes } from 'node:crypto';
import type { Speaker } from '@caracal/bgp-speaker';
import {
  connectDatastore,
  type EtcdKeyValueStore,
  etcdUnavailableReason,
  ResourceStore,
} from '@caracal/datastore';
import { buildPackagesForLab, freeTcpPort, labAvailable, waitUntil } from '@caracal/lab';
import type { BGPPeerResource, NodeResource } from '@caracal/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabCluster, startLabCluster } from '../src/index.js';
import {
  bgpdYaml,
  nodeReady,
  nodeStatus,
  perRunIpv6Prefix,
  routeLearned,
  SegmentIpv6Addresses,
  sessionEstablished,
  startSpeaker,
} from './ipv6-lab.js';

const lab = labAvailable();
const etcdMissing = etcdUnavailableReason();
const runnable = lab.available && etcdMissing === undefined;
if (!runnable) console.log(`IPv6 BGPPeer lab test skipped: ${lab.reason ?? etcdMissing}`);

const name = `v6p${randomBytes(3).toString('hex')}`;
const { rootV6, nodeV6 } = perRunIpv6Prefix();
const addresses = new SegmentIpv6Addresses(rootV6, nodeV6);
const PEER_AS = 65099;

let cluster: LabCluster | undefined;
let store: ReturnType<typeof connectDatastore> | undefined;
let peer: Speaker | undefined;
let connectingPeer: Speaker | undefined;
let peerPort = 0;

const c = () => cluster as LabCluster;
const statusOf = () => nodeStatus(c(), 'node1');

describe.skipIf(!runnable)('a BGPPeer at [IPv6]:port reaches a real session', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/node', 'packages/felix']);
    cluster = await startLabCluster({ name, nodes: 1, podsPerNode: 0, readyTimeoutMs: 120_000 });
    addresses.add(c(), 'node1');
    peerPort = await freeTcpPort(rootV6);
    peer = await startSpeaker(
      `asNumber: ${PEER_AS}
routerId: 10.255.255.1
listen: { address: "${rootV6}", port: ${peerPort} }
peers:
  - { name: node1, address: "${nodeV6}", asNumber: 64512, passive: true, holdTime: 9 }
`,
      'peer.yaml',
    );
    store = connectDatastore({ endpoints: [c().etcdEndpoint] });
  }, 300_000);

  afterAll(async () => {
    await peer?.stop({ keepRoutes: false });
    await connectingPeer?.stop({ keepRoutes: false });
    await store?.close();
    addresses.remove();
    await cluster?.down();
  }, 60_000);

  it('bgpd.yaml has the address and port, the session is Established and the block arrives over it', async () => {
    const bgpPeer: BGPPeerResource = {
      apiVersion: 'caracal.io/v1',
      kind: 'BGPPeer',
      metadata: { name: `v6-${name}` },
      spec: { peerIP: `[${rootV6}]:${peerPort}`, asNumber: PEER_AS, node: 'node1' },
    };
    await new ResourceStore(store as EtcdKeyValueStore).create(bgpPeer);
    const written = await waitUntil(
      'node1 bgpd.yaml with the IPv6 peer',
      () => bgpdYaml(c(), 'node1').peers.find((p) => p.name === `peer-v6-${name}`),
      { timeoutMs: 20_000 },
    );
    expect(written).toMatchObject({ address: rootV6, port: peerPort, asNumber: PEER_AS });
    expect(statusOf().planWarnings).toEqual([]);
    await sessionEstablished(peer, 'node1', 'the session from node1 Established at the peer');
    const block = statusOf().advertisedBlocks[0];
    expect(block).toBeDefined();
    const learned = await routeLearned(peer, block as string, `the peer learns ${block} from node1`);
    expect(learned.paths[0]?.nextHop).toBe(c().node('node1').address);
    const readiness = await nodeReady(c(), 'node1', 'node1 ready (its one planned session Established)');
    expect(readiness.reasons).toEqual([]);
  }, 90_000);

  it('with spec.bgp.ipv6Address, bgpd accepts a session the IPv6 peer opens to it', async () => {
    const resources = new ResourceStore(store as EtcdKeyValueStore);
    const node = await resources.get<NodeResource>('Node', 'node1');
    if (node === undefined) throw new Error('Node node1 is not registered');
    await resources.update({
      ...node,
      spec: { ...node.spec, bgp: { ...node.spec.bgp, ipv6Address: `${nodeV6}/64` } },
    });
    const listen = await waitUntil(
      'node1 bgpd.yaml listening on the node IPv6 address too',
      () => {
        const written = bgpdYaml(c(), 'node1').listen;
        return written.addresses !== undefined ? written : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(listen).toEqual({ addresses: [c().node('node1').address, nodeV6], port: 179 });
    // The passive peer goes away: our side's connections to [rootV6]:peerPort are refused from now on.
    await peer?.stop({ keepRoutes: false });
    peer = undefined;
    // bgpd applies `listen` when it starts: kill it, the agent starts a new one that reads bgpd.yaml.
    const oldPid = statusOf().bgpdPid;
    if (oldPid === undefined) throw new Error('node1 status.json names no bgpd pid');
    process.kill(oldPid, 'SIGKILL');
    await waitUntil(
      'caracal-bgpd restarted by the agent',
      () => {
        const pid = statusOf().bgpdPid;
        return pid !== undefined && pid !== oldPid;
      },
      { timeoutMs: 20_000 },
    );
    connectingPeer = await startSpeaker(
      `asNumber: ${PEER_AS}
routerId: 10.255.255.2
listen: { enabled: false }
peers:
  - name: node1
    address: "${nodeV6}"
    localAddress: "${rootV6}"
    asNumber: 64512
    holdTime: 9
    connectRetryTime: 1
`,
      'connecting-peer.yaml',
    );
    await sessionEstablished(
      connectingPeer,
      'node1',
      'the session the peer opened to [node1 IPv6]:179 Established',
    );
    const block = statusOf().advertisedBlocks[0];
    const learned = await routeLearned(
      connectingPeer,
      block as string,
      `the connecting peer learns ${block} from node1`,
    );
    expect(learned.paths[0]?.nextHop).toBe(c().node('node1').address);
    const readiness = await nodeReady(
      c(),
      'node1',
      'node1 ready again (the BGPPeer session Established, now from the peer side)',
    );
    expect(readiness.reasons).toEqual([]);
  }, 90_000);
});
