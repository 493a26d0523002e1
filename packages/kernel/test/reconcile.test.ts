// Unit tests of route reconciliation against the in-memory kernel: diffing, mark-and-sweep of our
// protocol only, routes waiting for their interface, and failures reported for retry.
import { describe, expect, it } from 'vitest';
import { FakeRouteTable } from '../src/fake-route-table.js';
import { planRouteChanges, RouteReconciler } from '../src/reconcile.js';
import type { KernelRoute } from '../src/routes.js';

const OURS = 96;
const workload = (dst: string, device: string, protocol = OURS): KernelRoute => ({
  dst,
  device,
  table: 254,
  protocol,
  type: 'unicast',
  scope: 'link',
});
const blackhole = (dst: string): KernelRoute => ({
  dst,
  table: 254,
  protocol: OURS,
  type: 'blackhole',
  scope: 'universe',
});

describe('planRouteChanges', () => {
  it('replaces missing and different routes, removes unwanted ones, leaves equal ones', () => {
    const plan = planRouteChanges(
      [workload('10.0.0.1/32', 'a'), workload('10.0.0.2/32', 'b'), blackhole('10.0.0.0/26')],
      [workload('10.0.0.1/32', 'a'), workload('10.0.0.2/32', 'OLD'), workload('10.0.0.3/32', 'c')],
    );
    expect(plan.replace.map((r) => r.dst)).toEqual(['10.0.0.2/32', '10.0.0.0/26']);
    expect(plan.remove.map((r) => r.dst)).toEqual(['10.0.0.3/32']);
  });

  it('ignores the order of ECMP next hops', () => {
    const a: KernelRoute = {
      ...blackhole('10.1.0.0/26'),
      type: 'unicast',
      nextHops: [{ gateway: '1.1.1.1' }, { gateway: '2.2.2.2' }],
    };
    const b: KernelRoute = { ...a, nextHops: [{ gateway: '2.2.2.2' }, { gateway: '1.1.1.1' }] };
    expect(planRouteChanges([a], [b])).toEqual({ replace: [], remove: [] });
  });
});

describe('RouteReconciler', () => {
  it('sweeps only routes of its own protocol', async () => {
    const kernel = new FakeRouteTable();
    kernel.addLink('eth0');
    kernel.addLink('cara1');
    await kernel.replaceRoute(workload('10.0.0.9/32', 'eth0', 4)); // someone else's (proto static)
    await kernel.replaceRoute(workload('10.0.0.8/32', 'cara1')); // ours, left over from before a restart
    const reconciler = new RouteReconciler(kernel, { protocol: OURS });
    reconciler.setDesired([workload('10.0.0.1/32', 'cara1')]);
    const result = await reconciler.apply();
    expect(result).toMatchObject({ replaced: 1, removed: 1, failures: [] });
    expect([...kernel.routes.values()].map((r) => `${r.dst}/${r.protocol}`).sort()).toEqual([
      '10.0.0.1/32/96',
      '10.0.0.9/32/4',
    ]);
  });

  it('does nothing when the kernel already matches (a restart flushes nothing)', async () => {
    const kernel = new FakeRouteTable();
    kernel.addLink('cara1');
    await kernel.replaceRoute(workload('10.0.0.1/32', 'cara1'));
    kernel.log.length = 0;
    const reconciler = new RouteReconciler(kernel, { protocol: OURS });
    reconciler.setDesired([workload('10.0.0.1/32', 'cara1')]);
    expect(await reconciler.apply()).toMatchObject({ replaced: 0, removed: 0 });
    expect(kernel.log).toEqual([]);
  });

  it('holds routes whose interface is missing until it appears', async () => {
    const kernel = new FakeRouteTable();
    const reconciler = new RouteReconciler(kernel, { protocol: OURS });
    reconciler.setDesired([workload('10.0.0.1/32', 'cara1')]);
    const first = await reconciler.apply();
    expect(first.waitingForInterface.map((r) => r.dst)).toEqual(['10.0.0.1/32']);
    expect(kernel.routes.size).toBe(0);
    kernel.addLink('cara1');
    expect(await reconciler.apply()).toMatchObject({ replaced: 1, waitingForInterface: [] });
  });

  it('reports failures and succeeds on the next apply (retry)', async () => {
    const kernel = new FakeRouteTable();
    kernel.addLink('cara1');
    const reconciler = new RouteReconciler(kernel, { protocol: OURS });
    reconciler.setDesired([workload('10.0.0.1/32', 'cara1'), blackhole('10.0.0.0/26')]);
    kernel.failNext(1);
    const first = await reconciler.apply();
    expect(first.failures).toHaveLength(1);
    expect(first.failures[0]!.error.message).toContain('injected failure');
    const second = await reconciler.apply();
    expect(second.failures).toEqual([]);
    expect(kernel.routes.size).toBe(2);
  });

  it('refuses a desired route of another protocol', () => {
    const reconciler = new RouteReconciler(new FakeRouteTable(), { protocol: OURS });
    expect(() => reconciler.setDesired([workload('10.0.0.1/32', 'x', 4)])).toThrow(
      'has protocol 4, this reconciler owns 96',
    );
  });
});
