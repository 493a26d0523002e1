// Unit tests of FakeForwardingTable, the in-memory ForwardingTable the daemon's tests use: it must keep
// the real FIB's semantics (validation, stale kept and swept, stop with or without routes).
import { describe, expect, it } from 'vitest';
import { FakeForwardingTable, FibEntryError } from '../../src/fib/index.js';

const via = (gateway: string) => ({ kind: 'unicast' as const, nextHops: [{ gateway }] });

describe('FakeForwardingTable', () => {
  it('applies sets after a microtask, keeps stale routes until the sweep, and logs operations', async () => {
    const fib = new FakeForwardingTable({
      previousRun: [
        ['10.1.0.0/24', via('192.0.2.1')],
        ['10.2.0.0/24', { kind: 'blackhole' }],
      ],
    });
    await fib.start({ keepExisting: true });
    expect(fib.stats()).toMatchObject({ desired: 0, staleFromPreviousRun: 2, synced: true });
    fib.set('10.1.0.0/24', via('192.0.2.7'));
    fib.set('10.3.0.0/24', via('192.0.2.7'));
    expect(fib.isInstalled('10.3.0.0/24')).toBe(false);
    await fib.flush();
    expect(fib.isInstalled('10.3.0.0/24')).toBe(true);
    expect(fib.kernel.size).toBe(3);
    fib.sweepStale();
    await fib.flush();
    expect([...fib.kernel.keys()].sort()).toEqual(['10.1.0.0/24', '10.3.0.0/24']);
    fib.set('10.3.0.0/24', null);
    await fib.stop({ keepRoutes: true });
    expect(fib.operations).toEqual([
      'start keepExisting=true',
      'install 10.1.0.0/24 via 192.0.2.7',
      'install 10.3.0.0/24 via 192.0.2.7',
      'sweep 1',
      'remove 10.2.0.0/24',
      'remove 10.3.0.0/24',
      'stop keepRoutes=true',
    ]);
    expect([...fib.kernel.keys()]).toEqual(['10.1.0.0/24']);
    expect(fib.desiredEntry('10.1.0.0/24')).toEqual(via('192.0.2.7'));
  });

  it('removes stale routes at a cold start and everything at a stop without keepRoutes', async () => {
    const fib = new FakeForwardingTable({ previousRun: [['10.1.0.0/24', via('192.0.2.1')]] });
    await fib.start({ keepExisting: false });
    fib.set('10.4.0.0/24', via('192.0.2.1'));
    await fib.flush();
    expect([...fib.kernel.keys()]).toEqual(['10.4.0.0/24']);
    await fib.stop({ keepRoutes: false });
    expect(fib.kernel.size).toBe(0);
    expect(fib.stopped).toBe(true);
  });

  it('rejects what the kernel FIB rejects', () => {
    const fib = new FakeForwardingTable();
    expect(() => fib.set('10.0.0.1/8', { kind: 'blackhole' })).toThrow(FibEntryError);
    expect(() => fib.set('2001:db8::/32', via('fe80::1'))).toThrow('link-local: a device is required');
  });
});
