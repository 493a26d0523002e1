// Lab test of caracal-node's reload retry against the real thing: a one-node lab cluster (etcd, caracal-node
// with caracal-felix and the real caracal-bgpd in a namespace) and a passive BGP speaker in this test process
// on the root side of the cluster segment. The Node gets spec.bgp.ipv6Address with an address that is NOT on
// node1's interface, then a BGPPeer towards the test speaker is created: bgpd.yaml lists both, caracal-bgpd
// refuses the reload as a whole (EADDRNOTAVAIL for the IPv6 listen address), so it does not have the new
// peer; bgpd's status names the refusal, the agent's readiness says so with bgpd's error and its metrics
// show the config not applied and SIGHUPs resent. Then the address is added to the interface and, with no
// further change of bgpd.yaml and no bgpd restart, the agent's next resend makes bgpd apply the file: the
// session to the test speaker comes up, the node's block arrives over it, bgpd's status shows the reload ok
// and the agent is ready again. The IPv6 set-up and waits are ipv6-lab.ts's.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { queryStatus, type Speaker } from '@caracal/bgp-speaker';
import {
  connectDatastore,
  type EtcdKeyValueStore,
  etcdUnavailableReason,
  ResourceStore,
} from '@caracal/datastore';
import { formatIpv4, parseIpv4Cidr } from '@caracal/ip';
import { buildPackagesForLab, freeTcpPort, labAvailable, waitUntil } from '@caracal/lab';
import type { BGPPeerResource, NodeResource } from '@caracal/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bgpdControlSocket } from '../src/bgpd-config.js';
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
if (!runnable) console.log(`reload retry lab test skipped: ${lab.reason ?? etcdMissing}`);

const name = `rlr${randomBytes(3).toString('hex')}`;
const { rootV6, nodeV6 } = perRunIpv6Prefix();
const addresses = new SegmentIpv6Addresses(rootV6, nodeV6);
const PEER_AS = 65098;

let cluster: LabCluster | undefined;
let store: EtcdKeyValueStore | undefined;
let peer: Speaker | undefined;

const c = () => cluster as LabCluster;

