// The kernel FIB of caracal-bgpd: a ForwardingTable over a @caracal/kernel RouteTable (rtnetlink by
// default). It only ever touches routes with our protocol number in our table. set() only records the
// wish and marks the prefix dirty; a single apply loop coalesces the dirty prefixes (last write wins),
// and writes them as ONE `RouteTable.applyBatch` per round on the next tick (or after a short throttle,
// or at once when many are dirty: many requests per sendmsg, refusals mapped back to their prefix by op
// index), so 100k prefixes never re-list the kernel. Failed writes are retried with exponential backoff;
// a route of ours removed behind our back (by hand, or with its interface) is noticed through the route
// table's events (and a periodic resync) and put back; a `resync` event (the table's events monitor lost
// events) re-reads our routes.

import {
  type KernelEvent,
  type KernelRoute,
  NetlinkRouteTable,
  type RouteOp,
  type RouteTable,
} from '@caracal/kernel';
import type { Logger } from 'pino';
import type { Subscription } from 'rxjs';
import { canonicalFibPrefix, kernelRouteFor, kernelRouteMatches } from './routes.js';
import type { FibEntry, FibStats, ForwardingTable } from './types.js';

export interface KernelFibOptions {
  /** Our route protocol number (caracal-bgpd's default: DEFAULT_BGP_ROUTE_PROTOCOL = 201). */
  readonly protocol: number;
  /** The kernel table our routes live in (254 = main). */
  readonly table: number;
  readonly logger?: Logger;
  /** The kernel's route table; default a NetlinkRouteTable of this process's namespace (closed on stop). */
  readonly routeTable?: RouteTable;
  /** Delay between the first set() and the apply that writes it; 0 = the next event-loop turn. Default 5. */
  readonly throttleMs?: number;
  /** First retry delay of a failed write, doubled per failure up to `retryMaxMs`. Defaults 250 and 10 000. */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** Full re-read of our routes to catch changes events missed; 0 = never. Default 60 000. */
  readonly resyncIntervalMs?: number;
  /** Delay between a route/link removal event and the resync it triggers. Default 100. */
  readonly resyncDebounceMs?: number;
}

/** FibStats plus the counters of this implementation. */
export interface KernelFibStats extends FibStats {
  /** Kernel writes (replace or delete) that failed, in total. */
  readonly failedWrites: number;
  /** Kernel writes that succeeded, in total. */
  readonly writes: number;
  /** Routes of ours found missing or different in the kernel and put back. */
  readonly repaired: number;
  /** Full re-reads of our routes since start. */
  readonly resyncs: number;
  /** The last write error, for logs and status. */
  readonly lastError: string | null;
}

/** Dirty prefixes that start an apply round at once, without waiting for the throttle's timer. */
const EAGER_ROUND_PREFIXES = 1024;

interface RetryState {
  attempts: number;
  dueAt: number;
  error: string;
}

type Lifecycle = 'new' | 'started' | 'stopping' | 'stopped';

/** The kernel FIB (a ForwardingTable) of caracal-bgpd; see KernelFibOptions for the tunables. */
export function createKernelFib(options: KernelFibOptions): KernelFib {
  return new KernelFib(options);
}

export class KernelFib implements ForwardingTable {
  private readonly routeTable: RouteTable;
  private readonly ownsRouteTable: boolean;
  private readonly logger: Logger | undefined;
  private readonly throttleMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly resyncIntervalMs: number;
  private readonly resyncDebounceMs: number;

  /** What the daemon wants, by canonical prefix: the exact kernel route we write. */
  private readonly desired = new Map<string, KernelRoute>();
  /** What we believe the kernel has of ours, by prefix. Identical object to desired = installed. */
  private readonly inKernel = new Map<string, KernelRoute>();
  /** Routes kept from a previous run (graceful restart) and not claimed by set() yet. */
  private readonly stale = new Set<string>();
  /** Prefixes whose kernel state must be brought to the desired state. */
  private dirty = new Set<string>();
  /** Extra routes of ours for one prefix (another metric), deleted at the next apply. */
  private strays: KernelRoute[] = [];
  private readonly retries = new Map<string, RetryState>();
  /** Interfaces our routes in the kernel use: a link going down matters only when it is one of them. */
  private readonly devicesInUse = new Set<string>();

  private lifecycle: Lifecycle = 'new';
  private applyTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private resyncDebounceTimer: NodeJS.Timeout | undefined;
  private resyncWanted = false;
  private running: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private subscription: Subscription | undefined;

