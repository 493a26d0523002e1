// Lab test of cross-node IPv6 pod routing against the real thing: a 2-node lab cluster (etcd, caracal-node
// with caracal-felix and caracal-bgpd in each node namespace) whose segment also carries a per-run ULA /64;
// node1's caracal-node finds its IPv6 address itself (`--ip6 autodetect`, first-found), node2's is given
// (`--ip6 <addr>/64`). An IPv4 pool (the cluster's) and a per-run IPv6 pool (/122 blocks); one dual-stack pod
// per node through the real `caracal` / `caracal-ipam` executables with `"assign_ipv6": "true"`. Proves: both
// Nodes carry spec.bgp.ipv6Address; each bgpd.yaml has the IPv4 mesh session as before plus an ipv6-unicast
// session between the nodes' IPv6 addresses (localAddress = our own) and originates the node's IPv6 block;
// both sessions are Established; each node's kernel routes the other node's /122 via the other node's IPv6
// address with caracal-bgpd's protocol 201; `ping -6` works pod1 → pod2 and pod2 → pod1 (and IPv4 still does).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectDatastore, etcdUnavailableReason, ResourceStore } from '@caracal/datastore';
import { cidrContainsCidr, formatCidr, parseCidr } from '@caracal/ip';
import { buildPackagesForLab, labAvailable, perRunUla48, waitUntil } from '@caracal/lab';
import type { NodeResource } from '@caracal/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type LabCluster, type LabClusterPod, labIpPool, startLabCluster } from '../src/index.js';

const lab = labAvailable();
const etcdMissing = etcdUnavailableReason();
const runnable = lab.available && etcdMissing === undefined;
if (!runnable) console.log(`dual-stack lab test skipped: ${lab.reason ?? etcdMissing}`);

const name = `ds${randomBytes(3).toString('hex')}`;
// Per-run ULAs (canonical text): the segment's /64 and, beside it in the same /48, the pods' IPv6 pool.
const ula48 = perRunUla48();
const SEGMENT_V6 = `${ula48}::/64`;
const POOL_V6 = formatCidr(parseCidr(`${ula48}:ffff::/112`));
const POOL_V6_NAME = `${name}-ipv6`;
const BLOCK_V6_LENGTH = 122;

let cluster: LabCluster | undefined;
const c = () => cluster as LabCluster;

interface BgpdYaml {
  listen: { address?: string; addresses?: string[]; port: number };
  originate: { prefix: string; blackhole: boolean }[];
  peers: { name: string; address: string; families?: string[]; localAddress?: string; passive: boolean }[];
}
const bgpdYamlOf = (node: string) =>
  parseYaml(readFileSync(join(c().node(node).runDir, 'bgpd.yaml'), 'utf8')) as BgpdYaml;
const statusOf = (node: string) =>
  JSON.parse(readFileSync(join(c().node(node).runDir, 'status.json'), 'utf8')) as {
    ipv6Address: string | null;
    bgpdSessions: { name: string; address: string; state: string }[];
  };

/** `ip -6 route show exact <prefix>` in a node's namespace, trimmed (empty: no such route). */
function ipv6RouteIn(node: string, prefix: string): string {
  const result = spawnSync('ip', ['-n', c().node(node).namespace, '-6', 'route', 'show', 'exact', prefix], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`ip -6 route show in ${node}: ${result.stderr}`);
  return result.stdout.trim();
}

/** `ping -6` once from a pod's namespace; true when it answered. */
function ping6(pod: LabClusterPod, address: string): boolean {
  return (
    spawnSync(
      'ip',
      ['netns', 'exec', pod.namespace, 'ping', '-6', '-n', '-q', '-c', '1', '-W', '1', address],
      {
        encoding: 'utf8',
      },
    ).status === 0
  );
}

/** The /122 block holding an IPv6 address. */
const blockOf = (address: string) =>
  formatCidr(parseCidr(`${address}/${BLOCK_V6_LENGTH}`, { hostBits: 'clear' }));

