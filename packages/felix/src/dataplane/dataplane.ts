// Felix's dataplane: turns the desired dataplane into kernel state in ONE throttled apply that diffs desired
// against actual for routes (through the route reconciler: only our protocol), sysctls (read, write what
// differs) and the nftables table (rewritten when its fingerprint drifts). Failures are retried with
// backoff; kernel events (our interface appearing, our route deleted by hand) trigger an apply at once; a
// periodic refresh repairs any other drift. Nothing here computes what is wanted: that is the calc graph's.

import {
  type KernelRoute,
  MAIN_TABLE,
  RouteReconciler,
  type RouteTable,
  type Sysctls,
} from '@caracal/kernel';
import type { Subscription } from 'rxjs';
import type { DesiredDataplane } from '../calc/graph.js';
import type { Nft } from './nft.js';
import { expectedNatFingerprint, NFT_FAMILY, NFT_TABLE, natFingerprint, natRuleset } from './nft-ruleset.js';

/** Route protocol number of Felix's routes (workload /32s and block blackholes). */
export const FELIX_ROUTE_PROTOCOL = 96;

export interface ApplyReport {
  readonly routesReplaced: number;
  readonly routesRemoved: number;
  readonly routesWaitingForInterface: number;
  readonly sysctlsWritten: number;
  readonly nftRewritten: boolean;
  readonly errors: readonly string[];
}

/**
 * The kernel's default metric of an IPv6 route written without one (IP6_RT_PRIO_USER): the kernel stores and
 * reports 1024, so a desired IPv6 route must say 1024 or every apply would see it as different.
 */
export const IPV6_ROUTE_METRIC = 1024;

/**
 * Pure: the kernel routes for a desired dataplane, described exactly as the kernel reports them back, so that
 * an apply over an unchanged kernel writes nothing. IPv4: `/32 scope link` via the veth, metric 0, and
 * blackholes without a device. IPv6 (the kernel's IPv6 FIB has no scopes, a default metric and puts its
 * blackholes on `lo`): the `/128` via the veth with scope universe and metric 1024, and `blackhole <block>
 * dev lo metric 1024`.
 */
export function desiredKernelRoutes(desired: DesiredDataplane): KernelRoute[] {
  const routes: KernelRoute[] = [];
  for (const route of desired.workloadRoutes.values()) {
    const ipv6 = route.dst.includes(':');
    routes.push({
      dst: route.dst,
      device: route.interfaceName,
      table: MAIN_TABLE,
      protocol: FELIX_ROUTE_PROTOCOL,
      type: 'unicast',
      scope: ipv6 ? 'universe' : 'link',
      ...(ipv6 ? { metric: IPV6_ROUTE_METRIC } : {}),
    });
  }
  for (const block of desired.blackholeRoutes) {
    const ipv6 = block.includes(':');
    routes.push({
      dst: block,
      table: MAIN_TABLE,
      protocol: FELIX_ROUTE_PROTOCOL,
      type: 'blackhole',
      scope: 'universe',
      ...(ipv6 ? { device: 'lo', metric: IPV6_ROUTE_METRIC } : {}),
    });
  }
  return routes;
}

export interface DataplaneDeps {
  readonly routes: RouteTable;
  readonly sysctls: Sysctls;
  readonly nft: Nft;
}

/** One apply pass over routes, sysctls and nftables. */
export class DataplaneApplier {
  private readonly reconciler: RouteReconciler;

  constructor(private readonly deps: DataplaneDeps) {
    this.reconciler = new RouteReconciler(deps.routes, { protocol: FELIX_ROUTE_PROTOCOL });
  }

  async apply(desired: DesiredDataplane): Promise<ApplyReport> {
    const errors: string[] = [];
    this.reconciler.setDesired(desiredKernelRoutes(desired));
    const routeResult = await this.reconciler.apply();
    for (const failure of routeResult.failures) errors.push(failure.error.message);

    let sysctlsWritten = 0;
    const present = new Set((await this.deps.routes.listLinks()).map((l) => l.name));
    const wanted: [string, string][] = [...desired.globalSysctls];
    for (const iface of desired.interfaces.values()) {
      if (present.has(iface.interfaceName)) wanted.push(...iface.sysctls);
    }
    for (const [path, value] of wanted) {
      try {
        if ((await this.deps.sysctls.read(path)) !== value) {
          await this.deps.sysctls.write(path, value);
          sysctlsWritten++;
        }
      } catch (error) {
        errors.push(error instanceof Error ? error.message : String(error));
      }
    }

    let nftRewritten = false;
    try {
      const listed = await this.deps.nft.listTable(NFT_FAMILY, NFT_TABLE);
      if (!listed || natFingerprint(listed) !== expectedNatFingerprint(desired.natOutgoing)) {
        await this.deps.nft.run(natRuleset(desired.natOutgoing));
        nftRewritten = true;
      }
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
    return {
      routesReplaced: routeResult.replaced,
      routesRemoved: routeResult.removed,
      routesWaitingForInterface: routeResult.waitingForInterface.length,
      sysctlsWritten,
      nftRewritten,
      errors,
    };
  }
}

export interface ApplyLoopOptions {
  /** Minimum time between two applies (coalesces bursts of updates). */
  readonly minIntervalMs: number;
  /** Full resync period (Calico: 90 s for routes). */
  readonly refreshIntervalMs: number;
  /** Retry delay after a failed apply, doubled each time up to maxRetryDelayMs. */
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly onReport?: (report: ApplyReport, reason: string) => void;
}

/**
 * Schedules applies: at most one in flight, at most one every `minIntervalMs`, always on the latest desired
 * state; nothing is applied before the first desired state (i.e. before the datastore is in sync).
 */
export class ApplyLoop {
  private desired: DesiredDataplane | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pendingReason: string | undefined;
  private lastApplyAt = 0;
  private retryDelay: number;
  private kernelEvents: Subscription | undefined;
  private stopped = false;
  private currentRefreshIntervalMs: number;
  lastReport: ApplyReport | undefined;
  /** True once an apply completed without errors for the current desired state. */
  inSync = false;

