// The contract between the speaker and the kernel forwarding table: the daemon says which next hops
// each prefix has; an implementation (KernelFib, over @caracal/kernel netlink) owns every kernel
// write, with our route protocol number only. A fake implements it in memory for unit tests.

/** One next hop for a prefix: a gateway address (IPv6 link-local needs `device`). */
export interface FibNextHop {
  readonly gateway: string;
  readonly device?: string;
}

/** What a prefix should be in the kernel: routed via next hops (ECMP when several) or a blackhole. */
export type FibEntry =
  | { readonly kind: 'unicast'; readonly nextHops: readonly FibNextHop[] }
  | { readonly kind: 'blackhole' };

export interface FibStats {
  /** Prefixes the FIB wants installed. */
  readonly desired: number;
  /** Prefixes confirmed in the kernel. */
  readonly installed: number;
  /** Kernel writes that failed and are waiting for a retry. */
  readonly pendingRetries: number;
  /** Routes of our protocol found at start and not (yet) claimed again. */
  readonly staleFromPreviousRun: number;
  /** True once every desired route is in the kernel (no pending writes or retries). */
  readonly synced: boolean;
}

export interface ForwardingTable {
  /**
   * Starts: reads the kernel's routes of our protocol. With `keepExisting` (we restart gracefully),
   * they stay in place, marked stale, until `sweepStale()`; without it they are removed at once.
   */
  start(options: { readonly keepExisting: boolean }): Promise<void>;
  /** Sets (or with `null` removes) one prefix. Writes are batched and applied asynchronously. */
  set(prefix: string, entry: FibEntry | null): void;
  /** Removes the routes of our protocol that were kept from a previous run and not set since. */
  sweepStale(): void;
  /** Resolves when every pending write has been applied (or has failed and awaits a retry). */
  flush(): Promise<void>;
  /** Stops: with `keepRoutes` the kernel routes stay (graceful restart); otherwise ours are removed. */
  stop(options: { readonly keepRoutes: boolean }): Promise<void>;
  stats(): FibStats;
  /** Whether `prefix` is currently in the kernel as we want it. */
  isInstalled(prefix: string): boolean;
}