describe.skipIf(!runnable)('pods on two nodes reach each other over IPv6 (BGP ipv6-unicast mesh)', () => {
  let pod1: LabClusterPod;
  let pod2: LabClusterPod;

  beforeAll(async () => {
    await buildPackagesForLab(['packages/node', 'packages/felix', 'packages/cni']);
    cluster = await startLabCluster({
      name,
      nodes: 2,
      podsPerNode: 0,
      ipv6Subnet: SEGMENT_V6,
      nodeIp6: { node1: 'autodetect' },
      readyTimeoutMs: 120_000,
    });
    const kv = connectDatastore({ endpoints: [c().etcdEndpoint] });
    try {
      const pool = labIpPool(POOL_V6_NAME, POOL_V6, BLOCK_V6_LENGTH);
      await new ResourceStore(kv).create(pool);
    } finally {
      await kv.close();
    }
  }, 300_000);

  afterAll(async () => {
    await cluster?.down();
  }, 60_000);

  it('registers both IPv6 addresses: node1 autodetected, node2 given', async () => {
    const node1v6 = c().node('node1').address6 as string;
    const node2v6 = c().node('node2').address6 as string;
    expect(node1v6).toMatch(/:/);
    const kv = connectDatastore({ endpoints: [c().etcdEndpoint] });
    try {
      const store = new ResourceStore(kv);
      const node1 = await store.get<NodeResource>('Node', 'node1');
      const node2 = await store.get<NodeResource>('Node', 'node2');
      expect(node1?.spec.bgp?.ipv6Address).toBe(`${node1v6}/64`);
      expect(node2?.spec.bgp?.ipv6Address).toBe(`${node2v6}/64`);
    } finally {
      await kv.close();
    }
    expect(statusOf('node1').ipv6Address).toBe(`${node1v6}/64`);
    expect(statusOf('node2').ipv6Address).toBe(`${node2v6}/64`);
  });

  it('one dual-stack pod per node through the real CNI plugin', async () => {
    pod1 = await c().addPod('node1', { name: 'pod1', assignIpv6: true, tcpListener: false });
    pod2 = await c().addPod('node2', { name: 'pod2', assignIpv6: true, tcpListener: false });
    for (const pod of [pod1, pod2]) {
      expect(pod.address6, `${pod.name} got an IPv6 address`).toBeDefined();
      expect(
        cidrContainsCidr(parseCidr(POOL_V6), parseCidr(`${pod.address6}/128`)),
        `${pod.address6} in ${POOL_V6}`,
      ).toBe(true);
    }
  }, 120_000);

  it("bgpd.yaml: the IPv4 mesh session as before, an ipv6-unicast session between the IPv6 addresses, the node's IPv6 block", async () => {
    for (const [self, other] of [
      ['node1', 'node2'],
      ['node2', 'node1'],
    ] as const) {
      const selfV6 = c().node(self).address6 as string;
      const otherV6 = c().node(other).address6 as string;
      const ownBlock = blockOf((self === 'node1' ? pod1 : pod2).address6 as string);
      await waitUntil(
        `${self}'s bgpd.yaml originates ${ownBlock}`,
        () => bgpdYamlOf(self).originate.some((o) => o.prefix === ownBlock),
        { timeoutMs: 15_000 },
      );
      const yaml = bgpdYamlOf(self);
      expect(yaml.originate.find((o) => o.prefix === ownBlock)?.blackhole).toBe(false);
      expect(yaml.listen.addresses).toEqual([c().node(self).address, selfV6]);
      const mesh4 = yaml.peers.find((p) => p.name === `mesh-${other}`);
      expect(mesh4?.address).toBe(c().node(other).address);
      expect(mesh4?.families).toBeUndefined();
      const mesh6 = yaml.peers.find((p) => p.name === `mesh6-${other}`);
      expect(mesh6).toMatchObject({ address: otherV6, families: ['ipv6-unicast'], localAddress: selfV6 });
    }
    // Exactly one side of the IPv6 pair connects.
    const passive1 = bgpdYamlOf('node1').peers.find((p) => p.name === 'mesh6-node2')?.passive;
    const passive2 = bgpdYamlOf('node2').peers.find((p) => p.name === 'mesh6-node1')?.passive;
    expect(passive1).not.toBe(passive2);
  }, 60_000);

  it("each node routes the other node's IPv6 /122 via the other node's IPv6 address with proto 201", async () => {
    for (const [self, other, remotePod] of [
      ['node1', 'node2', pod2],
      ['node2', 'node1', pod1],
    ] as const) {
      const block = blockOf(remotePod.address6 as string);
      const via = c().node(other).address6 as string;
      const route = await waitUntil(
        `${self} routes ${block} via ${other} (${via}) with proto 201`,
        () => {
          const text = ipv6RouteIn(self, block);
          return text.includes(`via ${via} `) && /\bproto 201\b/.test(text) && text;
        },
        { timeoutMs: 30_000 },
      );
      expect(route.startsWith(`${block} via ${via} `)).toBe(true);
    }
    await waitUntil(
      'both nodes report their IPv4 and IPv6 mesh sessions Established',
      () =>
        ['node1', 'node2'].every((node) => {
          const sessions = statusOf(node).bgpdSessions;
          return sessions.length === 2 && sessions.every((s) => s.state === 'Established');
        }),
      { timeoutMs: 20_000 },
    );
  }, 60_000);

  it('ping -6 from the pod on node1 to the pod on node2 and back; IPv4 too', async () => {
    await waitUntil('pod1 → pod2 over IPv6 answers', () => ping6(pod1, pod2.address6 as string), {
      timeoutMs: 15_000,
      intervalMs: 500,
    });
    expect(ping6(pod2, pod1.address6 as string)).toBe(true);
    expect(ping6(pod1, pod2.address6 as string)).toBe(true);
    expect(await c().ping('pod1', pod2.address, 2)).toBe(true);
    expect(await c().ping('pod2', pod1.address, 2)).toBe(true);
  }, 60_000);
});