  constructor(
    private readonly applier: DataplaneApplier,
    private readonly routes: RouteTable,
    private readonly options: ApplyLoopOptions,
  ) {
    this.retryDelay = options.retryDelayMs;
    this.currentRefreshIntervalMs = options.refreshIntervalMs;
  }

  start(): void {
    this.kernelEvents = this.routes.events.subscribe((event) => {
      if (!this.desired) return;
      if (event.kind === 'link-added' && this.desired.interfaces.has(event.link.name)) {
        this.schedule(`interface ${event.link.name} appeared`);
      } else if (event.kind === 'route-removed' && event.route.protocol === FELIX_ROUTE_PROTOCOL) {
        this.schedule(`route ${event.route.dst} was removed`);
      } else if (event.kind === 'resync') {
        // Kernel events were lost: an apply re-reads routes and links and repairs whatever they missed.
        this.schedule(`kernel events were lost (${event.reason})`);
      }
    });
    this.armRefresh();
  }

  stop(): void {
    this.stopped = true;
    this.kernelEvents?.unsubscribe();
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.refreshTimer);
  }

  /** Changes the periodic refresh period (FelixConfiguration routeRefreshInterval); re-arms the timer. */
  setRefreshInterval(refreshIntervalMs: number): void {
    if (refreshIntervalMs === this.refreshIntervalMs) return;
    this.refreshIntervalMs = refreshIntervalMs;
    clearTimeout(this.refreshTimer);
    this.armRefresh();
  }

  get refreshIntervalMs(): number {
    return this.currentRefreshIntervalMs;
  }

  private set refreshIntervalMs(value: number) {
    this.currentRefreshIntervalMs = value;
  }

  update(desired: DesiredDataplane): void {
    this.desired = desired;
    this.inSync = false;
    this.schedule('datastore update');
  }

  /** Resolves when no apply is scheduled or running (for tests and for readiness). */
  async settled(): Promise<void> {
    while (this.running || this.timer) {
      await (this.running ?? new Promise((r) => setTimeout(r, 5)));
    }
  }

  private schedule(reason: string, delayMs?: number): void {
    if (this.stopped || !this.desired) return;
    this.pendingReason = reason;
    if (this.timer) return;
    const sinceLast = Date.now() - this.lastApplyAt;
    const delay = delayMs ?? Math.max(0, this.options.minIntervalMs - sinceLast);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delay);
  }

  private async run(): Promise<void> {
    if (this.running) {
      await this.running;
      if (this.pendingReason) this.schedule(this.pendingReason);
      return;
    }
    const desired = this.desired;
    const reason = this.pendingReason ?? 'refresh';
    this.pendingReason = undefined;
    if (!desired) return;
    this.running = (async () => {
      this.lastApplyAt = Date.now();
      let report: ApplyReport;
      try {
        report = await this.applier.apply(desired);
      } catch (error) {
        report = {
          routesReplaced: 0,
          routesRemoved: 0,
          routesWaitingForInterface: 0,
          sysctlsWritten: 0,
          nftRewritten: false,
          errors: [error instanceof Error ? error.message : String(error)],
        };
      }
      this.lastReport = report;
      // inSync is settled before onReport so that the report's consumer sees the loop's new state.
      if (report.errors.length > 0) {
        this.inSync = false;
        this.schedule(`retry after: ${report.errors[0]}`, this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, this.options.maxRetryDelayMs);
      } else {
        this.retryDelay = this.options.retryDelayMs;
        if (desired === this.desired) this.inSync = true;
      }
      this.options.onReport?.(report, reason);
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private armRefresh(): void {
    if (this.stopped) return;
    this.refreshTimer = setTimeout(() => {
      this.schedule('periodic refresh');
      this.armRefresh();
    }, this.currentRefreshIntervalMs);
    this.refreshTimer.unref?.();
  }
}
