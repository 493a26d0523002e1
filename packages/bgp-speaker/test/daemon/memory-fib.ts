// An in-memory ForwardingTable for the daemon's unit tests: records what the speaker wants in the
// kernel (prefix → entry), what a "previous run" left behind (for graceful restart), and every call.

import type { FibEntry, FibStats, ForwardingTable } from '../../src/fib/index.js';

export class MemoryFib implements ForwardingTable {
  /** What is "in the kernel" now, by prefix. */
  readonly routes = new Map<string, FibEntry>();
  /** Routes left by a previous run and not set since (swept by sweepStale or at start without keepExisting). */
  readonly stale = new Set<string>();
  readonly calls: string[] = [];
  stopped: { keepRoutes: boolean } | null = null;

  constructor(previousRun: ReadonlyArray<readonly [string, FibEntry]> = []) {
    for (const [prefix, entry] of previousRun) {
      this.routes.set(prefix, entry);
      this.stale.add(prefix);
    }
  }

  async start(options: { readonly keepExisting: boolean }): Promise<void> {
    this.calls.push(`start keepExisting=${options.keepExisting}`);
    if (!options.keepExisting) {
      for (const prefix of this.stale) this.routes.delete(prefix);
      this.stale.clear();
    }
  }

  set(prefix: string, entry: FibEntry | null): void {
    this.calls.push(`set ${prefix} ${JSON.stringify(entry)}`);
    this.stale.delete(prefix);
    if (entry === null) this.routes.delete(prefix);
    else this.routes.set(prefix, entry);
  }

  sweepStale(): void {
    this.calls.push('sweepStale');
    for (const prefix of this.stale) this.routes.delete(prefix);
    this.stale.clear();
  }

  async flush(): Promise<void> {}

  async stop(options: { readonly keepRoutes: boolean }): Promise<void> {
    this.calls.push(`stop keepRoutes=${options.keepRoutes}`);
    this.stopped = { keepRoutes: options.keepRoutes };
    if (!options.keepRoutes) this.routes.clear();
  }

  stats(): FibStats {
    return {
      desired: this.routes.size,
      installed: this.routes.size,
      pendingRetries: 0,
      staleFromPreviousRun: this.stale.size,
      synced: true,
    };
  }

  isInstalled(prefix: string): boolean {
    return this.routes.has(prefix) && !this.stale.has(prefix);
  }

  /** The gateways of an installed unicast route, or the kind. */
  describe(prefix: string): string | undefined {
    const entry = this.routes.get(prefix);
    if (entry === undefined) return undefined;
    return entry.kind === 'blackhole' ? 'blackhole' : entry.nextHops.map((hop) => hop.gateway).join(',');
  }
}
