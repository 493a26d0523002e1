// Lab test: teardown leaves nothing behind. Namespaces, root-namespace links and processes of the
// run are compared before, during and after — also when bring-up fails halfway in the kernel.

import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { isSameProcessAlive, LabCommandError, processStartTime } from '../src/kernel.js';
import { Lab, repositoryRoot } from '../src/lab.js';
import { newRunId } from '../src/naming.js';
import { statePath } from '../src/state.js';
import type { Topology } from '../src/topology.js';
import { describeLab } from '../src/vitest.js';
import { EMPTY_SNAPSHOT, snapshotRun } from './snapshot.js';

/** A management segment the root namespace joins, on a random benchmark-range subnet (198.18/15). */
function topologyWithRootLink(): Topology {
  const net = `198.18.${randomInt(256)}`;
  return {
    name: 'teardown test',
    subnets: [{ name: 'mgmt', cidr: `${net}.0/24` }],
    segments: [{ name: 'mgmt', rootAddresses: [`${net}.1`] }],
    hosts: [
      // Static pods need a host default route (proxy ARP); the root namespace's address serves.
      {
        name: 'h1',
        interfaces: [{ segment: 'mgmt', addresses: [`${net}.11`] }],
        routes: [{ to: 'default', via: `${net}.1` }],
      },
      { name: 'h2', interfaces: [{ segment: 'mgmt', addresses: [`${net}.12`] }] },
    ],
    pods: [{ name: 'p1', host: 'h1', mode: 'static', addresses: ['10.213.0.2'] }],
  };
}

describeLab('lab: teardown', () => {
  it('removes every namespace, root link and process the run made', async () => {
    const runId = newRunId();
    expect(await snapshotRun(runId)).toEqual(EMPTY_SNAPSHOT);
    const topology = topologyWithRootLink();
    const lab = await Lab.up(topology, { runId });
    let downDone = false;
    try {
      expect(existsSync(statePath(runId))).toBe(true);
      const rootAddress = topology.segments![0]!.rootAddresses![0]!;
      expect((await lab.ping('h2', rootAddress)).ok).toBe(true);
      const sleeper = await lab.spawn('h1', ['sleep', '600']);
      const podSleeper = await lab.spawn('p1', ['sleep', '600']);
      const server = await lab.httpServe('h2');
      const capture = await lab.capture('h1', 'eth0');
      const started = [sleeper, podSleeper, server.process, capture.process].map((p) => ({
        pid: p.pid,
        startTime: processStartTime(p.pid),
      }));
      const during = await snapshotRun(runId);
      expect(during.namespaces).toEqual([`${runId}-fabric`, `${runId}-h1`, `${runId}-h2`, `${runId}-p1`]);
      expect(during.rootLinks).toEqual([`${runId}r0`]);
      expect(during.processes).toEqual(started.map((p) => p.pid).sort((a, b) => a - b));

      const report = await lab.down();
      downDone = true;
      expect(report.namespaces.sort()).toEqual(during.namespaces);
      expect(await snapshotRun(runId)).toEqual(EMPTY_SNAPSHOT);
      for (const p of started) expect(isSameProcessAlive(p.pid, p.startTime), `pid ${p.pid}`).toBe(false);
      expect(existsSync(statePath(runId))).toBe(false);
      expect(existsSync(lab.runDir)).toBe(false);
    } finally {
      if (!downDone) await lab.down({ keepLogs: true });
    }
  });

  it('removes what a failed bring-up made and reports the failing step', async () => {
    const runId = newRunId();
    const topology = topologyWithRootLink();
    // Valid as data, refused by the kernel: the gateway is on no connected network.
    topology.hosts![1]!.routes = [{ to: '10.214.0.0/16', via: '192.0.2.77' }];
    const error = await Lab.up(topology, { runId }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabCommandError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^route 10\\.214\\.0\\.0/16 via 192\\.0\\.2\\.77 in h2 \\(hosts\\[1\\]\\.routes\\[0\\]\\): \`ip -n ${runId}-h2 -4 route add`,
      ),
    );
    expect(await snapshotRun(runId)).toEqual(EMPTY_SNAPSHOT);
    expect(existsSync(statePath(runId))).toBe(false);
    // Bring-up failures keep their logs for inspection; this one was expected.
    await rm(join(repositoryRoot(), '.lab-runs', runId), { recursive: true, force: true });
  });
});
