// Vitest helpers (subpath export `@caracal/lab/vitest`, so the main entry never loads vitest):
// `describeLab` skips a lab suite with one clear line when namespaces are unavailable, and `useLab`
// brings a topology up before the suite and down after it, keeping the logs when a test failed.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { labAvailable } from './availability.js';
import { Lab, type LabOptions } from './lab.js';
import type { Topology } from './topology.js';

let skipNoticePrinted = false;

/**
 * True the first time it is called in a whole Vitest run: test files run in separate workers, so
 * the "printed" mark is a file named after the parent (Vitest) process.
 */
function firstNoticeOfRun(): boolean {
  if (skipNoticePrinted) return false;
  skipNoticePrinted = true;
  try {
    writeFileSync(join(tmpdir(), `caracal-lab-skip-notice-${process.ppid}`), '', { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

/** `describe` for lab suites: skipped (with one line saying why, printed once) when labs cannot run. */
export function describeLab(name: string, body: () => void): void {
  const { available, reason } = labAvailable();
  if (!available && firstNoticeOfRun()) console.warn(`[caracal-lab] skipping lab tests: ${reason}`);
  describe.skipIf(!available)(name, body);
}

/**
 * Inside a `describeLab`: brings `topology` up in beforeAll and down in afterAll (keeping the logs and
 * printing their folder when any test of the suite failed). Returns a getter for the running lab.
 */
export function useLab(topology: Topology | (() => Topology), options: LabOptions = {}): () => Lab {
  let lab: Lab | undefined;
  let failed = false;
  beforeAll(async () => {
    lab = await Lab.up(typeof topology === 'function' ? topology() : topology, options);
  });
  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });
  afterAll(async () => {
    await lab?.down({ keepLogs: failed });
  });
  return () => {
    if (!lab) throw new Error('the lab is not up (did beforeAll fail?)');
    return lab;
  };
}
