// Lab test of the built `caracalctl lab up|status|down` as a newcomer runs it (root, real etcd,
// caracal-node with caracal-felix and caracal-bgpd in 4 node namespaces, 8 pods through the CNI plugin):
// `up` exits 0 leaving the cluster running, after printing its steps with timings, the pod × pod matrix
// with every pair reachable by ping and TCP, and every node's BGP table with 3 Established mesh peers;
// `status` (a new process) prints the same; `down` removes every namespace, root link and process the
// cluster made and its state, and a second `down` has nothing to do.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { etcdUnavailableReason } from '@caracal/datastore';
import { buildPackagesForLab } from '@caracal/lab';
import { labClusterStatePath } from '@caracal/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuiltCli } from './built-cli.js';

const namespacesWork = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
const etcdMissing = etcdUnavailableReason();
const runnable = namespacesWork && etcdMissing === undefined;
if (!runnable)
  console.log(`caracalctl lab test skipped: ${etcdMissing ?? 'needs root and network namespaces'}`);

const name = `ctl${randomBytes(3).toString('hex')}`;
const statePath = labClusterStatePath(name);
let runId = '';
let upPids: number[] = [];

const namespacesOf = (id: string) =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((ns) => ns.startsWith(`${id}-`));
const rootLinksOf = (id: string) =>
  spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0] ?? '')
    .filter((link) => link.startsWith(id));
const alive = (pid: number) => {
  // A killed child of this very process stays a zombie until Node reaps it: that is not running.
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** The matrix rows of the output: `<pod> (<address>)  cell cell …`. */
function matrixRows(output: string): string[][] {
  return output
    .split('\n')
    .filter((line) => /^node\d-p\d \(10\.244\.\d+\.\d+\) /.test(line))
    .map((line) => line.split(/\s{2,}/).slice(1));
}

function expectAllReachable(output: string): void {
  const rows = matrixRows(output);
  expect(rows).toHaveLength(8);
  for (const [index, row] of rows.entries()) {
    expect(row).toHaveLength(8);
    expect(row).toEqual(row.map((_, column) => (column === index ? '·' : 'ok/ok')));
  }
  expect(output).toContain('56/56 pairs reachable');
}

function expectMeshEstablished(output: string): void {
  for (const node of ['node1', 'node2', 'node3', 'node4']) {
    const section = output.split(`BGP status of ${node} `)[1]?.split('BGP status of ')[0] ?? '';
    const established = section
      .split('\n')
      .filter((line) => /^\| 10\.\d+\.\d+\.1[1-4] .*\| Established /.test(line));
    expect(established, `${node}'s BGP table:\n${section}`).toHaveLength(3);
  }
}

describe.skipIf(!runnable)('caracalctl lab up, status and down (built executable, 4 nodes, 8 pods)', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/ctl', 'packages/node', 'packages/felix', 'packages/cni']);
  }, 300_000);

  afterAll(async () => {
    if (existsSync(statePath)) await runBuiltCli(['lab', 'down', '--name', name]);
  }, 120_000);

  it('up refuses a --subnet that overlaps a route of this machine, before making anything', async () => {
    // A /24 inside a connected route of the root namespace (the machine's own network, or a lab's).
    const routes = JSON.parse(spawnSync('ip', ['-4', '-j', 'route'], { encoding: 'utf8' }).stdout) as {
      dst: string;
    }[];
    const connected = routes.find((r) => /\/(1[6-9]|2[0-4])$/.test(r.dst));
    if (connected === undefined) return;
    const subnet = `${connected.dst.split('/')[0]?.split('.').slice(0, 3).join('.')}.0/24`;
    const up = await runBuiltCli(['lab', 'up', '--name', name, '--subnet', subnet], { timeoutMs: 280_000 });
    expect(up.code).toBe(2);
    expect(up.stderr).toContain(`--subnet: ${subnet} overlaps the route ${connected.dst} of this machine`);
    expect(existsSync(statePath)).toBe(false);
  });

  it('up builds it, prints steps, an all-reachable matrix and Established BGP tables, and leaves it running', async () => {
    const up = await runBuiltCli(['lab', 'up', '--name', name, '--timeout', '120000'], {
      timeoutMs: 280_000,
    });
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    for (const step of [
      'namespaces: etcd + 4 nodes',
      'etcd at http://',
      'IPPool default-ipv4-ippool 10.244.0.0/16',
      'caracal-node in 4 namespaces',
      'nodes ready',
      '8 pods through the CNI plugin',
      'every pod reaches every other pod',
    ]) {
      expect(up.stdout).toMatch(new RegExp(`✓ ${step.replace(/[.+]/g, '\\$&')}.* \\(\\d+\\.\\d s\\)`));
    }
    expectAllReachable(up.stdout);
    expectMeshEstablished(up.stdout);
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as { runId: string; detached: boolean };
    expect(state.detached).toBe(true);
    runId = state.runId;
    // Still running after `up` exited: every namespace, and processes inside the node namespaces.
    expect(namespacesOf(runId)).toHaveLength(4 + 8 + 2);
    upPids = namespacesOf(runId).flatMap((ns) =>
      spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
        .stdout.split(/\s+/)
        .filter(Boolean)
        .map(Number),
    );
    // etcd, 4 × (caracal-node, caracal-felix, caracal-bgpd), 8 pod listeners.
    expect(upPids.length).toBeGreaterThanOrEqual(21);
  });

  it('status, from a new process, probes it again with the same result', async () => {
    const status = await runBuiltCli(['lab', 'status', '--name', name]);
    expect(status.code).toBe(0);
    expectAllReachable(status.stdout);
    expectMeshEstablished(status.stdout);
  });

  it('a second up of the same name fails, naming the running one, and leaves it alone', async () => {
    const again = await runBuiltCli(['lab', 'up', '--name', name], { timeoutMs: 280_000 });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`lab cluster '${name}' is already up (run ${runId}`);
    expect(again.stderr).toContain(`caracalctl lab down --name ${name}`);
    expect(namespacesOf(runId)).toHaveLength(4 + 8 + 2);
  });

  it('down removes every namespace, root link, process and the state; a second down has nothing to do', async () => {
    expect(rootLinksOf(runId)).toHaveLength(1);
    const down = await runBuiltCli(['lab', 'down', '--name', name]);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(
      new RegExp(
        `lab cluster '${name}' \\(run ${runId}\\) is down: processes stopped \\(\\d+ PIDs signalled, their children with them\\), 14 namespaces and 1 root link\\(s\\) removed`,
      ),
    );
    expect(namespacesOf(runId)).toEqual([]);
    expect(rootLinksOf(runId)).toEqual([]);
    expect(upPids.filter(alive)).toEqual([]);
    expect(existsSync(statePath)).toBe(false);
    const again = await runBuiltCli(['lab', 'down', '--name', name]);
    expect(again).toMatchObject({ code: 0, stdout: `no lab cluster named '${name}' is up; nothing to do\n` });
  });
});
