// An in-memory ForwardingTable for unit tests of the daemon: the same validation as the kernel FIB
// (a bad entry throws the same FibEntryError), the same stale/sweep/stop semantics, writes applied on
// the next microtask, and everything observable: what is "in the kernel", and a log of operations.

import { canonicalFibPrefix, kernelRouteFor } from './routes.js';
import type { FibEntry, FibStats, ForwardingTable } from './types.js';

export interface FakeForwardingTableOptions {
  /** Routes of ours already "in the kernel" when start() runs (a previous run's). */
  readonly previousRun?: Iterable<readonly [string, FibEntry]>;
}

export class FakeForwardingTable implements ForwardingTable {
  /** What is "in the kernel", by canonical prefix. */
  readonly kernel = new Map<string, FibEntry>();
  /** Operations in order: `start keepExisting=true`, `install 10.0.0.0/24`, `remove ...`, `sweep`, `stop ...`. */
  readonly operations: string[] = [];
  private readonly desired = new Map<string, FibEntry>();
  private readonly stale = new Set<string>();
  private readonly pending = new Set<string>();
  private state: 'new' | 'started' | 'stopped' = 'new';
  private applyQueued = false;

  constructor(options: FakeForwardingTableOptions = {}) {
    for (const [prefix, entry] of options.previousRun ?? []) {
      const key = canonicalFibPrefix(prefix);
      kernelRouteFor(key, entry, { protocol: 201, table: 254 });
      this.kernel.set(key, entry);
    }
  }

  get started(): boolean {
    return this.state === 'started';
  }

  get stopped(): boolean {
    return this.state === 'stopped';
  }

  /** The entry the daemon last set for `prefix` (canonicalised), or undefined. */
  desiredEntry(prefix: string): FibEntry | undefined {
    return this.desired.get(canonicalFibPrefix(prefix));
  }

  async start(options: { readonly keepExisting: boolean }): Promise<void> {
    if (this.state !== 'new') throw new Error(`the FIB cannot start: it is ${this.state}`);
    this.state = 'started';
    this.operations.push(`start keepExisting=${options.keepExisting}`);
    for (const prefix of this.kernel.keys()) {
      if (this.desired.has(prefix)) this.pending.add(prefix);
      else if (options.keepExisting) this.stale.add(prefix);
      else this.pending.add(prefix);
    }
    this.queueApply();
  }

  set(prefix: string, entry: FibEntry | null): void {
    if (this.state === 'stopped') throw new Error(`FIB set(${prefix}) after stop`);
    const key = canonicalFibPrefix(prefix);
    if (entry === null) {
      this.desired.delete(key);
    } else {
      kernelRouteFor(key, entry, { protocol: 201, table: 254 });
      this.desired.set(key, entry);
    }
    this.stale.delete(key);
    this.pending.add(key);
    this.queueApply();
  }

  sweepStale(): void {
    this.operations.push(`sweep ${this.stale.size}`);
    for (const prefix of this.stale) this.pending.add(prefix);
    this.stale.clear();
    this.queueApply();
  }

  async flush(): Promise<void> {
    this.apply();
  }

  async stop(options: { readonly keepRoutes: boolean }): Promise<void> {
    if (this.state === 'stopped') return;
    this.apply();
    this.state = 'stopped';
    this.operations.push(`stop keepRoutes=${options.keepRoutes}`);
    if (!options.keepRoutes) this.kernel.clear();
  }

  stats(): FibStats {
    let installed = 0;
    for (const [prefix, entry] of this.desired) if (this.kernel.get(prefix) === entry) installed++;
    return {
      desired: this.desired.size,
      installed,
      pendingRetries: 0,
      staleFromPreviousRun: this.stale.size,
      synced: this.state === 'started' && this.pending.size === 0 && installed === this.desired.size,
    };
  }

  isInstalled(prefix: string): boolean {
    const key = canonicalFibPrefix(prefix);
    const entry = this.desired.get(key);
    return entry !== undefined && this.kernel.get(key) === entry;
  }

  private queueApply(): void {
    if (this.applyQueued || this.state !== 'started') return;
    this.applyQueued = true;
    queueMicrotask(() => this.apply());
  }

  private apply(): void {
    this.applyQueued = false;
    if (this.state !== 'started') return;
    for (const prefix of this.pending) {
      const entry = this.desired.get(prefix);
      if (entry) {
        if (this.kernel.get(prefix) === entry) continue;
        this.kernel.set(prefix, entry);
        this.operations.push(`install ${prefix} ${describeFibEntry(entry)}`);
      } else if (!this.stale.has(prefix) && this.kernel.delete(prefix)) {
        this.operations.push(`remove ${prefix}`);
      }
    }
    this.pending.clear();
  }
}

/** `blackhole`, `via 192.0.2.1`, `via fe80::1 dev eth0 via fe80::2 dev eth1`. */
export function describeFibEntry(entry: FibEntry): string {
  if (entry.kind === 'blackhole') return 'blackhole';
  return entry.nextHops.map((hop) => `via ${hop.gateway}${hop.device ? ` dev ${hop.device}` : ''}`).join(' ');
}
