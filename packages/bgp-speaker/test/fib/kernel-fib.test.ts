// Unit tests of the kernel FIB over @caracal/kernel's FakeRouteTable: what reaches the "kernel" for
// unicast, ECMP, blackhole and IPv6 link-local entries; coalescing; graceful-restart stale handling and
// sweep; retries with backoff; interfaces that appear later; hand deletions put back; one applyBatch
// per apply round with refusals mapped back to their prefix; a burst of dirty prefixes written without
// waiting for the throttle; a resync event (lost kernel events); stop.
import { FakeRouteTable, type KernelRoute } from '@caracal/kernel';
import { afterEach, describe, expect, it } from 'vitest';
import { createKernelFib, FibEntryError, type KernelFib } from '../../src/fib/index.js';

const PROTOCOL = 201;
const TABLE = 254;

class CountingRouteTable extends FakeRouteTable {
  listCalls = 0;
  override async listRoutes(filter: { protocol: number; table?: number }): Promise<KernelRoute[]> {
    this.listCalls++;
    return super.listRoutes(filter);
  }
}

const fibs: KernelFib[] = [];
function newFib(routeTable: FakeRouteTable, extra: Partial<Parameters<typeof createKernelFib>[0]> = {}) {
  const fib = createKernelFib({
    protocol: PROTOCOL,
    table: TABLE,
    routeTable,
    throttleMs: 0,
    retryInitialMs: 5,
    retryMaxMs: 20,
    resyncDebounceMs: 5,
    ...extra,
  });
  fibs.push(fib);
  return fib;
}
afterEach(async () => {
  for (const fib of fibs.splice(0)) await fib.stop({ keepRoutes: true });
});