  private failedWrites = 0;
  private writes = 0;
  private repaired = 0;
  private resyncs = 0;
  private lastError: string | null = null;

  constructor(private readonly options: KernelFibOptions) {
    if (!Number.isInteger(options.protocol) || options.protocol < 1 || options.protocol > 255) {
      throw new RangeError(`FIB protocol must be an integer 1..255, got ${String(options.protocol)}`);
    }
    if (!Number.isInteger(options.table) || options.table < 1 || options.table > 0xffffffff) {
      throw new RangeError(`FIB table must be an integer 1..4294967295, got ${String(options.table)}`);
    }
    this.ownsRouteTable = options.routeTable === undefined;
    this.routeTable = options.routeTable ?? new NetlinkRouteTable();
    this.logger = options.logger;
    this.throttleMs = options.throttleMs ?? 5;
    this.retryInitialMs = options.retryInitialMs ?? 250;
    this.retryMaxMs = options.retryMaxMs ?? 10_000;
    this.resyncIntervalMs = options.resyncIntervalMs ?? 60_000;
    this.resyncDebounceMs = options.resyncDebounceMs ?? 100;
  }

  async start(startOptions: { readonly keepExisting: boolean }): Promise<void> {
    if (this.lifecycle !== 'new') throw new Error(`the FIB cannot start: it is ${this.lifecycle}`);
    const existing = await this.routeTable.listRoutes({
      protocol: this.options.protocol,
      table: this.options.table,
    });
    for (const route of existing) {
      this.noteDevices(route);
      if (this.inKernel.has(route.dst)) {
        this.strays.push(route);
        continue;
      }
      this.inKernel.set(route.dst, route);
      if (startOptions.keepExisting && !this.desired.has(route.dst)) this.stale.add(route.dst);
      else this.dirty.add(route.dst);
    }
    this.lifecycle = 'started';
    this.logger?.info(
      { protocol: this.options.protocol, table: this.options.table, found: existing.length },
      startOptions.keepExisting
        ? 'FIB started: routes of a previous run kept as stale'
        : 'FIB started: routes of a previous run will be removed',
    );
    this.subscribeToKernel();
    if (this.resyncIntervalMs > 0) {
      this.resyncTimer = setInterval(() => this.requestResync(), this.resyncIntervalMs);
      this.resyncTimer.unref();
    }
    this.scheduleApply();
  }

  set(prefix: string, entry: FibEntry | null): void {
    if (this.lifecycle === 'stopping' || this.lifecycle === 'stopped') {
      throw new Error(`FIB set(${prefix}) after stop`);
    }
    const key = canonicalFibPrefix(prefix);
    if (entry === null) {
      if (!this.desired.delete(key) && !this.stale.delete(key)) return;
      this.stale.delete(key);
    } else {
      const route = kernelRouteFor(key, entry, this.options);
      const current = this.desired.get(key);
      if (current && kernelRouteMatches(current, route) && hopDevicesEqual(current, route)) return;
      this.desired.set(key, route);
      this.stale.delete(key);
      // A route kept from a previous run that already is what we want is adopted without a write.
      const inKernel = this.inKernel.get(key);
      if (inKernel && inKernel !== route && kernelRouteMatches(inKernel, route)) {
        this.inKernel.set(key, route);
      }
    }
    this.retries.delete(key);
    this.dirty.add(key);
    if (this.dirty.size >= EAGER_ROUND_PREFIXES && this.running === undefined) {
      // Many prefixes in one busy turn of the event loop (a full table arriving): start writing them now
      // rather than when the throttle's timer gets its turn, which the rest of the table would delay.
      this.cancelApplyTimer();
      this.runApplyLoop();
      return;
    }
    this.scheduleApply();
  }

  sweepStale(): void {
    if (this.stale.size === 0) return;
    this.logger?.info(
      { stale: this.stale.size },
      'FIB: sweeping routes of the previous run not claimed again',
    );
    for (const prefix of this.stale) this.dirty.add(prefix);
    this.stale.clear();
    this.scheduleApply();
  }

