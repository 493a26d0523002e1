// Removing what a run made, from its state: its processes (by PID and process group, checked against
// their recorded start time), any other process still inside its namespaces, the namespaces, and its
// root-namespace links. An async form for normal teardown and a synchronous one for exit/signal paths.
import {
  type CommandRunner,
  isSameProcessAlive,
  killProcessGroup,
  LabCommandError,
  namespacePids,
  runSync,
} from './kernel.js';
import type { LabState } from './state.js';

/** What a teardown removed. */
export interface TeardownReport {
  processes: number[];
  namespaces: string[];
  rootLinks: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Stops the recorded processes: SIGTERM to each process group, SIGKILL after `graceMs`. */
export async function stopRecordedProcesses(state: LabState, graceMs = 2000): Promise<number[]> {
  const alive = state.processes.filter((p) => isSameProcessAlive(p.pid, p.startTime));
  for (const p of alive) killProcessGroup(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive.some((p) => isSameProcessAlive(p.pid, p.startTime))) await sleep(50);
  for (const p of alive) if (isSameProcessAlive(p.pid, p.startTime)) killProcessGroup(p.pid, 'SIGKILL');
  return alive.map((p) => p.pid);
}

/** Kills every process inside namespace `ns`, then deletes it. Returns the PIDs killed. */
export async function removeNamespace(
  runner: CommandRunner,
  ns: string,
): Promise<{ existed: boolean; pids: number[] }> {
  const pids = await namespacePids(runner, ns);
  for (const pid of pids) killProcessGroupIfInside(pid);
  for (let i = 0; i < 40 && (await namespacePids(runner, ns)).length > 0; i++) await sleep(50);
  const argv = ['ip', 'netns', 'del', ns];
  const result = await runner.run(argv, { timeoutMs: 10_000 });
  if (result.code === 0) return { existed: true, pids };
  if (/No such file|not found|Cannot remove/i.test(result.stderr) && !/busy/i.test(result.stderr)) {
    return { existed: false, pids };
  }
  throw new LabCommandError(`delete namespace ${ns}`, argv, result);
}

/** A process found inside one of our namespaces is ours to kill; SIGKILL (it had its chance). */
function killProcessGroupIfInside(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Deletes a root-namespace link; false when it did not exist. */
export async function removeRootLink(runner: CommandRunner, name: string): Promise<boolean> {
  const argv = ['ip', 'link', 'del', name];
  const result = await runner.run(argv, { timeoutMs: 10_000 });
  if (result.code === 0) return true;
  if (/Cannot find device|does not exist/i.test(result.stderr)) return false;
  throw new LabCommandError(`delete link ${name}`, argv, result);
}

/** Removes everything a state lists. Collects failures and throws one error naming all of them. */
export async function teardownState(runner: CommandRunner, state: LabState): Promise<TeardownReport> {
  const report: TeardownReport = {
    processes: await stopRecordedProcesses(state),
    namespaces: [],
    rootLinks: [],
  };
  const failures: string[] = [];
  // Pods first (they hang off hosts), the fabric last; order only matters for readability of errors.
  for (const ns of [...state.namespaces].reverse()) {
    try {
      const { existed, pids } = await removeNamespace(runner, ns);
      if (existed) report.namespaces.push(ns);
      report.processes.push(...pids);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  for (const link of state.rootLinks) {
    try {
      if (await removeRootLink(runner, link)) report.rootLinks.push(link);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  if (failures.length > 0)
    throw new Error(`teardown of lab ${state.runId} incomplete:\n  ${failures.join('\n  ')}`);
  return report;
}

/** The same, synchronously, best effort: used from process 'exit' and signal handlers. */
export function teardownStateSync(state: LabState): void {
  for (const p of state.processes)
    if (isSameProcessAlive(p.pid, p.startTime)) killProcessGroup(p.pid, 'SIGKILL');
  for (const ns of [...state.namespaces].reverse()) {
    const pids = runSync(['ip', 'netns', 'pids', ns])
      .stdout.split(/\s+/)
      .filter((s) => /^\d+$/.test(s));
    for (const pid of pids) killProcessGroupIfInside(Number(pid));
    runSync(['ip', 'netns', 'del', ns]);
  }
  for (const link of state.rootLinks) runSync(['ip', 'link', 'del', link]);
}
