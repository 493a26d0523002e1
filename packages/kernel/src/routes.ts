// The route model shared by Felix and caracal-bgpd, and the narrow interfaces through which they touch the
// kernel: a RouteTable (list/replace/delete routes of one protocol), link lookup, and change events.

import type { Observable } from 'rxjs';

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
export type RouteScope = 'universe' | 'link' | 'host';

export interface NextHop {
  readonly gateway?: string;
  readonly device?: string;
  readonly onlink?: boolean;
  /** ECMP weight, 1..256 (the kernel stores weight-1 in rtnh_hops). */
  readonly weight?: number;
}

/** A kernel route as Caracal writes and reads it. `dst` is a canonical CIDR. */
export interface KernelRoute {
  readonly dst: string;
  readonly table: number;
  readonly protocol: number;
  readonly type: RouteType;
  readonly scope: RouteScope;
  /** Single next hop: `device`, `gateway`, `onlink`. */
  readonly device?: string;
  readonly gateway?: string;
  readonly onlink?: boolean;
  /** ECMP: two or more next hops (then device/gateway are unset). */
  readonly nextHops?: readonly NextHop[];
  readonly metric?: number;
}

export const MAIN_TABLE = 254;

/** The kernel's identity of a route: a replace with the same key overwrites it. */
export function routeKey(route: Pick<KernelRoute, 'table' | 'dst' | 'metric'>): string {
  return `${route.table}|${route.dst}|${route.metric ?? 0}`;
}

/** True when two routes would be programmed identically (order of ECMP next hops ignored). */
export function sameRoute(a: KernelRoute, b: KernelRoute): boolean {
  const hops = (r: KernelRoute) =>
    (r.nextHops ?? [])
      .map((h) => `${h.gateway ?? ''}/${h.device ?? ''}/${h.onlink ? 1 : 0}/${h.weight ?? 1}`)
      .sort()
      .join(',');
  return (
    a.dst === b.dst &&
    a.table === b.table &&
    a.protocol === b.protocol &&
    a.type === b.type &&
    a.scope === b.scope &&
    (a.device ?? '') === (b.device ?? '') &&
    (a.gateway ?? '') === (b.gateway ?? '') &&
    Boolean(a.onlink) === Boolean(b.onlink) &&
    (a.metric ?? 0) === (b.metric ?? 0) &&
    hops(a) === hops(b)
  );
}

export function describeRoute(route: KernelRoute): string {
  const parts = [route.type === 'unicast' ? '' : `${route.type} `, route.dst];
  if (route.gateway) parts.push(` via ${route.gateway}`);
  if (route.device) parts.push(` dev ${route.device}`);
  if (route.onlink) parts.push(' onlink');
  for (const hop of route.nextHops ?? []) {
    parts.push(
      ` nexthop${hop.gateway ? ` via ${hop.gateway}` : ''}${hop.device ? ` dev ${hop.device}` : ''}`,
    );
  }
  if (route.scope !== 'universe') parts.push(` scope ${route.scope}`);
  parts.push(` proto ${route.protocol}`);
  if (route.table !== MAIN_TABLE) parts.push(` table ${route.table}`);
  if (route.metric) parts.push(` metric ${route.metric}`);
  return parts.join('');
}

export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  readonly up: boolean;
}

export type KernelEvent =
  | { readonly kind: 'link-added' | 'link-changed'; readonly link: LinkInfo }
  | { readonly kind: 'link-removed'; readonly link: LinkInfo }
  | { readonly kind: 'route-removed'; readonly route: KernelRoute }
  | { readonly kind: 'route-added'; readonly route: KernelRoute }
  /**
   * Events were lost (the monitor fell behind the kernel and was restarted, see events-monitor.ts): what
   * the subscriber knows of the kernel may be stale and must be read again (listRoutes, listLinks). Comes
   * once the new monitor listens, so a re-read after it misses nothing.
   */
  | { readonly kind: 'resync'; readonly reason: string };

/** One write of a batch: create-or-overwrite, or delete (a missing route is not an error). */
export type RouteOp =
  | { readonly op: 'replace'; readonly route: KernelRoute }
  | { readonly op: 'delete'; readonly route: KernelRoute };

/** An op of a batch that failed: its position in the batch, the op, and the error it failed with. */
export interface RouteOpFailure {
  readonly index: number;
  readonly op: RouteOp;
  /** A KernelError with `errno` (ENODEV, ENETUNREACH, EINVAL, ...) when the kernel (or a missing interface)
   *  refused it; an AddressError/RangeError for a malformed route. The same error replaceRoute or
   *  deleteRoute would have thrown for it alone. */
  readonly error: Error;
}

export interface BatchResult {
  /** Ops that took effect (a delete of a route that was not there counts). */
  readonly succeeded: number;
  /** The failed ops, in batch order; empty when everything was written. */
  readonly failures: readonly RouteOpFailure[];
}

/** Throws a TypeError naming the first entry of `ops` that is not a replace or delete of a route. */
export function checkRouteOps(ops: readonly RouteOp[]): void {
  if (!Array.isArray(ops)) throw new TypeError(`route ops must be an array, got ${typeof ops}`);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as { op?: unknown; route?: { dst?: unknown } } | undefined;
    if (op?.op !== 'replace' && op?.op !== 'delete') {
      throw new TypeError(`ops[${i}].op must be 'replace' or 'delete', got ${JSON.stringify(op?.op)}`);
    }
    if (typeof op.route !== 'object' || op.route === null || typeof op.route.dst !== 'string') {
      throw new TypeError(
        `ops[${i}].route must be a KernelRoute with a dst, got ${JSON.stringify(op.route)}`,
      );
    }
  }
}

/** The kernel's routing table, as Caracal uses it. Implementations: netlink (real) and in-memory (fake). */
export interface RouteTable {
  /** Routes of one protocol (in every table, or one table). */
  listRoutes(filter: { readonly protocol: number; readonly table?: number }): Promise<KernelRoute[]>;
  /** Creates or replaces the route with the same key. Fails with a KernelError naming the route. */
  replaceRoute(route: KernelRoute): Promise<void>;
  /** Deletes the route; deleting a missing route is not an error. */
  deleteRoute(route: KernelRoute): Promise<void>;
  /**
   * Applies the ops in order, with the same per-op semantics as replaceRoute/deleteRoute, but as few kernel
   * round trips as possible. Never rejects for an op's failure: each one is reported in the result.
   */
  applyBatch(ops: readonly RouteOp[]): Promise<BatchResult>;
  listLinks(): Promise<LinkInfo[]>;
  /** Link and route changes, as the kernel announces them. */
  readonly events: Observable<KernelEvent>;
  close(): void;
}

export class KernelError extends Error {
  override readonly name = 'KernelError';
  constructor(
    message: string,
    /** errno name or number when the kernel said no (ENODEV, EEXIST, ...). */
    readonly errno: string | undefined,
  ) {
    super(message);
  }
}
