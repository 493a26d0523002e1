// Lab test of borrowed addresses against the real thing: 2 nodes (etcd, caracal-node with caracal-felix and
// caracal-bgpd, pods through the real CNI plugin and caracal-ipam) on a pool of exactly two /31 blocks, one
// claimed by each node at start-up, strictAffinity off (the default). node2 fills its block, node1 takes one
// address of its own, and node2's next pod must borrow the last address of node1's block. Proves: node2's
// bgpd.yaml originates that address as a /32 (no blackhole); node1's kernel routes it `via <node2> proto 201`
// while Felix's blackhole of its block (proto 96) stays, and longest prefix wins, so pods on node1 and the
// borrowing pod ping each other both ways; deleting the borrowed pod withdraws the /32 (bgpd.yaml and
// node1's kernel) while the pods that remain still reach each other.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { etcdUnavailableReason } from '@caracal/datastore';
import { buildPackagesForLab, labAvailable, waitUntil } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipv4CidrContains } from '../src/agent/blocks-state.js';
import { type LabCluster, type LabClusterPod, startLabCluster } from '../src/index.js';

const lab = labAvailable();
const etcdMissing = etcdUnavailableReason();
const runnable = lab.available && etcdMissing === undefined;
if (!runnable) console.log(`borrowed-address lab test skipped: ${lab.reason ?? etcdMissing}`);

const name = `bor${randomBytes(3).toString('hex')}`;
// Two blocks of two addresses: node1 and node2 each claim one when their agent starts.
const POOL_CIDR = '10.244.0.0/30';
const BLOCK_SIZE = 31;
let cluster: LabCluster | undefined;

const c = () => cluster as LabCluster;

interface AgentStatus {
  blocks: string[];
  advertisedBlocks: string[];
  advertisedBorrowedAddresses: string[];
}
const statusOf = (node: string): AgentStatus =>
  JSON.parse(readFileSync(join(c().node(node).runDir, 'status.json'), 'utf8')) as AgentStatus;
const bgpdYamlOf = (node: string) => readFileSync(join(c().node(node).runDir, 'bgpd.yaml'), 'utf8');

/** `ip -4 route show exact <prefix>` in a node's namespace, trimmed (empty: no such route). */
function routeIn(node: string, prefix: string): string {
  const result = spawnSync('ip', ['-n', c().node(node).namespace, '-4', 'route', 'show', 'exact', prefix], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`ip route show in ${node}: ${result.stderr}`);
  return result.stdout.trim();
}

const originates = (node: string, prefix: string) =>
  bgpdYamlOf(node).includes(`- prefix: ${prefix}\n    blackhole: false`);