/** One metric's value from caracal-node's /metrics (undefined when absent). */
async function nodeMetric(metric: string): Promise<number | undefined> {
  const node = c().node('node1');
  const text = await (
    await fetch(`http://${node.address}:${node.healthPort}/metrics`, { signal: AbortSignal.timeout(5000) })
  ).text();
  const line = text.split('\n').find((l) => l.startsWith(`${metric} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

const bgpdStatus = () => queryStatus(bgpdControlSocket(c().node('node1').runDir), { timeoutMs: 5000 });

describe.skipIf(!runnable)(
  'caracal-node resends SIGHUP until caracal-bgpd applies a refused bgpd.yaml',
  () => {
    beforeAll(async () => {
      await buildPackagesForLab(['packages/node', 'packages/felix']);
      cluster = await startLabCluster({ name, nodes: 1, podsPerNode: 0, readyTimeoutMs: 120_000 });
      store = connectDatastore({ endpoints: [c().etcdEndpoint] });
    }, 300_000);

    afterAll(async () => {
      await peer?.stop({ keepRoutes: false });
      await store?.close();
      addresses.remove();
      await cluster?.down();
    }, 60_000);

    it('a listen address not on the node refuses the reload; once it is there the retry applies the file', async () => {
      const resources = new ResourceStore(store as EtcdKeyValueStore);
      const rootV4 = formatIpv4(parseIpv4Cidr(c().subnet).address + 1);
      const peerPort = await freeTcpPort(rootV4);
      peer = await startSpeaker(
        `asNumber: ${PEER_AS}
routerId: 10.255.255.3
listen: { address: ${rootV4}, port: ${peerPort} }
peers:
  - { name: node1, address: ${c().node('node1').address}, asNumber: 64512, passive: true, holdTime: 9 }
`,
        'peer.yaml',
      );
      await nodeReady(c(), 'node1', 'node1 ready before the change');
      const bgpdPid = nodeStatus(c(), 'node1').bgpdPid;
      expect(bgpdPid).toBeDefined();
      const runningBefore = (await bgpdStatus()).configDigest;
      expect(runningBefore).toMatch(/^[0-9a-f]{64}$/);

      // 1. The node's IPv6 address, not on any interface of node1 yet.
      const node = await resources.get<NodeResource>('Node', 'node1');
      if (node === undefined) throw new Error('Node node1 is not registered');
      await resources.update({
        ...node,
        spec: { ...node.spec, bgp: { ...node.spec.bgp, ipv6Address: `${nodeV6}/64` } },
      });
      await waitUntil(
        'node1 bgpd.yaml listening on the node IPv6 address',
        () => bgpdYaml(c(), 'node1').listen.addresses?.includes(nodeV6),
        { timeoutMs: 20_000 },
      );
      // 2. A new BGPPeer: bgpd.yaml gets it, but bgpd cannot apply any file with that listen address.
      const peerName = `peer-rl-${name}`;
      const bgpPeer: BGPPeerResource = {
        apiVersion: 'caracal.io/v1',
        kind: 'BGPPeer',
        metadata: { name: `rl-${name}` },
        spec: { peerIP: `${rootV4}:${peerPort}`, asNumber: PEER_AS, node: 'node1' },
      };
      await resources.create(bgpPeer);
      await waitUntil(
        'node1 bgpd.yaml with the new peer',
        () => bgpdYaml(c(), 'node1').peers.some((p) => p.name === peerName),
        { timeoutMs: 20_000 },
      );
      const fileText = readFileSync(join(c().node('node1').runDir, 'bgpd.yaml'), 'utf8');

      // bgpd refused it: its status says so, it runs the configuration from before, without the peer.
      const refused = await waitUntil(
        'caracal-bgpd reporting the reload of the newest bgpd.yaml refused',
        async () => {
          const status = await bgpdStatus();
          return status.lastReload?.ok === false && status.peers.every((p) => p.name !== peerName)
            ? status
            : undefined;
        },
        { timeoutMs: 20_000 },
      );
      expect(refused.configDigest).toBe(runningBefore);
      expect(refused.lastReload?.error).toMatch(
        new RegExp(`cannot listen on ${nodeV6} port 179: .*EADDRNOTAVAIL`),
      );
      // The agent: not ready with bgpd's error, metrics and status.json show it, and it keeps resending.
      const notReady = await waitUntil(
        'node1 not ready, naming the refused reload',
        async () => {
          const answer = await c().nodeReadiness('node1');
          return answer.reasons.some((r) => r.includes('refused the latest bgpd.yaml')) ? answer : undefined;
        },
        { timeoutMs: 20_000 },
      );
      expect(notReady.healthy).toBe(false);
      expect(notReady.reasons.find((r) => r.includes('refused the latest bgpd.yaml'))).toMatch(
        new RegExp(`cannot listen on ${nodeV6} port 179`),
      );
      expect(await nodeMetric('caracal_node_bgpd_config_applied')).toBe(0);
      await waitUntil(
        'the agent resending SIGHUP',
        async () => ((await nodeMetric('caracal_node_bgpd_reload_retries_total')) ?? 0) >= 2,
        { timeoutMs: 30_000 },
      );
      expect(await nodeMetric('caracal_node_bgpd_reloads_refused_total')).toBeGreaterThanOrEqual(2);
      const agentStatus = JSON.parse(readFileSync(join(c().node('node1').runDir, 'status.json'), 'utf8'));
      expect(agentStatus).toMatchObject({ bgpdConfigApplied: false });
      expect(agentStatus.bgpdReloadRefused.error).toMatch(/EADDRNOTAVAIL/);
      expect(peer.status().peers.find((p) => p.name === 'node1')?.state).not.toBe('Established');

      // 3. The address comes up on node1's interface (no DAD). Nothing else changes: no bgpd.yaml write,
      // no bgpd restart; only the agent's resent SIGHUP can make bgpd apply the file now.
      addresses.add(c(), 'node1');
      await sessionEstablished(peer, 'node1', 'the new peer session Established after the retry');
      const block = nodeStatus(c(), 'node1').advertisedBlocks[0];
      expect(block).toBeDefined();
      await routeLearned(peer, block as string, `the peer learns ${block} from node1`);
      const applied = await bgpdStatus();
      expect(applied.lastReload).toMatchObject({ ok: true, configDigest: applied.configDigest });
      expect(applied.configDigest).not.toBe(runningBefore);
      expect(applied.listening).toContainEqual({ address: nodeV6, port: 179 });
      expect(readFileSync(join(c().node('node1').runDir, 'bgpd.yaml'), 'utf8')).toBe(fileText);
      expect(nodeStatus(c(), 'node1').bgpdPid).toBe(bgpdPid);
      const readiness = await nodeReady(c(), 'node1', 'node1 ready again (the file applied)');
      expect(readiness.reasons).toEqual([]);
      expect(await nodeMetric('caracal_node_bgpd_config_applied')).toBe(1);
    }, 180_000);
  },
);
