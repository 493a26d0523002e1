// Route reconciliation: diff the routes we want against the routes of OUR protocol in the kernel, then
// replace what differs and delete what we no longer want (mark-and-sweep of our own routes only: routes of
// any other protocol are never listed, so never touched). One apply reports what it did and what failed;
// the caller retries failures. Routes through an interface that does not exist yet wait for it. All the
// writes of one apply go to the kernel as one RouteTable.applyBatch (deletes first, then replaces).

import {
  KernelError,
  type KernelRoute,
  type RouteOp,
  type RouteTable,
  routeKey,
  sameRoute,
} from './routes.js';

export interface RoutePlan {
  /** Routes to create or overwrite (missing or different in the kernel). */
  readonly replace: readonly KernelRoute[];
  /** Our routes in the kernel that are not wanted any more. */
  readonly remove: readonly KernelRoute[];
}

/** Pure: what to change so that `actual` (our protocol's routes) becomes `desired`. */
export function planRouteChanges(desired: readonly KernelRoute[], actual: readonly KernelRoute[]): RoutePlan {
  const actualByKey = new Map(actual.map((r) => [routeKey(r), r]));
  const desiredKeys = new Set<string>();
  const replace: KernelRoute[] = [];
  for (const route of desired) {
    const key = routeKey(route);
    desiredKeys.add(key);
    const current = actualByKey.get(key);
    if (!current || !sameRoute(current, route)) replace.push(route);
  }
  const remove = actual.filter((r) => !desiredKeys.has(routeKey(r)));
  return { replace, remove };
}

export interface ApplyResult {
  readonly replaced: number;
  readonly removed: number;
  /** Routes waiting for their interface to appear. */
  readonly waitingForInterface: readonly KernelRoute[];
  readonly failures: readonly { readonly route: KernelRoute; readonly error: Error }[];
}

export interface RouteReconcilerOptions {
  /** Our route protocol number: only routes with it are ever deleted. */
  readonly protocol: number;
  /** Restrict to one table (default: every table). */
  readonly table?: number;
}

/** Applies a desired route set for one protocol, as a diff against the kernel. */
export class RouteReconciler {
  private desiredByKey = new Map<string, KernelRoute>();

  constructor(
    private readonly routes: RouteTable,
    private readonly options: RouteReconcilerOptions,
  ) {}

  /** Replaces the whole desired set. Every route must carry our protocol number. */
  setDesired(routes: Iterable<KernelRoute>): void {
    const next = new Map<string, KernelRoute>();
    for (const route of routes) {
      if (route.protocol !== this.options.protocol) {
        throw new Error(
          `route ${route.dst} has protocol ${route.protocol}, this reconciler owns ${this.options.protocol}`,
        );
      }
      next.set(routeKey(route), route);
    }
    this.desiredByKey = next;
  }

  desired(): KernelRoute[] {
    return [...this.desiredByKey.values()];
  }

  async apply(): Promise<ApplyResult> {
    const filter =
      this.options.table === undefined
        ? { protocol: this.options.protocol }
        : { protocol: this.options.protocol, table: this.options.table };
    const actual = await this.routes.listRoutes(filter);
    const links = new Set((await this.routes.listLinks()).map((l) => l.name));
    const plan = planRouteChanges(this.desired(), actual);
    const waitingForInterface: KernelRoute[] = [];
    const failures: { route: KernelRoute; error: Error }[] = [];
    const ops: RouteOp[] = plan.remove.map((route) => ({ op: 'delete', route }));
    for (const route of plan.replace) {
      const devices = [route.device, ...(route.nextHops ?? []).map((h) => h.device)].filter(
        (d): d is string => d !== undefined,
      );
      if (devices.some((d) => !links.has(d))) waitingForInterface.push(route);
      else ops.push({ op: 'replace', route });
    }
    const result = ops.length > 0 ? await this.routes.applyBatch(ops) : { succeeded: 0, failures: [] };
    const failed = new Set<number>();
    for (const { index, op, error } of result.failures) {
      failed.add(index);
      if (op.op === 'replace' && error instanceof KernelError && error.errno === 'ENODEV') {
        waitingForInterface.push(op.route);
      } else {
        failures.push({ route: op.route, error });
      }
    }
    let replaced = 0;
    let removed = 0;
    ops.forEach((op, index) => {
      if (failed.has(index)) return;
      if (op.op === 'replace') replaced++;
      else removed++;
    });
    return { replaced, removed, waitingForInterface, failures };
  }
}
