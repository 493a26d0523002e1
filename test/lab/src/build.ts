// Builds the packages whose compiled executables a test spawns (`tsc -b`, output shown), for the tests'
// beforeAll hooks. Asynchronous on purpose: a synchronous build (execFileSync) of over 60 s, which a
// rebuild on a loaded machine takes, keeps the Vitest worker from answering Vitest's RPC, and the whole run
// then fails with "Timeout calling onTaskUpdate".
//
// One build at a time per repository, across processes: two `tsc -b` runs over the same projects (two
// test files, or two engineers' test runs in one tree) write the same dist files at once, and one can read
// the other's half-written .d.ts or .js. The lock is a Linux abstract Unix socket named after the
// repository path: binding it is atomic, and the kernel frees it when its holder exits however it exits,
// so a killed test run never leaves a stale lock behind. A waiter asks the holder who it is (the holder
// answers with its pid and packages) to say what it waits for. Builds started otherwise (a developer's
// `pnpm build`, a test that runs tsc itself) are not serialised with these.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { repositoryRoot } from './lab.js';

export interface BuildForLabOptions {
  /** How long to wait for another process's build to finish before failing (default 10 minutes). */
  readonly lockWaitMs?: number;
}

/** The last characters of tsc's output that a failed build's error quotes (all of it is shown as it runs). */
const OUTPUT_TAIL_CHARS = 4000;
const LOCK_POLL_MS = 250;
const DEFAULT_LOCK_WAIT_MS = 600_000;

/**
 * Runs `tsc -b` over `packages` (directories holding a tsconfig.json, relative to the repository root or
 * absolute; their references are built too), printing tsc's output as it comes. Waits while another
 * build of this repository runs (see the file comment). Rejects naming the packages and tsc's exit code
 * (with the end of its output) when the build fails, and names the package when a directory has no
 * tsconfig.json.
 */
export async function buildPackagesForLab(
  packages: readonly string[],
  options: BuildForLabOptions = {},
): Promise<void> {
  const root = repositoryRoot();
  if (packages.length === 0) throw new Error('buildPackagesForLab: no package to build (got an empty list)');
  const directories = packages.map((name) => {
    const directory = isAbsolute(name) ? name : resolve(root, name);
    if (!existsSync(join(directory, 'tsconfig.json'))) {
      throw new Error(
        `buildPackagesForLab: package ${JSON.stringify(name)} has no tsconfig.json (looked for ${join(directory, 'tsconfig.json')})`,
      );
    }
    return directory;
  });
  // Repository-relative names inside the repository, absolute paths outside it.
  const shown = directories
    .map((directory) => {
      const inside = relative(root, directory);
      return inside.startsWith('..') || isAbsolute(inside) ? directory : inside || '.';
    })
    .join(' ');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    throw new Error(`buildPackagesForLab: TypeScript is not installed at ${tsc} (run pnpm install)`);
  }
  await withLabBuildLock(`building ${shown}`, () => runTsc(root, tsc, directories, shown), options);
}

/**
 * Runs `work` holding this repository's build lock (the one buildPackagesForLab takes), for a test that
 * builds in its own way but must not build while another build runs. `what` tells a waiter what the
 * holder does ("pid N " is put before it). Waits at most `options.lockWaitMs` (default 10 minutes) for
 * the lock, then rejects naming the holder.
 */
export async function withLabBuildLock<T>(
  what: string,
  work: () => Promise<T>,
  options: BuildForLabOptions = {},
): Promise<T> {
  const lock = await acquireBuildLock(repositoryRoot(), `pid ${process.pid} ${what}`, options.lockWaitMs);
  try {
    return await work();
  } finally {
    await new Promise<void>((done) => lock.close(() => done()));
  }
}

/** Runs tsc -b, forwarding its output; rejects with the exit code (or signal) and the output's end. */
async function runTsc(
  root: string,
  tsc: string,
  directories: readonly string[],
  shown: string,
): Promise<void> {
  const started = Date.now();
  const build = spawn(process.execPath, [tsc, '-b', ...directories], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer, to: NodeJS.WriteStream) => {
    to.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  build.stdout.on('data', (chunk: Buffer) => keep(chunk, process.stdout));
  build.stderr.on('data', (chunk: Buffer) => keep(chunk, process.stderr));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
    build.once('error', (error) =>
      fail(new Error(`buildPackagesForLab: could not start tsc -b ${shown}: ${error.message}`)),
    );
    build.once('close', (exitCode, exitSignal) => done([exitCode, exitSignal]));
  });
  if (code === 0) return;
  const how = signal !== null ? `was killed by ${signal}` : `failed with exit code ${code}`;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  throw new Error(
    `tsc -b ${shown} ${how} after ${seconds} s; the end of its output:\n${tail.trimEnd() || '(no output)'}`,
  );
}

/** The lock's abstract socket name: one per repository checkout. */
function lockAddress(root: string): string {
  return `\0caracal-lab-build-${createHash('sha256').update(root).digest('hex').slice(0, 16)}`;
}

/** Binds the lock socket (its holder answers `description` to whoever connects), waiting while taken. */
async function acquireBuildLock(
  root: string,
  description: string,
  waitMs = DEFAULT_LOCK_WAIT_MS,
): Promise<Server> {
  const address = lockAddress(root);
  const started = Date.now();
  let announced = false;
  for (;;) {
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.end(`${description}\n`);
    });
    const outcome = await new Promise<'held' | 'busy'>((done, fail) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') done('busy');
        else fail(new Error(`buildPackagesForLab: could not take the build lock: ${error.message}`));
      });
      server.listen(address, () => done('held'));
    });
    if (outcome === 'held') {
      server.unref(); // the lock alone does not keep a test worker alive
      return server;
    }
    const holder = await askHolder(address);
    const waited = Date.now() - started;
    if (waited >= waitMs) {
      throw new Error(
        `buildPackagesForLab: waited ${Math.round(waited / 1000)} s for another build of ${root} to finish (${holder}); giving up`,
      );
    }
    if (!announced) {
      console.log(`buildPackagesForLab: waiting for another build of this repository to finish (${holder})`);
      announced = true;
    }
    await new Promise((done) => setTimeout(done, LOCK_POLL_MS));
  }
}

/** What the lock's holder says about itself ("pid N building …"), or why it could not be asked. */
function askHolder(address: string): Promise<string> {
  return new Promise((done) => {
    let answer = '';
    const socket = createConnection(address);
    socket.setEncoding('utf8');
    socket.setTimeout(2000, () => socket.destroy(new Error('no answer within 2 s')));
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('end', () => done(answer.trim() || 'the holder did not say who it is'));
    socket.on('error', (error) => done(`the holder could not be asked: ${error.message}`));
  });
}
