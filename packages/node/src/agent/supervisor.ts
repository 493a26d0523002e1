// Supervision of caracal-felix as a child process: started with this node's flags, restarted with doubling
// backoff (0.5 s → 30 s, reset after 60 s of uptime) whenever it exits, so a Felix crash never takes the
// agent down; stopped with SIGTERM (SIGKILL after a grace period) when the agent stops.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from 'pino';

export interface SupervisorOptions {
  readonly name: string;
  readonly argv: readonly string[];
  readonly logFile: string;
  readonly logger: Logger;
  readonly onRestart?: () => void;
}

export class ChildSupervisor {
  private child: ChildProcess | undefined;
  private stopping = false;
  private backoffMs = 500;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private log: WriteStream | undefined;
  restarts = 0;

  constructor(private readonly options: SupervisorOptions) {}

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  start(): void {
    this.log ??= createWriteStream(this.options.logFile, { flags: 'a' });
    this.launch();
  }

  private launch(): void {
    const [command, ...args] = this.options.argv;
    if (command === undefined) throw new Error(`${this.options.name}: empty command`);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.startedAt = Date.now();
    child.stdout?.pipe(this.log as WriteStream, { end: false });
    child.stderr?.pipe(this.log as WriteStream, { end: false });
    child.on('error', (error) =>
      this.options.logger.error({ error: error.message }, `${this.options.name} failed`),
    );
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      if (Date.now() - this.startedAt > 60_000) this.backoffMs = 500;
      this.options.logger.warn({ code, signal, restartInMs: this.backoffMs }, `${this.options.name} exited`);
      this.timer = setTimeout(() => {
        this.restarts++;
        this.launch();
        this.options.onRestart?.();
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    });
    this.options.logger.info({ pid: child.pid }, `${this.options.name} started`);
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      // 'close': exited AND its stdout/stderr drained into the log.
      const exited = new Promise<void>((r) => child.once('close', () => r()));
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(kill);
    }
    const log = this.log;
    if (log) await new Promise<void>((r) => log.end(() => r()));
  }
}
