// Builds the packages whose executables a lab test spawns (`tsc -b`, output shown), without blocking
// the test worker: a synchronous build that takes over 60 s (a rebuild on a loaded machine) keeps the
// worker from answering Vitest, whose RPC then times out and fails the whole run.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../../..');

/** Runs `pnpm exec tsc -b <packages…>` in the repository; rejects naming the exit status. */
export async function buildForLab(packages: readonly string[]): Promise<void> {
  const build = spawn('pnpm', ['exec', 'tsc', '-b', ...packages], { cwd: repo, stdio: 'inherit' });
  const status = await new Promise<number | null>((done, fail) => {
    build.once('error', fail);
    build.once('close', done);
  });
  if (status !== 0) throw new Error(`tsc -b ${packages.join(' ')} failed (exit ${status})`);
}
