// Short commands of the lab cluster builder: run argv (optionally inside a network namespace, with its
// own environment and stdin) and collect its output, with a timeout that kills the whole process group.
// @caracal/lab's runner covers plain commands; the CNI plugin also needs an environment, hence this one.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RunResult {
  /** Exit code, or null when the command ended by a signal (e.g. its timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Wall-clock time from spawn to exit, in milliseconds. */
  readonly elapsedMs: number;
}

export interface RunCommandOptions {
  /** Kill the process group after this long (default 30 000 ms). */
  readonly timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  /** The whole environment of the command (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs argv[0] with argv[1..] in its own process group and resolves when it exits (never rejects for a non-zero exit). */
export function runCommand(argv: readonly string[], options: RunCommandOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('runCommand: empty command'));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => {});
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run \`${argv.join(' ')}\`: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
        elapsedMs: performance.now() - started,
      });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** `ip netns exec <namespace> …argv`. */
export function runInNamespace(
  namespace: string,
  argv: readonly string[],
  options: RunCommandOptions = {},
): Promise<RunResult> {
  return runCommand(['ip', 'netns', 'exec', namespace, ...argv], options);
}

/** Runs a command and throws, naming `what`, the command and its stderr, unless it exits with 0. */
export async function runChecked(
  what: string,
  argv: readonly string[],
  options: RunCommandOptions = {},
): Promise<RunResult> {
  const result = await runCommand(argv, options);
  if (result.code !== 0) {
    const how = result.timedOut ? 'timed out' : `exited with code ${result.code}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).slice(0, 1000);
    throw new Error(`${what}: \`${argv.join(' ')}\` ${how}${detail ? `: ${detail}` : ''}`);
  }
  return result;
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** True while `pid` runs; a zombie (killed, not yet reaped by its parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The PIDs of every process inside a network namespace (`ip netns pids`). */
export async function namespacePids(namespace: string): Promise<number[]> {
  const result = await runCommand(['ip', 'netns', 'pids', namespace], { timeoutMs: 10_000 });
  if (result.code !== 0) return [];
  return result.stdout
    .split(/\s+/)
    .filter((word) => /^\d+$/.test(word))
    .map(Number);
}

/** Kills every process inside `namespace` (SIGKILL) and deletes it; false when it did not exist. */
export async function removeNamespace(namespace: string): Promise<boolean> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const pids = await namespacePids(namespace);
    if (pids.length === 0) break;
    for (const pid of pids) killGroup(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 50));
  }
  const result = await runCommand(['ip', 'netns', 'del', namespace], { timeoutMs: 10_000 });
  if (result.code === 0) return true;
  if (/No such file|not found/i.test(result.stderr)) return false;
  throw new Error(`cannot delete namespace ${namespace}: ${result.stderr.trim()}`);
}
