// buildPackagesForLab and withLabBuildLock against the real TypeScript compiler and real processes: bad
// input is named, a failing build names its packages and tsc's exit code and quotes tsc, a good one
// emits, builds wait for each other (across test files, processes and engineers' runs in one tree), and
// a holder killed with SIGKILL frees the lock at once.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildPackagesForLab, withLabBuildLock } from '../src/build.js';
import { repositoryRoot } from '../src/lab.js';

let scratch: string;

/** A standalone TypeScript project in the scratch directory; `source` is its only file. */
function project(name: string, source: string): string {
  const directory = join(scratch, name);
  mkdirSync(join(directory, 'src'), { recursive: true });
  writeFileSync(
    join(directory, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        outDir: 'dist',
        rootDir: 'src',
        types: [],
        target: 'ES2022',
        skipLibCheck: true,
      },
      include: ['src'],
    }),
  );
  writeFileSync(join(directory, 'src', 'index.ts'), source);
  return directory;
}

describe('buildPackagesForLab', () => {
  let holder: ChildProcess | undefined;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'caracal-lab-build-test-'));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    if (holder?.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
    holder = undefined;
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses an empty list and a directory without tsconfig.json, naming it', async () => {
    await expect(buildPackagesForLab([])).rejects.toThrow('buildPackagesForLab: no package to build');
    await expect(buildPackagesForLab(['packages/no-such-package'])).rejects.toThrow(
      `package "packages/no-such-package" has no tsconfig.json (looked for ${join(repositoryRoot(), 'packages/no-such-package/tsconfig.json')})`,
    );
  });

  it("builds a project, and names the packages, tsc's exit code and its complaint when a build fails", async () => {
    const good = project('good', 'export const answer: number = 42;\n');
    await buildPackagesForLab([good]);
    expect(existsSync(join(good, 'dist', 'index.js'))).toBe(true);

    const bad = project('bad', "export const answer: number = 'forty-two';\n");
    const failure = await buildPackagesForLab([good, bad]).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).toMatch(/^tsc -b \S+good \S+bad failed with exit code [1-9]\d* after [\d.]+ s;/);
    expect(failure?.message).toContain("Type 'string' is not assignable to type 'number'");
  }, 120_000);

  it('runs one locked piece of work at a time; the second waits for the first to end', async () => {
    const events: string[] = [];
    let releaseFirst = () => {};
    const first = withLabBuildLock('first', async () => {
      events.push('first start');
      await new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      events.push('first end');
    });
    await vi.waitFor(() => expect(events).toEqual(['first start']), { timeout: 10_000 });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const second = withLabBuildLock('second', async () => {
      events.push('second start');
    });
    // The second one asked the holder who it is and said what it waits for.
    await vi.waitFor(
      () =>
        expect(log).toHaveBeenCalledWith(
          `buildPackagesForLab: waiting for another build of this repository to finish (pid ${process.pid} first)`,
        ),
      { timeout: 10_000 },
    );
    expect(events).toEqual(['first start']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(events).toEqual(['first start', 'first end', 'second start']);
  });

  it('gives up waiting after lockWaitMs, naming the holder', async () => {
    let release = () => {};
    const held = withLabBuildLock('holding on', () => new Promise<void>((resolve) => (release = resolve)));
    vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await expect(withLabBuildLock('late', async () => {}, { lockWaitMs: 300 })).rejects.toThrow(
        `for another build of ${repositoryRoot()} to finish (pid ${process.pid} holding on); giving up`,
      );
    } finally {
      release();
      await held;
    }
  });

  it('takes over at once from a holder killed with SIGKILL (no stale lock)', async () => {
    // The child holds the lock through the built module, then waits forever.
    await buildPackagesForLab(['test/lab']);
    const builtModule = join(repositoryRoot(), 'test/lab/dist/src/build.js');
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { withLabBuildLock } = await import(${JSON.stringify(builtModule)});
         await withLabBuildLock('holding until killed', () => {
           console.log('holding');
           return new Promise(() => setInterval(() => {}, 1000));
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    holder = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        if (chunk.includes('holding')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the lock holder exited early (${code})`)));
    });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const after = withLabBuildLock('after the holder', async () => 'ran', { lockWaitMs: 60_000 });
    await vi.waitFor(
      () =>
        expect(log).toHaveBeenCalledWith(
          `buildPackagesForLab: waiting for another build of this repository to finish (pid ${child.pid} holding until killed)`,
        ),
      { timeout: 10_000 },
    );
    child.kill('SIGKILL');
    expect(await after).toBe('ran');
  }, 120_000);
});
