// Runs the REAL built caracalctl (node packages/ctl/dist/src/main.js) as a child process, building it
// first (tsc -b packages/ctl, once per test file), and captures exit code, stdout and stderr.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const builtMain = join(repoRoot, 'packages', 'ctl', 'dist', 'src', 'main.js');

const buildLock = join(repoRoot, 'packages', 'ctl', 'dist', '.test-build.lock');

/** Runs `pnpm exec tsc -b <paths…>` in the repository; rejects with tsc's output when it fails. */
export async function tscBuild(paths: readonly string[]): Promise<void> {
  const build = spawn('pnpm', ['exec', 'tsc', '-b', ...paths], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  build.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  build.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const status = await new Promise<number | null>((done, fail) => {
    build.once('error', fail);
    build.once('close', done);
  });
  if (status !== 0) throw new Error(`tsc -b ${paths.join(' ')} failed (exit ${status}):\n${output}`);
}

/**
 * Compiles packages/ctl and what it references, so the tests run the current sources' build. Test files
 * run in parallel: a lock directory (mkdir is atomic) makes them build one at a time; after the first,
 * `tsc -b` finds everything up to date and returns at once. Waiting and building are asynchronous: a
 * worker blocked for over 60 s (a rebuild on a loaded machine, or waiting for another file's) cannot
 * answer Vitest, whose RPC then times out and fails the whole run.
 */
export async function buildCli(): Promise<void> {
  mkdirSync(dirname(buildLock), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(buildLock);
      break;
    } catch {
      // A lock held for longer than any build takes is left over from a killed run.
      const lockedSince = statSync(buildLock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - lockedSince > 180_000 || Date.now() > deadline) {
        rmSync(buildLock, { recursive: true, force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    await tscBuild(['packages/ctl']);
  } catch (error) {
    throw new Error(
      `packages/ctl could not be built, so the executable cannot be tested: ${(error as Error).message}`,
    );
  } finally {
    rmSync(buildLock, { recursive: true, force: true });
  }
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly stdin?: string;
  /** Extra environment; ETCD_* and NO_COLOR from the test runner's own environment are removed. */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /**
   * Kill the run after this long and fail naming the command and its output so far (default 60 s: one
   * caracalctl call takes under 5 s even under heavy load; `lab up` passes more).
   */
  readonly timeoutMs?: number;
}

export function runBuiltCli(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('ETCD_') && key !== 'NO_COLOR') env[key] = value;
  }
  Object.assign(env, options.env ?? {});
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [builtMain, ...args], {
      cwd: options.cwd ?? repoRoot,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `caracalctl ${args.join(' ')} did not finish within ${timeoutMs} ms (killed); stdout so far: ${JSON.stringify(stdout.slice(-500))}; stderr so far: ${JSON.stringify(stderr.slice(-500))}`,
        ),
      );
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}