describe.skipIf(!runnable)('a pod address borrowed from another node’s block is advertised as a /32', () => {
  let node1Pod: LabClusterPod;
  let node2Own: LabClusterPod[] = [];
  let borrowed: LabClusterPod;
  let node1Block: string;

  beforeAll(async () => {
    await buildPackagesForLab(['packages/node', 'packages/felix', 'packages/cni']);
    cluster = await startLabCluster({
      name,
      nodes: 2,
      podsPerNode: 0,
      poolCidr: POOL_CIDR,
      blockSize: BLOCK_SIZE,
      readyTimeoutMs: 120_000,
    });
  }, 300_000);

  afterAll(async () => {
    await cluster?.down();
  }, 60_000);

  it('each node claimed one of the two blocks and advertises it, nothing borrowed yet', () => {
    const blocks1 = statusOf('node1').blocks;
    const blocks2 = statusOf('node2').blocks;
    expect(blocks1).toHaveLength(1);
    expect(blocks2).toHaveLength(1);
    expect([...blocks1, ...blocks2].sort()).toEqual(['10.244.0.0/31', '10.244.0.2/31']);
    node1Block = blocks1[0] as string;
    expect(statusOf('node1').advertisedBlocks).toEqual(blocks1);
    expect(statusOf('node2').advertisedBorrowedAddresses).toEqual([]);
    expect(bgpdYamlOf('node2')).not.toContain('/32');
  });

  it("node2's pod beyond its own block borrows from node1's block", async () => {
    // node2 fills its own block, node1 takes one of its two addresses, node2's third pod takes the other.
    node2Own = [
      await c().addPod('node2', { name: 'n2-own-a' }),
      await c().addPod('node2', { name: 'n2-own-b' }),
    ];
    for (const pod of node2Own)
      expect(ipv4CidrContains(statusOf('node2').blocks[0] as string, `${pod.address}/32`)).toBe(true);
    node1Pod = await c().addPod('node1', { name: 'n1-a' });
    expect(ipv4CidrContains(node1Block, `${node1Pod.address}/32`)).toBe(true);
    borrowed = await c().addPod('node2', { name: 'n2-borrowed' });
    expect(ipv4CidrContains(node1Block, `${borrowed.address}/32`)).toBe(true);
    expect(borrowed.address).not.toBe(node1Pod.address);
  }, 120_000);

  it("node2's bgpd originates the /32 and node1's kernel routes it via node2 (proto 201) beside its blackhole", async () => {
    const prefix = `${borrowed.address}/32`;
    await waitUntil(`node2's bgpd.yaml originates ${prefix}`, () => originates('node2', prefix), {
      timeoutMs: 15_000,
    });
    expect(statusOf('node2').advertisedBorrowedAddresses).toEqual([prefix]);
    // The block stays node1's only: node1 advertises nothing borrowed, node2 does not advertise node1's block.
    expect(statusOf('node1').advertisedBorrowedAddresses).toEqual([]);
    expect(statusOf('node2').advertisedBlocks).not.toContain(node1Block);
    const node2Address = c().node('node2').address;
    const route = await waitUntil(
      `node1 routes ${prefix} via node2 (${node2Address}) with proto 201`,
      () => {
        const text = routeIn('node1', prefix);
        return new RegExp(`via ${node2Address.replaceAll('.', '\\.')} .*proto 201\\b`).test(text) && text;
      },
      { timeoutMs: 20_000 },
    );
    expect(route).toMatch(new RegExp(`^${borrowed.address.replaceAll('.', '\\.')} via`));
    // Felix's blackhole of node1's own block is still there: the /32 wins by longest prefix.
    expect(routeIn('node1', node1Block)).toMatch(/^blackhole .*proto 96\b/);
    const lookup = spawnSync(
      'ip',
      ['-n', c().node('node1').namespace, '-4', 'route', 'get', borrowed.address],
      {
        encoding: 'utf8',
      },
    );
    expect(lookup.stdout).toMatch(new RegExp(`via ${node2Address.replaceAll('.', '\\.')}\\b`));
  }, 60_000);

  it('the borrowing pod and the pod on node1 ping each other both ways; node2 pods reach node1', async () => {
    await waitUntil('n1-a → n2-borrowed answers', async () => await c().ping('n1-a', borrowed.address), {
      timeoutMs: 15_000,
      intervalMs: 500,
    });
    expect(await c().ping('n2-borrowed', node1Pod.address)).toBe(true);
    expect(await c().ping('n1-a', borrowed.address)).toBe(true);
    for (const pod of node2Own) {
      expect(await c().ping(pod.name, node1Pod.address)).toBe(true);
      expect(await c().ping('n1-a', pod.address)).toBe(true);
    }
  }, 60_000);

  it('deleting the borrowed pod withdraws the /32 everywhere; the other pods still reach each other', async () => {
    const prefix = `${borrowed.address}/32`;
    await c().deletePod('n2-borrowed');
    await waitUntil(`node2's bgpd.yaml no longer originates ${prefix}`, () => !originates('node2', prefix), {
      timeoutMs: 15_000,
    });
    expect(statusOf('node2').advertisedBorrowedAddresses).toEqual([]);
    await waitUntil(`node1 no longer routes ${prefix}`, () => routeIn('node1', prefix) === '', {
      timeoutMs: 20_000,
    });
    // The address falls back into node1's blackhole, and what remains works.
    expect(routeIn('node1', node1Block)).toMatch(/^blackhole .*proto 96\b/);
    expect(await c().ping('n1-a', node2Own[0]?.address as string, 2)).toBe(true);
    expect(await c().ping(node2Own[1]?.name as string, node1Pod.address, 2)).toBe(true);
  }, 60_000);
});