  async flush(): Promise<void> {
    if (this.lifecycle !== 'started' || this.isIdle()) return;
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.scheduleApply(true);
    });
  }

  async stop(stopOptions: { readonly keepRoutes: boolean }): Promise<void> {
    if (this.lifecycle === 'stopped' || this.lifecycle === 'stopping') return;
    const wasStarted = this.lifecycle === 'started';
    this.lifecycle = 'stopping';
    this.clearTimers();
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    await this.running;
    if (wasStarted && !stopOptions.keepRoutes) {
      const ours = await this.routeTable.listRoutes({
        protocol: this.options.protocol,
        table: this.options.table,
      });
      const result = await this.applyOps(ours.map((route): RouteOp => ({ op: 'delete', route })));
      for (const failure of result.failures.slice(0, 10)) {
        this.logger?.warn(
          { route: failure.op.route.dst, err: errorText(failure.error) },
          'FIB: cannot remove route on stop',
        );
      }
      if (result.failures.length > 10) {
        this.logger?.warn(
          { more: result.failures.length - 10 },
          'FIB: more routes could not be removed on stop',
        );
      }
      this.inKernel.clear();
      this.logger?.info({ removed: ours.length }, 'FIB stopped: our routes removed');
    } else if (wasStarted) {
      this.logger?.info({ kept: this.inKernel.size }, 'FIB stopped: routes kept in the kernel');
    }
    this.lifecycle = 'stopped';
    if (this.ownsRouteTable) this.routeTable.close();
    this.resolveIdleWaiters();
  }

  stats(): KernelFibStats {
    let installed = 0;
    for (const [prefix, route] of this.desired) if (this.inKernel.get(prefix) === route) installed++;
    return {
      desired: this.desired.size,
      installed,
      pendingRetries: this.retries.size,
      staleFromPreviousRun: this.stale.size,
      // Synced: nothing left to write (an armed but empty apply does not count).
      synced:
        this.lifecycle === 'started' &&
        installed === this.desired.size &&
        this.retries.size === 0 &&
        this.dirty.size === 0 &&
        this.strays.length === 0 &&
        this.running === undefined,
      failedWrites: this.failedWrites,
      writes: this.writes,
      repaired: this.repaired,
      resyncs: this.resyncs,
      lastError: this.lastError,
    };
  }

  isInstalled(prefix: string): boolean {
    let key: string;
    try {
      key = canonicalFibPrefix(prefix);
    } catch {
      return false;
    }
    const route = this.desired.get(key);
    return route !== undefined && this.inKernel.get(key) === route;
  }

  // --- the apply loop ---------------------------------------------------------------------------

  private isIdle(): boolean {
    return (
      this.running === undefined &&
      this.dirty.size === 0 &&
      this.strays.length === 0 &&
      !this.resyncWanted &&
      this.applyTimer === undefined
    );
  }

  private scheduleApply(now = false): void {
    if (this.lifecycle !== 'started' || this.running) return;
    if (this.applyTimer !== undefined) {
      if (!now) return;
      this.cancelApplyTimer();
    }
    const run = () => {
      this.applyTimer = undefined;
      this.runApplyLoop();
    };
    this.applyTimer = now || this.throttleMs <= 0 ? setImmediate(run) : setTimeout(run, this.throttleMs);
  }

  private cancelApplyTimer(): void {
    if (this.applyTimer === undefined) return;
    clearTimeout(this.applyTimer as NodeJS.Timeout);
    clearImmediate(this.applyTimer as NodeJS.Immediate);
    this.applyTimer = undefined;
  }

  private runApplyLoop(): void {
    if (this.running || this.lifecycle !== 'started') return;
    this.running = (async () => {
      // Yield first, so that `running` is set before the loop body can reach its `finally`.
      await Promise.resolve();
      try {
        while (this.lifecycle === 'started') {
          if (this.resyncWanted) {
            this.resyncWanted = false;
            await this.resync();
            continue;
          }
          if (this.dirty.size === 0 && this.strays.length === 0) break;
          const batch = this.dirty;
          this.dirty = new Set();
          const strays = this.strays;
          this.strays = [];
          await this.applyBatch(batch, strays);
        }
      } catch (error) {
        // Only listRoutes (resync) can throw here; the next interval or event tries again.
        this.lastError = errorText(error);
        this.logger?.error({ err: this.lastError }, 'FIB: cannot read our routes from the kernel');
      } finally {
        this.running = undefined;
      }
      if (this.dirty.size > 0 || this.resyncWanted) this.scheduleApply();
      else this.resolveIdleWaiters();
      this.armRetryTimer();
    })();
  }

  /**
   * Brings the dirty prefixes (and the stray routes) to their desired kernel state with a single
   * applyBatch: the strays' deletes first, then one replace or delete per prefix that needs one. The
   * result names each failed op by index, which maps back to its prefix for the retry bookkeeping.
   */
  private async applyBatch(batch: Set<string>, strays: KernelRoute[]): Promise<void> {
    const ops: RouteOp[] = strays.map((route): RouteOp => ({ op: 'delete', route }));
    /** ops[strays.length + i] is the write of writes[i]. */
    const writes: { readonly prefix: string; readonly op: RouteOp }[] = [];
    for (const prefix of batch) {
      const wanted = this.desired.get(prefix);
      const current = this.inKernel.get(prefix);
      if (wanted) {
        if (current === wanted || (current && kernelRouteMatches(current, wanted))) {
          this.inKernel.set(prefix, wanted);
          this.retries.delete(prefix);
          continue;
        }
        writes.push({ prefix, op: { op: 'replace', route: wanted } });
      } else if (!current || this.stale.has(prefix)) {
        this.retries.delete(prefix);
      } else {
        writes.push({ prefix, op: { op: 'delete', route: current } });
      }
    }
    for (const write of writes) ops.push(write.op);
    if (ops.length === 0) return;
    const result = await this.applyOps(ops);
    const failed = new Map<number, Error>();
    for (const failure of result.failures) failed.set(failure.index, failure.error);
    for (let index = 0; index < strays.length; index++) {
      const error = failed.get(index);
      if (error) {
        this.failedWrites++;
        this.lastError = errorText(error);
      } else {
        this.writes++;
      }
    }
    writes.forEach(({ prefix, op }, i) => {
      const error = failed.get(strays.length + i);
      if (error) {
        this.writeFailed(prefix, `${op.op} ${prefix}`, error);
        return;
      }
      this.writes++;
      this.retries.delete(prefix);
      if (op.op === 'replace') {
        this.noteDevices(op.route);
        // A newer set() may have changed the wish meanwhile: it is dirty again and handled next round.
        this.inKernel.set(prefix, op.route);
      } else if (this.inKernel.get(prefix) === op.route) {
        this.inKernel.delete(prefix);
      }
    });
  }

  /** routeTable.applyBatch; when the table cannot write at all (it threw), every op fails with that error. */
  private async applyOps(ops: readonly RouteOp[]): Promise<{
    failures: readonly { index: number; op: RouteOp; error: Error }[];
  }> {
    try {
      return await this.routeTable.applyBatch(ops);
    } catch (error) {
      const asError = error instanceof Error ? error : new Error(String(error));
      return { failures: ops.map((op, index) => ({ index, op, error: asError })) };
    }
  }

  private writeFailed(prefix: string, operation: string, error: unknown): void {
    this.failedWrites++;
    const text = errorText(error);
    this.lastError = text;
    const previous = this.retries.get(prefix);
    const attempts = (previous?.attempts ?? 0) + 1;
    const delay = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** (attempts - 1));
    this.retries.set(prefix, { attempts, dueAt: Date.now() + delay, error: text });
    // One log line per prefix on its first failure, then every 10th: a flapping gateway is not a log flood.
    if (attempts === 1 || attempts % 10 === 0) {
      this.logger?.warn({ prefix, attempts, retryInMs: delay, err: text }, `FIB: ${operation} failed`);
    }
  }

  private armRetryTimer(): void {
    if (this.retryTimer !== undefined || this.retries.size === 0 || this.lifecycle !== 'started') return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const state of this.retries.values()) earliest = Math.min(earliest, state.dueAt);
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.queueDueRetries(Date.now());
      },
      Math.max(0, earliest - Date.now()),
    );
  }

  private queueDueRetries(now: number): void {
    for (const [prefix, state] of this.retries) if (state.dueAt <= now) this.dirty.add(prefix);
    if (this.dirty.size > 0) this.scheduleApply();
    else this.armRetryTimer();
  }

  // --- noticing changes made behind our back ---------------------------------------------------

  private subscribeToKernel(): void {
    this.subscription = this.routeTable.events.subscribe({
      next: (event) => this.onKernelEvent(event),
      error: (error: unknown) => {
        // E.g. ENOBUFS when the kernel outpaced us: events were lost, so re-read and listen again.
        this.logger?.warn({ err: errorText(error) }, 'FIB: kernel event stream failed; resyncing');
        this.subscription = undefined;
        if (this.lifecycle !== 'started') return;
        this.requestResync();
        setTimeout(() => {
          if (this.lifecycle === 'started' && !this.subscription) this.subscribeToKernel();
        }, this.resyncDebounceMs).unref();
      },
    });
  }

  private onKernelEvent(event: KernelEvent): void {
    switch (event.kind) {
      case 'route-added': {
        if (event.route.protocol === this.options.protocol && event.route.table === this.options.table) {
          this.noteDevices(event.route);
        }
        return;
      }
      case 'route-removed': {
        const route = event.route;
        if (route.protocol !== this.options.protocol || route.table !== this.options.table) return;
        if (this.desired.has(route.dst) || this.stale.has(route.dst)) this.requestResync(true);
        return;
      }
      case 'resync':
        // The table's events monitor lost events (it fell behind the kernel and was restarted).
        this.logger?.warn({ reason: event.reason }, 'FIB: kernel events were lost; re-reading our routes');
        this.requestResync();
        return;
      case 'link-removed':
      case 'link-changed':
      case 'link-added':
        if (event.kind === 'link-removed' || !event.link.up) {
          // The kernel drops routes through a link that goes away or down without a message per route;
          // a link none of our routes uses (a pod's veth) costs nothing.
          if (event.kind !== 'link-added' && this.devicesInUse.has(event.link.name)) this.requestResync(true);
          return;
        }
        // Writes waiting for this interface (ENODEV, ENETUNREACH) need not wait for their backoff.
        for (const state of this.retries.values()) state.dueAt = 0;
        this.queueDueRetries(Date.now());
        return;
      default:
        return;
    }
  }

  /** Remembers the interfaces our routes go out of (the kernel names them even when we gave none). */
  private noteDevices(route: KernelRoute): void {
    if (route.device !== undefined) this.devicesInUse.add(route.device);
    for (const hop of route.nextHops ?? []) if (hop.device !== undefined) this.devicesInUse.add(hop.device);
  }

  private requestResync(debounced = false): void {
    if (this.lifecycle !== 'started') return;
    if (!debounced) {
      this.resyncWanted = true;
      this.scheduleApply();
      return;
    }
    if (this.resyncDebounceTimer !== undefined) return;
    this.resyncDebounceTimer = setTimeout(() => {
      this.resyncDebounceTimer = undefined;
      this.resyncWanted = true;
      this.scheduleApply();
    }, this.resyncDebounceMs);
  }

  /** Re-reads our routes and marks every prefix whose kernel state differs from our belief dirty. */
  private async resync(): Promise<void> {
    const actual = await this.routeTable.listRoutes({
      protocol: this.options.protocol,
      table: this.options.table,
    });
    this.resyncs++;
    const actualByPrefix = new Map<string, KernelRoute>();
    for (const route of actual) {
      this.noteDevices(route);
      if (actualByPrefix.has(route.dst)) this.strays.push(route);
      else actualByPrefix.set(route.dst, route);
    }
    let repairs = 0;
    for (const [prefix, believed] of this.inKernel) {
      const found = actualByPrefix.get(prefix);
      if (!found) {
        this.inKernel.delete(prefix);
        if (this.stale.delete(prefix)) continue; // a stale route deleted by hand stays deleted
        if (this.desired.has(prefix)) {
          this.dirty.add(prefix);
          repairs++;
        }
      } else if (!kernelRouteMatches(found, believed)) {
        this.inKernel.set(prefix, found);
        if (!this.stale.has(prefix)) {
          this.dirty.add(prefix);
          repairs++;
        }
      }
    }
    for (const [prefix, route] of actualByPrefix) {
      if (this.inKernel.has(prefix)) continue;
      // Ours, unknown to us (added behind our back): adopt it if it is what we want, else fix or remove it.
      const wanted = this.desired.get(prefix);
      if (wanted && kernelRouteMatches(route, wanted)) {
        this.inKernel.set(prefix, wanted);
        this.retries.delete(prefix);
      } else {
        this.inKernel.set(prefix, route);
        this.dirty.add(prefix);
      }
    }
    if (repairs > 0) {
      this.repaired += repairs;
      this.logger?.warn({ repairs }, 'FIB: routes of ours were missing or changed in the kernel; restoring');
    }
  }

  private clearTimers(): void {
    this.cancelApplyTimer();
    for (const timer of [this.retryTimer, this.resyncTimer, this.resyncDebounceTimer]) {
      if (timer !== undefined) clearTimeout(timer);
    }
    this.retryTimer = undefined;
    this.resyncTimer = undefined;
    this.resyncDebounceTimer = undefined;
  }

  private resolveIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function hopDevicesEqual(a: KernelRoute, b: KernelRoute): boolean {
  const devices = (route: KernelRoute) =>
    route.nextHops ? route.nextHops.map((hop) => hop.device ?? '').join(',') : (route.device ?? '');
  return devices(a) === devices(b);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
