// The lab's only contact with the kernel: running commands (iproute2, sysctl, tcpdump, node) as
// child processes, looking up process identities in /proc, and killing process groups by PID.
// Kept small and behind `CommandRunner` so the rest can be reasoned about (and unit-tested) apart.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CommandResult {
  /** Exit code, or null when the command ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Written to the command's stdin. */
  input?: string;
}

/** Runs argv[0] with argv[1..]; the only way lab code starts short commands. */
export interface CommandRunner {
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

/** Thrown when a command the lab needed failed; says which step, the command line and its stderr. */
export class LabCommandError extends Error {
  constructor(
    readonly step: string,
    readonly argv: readonly string[],
    readonly result: CommandResult,
  ) {
    const how = result.timedOut
      ? 'timed out'
      : result.code === null
        ? `was killed by ${result.signal}`
        : `exited with code ${result.code}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).slice(0, 2000);
    super(`${step}: \`${argv.join(' ')}\` ${how}${detail ? `: ${detail}` : ''}`);
    this.name = 'LabCommandError';
  }
}

/**
 * Runs commands as child processes, each in its own process group so that a timeout kills the whole
 * group (e.g. `ip netns exec NS sh -c ...` and everything it started).
 */
export const systemRunner: CommandRunner = {
  run(argv, options = {}) {
    return new Promise((resolve, reject) => {
      const [file, ...args] = argv;
      if (file === undefined) {
        reject(new Error('empty command'));
        return;
      }
      const child = spawn(file, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              if (child.pid !== undefined) killProcessGroup(child.pid, 'SIGKILL');
            }, options.timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`cannot run \`${argv.join(' ')}\`: ${error.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({
          code,
          signal,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
          timedOut,
        });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(options.input ?? '');
    });
  },
};

/** Runs a command synchronously (used only by the exit/signal teardown, where nothing async runs). */
export function runSync(argv: readonly string[], timeoutMs = 10_000): CommandResult {
  const [file, ...args] = argv;
  const result = spawnSync(file ?? 'false', args, { encoding: 'utf8', timeout: timeoutMs });
  return {
    code: result.status,
    signal: result.signal,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
    timedOut: result.error !== undefined && (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT',
  };
}

/**
 * The start time of a process (clock ticks since boot, field 22 of /proc/PID/stat), or undefined
 * when no such process exists. A PID plus its start time names one process even if PIDs are reused.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // afterName[0] is field 3 (state); field 22 is index 19.
    const start = Number(afterName[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** True when process `pid` exists and is the same process as when `startTime` was recorded. */
export function isSameProcessAlive(pid: number, startTime: number | undefined): boolean {
  const now = processStartTime(pid);
  return now !== undefined && (startTime === undefined || now === startTime);
}

/** Sends `signal` to process group `pgid` (falls back to the single process). Never throws. */
export function killProcessGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    try {
      process.kill(pgid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** The network namespaces that exist (`ip netns list`), names only. */
export async function listNamespaces(runner: CommandRunner): Promise<string[]> {
  const result = await runner.run(['ip', 'netns', 'list'], { timeoutMs: 10_000 });
  if (result.code !== 0) throw new LabCommandError('list namespaces', ['ip', 'netns', 'list'], result);
  return parseNamespaceList(result.stdout);
}

/** Parses `ip netns list` output ("name (id: 3)" per line). */
export function parseNamespaceList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

/** Interfaces of the root namespace (`ip -o link show`), names only (without the @peer part). */
export async function listRootLinks(runner: CommandRunner): Promise<string[]> {
  const result = await runner.run(['ip', '-o', 'link', 'show'], { timeoutMs: 10_000 });
  if (result.code !== 0) throw new LabCommandError('list links', ['ip', '-o', 'link', 'show'], result);
  return parseLinkList(result.stdout);
}

/** Parses `ip -o link show` output ("2: name@peer: <FLAGS> ..." per line). */
export function parseLinkList(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (match?.[1]) names.push(match[1]);
  }
  return names;
}

/** PIDs of processes inside namespace `ns` (`ip netns pids`); empty when it does not exist. */
export async function namespacePids(runner: CommandRunner, ns: string): Promise<number[]> {
  const result = await runner.run(['ip', 'netns', 'pids', ns], { timeoutMs: 10_000 });
  if (result.code !== 0) return [];
  return result.stdout
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}
