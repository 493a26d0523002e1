// Runs the REAL built caracalctl (node packages/ctl/dist/src/main.js) as a child process and captures exit
// code, stdout and stderr. Test files build it first in beforeAll with @caracal/lab's buildPackagesForLab
// (asynchronous, one build at a time across test files and processes).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const builtMain = join(repoRoot, 'packages', 'ctl', 'dist', 'src', 'main.js');

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
