// Unit tests of the batch write path with the in-memory kernel: applyBatch applies ops in order with the
// per-op semantics of replaceRoute/deleteRoute, reports each failure at its own index, refuses malformed
// ops by name; RouteReconciler.apply writes one batch per apply and sorts failures exactly as before.
import { describe, expect, it } from 'vitest';
import { FakeRouteTable } from '../src/fake-route-table.js';
import { RouteReconciler } from '../src/reconcile.js';
import { KernelError, type KernelRoute, type RouteOp } from '../src/routes.js';

const OURS = 96;
const workload = (dst: string, device: string): KernelRoute => ({
  dst,
  device,
  table: 254,
  protocol: OURS,
  type: 'unicast',
  scope: 'link',
});

describe('FakeRouteTable.applyBatch', () => {
  it('applies ops in order and attributes each failure to its own op', async () => {
    const kernel = new FakeRouteTable();
    kernel.addLink('cara1');
    await kernel.replaceRoute(workload('10.0.0.50/32', 'cara1'));
    kernel.refuseRoute('10.0.0.3/32', 'ENETUNREACH');
    const ops: RouteOp[] = [
      { op: 'replace', route: workload('10.0.0.1/32', 'cara1') },
      { op: 'replace', route: workload('10.0.0.2/32', 'nosuch0') },
      { op: 'replace', route: workload('10.0.0.3/32', 'cara1') },
      { op: 'delete', route: workload('10.0.0.99/32', 'cara1') }, // missing: not an error
      { op: 'replace', route: workload('10.0.0.4/32', 'cara1') },
      { op: 'delete', route: workload('10.0.0.4/32', 'cara1') }, // after its replace: gone
      { op: 'delete', route: workload('10.0.0.50/32', 'cara1') },
      { op: 'replace', route: workload('10.0.0.50/32', 'cara1') }, // after its delete: back
    ];
    const result = await kernel.applyBatch(ops);
    expect(result.succeeded).toBe(6);
    expect(
      result.failures.map((f) => ({
        index: f.index,
        dst: f.op.route.dst,
        errno: (f.error as KernelError).errno,
        kernelError: f.error instanceof KernelError,
      })),
    ).toEqual([
      { index: 1, dst: '10.0.0.2/32', errno: 'ENODEV', kernelError: true },
      { index: 2, dst: '10.0.0.3/32', errno: 'ENETUNREACH', kernelError: true },
    ]);
    expect(result.failures[0]!.op).toBe(ops[1]);
    expect([...kernel.routes.values()].map((r) => r.dst).sort()).toEqual(['10.0.0.1/32', '10.0.0.50/32']);
    expect(kernel.batches).toEqual([8]);
  });

  it('consumes injected failures per op, like single calls', async () => {
    const kernel = new FakeRouteTable();
    kernel.addLink('cara1');
    kernel.failNext(2);
    const result = await kernel.applyBatch(
      ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32'].map((dst) => ({
        op: 'replace',
        route: workload(dst, 'cara1'),
      })),
    );
    expect(result.failures.map((f) => [f.index, f.error.message])).toEqual([
      [0, 'injected failure: replace 10.0.0.1/32'],
      [1, 'injected failure: replace 10.0.0.2/32'],
    ]);
    expect([...kernel.routes.values()].map((r) => r.dst)).toEqual(['10.0.0.3/32']);
  });

  it('refuses a malformed op by its index before writing anything', async () => {
    const kernel = new FakeRouteTable();
    kernel.addLink('cara1');
    const ops = [
      { op: 'replace', route: workload('10.0.0.1/32', 'cara1') },
      { op: 'upsert', route: workload('10.0.0.2/32', 'cara1') },
    ] as unknown as RouteOp[];
    await expect(kernel.applyBatch(ops)).rejects.toThrow(
      `ops[1].op must be 'replace' or 'delete', got "upsert"`,
    );
    await expect(kernel.applyBatch([{ op: 'delete' } as unknown as RouteOp])).rejects.toThrow(
      'ops[0].route must be a KernelRoute with a dst, got undefined',
    );
    expect(kernel.routes.size).toBe(0);
  });
});

describe('RouteReconciler over applyBatch', () => {
  it('writes all of one apply as a single batch, deletes before replaces', async () => {
    const kernel = new FakeRouteTable();
    kernel.addLink('cara1');
    for (let i = 0; i < 5; i++) await kernel.replaceRoute(workload(`10.1.0.${i}/32`, 'cara1'));
    kernel.log.length = 0;
    const reconciler = new RouteReconciler(kernel, { protocol: OURS });
    reconciler.setDesired(
      Array.from({ length: 1000 }, (_, i) => workload(`10.2.${i >> 8}.${i & 255}/32`, 'cara1')),
    );
    const result = await reconciler.apply();
    expect(result).toMatchObject({ replaced: 1000, removed: 5, failures: [], waitingForInterface: [] });
    expect(kernel.batches).toEqual([1005]);
    expect(kernel.log.slice(0, 5).every((line) => line.startsWith('delete '))).toBe(true);
    expect(kernel.routes.size).toBe(1000);
    // Nothing to do: no batch at all.
    expect(await reconciler.apply()).toMatchObject({ replaced: 0, removed: 0 });
    expect(kernel.batches).toEqual([1005]);
  });

  it('turns a kernel ENODEV into waiting-for-interface and other refusals into failures of that route', async () => {
    const kernel = new FakeRouteTable();
    kernel.addLink('cara1');
    kernel.addLink('cara2');
    const reconciler = new RouteReconciler(kernel, { protocol: OURS });
    reconciler.setDesired([
      workload('10.0.0.1/32', 'cara1'),
      workload('10.0.0.2/32', 'cara2'),
      workload('10.0.0.3/32', 'cara1'),
    ]);
    // cara2 vanishes between the reconciler's link listing and the write: the kernel says ENODEV.
    const listLinks = kernel.listLinks.bind(kernel);
    kernel.listLinks = async () => {
      const links = await listLinks();
      kernel.links.delete('cara2');
      return links;
    };
    kernel.refuseRoute('10.0.0.3/32', 'ENETUNREACH');
    const result = await reconciler.apply();
    expect(result.replaced).toBe(1);
    expect(result.waitingForInterface.map((r) => r.dst)).toEqual(['10.0.0.2/32']);
    expect(result.failures.map((f) => [f.route.dst, (f.error as KernelError).errno])).toEqual([
      ['10.0.0.3/32', 'ENETUNREACH'],
    ]);
  });
});