async function waitFor(description: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function ours(table: FakeRouteTable): KernelRoute[] {
  return [...table.routes.values()]
    .filter((r) => r.protocol === PROTOCOL)
    .sort((a, b) => a.dst.localeCompare(b.dst));
}

function tableWithLinks(): CountingRouteTable {
  const table = new CountingRouteTable();
  table.addLink('eth0');
  table.addLink('eth1');
  return table;
}

describe('KernelFib', () => {
  it('installs unicast, ECMP, blackhole and IPv6 link-local routes with our protocol and table', async () => {
    const kernel = tableWithLinks();
    const fib = newFib(kernel);
    await fib.start({ keepExisting: false });
    fib.set('10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.1' }] });
    fib.set('10.2.0.0/24', {
      kind: 'unicast',
      nextHops: [{ gateway: '192.0.2.3' }, { gateway: '192.0.2.2' }, { gateway: '192.0.2.3' }],
    });
    fib.set('10.3.0.0/24', { kind: 'blackhole' });
    fib.set('2001:db8:0:1::/64', { kind: 'unicast', nextHops: [{ gateway: 'fe80::1', device: 'eth1' }] });
    await fib.flush();
    expect(ours(kernel)).toEqual([
      {
        dst: '10.1.0.0/24',
        table: TABLE,
        protocol: PROTOCOL,
        scope: 'universe',
        type: 'unicast',
        gateway: '192.0.2.1',
      },
      {
        dst: '10.2.0.0/24',
        table: TABLE,
        protocol: PROTOCOL,
        scope: 'universe',
        type: 'unicast',
        nextHops: [{ gateway: '192.0.2.2' }, { gateway: '192.0.2.3' }],
      },
      { dst: '10.3.0.0/24', table: TABLE, protocol: PROTOCOL, scope: 'universe', type: 'blackhole' },
      {
        dst: '2001:db8:0:1::/64',
        table: TABLE,
        protocol: PROTOCOL,
        scope: 'universe',
        type: 'unicast',
        gateway: 'fe80::1',
        device: 'eth1',
      },
    ]);
    expect(fib.isInstalled('10.2.0.0/24')).toBe(true);
    expect(fib.isInstalled('2001:db8:0:1:0::/64')).toBe(true);
    expect(fib.stats()).toMatchObject({ desired: 4, installed: 4, pendingRetries: 0, synced: true });
  });

  it('coalesces several sets of one prefix into one write of the last, and many prefixes into one apply', async () => {
    const kernel = tableWithLinks();
    const fib = newFib(kernel);
    await fib.start({ keepExisting: false });
    expect(kernel.listCalls).toBe(1);
    fib.set('10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.1' }] });
    fib.set('10.1.0.0/24', null);
    fib.set('10.1.0.0/24', { kind: 'blackhole' });
    fib.set('10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.9' }] });
    for (let i = 0; i < 5000; i++) {
      fib.set(`10.${100 + (i >> 8)}.${i & 255}.0/24`, {
        kind: 'unicast',
        nextHops: [{ gateway: '192.0.2.1' }],
      });
    }
    await fib.flush();
    expect(kernel.log.filter((op) => op.startsWith('replace 10.1.0.0/24'))).toEqual(['replace 10.1.0.0/24']);
    expect(kernel.routes.get(`${TABLE}|10.1.0.0/24|0`)?.gateway).toBe('192.0.2.9');
    expect(ours(kernel)).toHaveLength(5001);
    // The kernel was read once, at start: writes never re-list it.
    expect(kernel.listCalls).toBe(1);
    // Setting what is already installed writes nothing.
    const writes = kernel.log.length;
    fib.set('10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.9' }] });
    await fib.flush();
    expect(kernel.log.length).toBe(writes);
  });

  it('starts writing a burst of dirty prefixes at once instead of waiting for the throttle', async () => {
    const kernel = tableWithLinks();
    // A throttle far longer than the test: only the burst rule can write before stop.
    const fib = newFib(kernel, { throttleMs: 600_000 });
    await fib.start({ keepExisting: false });
    fib.set('10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.1' }] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ours(kernel)).toHaveLength(0); // one prefix waits for the throttle
    for (let i = 0; i < 1500; i++) {
      fib.set(`10.${100 + (i >> 8)}.${i & 255}.0/24`, {
        kind: 'unicast',
        nextHops: [{ gateway: '192.0.2.1' }],
      });
    }
    // The round began at the 1024th dirty prefix and went on with what came after it.
    await waitFor('the burst in the kernel', () => ours(kernel).length === 1501);
    expect(fib.stats()).toMatchObject({ desired: 1501, installed: 1501, synced: true });
  });

  it('removes a prefix set to null, and only our routes at a cold start', async () => {
    const kernel = tableWithLinks();
    const foreign: KernelRoute = {
      dst: '10.9.0.0/24',
      table: TABLE,
      protocol: 4,
      type: 'unicast',
      scope: 'universe',
      gateway: '192.0.2.7',
    };
    const otherTable: KernelRoute = { ...foreign, protocol: PROTOCOL, table: 100 };
    const leftover: KernelRoute = { ...foreign, dst: '10.8.0.0/24', protocol: PROTOCOL };
    for (const route of [foreign, otherTable, leftover]) await kernel.replaceRoute(route);
    const fib = newFib(kernel);
    await fib.start({ keepExisting: false });
    fib.set('10.1.0.0/24', { kind: 'blackhole' });
    await fib.flush();
    expect([...kernel.routes.values()].map((r) => `${r.dst} ${r.protocol} ${r.table}`).sort()).toEqual([
      '10.1.0.0/24 201 254',
      '10.9.0.0/24 201 100',
      '10.9.0.0/24 4 254',
    ]);
    fib.set('10.1.0.0/24', null);
    await fib.flush();
    expect(ours(kernel).filter((r) => r.table === TABLE)).toEqual([]);
    expect(fib.stats()).toMatchObject({ desired: 0, installed: 0, synced: true });
  });

  it('keeps a previous run’s routes as stale, adopts the claimed ones without a write, sweeps the rest', async () => {
    const kernel = tableWithLinks();
    const first = newFib(kernel);
    await first.start({ keepExisting: false });
    for (const n of [1, 2, 3])
      first.set(`10.${n}.0.0/24`, { kind: 'unicast', nextHops: [{ gateway: '192.0.2.1' }] });
    first.set('10.4.0.0/24', {
      kind: 'unicast',
      nextHops: [{ gateway: '192.0.2.1' }, { gateway: '192.0.2.2' }],
    });
    await first.flush();
    await first.stop({ keepRoutes: true });
    expect(ours(kernel)).toHaveLength(4);

    const second = newFib(kernel);
    await second.start({ keepExisting: true });
    // Nothing to write: synced at once (the stale routes are in place).
    expect(second.stats()).toMatchObject({ desired: 0, staleFromPreviousRun: 4, synced: true });
    await second.flush();
    expect(ours(kernel)).toHaveLength(4);
    const writesBefore = kernel.log.length;
    second.set('10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.1' }] }); // same: adopted
    second.set('10.4.0.0/24', {
      kind: 'unicast',
      nextHops: [{ gateway: '192.0.2.2' }, { gateway: '192.0.2.1' }],
    });
    second.set('10.2.0.0/24', { kind: 'blackhole' }); // changed: rewritten
    await second.flush();
    expect(kernel.log.slice(writesBefore)).toEqual(['replace 10.2.0.0/24']);
    expect(second.stats()).toMatchObject({ desired: 3, installed: 3, staleFromPreviousRun: 1, synced: true });
    second.sweepStale();
    await second.flush();
    expect(kernel.log.slice(writesBefore)).toEqual(['replace 10.2.0.0/24', 'delete 10.3.0.0/24']);
    expect(ours(kernel).map((r) => r.dst)).toEqual(['10.1.0.0/24', '10.2.0.0/24', '10.4.0.0/24']);
    expect(second.stats().staleFromPreviousRun).toBe(0);
  });

  it('retries failed writes with backoff, counting them, until they succeed', async () => {
    const kernel = tableWithLinks();
    const fib = newFib(kernel);
    await fib.start({ keepExisting: false });
    kernel.failNext(3);
    fib.set('10.1.0.0/24', { kind: 'blackhole' });
    await fib.flush();
    expect(fib.stats()).toMatchObject({ installed: 0, pendingRetries: 1, synced: false, failedWrites: 1 });
    expect(fib.stats().lastError).toContain('injected failure: replace 10.1.0.0/24');
    await waitFor('the route after retries', () => fib.isInstalled('10.1.0.0/24'));
    expect(fib.stats()).toMatchObject({ installed: 1, pendingRetries: 0, synced: true, failedWrites: 3 });
    expect(ours(kernel).map((r) => r.dst)).toEqual(['10.1.0.0/24']);
  });

  it('waits for a missing interface and installs as soon as it appears', async () => {
    const kernel = tableWithLinks();
    const fib = newFib(kernel, { retryInitialMs: 60_000, retryMaxMs: 60_000 });
    await fib.start({ keepExisting: false });
    fib.set('2001:db8::/64', { kind: 'unicast', nextHops: [{ gateway: 'fe80::2', device: 'cali0' }] });
    await fib.flush();
    expect(fib.stats()).toMatchObject({ pendingRetries: 1, installed: 0 });
    expect(fib.stats().lastError).toContain("no interface named 'cali0'");
    kernel.addLink('cali0');
    await waitFor('the route via the new interface', () => fib.isInstalled('2001:db8::/64'));
    expect(ours(kernel)[0]?.device).toBe('cali0');
  });

  it('puts back a route of ours deleted by hand, but not a stale one', async () => {
    const kernel = tableWithLinks();
    await kernel.replaceRoute({
      dst: '10.7.0.0/24',
      table: TABLE,
      protocol: PROTOCOL,
      type: 'blackhole',
      scope: 'universe',
    });
    const fib = newFib(kernel);
    await fib.start({ keepExisting: true });
    fib.set('10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.1' }] });
    await fib.flush();
    kernel.removeByHand('10.1.0.0/24');
    kernel.removeByHand('10.7.0.0/24');
    await waitFor('the hand-deleted route back', () => kernel.routes.has(`${TABLE}|10.1.0.0/24|0`));
    await fib.flush();
    expect(ours(kernel).map((r) => r.dst)).toEqual(['10.1.0.0/24']);
    expect(fib.stats()).toMatchObject({ repaired: 1, staleFromPreviousRun: 0, synced: true });
  });

  it('re-installs routes the kernel dropped with their interface, and ignores links we do not use', async () => {
    const kernel = tableWithLinks();
    kernel.addLink('cali1234');
    const fib = newFib(kernel, { resyncIntervalMs: 0 });
    await fib.start({ keepExisting: false });
    fib.set('2001:db8::/64', { kind: 'unicast', nextHops: [{ gateway: 'fe80::1', device: 'eth1' }] });
    fib.set('10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.1' }] });
    await fib.flush();
    kernel.removeLink('cali1234');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await fib.flush();
    expect(fib.stats().resyncs).toBe(0);
    kernel.removeLink('eth1');
    await waitFor('the loss to be noticed', () => fib.stats().pendingRetries === 1);
    expect(fib.stats()).toMatchObject({ resyncs: 1, repaired: 1, installed: 1, synced: false });
    kernel.addLink('eth1');
    await waitFor('the route back on the new interface', () => fib.isInstalled('2001:db8::/64'));
    expect(ours(kernel).map((r) => r.dst)).toEqual(['10.1.0.0/24', '2001:db8::/64']);
  });

  it('finds changes the events missed with the periodic resync', async () => {
    const kernel = tableWithLinks();
    const fib = newFib(kernel, { resyncIntervalMs: 20 });
    await fib.start({ keepExisting: false });
    fib.set('10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.1' }] });
    await fib.flush();
    // Behind our back and without events: our route changed, and a stray route of our protocol added.
    kernel.routes.set(`${TABLE}|10.1.0.0/24|0`, {
      dst: '10.1.0.0/24',
      table: TABLE,
      protocol: PROTOCOL,
      type: 'blackhole',
      scope: 'universe',
    });
    kernel.routes.set(`${TABLE}|10.5.0.0/24|0`, {
      dst: '10.5.0.0/24',
      table: TABLE,
      protocol: PROTOCOL,
      type: 'blackhole',
      scope: 'universe',
    });
    await waitFor('the resync to repair', () => {
      const routes = ours(kernel);
      return routes.length === 1 && routes[0]?.gateway === '192.0.2.1';
    });
    expect(fib.stats().resyncs).toBeGreaterThan(0);
  });

  it('writes each apply round as one applyBatch, mapping a refused op back to its prefix for the retry', async () => {
    const kernel = tableWithLinks();
    const fib = newFib(kernel, { retryInitialMs: 10_000, retryMaxMs: 10_000 });
    await fib.start({ keepExisting: false });
    const batchesAtStart = kernel.batches.length;
    kernel.refuseRoute('10.7.3.0/24', 'ENETUNREACH');
    for (let i = 0; i < 10; i++)
      fib.set(`10.7.${i}.0/24`, { kind: 'unicast', nextHops: [{ gateway: '192.0.2.1' }] });
    await fib.flush();
    expect(kernel.batches.slice(batchesAtStart)).toEqual([10]);
    expect(ours(kernel).map((r) => r.dst)).not.toContain('10.7.3.0/24');
    expect(ours(kernel)).toHaveLength(9);
    for (let i = 0; i < 10; i++) expect(fib.isInstalled(`10.7.${i}.0/24`)).toBe(i !== 3);
    const stats = fib.stats();
    expect(stats).toMatchObject({
      writes: 9,
      failedWrites: 1,
      pendingRetries: 1,
      installed: 9,
      synced: false,
    });
    expect(stats.lastError).toContain('ENETUNREACH');
    // Removing 5 and fixing the refused one: one more batch, of exactly those writes.
    kernel.acceptRoute('10.7.3.0/24');
    for (let i = 5; i < 10; i++) if (i !== 3) fib.set(`10.7.${i}.0/24`, null);
    fib.set('10.7.3.0/24', { kind: 'blackhole' });
    await fib.flush();
    expect(kernel.batches.slice(batchesAtStart)).toEqual([10, 6]);
    expect(ours(kernel).map((r) => r.dst)).toEqual([0, 1, 2, 3, 4].map((i) => `10.7.${i}.0/24`));
    expect(fib.stats()).toMatchObject({ writes: 15, failedWrites: 1, pendingRetries: 0, synced: true });
  });

  it('re-reads and repairs our routes when the route table says kernel events were lost', async () => {
    const kernel = tableWithLinks();
    const fib = newFib(kernel);
    await fib.start({ keepExisting: false });
    fib.set('10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.1' }] });
    await fib.flush();
    // Deleted behind our back, and the event of it lost (no route-removed).
    kernel.routes.delete(`${TABLE}|10.1.0.0/24|0`);
    const lists = kernel.listCalls;
    kernel.loseEvents('the events monitor (pid 1) was killed by SIGABRT');
    await waitFor('the route to be put back', () => ours(kernel).length === 1);
    expect(kernel.listCalls).toBe(lists + 1);
    expect(fib.stats()).toMatchObject({ repaired: 1, synced: true });
  });

  it('stops keeping or removing our routes', async () => {
    const kernel = tableWithLinks();
    await kernel.replaceRoute({
      dst: '10.9.0.0/24',
      table: TABLE,
      protocol: 3,
      type: 'blackhole',
      scope: 'universe',
    });
    const fib = newFib(kernel);
    await fib.start({ keepExisting: false });
    fib.set('10.1.0.0/24', { kind: 'blackhole' });
    fib.set('10.2.0.0/24', { kind: 'blackhole' });
    await fib.flush();
    const batches = kernel.batches.length;
    await fib.stop({ keepRoutes: false });
    expect([...kernel.routes.values()].map((r) => r.dst)).toEqual(['10.9.0.0/24']);
    expect(kernel.batches.slice(batches)).toEqual([2]); // both deletes in one applyBatch
    expect(() => fib.set('10.3.0.0/24', { kind: 'blackhole' })).toThrow('after stop');
  });

  it('rejects bad input with an error naming the problem', async () => {
    const fib = newFib(tableWithLinks());
    const unicast = (gateway: string, device?: string) => ({
      kind: 'unicast' as const,
      nextHops: [device ? { gateway, device } : { gateway }],
    });
    expect(() => fib.set('10.1.0.1/24', { kind: 'blackhole' })).toThrow(
      'FIB prefix: "10.1.0.1/24": host bits set beyond /24 (the network is 10.1.0.0/24)',
    );
    expect(() => fib.set('10.1.0.0/33', { kind: 'blackhole' })).toThrow(/prefix length must be 0..32/);
    expect(() => fib.set('nonsense', { kind: 'blackhole' })).toThrow(FibEntryError);
    expect(() => fib.set('10.1.0.0/24', unicast('2001:db8::1'))).toThrow(
      '10.1.0.0/24: nextHops[0].gateway 2001:db8::1 is IPv6 but the prefix is IPv4',
    );
    expect(() => fib.set('2001:db8::/32', unicast('fe80::1'))).toThrow(
      '2001:db8::/32: nextHops[0].gateway fe80::1 is link-local: a device is required',
    );
    expect(() => fib.set('10.1.0.0/24', unicast('192.0.2.300'))).toThrow(
      '10.1.0.0/24: nextHops[0].gateway: "192.0.2.300": octet 4 is 300, more than 255',
    );
    expect(() => fib.set('10.1.0.0/24', { kind: 'unicast', nextHops: [] })).toThrow('at least one next hop');
    expect(() => createKernelFib({ protocol: 300, table: 254, routeTable: new FakeRouteTable() })).toThrow(
      'FIB protocol must be an integer 1..255, got 300',
    );
  });
});
