// One JSON state file per run (default /run/caracal-lab/<runId>.json) listing what the run made:
// namespaces, root-namespace links, processes (PID + start time) and its log folder. Written before
// each object is created, so `cleanup` can remove a crashed run's leftovers.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Topology } from './topology.js';

/** Where state files live; CARACAL_LAB_STATE_DIR overrides /run/caracal-lab. */
export function stateDirectory(): string {
  return process.env.CARACAL_LAB_STATE_DIR ?? '/run/caracal-lab';
}

export interface RecordedProcess {
  pid: number;
  startTime?: number;
  host: string;
  command: string;
}

export interface LabState {
  version: 1;
  runId: string;
  name: string;
  createdAt: string;
  /** The process that brought the lab up; while it lives (same start time) the lab is not stale. */
  ownerPid: number;
  ownerStartTime?: number;
  /** Left running on purpose (`caracal-lab up`/`demo`): only `down` removes it, never `cleanup`. */
  detached: boolean;
  runDir: string;
  namespaces: string[];
  rootLinks: string[];
  processes: RecordedProcess[];
  topology: Topology;
  /** Name counters, so additions to a running lab continue numbering. */
  nextFabricPort: number;
  nextRootLink: number;
}

export function statePath(runId: string): string {
  return join(stateDirectory(), `${runId}.json`);
}

/** Writes atomically (temp file + rename) so a reader never sees half a file. */
export function writeState(state: LabState): void {
  mkdirSync(stateDirectory(), { recursive: true });
  const path = statePath(state.runId);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temp, path);
}

export function removeState(runId: string): void {
  rmSync(statePath(runId), { force: true });
}

export function readState(runId: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(runId), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

/** Every readable state file, oldest first. */
export function listStates(): LabState[] {
  let files: string[];
  try {
    files = readdirSync(stateDirectory()).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const states: LabState[] = [];
  for (const file of files) {
    const state = readState(file.slice(0, -'.json'.length));
    if (state) states.push(state);
  }
  return states.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
