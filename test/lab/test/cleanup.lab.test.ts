// Lab test: runs that die. A `caracal-lab up --foreground` child killed with SIGKILL leaves its lab
// behind; `cleanupStale` removes it (namespaces, processes inside them, state) and leaves a namespace
// that does not carry our prefix alone. A child that gets SIGTERM or SIGINT tears its lab down itself.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildPackagesForLab } from '../src/build.js';
import { cleanupStale, isStale } from '../src/cleanup.js';
import { isSameProcessAlive, listNamespaces, processStartTime, systemRunner } from '../src/kernel.js';
import { repositoryRoot } from '../src/lab.js';
import { readState } from '../src/state.js';
import { describeLab } from '../src/vitest.js';
import { WaitAbortedError, waitUntil } from '../src/wait.js';
import { EMPTY_SNAPSHOT, snapshotRun } from './snapshot.js';

const root = repositoryRoot();
const cli = join(root, 'test/lab/dist/src/cli.js');

/** Starts `caracal-lab up --foreground FILE` and resolves with its run id once the lab is ready. */
async function startForegroundLab(file: string): Promise<{ child: ChildProcess; runId: string }> {
  const child = spawn(process.execPath, [cli, 'up', '--foreground', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const runId = await waitUntil(
    'caracal-lab up --foreground to print "ready"',
    () => {
      if (child.exitCode !== null) throw new WaitAbortedError(`exited with ${child.exitCode}: ${output}`);
      return /^ready (crl[0-9a-z]{4})/m.exec(output)?.[1];
    },
    { timeoutMs: 60_000 },
  );
  return { child, runId };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
}

describeLab('lab: cleanup after crashed runs', () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    // The child runs the built CLI, so build this package's dist from the current sources.
    await buildPackagesForLab(['test/lab']);
    dir = mkdtempSync(join(tmpdir(), 'caracal-lab-test-'));
    file = join(dir, 'topology.yaml');
    writeFileSync(
      file,
      [
        'name: crash test',
        'subnets:',
        '  - { name: a, cidr: 10.0.1.0/24 }',
        'hosts:',
        '  - { name: h1, interfaces: [{ segment: a, addresses: [10.0.1.11] }], routes: [{ to: default, via: 10.0.1.1 }] }',
        '  - { name: h2, interfaces: [{ segment: a, addresses: [10.0.1.12] }] }',
        'pods:',
        '  - { name: p1, host: h1, mode: static, addresses: [10.66.0.2] }',
        '',
      ].join('\n'),
    );
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('removes a SIGKILLed run and nothing that is not ours', async () => {
    const foreign = `caracal-foreign-${randomBytes(4).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', foreign]);
    let runId: string | undefined;
    let straggler: ChildProcess | undefined;
    try {
      const started = await startForegroundLab(file);
      runId = started.runId;
      const during = await snapshotRun(runId);
      expect(during.namespaces).toEqual([`${runId}-fabric`, `${runId}-h1`, `${runId}-h2`, `${runId}-p1`]);
      // A process inside the lab that the dead run never recorded: cleanup finds it via `ip netns pids`.
      straggler = spawn('ip', ['netns', 'exec', `${runId}-h2`, 'sleep', '600'], {
        detached: true,
        stdio: 'ignore',
      });
      straggler.unref();
      const stragglerPid = straggler.pid as number;
      const stragglerStart = await waitUntil('the straggler to start', () => processStartTime(stragglerPid));
      await waitUntil('the straggler to be inside h2', async () =>
        (await snapshotRun(runId!)).processes.includes(stragglerPid),
      );

      started.child.kill('SIGKILL');
      await exited(started.child);
      const state = readState(runId);
      expect(state?.ownerPid).toBe(started.child.pid);
      expect(state && isStale(state)).toBe(true);
      expect((await snapshotRun(runId)).namespaces).toEqual(during.namespaces);

      const report = await cleanupStale();
      expect(report.runs).toContain(runId);
      expect(report.namespaces).toEqual(expect.arrayContaining(during.namespaces));
      expect(report.processes).toContain(stragglerPid);
      expect(await snapshotRun(runId)).toEqual(EMPTY_SNAPSHOT);
      expect(readState(runId)).toBeUndefined();
      await waitUntil('the straggler to die', () => !isSameProcessAlive(stragglerPid, stragglerStart));
      expect(await listNamespaces(systemRunner)).toContain(foreign);
    } finally {
      if (straggler?.pid !== undefined && straggler.exitCode === null) {
        try {
          process.kill(straggler.pid, 'SIGKILL');
        } catch {}
      }
      if (runId) {
        await cleanupStale({ runId });
        rmSync(join(root, '.lab-runs', runId), { recursive: true, force: true });
      }
      execFileSync('ip', ['netns', 'del', foreign]);
    }
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('tears the lab down itself on %s', async (signal) => {
    const { child, runId } = await startForegroundLab(file);
    try {
      expect((await snapshotRun(runId)).namespaces).toHaveLength(4);
      child.kill(signal);
      await exited(child);
      expect(child.signalCode).toBe(signal);
      expect(await snapshotRun(runId)).toEqual(EMPTY_SNAPSHOT);
      expect(readState(runId)).toBeUndefined();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await cleanupStale({ runId });
      rmSync(join(root, '.lab-runs', runId), { recursive: true, force: true });
    }
  });
});
