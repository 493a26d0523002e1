// The parent side of the rtnetlink events monitor: runs monitor-process.ts as a child process (in this
// process's network namespace), reads the datagrams it forwards (frames: 4-byte little-endian length, then
// the datagram; an empty frame = listening) and hands them to the caller. When the child dies — the
// `netlink` package aborts it when poll reports an overrun of its socket (ENOBUFS), or anything else —
// events were lost: a new child is started with backoff, and once it listens the caller is told so
// (`ready` with the reason), to re-read what it watches. When recvmsg reports the overrun instead, the
// child survives it and says so in a frame: the caller is told at once. An overrun can no longer kill the
// daemon that subscribed.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Exit codes of monitor-process.ts. */
export const EXIT_PARENT_TOO_SLOW = 3;
export const EXIT_SOCKET_ERROR = 4;
export const EXIT_BAD_ARGUMENTS = 5;
/** The length word of a frame without payload that says the child's socket overran (ENOBUFS). */
export const LOST_FRAME_LENGTH = 0xffffffff;

export interface EventsMonitorOptions {
  /** SO_RCVBUF of the child's netlink socket (the kernel caps it at net.core.rmem_max, doubled). */
  readonly receiveBufferBytes: number;
  /** Bytes the child queues for us while we do not read before it gives up (events lost). Default 64 MiB. */
  readonly maxBacklogBytes?: number;
  /** Delay before the first restart after a loss, doubled per quick loss up to `restartMaxMs`. 100 / 5 000. */
  readonly restartInitialMs?: number;
  readonly restartMaxMs?: number;
}

export interface EventsMonitorHandlers {
  /** One datagram of the kernel, as received (one or more netlink messages). */
  datagram(datagram: Buffer): void;
  /**
   * The monitor listens. `lost` is undefined the first time; after a restart, or when the running child
   * reported an overrun, it says why events were lost (e.g. `the events monitor (pid 123) was killed by
   * SIGABRT: terminate called after throwing ...`).
   */
  ready(lost: string | undefined): void;
}

/** A child that lived this long before dying was healthy: the next restart is quick again. */
const HEALTHY_LIFETIME_MS = 30_000;
const STDERR_TAIL_BYTES = 1024;

export class EventsMonitor {
  private child: ChildProcess | undefined;
  private readonly program: string;
  private stopped = false;
  private readonly restartInitialMs: number;
  private readonly restartMaxMs: number;
  private restartDelayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private lostReason: string | undefined;
  private resolveFirstReady: (() => void) | undefined;
  /** Resolves when the first child listens (or could not start, or the monitor stopped). */
  readonly firstReady: Promise<void>;
  /** Children started so far (1 + restarts). */
  starts = 0;

  constructor(
    private readonly options: EventsMonitorOptions,
    private readonly handlers: EventsMonitorHandlers,
  ) {
    if (!Number.isInteger(options.receiveBufferBytes) || options.receiveBufferBytes <= 0) {
      throw new RangeError(
        `events receive buffer must be a positive integer of bytes, got ${String(options.receiveBufferBytes)}`,
      );
    }
    this.program = monitorProgramPath(); // throws now, to the subscriber, when it is not built
    this.restartInitialMs = options.restartInitialMs ?? 100;
    this.restartMaxMs = options.restartMaxMs ?? 5_000;
    this.restartDelayMs = this.restartInitialMs;
    this.firstReady = new Promise((resolve) => {
      this.resolveFirstReady = resolve;
    });
  }

  start(): void {
    if (this.stopped || this.child) return;
    this.starts++;
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        [
          this.program,
          String(this.options.receiveBufferBytes),
          String(this.options.maxBacklogBytes ?? 64 * 1024 * 1024),
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
    } catch (error) {
      this.lost(
        `the events monitor cannot start: ${error instanceof Error ? error.message : String(error)}`,
        0,
      );
      return;
    }
    this.child = child;
    // Once it listens, neither the child nor its pipes keep this process alive (a subscription never did);
    // until then its stdout does, so that awaiting `firstReady` cannot leave the event loop empty.
    child.unref();
    for (const stream of [child.stdin, child.stderr]) unrefStream(stream);
    child.stdin?.on('error', () => {});
    let stderrTail = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      stderrTail = (stderrTail + text).slice(-STDERR_TAIL_BYTES);
    });
    let pending: Buffer = Buffer.alloc(0);
    child.stdout?.on('data', (chunk: Buffer) => {
      let buffer = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let offset = 0;
      while (offset + 4 <= buffer.length) {
        const length = buffer.readUInt32LE(offset);
        if (length === LOST_FRAME_LENGTH) {
          offset += 4;
          // The child goes on listening: the loss is reported at once, with no restart.
          this.handlers.ready(
            `the events monitor (pid ${child.pid}) overran: the kernel dropped notifications (ENOBUFS)`,
          );
          if (this.child !== child) return;
          continue;
        }
        if (offset + 4 + length > buffer.length) break;
        if (length === 0) {
          unrefStream(child.stdout);
          this.childReady(child);
        } else this.handlers.datagram(buffer.subarray(offset + 4, offset + 4 + length));
        offset += 4 + length;
        if (this.child !== child) return; // stopped by a handler
      }
      buffer = buffer.subarray(offset);
      // A copy, so that the chunk (64 KiB) is not kept alive by a few leftover bytes.
      pending = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
    });
    child.on('error', (error) => {
      stderrTail += `\n${error.message}`;
    });
    // 'close': the child exited and its stdout was read to the end, so every event it forwarded came first.
    child.on('close', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const detail = stderrTail.trim().split('\n').slice(-3).join(' | ');
      this.lost(`the events monitor (pid ${child.pid}) ${how}${detail ? `: ${detail}` : ''}`, startedAt);
    });
  }

  /** Stops the child (SIGKILL: nothing of it is needed any more) and any restart. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.resolveFirstReady?.();
  }

  /** The pid of the running child, if any (for tests and logs). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private childReady(child: ChildProcess): void {
    if (this.child !== child) return;
    const lost = this.lostReason;
    this.lostReason = undefined;
    this.resolveFirstReady?.();
    this.resolveFirstReady = undefined;
    this.handlers.ready(lost);
  }

  private lost(reason: string, startedAt: number): void {
    this.resolveFirstReady?.();
    this.resolveFirstReady = undefined;
    if (this.stopped) return;
    // Several losses before a child listens again are one loss; the first reason says most.
    this.lostReason ??= reason;
    if (startedAt > 0 && Date.now() - startedAt >= HEALTHY_LIFETIME_MS)
      this.restartDelayMs = this.restartInitialMs;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, this.restartMaxMs);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start();
    }, delay);
    this.restartTimer.unref();
  }
}

function unrefStream(stream: unknown): void {
  (stream as { unref?: () => void } | null)?.unref?.();
}

/** monitor-process.js beside this module (built), or in dist/ when this module runs from src (Vitest). */
function monitorProgramPath(): string {
  const candidates = [
    new URL('./monitor-process.js', import.meta.url),
    new URL('../dist/src/monitor-process.js', import.meta.url),
  ];
  for (const candidate of candidates) {
    if (candidate.protocol === 'file:' && existsSync(candidate)) return fileURLToPath(candidate);
  }
  throw new Error(
    `the events monitor program is not built (looked for ${candidates.map((c) => c.href).join(', ')}): ` +
      'run pnpm exec tsc -b packages/kernel',
  );
}
