// Lab test of the cluster builder against the real thing: etcd, caracal-node (with caracal-felix and
// caracal-bgpd) in 2 node namespaces, pods through the real CNI plugin. Proves: startLabCluster resolves
// only once every pod reaches every other (ping and TCP, across nodes through routes BGP installed);
// every node's caracal-bgpd reports its session to the other node Established; another process's view
// (attachLabCluster, from the state file) sees the same cluster; addPod wires a pod reachable from the
// other node, deletePod removes its veth and namespace; a pod cut off makes waitForConnectivity fail
// naming each unreachable pair and the BGP sessions; down() leaves no namespace, root link, process
// or state behind, and a second down finds nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { etcdUnavailableReason } from '@caracal/datastore';
import { buildPackagesForLab, labAvailable, waitUntil } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachLabCluster,
  downLabCluster,
  type LabCluster,
  LabUnreachableError,
  startLabCluster,
} from '../src/index.js';

const lab = labAvailable();
const etcdMissing = etcdUnavailableReason();
const runnable = lab.available && etcdMissing === undefined;
if (!runnable) console.log(`lab cluster test skipped: ${lab.reason ?? etcdMissing}`);

const name = `lct${randomBytes(3).toString('hex')}`;
let cluster: LabCluster | undefined;

const namespacesOf = (runId: string) =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((ns) => ns.startsWith(`${runId}-`));
const rootLinksOf = (runId: string) =>
  spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0] ?? '')
    .filter((link) => link.startsWith(runId));
const alive = (pid: number) => {
  // A killed child of this very process stays a zombie until Node reaps it: that is not running.
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe.skipIf(!runnable)(
  'lab cluster of 2 nodes with real etcd, caracal-node, bgpd and the CNI plugin',
  () => {
    beforeAll(async () => {
      await buildPackagesForLab(['packages/node', 'packages/felix', 'packages/cni']);
      cluster = await startLabCluster({ name, nodes: 2, podsPerNode: 1, readyTimeoutMs: 120_000 });
    }, 300_000);

    afterAll(async () => {
      await cluster?.down();
    }, 60_000);

    it('is up with every pod reaching every other, across nodes', async () => {
      const c = cluster as LabCluster;
      expect(c.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);
      expect(c.pods.map((p) => `${p.name}@${p.node}`)).toEqual(['node1-p1@node1', 'node2-p1@node2']);
      for (const pod of c.pods) expect(pod.address).toMatch(/^10\.244\.\d+\.\d+$/);
      expect(existsSync(c.statePath)).toBe(true);
      expect(namespacesOf(c.runId).sort()).toEqual(
        [
          `${c.runId}-etcd`,
          `${c.runId}-fabric`,
          `${c.runId}-node1`,
          `${c.runId}-node1-p1`,
          `${c.runId}-node2`,
          `${c.runId}-node2-p1`,
        ].sort(),
      );
      const matrix = await c.connectivityMatrix();
      expect(matrix.cells).toHaveLength(2);
      expect(matrix.unreachable).toEqual([]);
      expect(matrix.cells.every((cell) => cell.ping.ok && cell.tcp?.ok === true)).toBe(true);
    });

    it("reports each node's BGP session to the other node as Established", async () => {
      const c = cluster as LabCluster;
      for (const [self, other] of [
        ['node1', 'node2'],
        ['node2', 'node1'],
      ] as const) {
        const status = await c.bgpStatus(self);
        expect(status.error).toBeUndefined();
        expect(status.peers?.map((p) => `${p.peerAddress} ${p.state}`)).toEqual([
          `${c.node(other).address} Established`,
        ]);
      }
    });

    it('is seen the same by another process through its state file', async () => {
      const c = cluster as LabCluster;
      const attached = attachLabCluster(name);
      expect(attached?.runId).toBe(c.runId);
      expect(attached?.pods.map((p) => p.address)).toEqual(c.pods.map((p) => p.address));
      expect((await attached?.connectivityMatrix())?.allReachable).toBe(true);
    });

    it('adds a pod reachable from the other node and deletes it again', async () => {
      const c = cluster as LabCluster;
      const added = await c.addPod('node1', { name: 'extra' });
      expect(added.address).toMatch(/^10\.244\./);
      await waitUntil(
        'node2-p1 to reach the new pod',
        async () => (await c.ping('node2-p1', added.address)) || undefined,
        {
          timeoutMs: 30_000,
        },
      );
      await expect(c.addPod('node1', { name: 'extra' })).rejects.toThrow(
        /already has a pod or node named 'extra'/,
      );
      await expect(c.addPod('node7')).rejects.toThrow(/has no node 'node7' \(nodes: node1, node2\)/);
      await c.deletePod('extra');
      expect(namespacesOf(c.runId)).not.toContain(`${c.runId}-extra`);
      const veth = spawnSync('ip', [
        '-n',
        c.node('node1').namespace,
        'link',
        'show',
        added.hostInterface ?? 'none',
      ]);
      expect(veth.status).not.toBe(0);
      expect(await c.ping('node2-p1', added.address)).toBe(false);
      expect(c.pods.map((p) => p.name)).toEqual(['node1-p1', 'node2-p1']);
    });

    it('names every unreachable pair and the BGP sessions when a pod is cut off', async () => {
      const c = cluster as LabCluster;
      const cut = c.pod('node2-p1');
      execFileSync('ip', ['-n', cut.namespace, 'link', 'set', 'eth0', 'down']);
      const failure = await c.waitForConnectivity({ timeoutMs: 2000 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(LabUnreachableError);
      const { message, matrix } = failure as LabUnreachableError;
      expect(matrix.unreachable.map((cell) => `${cell.from}→${cell.to}`).sort()).toEqual([
        'node1-p1→node2-p1',
        'node2-p1→node1-p1',
      ]);
      expect(message).toContain(`2 of 2 pod pairs still unreachable after 2.0 s`);
      expect(message).toContain(`node1-p1 → node2-p1 (${cut.address}): ping: `);
      expect(message).toContain(`BGP sessions:\n  node1: ${c.node('node2').address} Established`);
    });

    it('goes down leaving no namespace, root link, process or state, and a second down finds nothing', async () => {
      const c = cluster as LabCluster;
      // caracal-node, felix, bgpd, etcd, the pod listeners: everything inside the cluster's namespaces.
      const pids = namespacesOf(c.runId).flatMap((ns) =>
        spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
          .stdout.split(/\s+/)
          .filter(Boolean)
          .map(Number),
      );
      expect(pids.length).toBeGreaterThanOrEqual(9);
      expect(pids).toEqual(expect.arrayContaining(c.nodes.map((n) => n.pid)));
      expect(rootLinksOf(c.runId)).toHaveLength(1);
      const report = await c.down();
      cluster = undefined;
      expect(report.namespaces.length).toBe(6);
      expect(namespacesOf(c.runId)).toEqual([]);
      expect(rootLinksOf(c.runId)).toEqual([]);
      expect(pids.filter(alive)).toEqual([]);
      expect(existsSync(c.statePath)).toBe(false);
      expect(existsSync(c.logDir)).toBe(false);
      expect(await downLabCluster(name)).toBeUndefined();
    });
  },
);
