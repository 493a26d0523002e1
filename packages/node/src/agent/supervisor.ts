// Supervision of one long-running child of caracal-node (caracal-felix, caracal-bgpd). The child lives on
// its own: it gets its own session (setsid), writes straight into its log file and is recorded in a PID
// file, so a crash or `kill -9` of the agent leaves it running and the dataplane and BGP sessions untouched.
// A restarted agent ADOPTS it: the PID file names a live process carrying this child's marker in its
// environment (CARACAL_NODE_CHILD=<pid file>) and the same arguments; an adopted child is watched by
// polling. A child started with other arguments by an earlier agent is stopped and started anew. A child
// that exits is restarted with doubling backoff (0.5 s → 30 s, reset after 60 s of uptime). stop() ends
// the child with SIGTERM (SIGKILL after a grace period) and removes the PID file.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';

/** Environment variable marking a child of caracal-node; its value is the child's PID file. */
export const CHILD_MARKER_VARIABLE = 'CARACAL_NODE_CHILD';

export interface SupervisorOptions {
  /** For logs, e.g. `caracal-felix`. */
  readonly name: string;
  /** Executable and arguments. */
  readonly argv: readonly string[];
  /** stdout and stderr of the child (appended). */
  readonly logFile: string;
  readonly pidFile: string;
  readonly logger: Logger;
  /** After an automatic restart (not the first start, not an adoption). */
  readonly onRestart?: () => void;
  /** Whenever a new child runs: started, restarted or adopted. */
  readonly onRunning?: (pid: number, how: 'started' | 'adopted') => void;
  /** How often an adopted child is checked for life. Default 250 ms. */
  readonly adoptedPollMs?: number;
}

/** What /proc says of a process: undefined when it does not exist (or is a zombie). */
export interface ProcessInfo {
  readonly argv: readonly string[];
  readonly environment: readonly string[];
}

export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 (state) follows the command name in parentheses, which may itself contain ") ".
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    const split = (text: string) => text.split('\0').filter((part) => part !== '');
    return {
      argv: split(readFileSync(`/proc/${pid}/cmdline`, 'utf8')),
      environment: split(readFileSync(`/proc/${pid}/environ`, 'utf8')),
    };
  } catch {
    return undefined;
  }
}

/** Whether a process's argv ends with the arguments we would start it with (a wrapper may exec `node x.js`). */
export function argvMatches(actual: readonly string[], wanted: readonly string[]): boolean {
  const tail = wanted.slice(1);
  if (actual.length < tail.length) return false;
  const offset = actual.length - tail.length;
  return tail.every((arg, i) => actual[offset + i] === arg);
}

export class ChildSupervisor {
  private child: ChildProcess | undefined;
  private adoptedPid: number | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private backoffMs = 500;
  private startedAt = 0;
  /** Automatic restarts since this supervisor started. */
  restarts = 0;
  /** Increases with every child that runs (started, restarted, adopted). */
  generation = 0;

  constructor(private readonly options: SupervisorOptions) {}

  get pidFile(): string {
    return this.options.pidFile;
  }

  private get marker(): string {
    return `${CHILD_MARKER_VARIABLE}=${this.options.pidFile}`;
  }

  /** The running child's pid (spawned or adopted), undefined between a crash and its restart. */
  get pid(): number | undefined {
    if (this.adoptedPid !== undefined) return this.adoptedPid;
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Whether the running child was adopted from an earlier agent. */
  get adopted(): boolean {
    return this.adoptedPid !== undefined;
  }

  /** Adopts the child an earlier agent left running, or starts one. */
  async start(): Promise<'adopted' | 'started'> {
    this.stopping = false;
    const previous = this.recordedPid();
    if (previous !== undefined) {
      const info = processInfo(previous);
      if (info?.environment.includes(this.marker)) {
        if (argvMatches(info.argv, this.options.argv)) {
          this.adopt(previous);
          return 'adopted';
        }
        this.options.logger.warn(
          { pid: previous, argv: info.argv, wanted: this.options.argv },
          `${this.options.name} left by an earlier agent runs with other arguments: replacing it`,
        );
        await this.terminate(previous, 10_000);
      }
    }
    this.launch();
    return 'started';
  }

  private recordedPid(): number | undefined {
    try {
      const text = readFileSync(this.options.pidFile, 'utf8').trim();
      return /^\d+$/.test(text) ? Number(text) : undefined;
    } catch {
      return undefined;
    }
  }

  private writePidFile(pid: number): void {
    const temporary = `${this.options.pidFile}.tmp`;
    writeFileSync(temporary, `${pid}\n`);
    renameSync(temporary, this.options.pidFile);
  }

  private adopt(pid: number): void {
    this.adoptedPid = pid;
    this.startedAt = Date.now();
    this.generation++;
    this.options.logger.info({ pid }, `${this.options.name} adopted (left running by an earlier agent)`);
    this.options.onRunning?.(pid, 'adopted');
    this.pollTimer = setInterval(() => {
      if (processInfo(pid) !== undefined) return;
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
      this.adoptedPid = undefined;
      this.exited({ code: null, signal: null, adopted: true });
    }, this.options.adoptedPollMs ?? 250);
  }

  private launch(): void {
    const [command, ...args] = this.options.argv;
    if (command === undefined) throw new Error(`${this.options.name}: empty command`);
    const log = openSync(this.options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        stdio: ['ignore', log, log],
        detached: true,
        env: { ...process.env, [CHILD_MARKER_VARIABLE]: this.options.pidFile },
      });
    } finally {
      closeSync(log);
    }
    this.child = child;
    this.startedAt = Date.now();
    this.generation++;
    child.on('error', (error) =>
      this.options.logger.error({ error: error.message }, `${this.options.name} failed`),
    );
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.exited({ code, signal, adopted: false });
    });
    if (child.pid !== undefined) {
      this.writePidFile(child.pid);
      this.options.logger.info({ pid: child.pid }, `${this.options.name} started`);
      this.options.onRunning?.(child.pid, 'started');
    }
  }

  private exited(how: { code: number | null; signal: string | null; adopted: boolean }): void {
    if (this.stopping) return;
    if (Date.now() - this.startedAt > 60_000) this.backoffMs = 500;
    this.options.logger.warn({ ...how, restartInMs: this.backoffMs }, `${this.options.name} exited`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.launch();
      this.options.onRestart?.();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
  }

  /** Sends a signal to the running child; false when none runs. */
  signal(signal: NodeJS.Signals): boolean {
    const pid = this.pid;
    if (pid === undefined) return false;
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  private async terminate(pid: number, graceMs: number): Promise<void> {
    const gone = () => processInfo(pid) === undefined;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + graceMs;
    while (!gone()) {
      if (Date.now() > deadline) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops supervising WITHOUT stopping the child (it keeps running, the PID file stays for adoption). */
  release(): void {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.child?.removeAllListeners('exit');
    this.child?.unref();
  }

  /** Stops the child (SIGTERM, SIGKILL after graceMs) and removes the PID file; no restart follows. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(kill);
    } else if (this.adoptedPid !== undefined) {
      await this.terminate(this.adoptedPid, graceMs);
      this.adoptedPid = undefined;
    }
    rmSync(this.options.pidFile, { force: true });
  }
}
