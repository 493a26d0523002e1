// Removing what crashed runs left behind: runs whose state file names an owner process that is gone
// (and that were not detached on purpose), plus namespaces and root links carrying our name pattern
// that no live run claims. Namespaces or links of live runs (other tests on this machine) and
// anything not named like ours are never touched.
import { rmSync } from 'node:fs';
import {
  type CommandRunner,
  isSameProcessAlive,
  listNamespaces,
  listRootLinks,
  systemRunner,
} from './kernel.js';
import { runIdOfNamespace, runIdOfRootLink } from './naming.js';
import { type LabState, listStates, removeState } from './state.js';
import { removeNamespace, removeRootLink, teardownState } from './teardown.js';

export interface CleanupOptions {
  /** Also remove detached labs (those left running by `caracal-lab up`/`demo`). */
  includeDetached?: boolean;
  /** Only clean this run. */
  runId?: string;
  runner?: CommandRunner;
  progress?: (message: string) => void;
}

export interface CleanupReport {
  runs: string[];
  namespaces: string[];
  rootLinks: string[];
  processes: number[];
  /** Runs left alone because their owner still lives or they are detached. */
  skipped: { runId: string; reason: string }[];
}

/** True when the run's owner is gone and it was not left running on purpose. */
export function isStale(state: LabState, includeDetached = false): boolean {
  if (state.detached) return includeDetached;
  return !isSameProcessAlive(state.ownerPid, state.ownerStartTime);
}

/** Removes leftovers of crashed runs (see the file comment for exactly what). */
export async function cleanupStale(options: CleanupOptions = {}): Promise<CleanupReport> {
  const runner = options.runner ?? systemRunner;
  const progress = options.progress ?? (() => {});
  const report: CleanupReport = { runs: [], namespaces: [], rootLinks: [], processes: [], skipped: [] };
  const protectedRuns = new Set<string>();
  const wanted = (runId: string) => options.runId === undefined || options.runId === runId;

  for (const state of listStates()) {
    if (!wanted(state.runId)) {
      protectedRuns.add(state.runId);
      continue;
    }
    if (!isStale(state, options.includeDetached)) {
      protectedRuns.add(state.runId);
      report.skipped.push({
        runId: state.runId,
        reason: state.detached
          ? 'detached (use `caracal-lab down`)'
          : `owner process ${state.ownerPid} is running`,
      });
      continue;
    }
    progress(`cleaning run ${state.runId} (${state.name}, owner ${state.ownerPid} gone)`);
    const torn = await teardownState(runner, state);
    report.runs.push(state.runId);
    report.namespaces.push(...torn.namespaces);
    report.rootLinks.push(...torn.rootLinks);
    report.processes.push(...torn.processes);
    removeState(state.runId);
  }

  // Objects named like ours that no live run claims (e.g. a run killed before its state was written,
  // or whose state directory was lost).
  for (const ns of await listNamespaces(runner)) {
    const runId = runIdOfNamespace(ns);
    if (runId === undefined || protectedRuns.has(runId) || !wanted(runId)) continue;
    progress(`removing orphan namespace ${ns}`);
    const { existed, pids } = await removeNamespace(runner, ns);
    if (existed) report.namespaces.push(ns);
    report.processes.push(...pids);
  }
  for (const link of await listRootLinks(runner)) {
    const runId = runIdOfRootLink(link);
    if (runId === undefined || protectedRuns.has(runId) || !wanted(runId)) continue;
    progress(`removing orphan link ${link}`);
    if (await removeRootLink(runner, link)) report.rootLinks.push(link);
  }
  return report;
}

/**
 * Tears down one run: what `caracal-lab down RUN` does. A run whose owner process still lives (e.g.
 * `caracal-lab up --foreground`) is asked to stop with SIGTERM (its handler tears the lab down);
 * whatever is left after 15 s, or of a detached run, is removed from the state file. Its logs are deleted.
 */
export async function downRun(runId: string, runner: CommandRunner = systemRunner): Promise<CleanupReport> {
  const state = listStates().find((s) => s.runId === runId);
  if (!state) throw new Error(`no lab with run id '${runId}' (see \`caracal-lab status\`)`);
  if (!state.detached && isSameProcessAlive(state.ownerPid, state.ownerStartTime)) {
    process.kill(state.ownerPid, 'SIGTERM');
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && isSameProcessAlive(state.ownerPid, state.ownerStartTime)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (isSameProcessAlive(state.ownerPid, state.ownerStartTime)) {
      throw new Error(`the owner of lab ${runId} (pid ${state.ownerPid}) did not exit after SIGTERM`);
    }
  }
  const report = await cleanupStale({ runId, includeDetached: true, runner });
  // Taken down on purpose: its logs go too (a crashed run's logs stay for inspection).
  rmSync(state.runDir, { recursive: true, force: true });
  return report;
}
