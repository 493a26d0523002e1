// An in-memory RouteTable for unit tests: behaves like the kernel for what Caracal uses (replace by key,
// ENODEV for a missing interface, delete of a missing route is fine), emits the same events, and can be
// told to fail the next operations (or every write of one prefix) to exercise retries and the per-op
// error reporting of applyBatch.

import { Subject } from 'rxjs';
import {
  type BatchResult,
  checkRouteOps,
  KernelError,
  type KernelEvent,
  type KernelRoute,
  type LinkInfo,
  type RouteOp,
  type RouteOpFailure,
  type RouteTable,
  routeKey,
} from './routes.js';

export class FakeRouteTable implements RouteTable {
  readonly routes = new Map<string, KernelRoute>();
  readonly links = new Map<string, LinkInfo>();
  private readonly subject = new Subject<KernelEvent>();
  readonly events = this.subject.asObservable();
  /** Operations performed, for assertions: `replace 10.0.0.1/32`, `delete ...`. */
  readonly log: string[] = [];
  /** Number of ops of each applyBatch call, in call order. */
  readonly batches: number[] = [];
  private failuresToInject = 0;
  private readonly refusedPrefixes = new Map<string, string>();

  addLink(name: string): LinkInfo {
    const link = { index: this.links.size + 2, name, up: true };
    this.links.set(name, link);
    this.subject.next({ kind: 'link-added', link });
    return link;
  }

  removeLink(name: string): void {
    const link = this.links.get(name);
    if (!link) return;
    this.links.delete(name);
    for (const [key, route] of this.routes) {
      if (route.device === name) this.routes.delete(key);
    }
    this.subject.next({ kind: 'link-removed', link });
  }

  /** Simulates someone deleting a route by hand (`ip route del`). */
  removeByHand(dst: string): void {
    for (const [key, route] of this.routes) {
      if (route.dst === dst) {
        this.routes.delete(key);
        this.subject.next({ kind: 'route-removed', route });
      }
    }
  }

  /** Emits `resync`, as NetlinkRouteTable does when its events monitor lost events and was restarted. */
  loseEvents(reason: string): void {
    this.subject.next({ kind: 'resync', reason });
  }

  /** The next `count` replace/delete calls fail with EBUSY. */
  failNext(count: number): void {
    this.failuresToInject = count;
  }

  /** Every replace of `dst` fails with a KernelError carrying `errno` (as the kernel would, e.g. ENETUNREACH). */
  refuseRoute(dst: string, errno: string): void {
    this.refusedPrefixes.set(dst, errno);
  }

  /** Writes of `dst` succeed again. */
  acceptRoute(dst: string): void {
    this.refusedPrefixes.delete(dst);
  }

  async listRoutes(filter: { protocol: number; table?: number }): Promise<KernelRoute[]> {
    return [...this.routes.values()].filter(
      (r) => r.protocol === filter.protocol && (filter.table === undefined || r.table === filter.table),
    );
  }

  async replaceRoute(route: KernelRoute): Promise<void> {
    this.replaceNow(route);
  }

  async deleteRoute(route: KernelRoute): Promise<void> {
    this.deleteNow(route);
  }

  /** The ops in order, each exactly as replaceRoute/deleteRoute would do it alone. */
  async applyBatch(ops: readonly RouteOp[]): Promise<BatchResult> {
    checkRouteOps(ops);
    this.batches.push(ops.length);
    const failures: RouteOpFailure[] = [];
    let succeeded = 0;
    ops.forEach((op, index) => {
      try {
        if (op.op === 'replace') this.replaceNow(op.route);
        else this.deleteNow(op.route);
        succeeded++;
      } catch (error) {
        failures.push({ index, op, error: error instanceof Error ? error : new Error(String(error)) });
      }
    });
    return { succeeded, failures };
  }

  private replaceNow(route: KernelRoute): void {
    this.maybeFail(`replace ${route.dst}`);
    for (const device of [route.device, ...(route.nextHops ?? []).map((h) => h.device)]) {
      if (device !== undefined && !this.links.has(device)) {
        throw new KernelError(`no interface named '${device}'`, 'ENODEV');
      }
    }
    const refused = this.refusedPrefixes.get(route.dst);
    if (refused !== undefined) {
      throw new KernelError(`cannot program route ${route.dst}: Request rejected: ${refused}`, refused);
    }
    this.log.push(`replace ${route.dst}`);
    this.routes.set(routeKey(route), route);
    this.subject.next({ kind: 'route-added', route });
  }

  private deleteNow(route: KernelRoute): void {
    this.maybeFail(`delete ${route.dst}`);
    this.log.push(`delete ${route.dst}`);
    const existing = this.routes.get(routeKey(route));
    if (existing) {
      this.routes.delete(routeKey(route));
      this.subject.next({ kind: 'route-removed', route: existing });
    }
  }

  async listLinks(): Promise<LinkInfo[]> {
    return [...this.links.values()];
  }

  close(): void {
    this.subject.complete();
  }

  private maybeFail(operation: string): void {
    if (this.failuresToInject > 0) {
      this.failuresToInject--;
      throw new KernelError(`injected failure: ${operation}`, 'EBUSY');
    }
  }
}
