// Unit tests of the pure block logic and IP helpers: allocation order, reservations, guarded release,
// attribute compaction, document validation, and fast-check properties (no address handed out twice,
// counts stay consistent over arbitrary allocate/release sequences).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allocate,
  allocationsOf,
  BlockError,
  isEmpty,
  newBlock,
  parseBlockDocument,
  release,
  releaseByHandle,
  usage,
} from '../src/block.js';
import { canonicalIp, formatCidr, IpFormatError, nthBlock, parseCidr } from '../src/ip.js';

describe('ip helpers', () => {
  it('formats IPv6 compressed and rejects bad input by name', () => {
    expect(canonicalIp('fd00:0:0:0:0:0:0:1')).toBe('fd00::1');
    expect(canonicalIp('fd00:1:0:0:2:0:0:0')).toBe('fd00:1:0:0:2::');
    expect(() => parseCidr('10.0.0.1/24', 'pool.cidr')).toThrow(
      'pool.cidr: "10.0.0.1/24": host bits set beyond /24 (the network is 10.0.0.0/24)',
    );
    expect(() => parseCidr('10.0.0.0/33', 'pool.cidr')).toThrow(
      'pool.cidr: "10.0.0.0/33": prefix length must be 0..32 for IPv4, not 33',
    );
    expect(() => parseCidr('10.0.0.300/24', 'pool.cidr')).toThrow(
      'pool.cidr: "10.0.0.300/24": octet 4 is 300, more than 255',
    );
    expect(() => parseCidr('10.0.0.1/24', 'pool.cidr')).toThrow(IpFormatError);
    expect(formatCidr(parseCidr('10.0.0.1/24', 'pool.cidr', { strict: false }))).toBe('10.0.0.0/24');
    expect(() => parseCidr('10.0.0.1', 'pool.cidr')).toThrow(
      'pool.cidr: "10.0.0.1": no prefix length (expected address/length)',
    );
    expect(formatCidr(parseCidr('10.0.0.1', 'pool.cidr', { allowBareAddress: true }))).toBe('10.0.0.1/32');
    expect(formatCidr(nthBlock(parseCidr('10.1.0.0/16'), 26, 3n))).toBe('10.1.0.192/26');
    expect(formatCidr(nthBlock(parseCidr('fd00::/120'), 122, 1n))).toBe('fd00::40/122');
  });
});

describe('block', () => {
  it('hands out addresses in order, including the block network address, and records the handle', () => {
    const block = newBlock('10.0.0.0/30', 'host:a');
    const first = allocate(block, { count: 3, handleId: 'h1', attrs: { pod: 'p' } });
    expect(first.ips).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2']);
    const second = allocate(first.block, { count: 5, handleId: 'h2' });
    expect(second.ips).toEqual(['10.0.0.3']);
    expect(usage(second.block)).toEqual({ total: 4, inUse: 4, free: 0, reserved: 0 });
    expect(allocationsOf(second.block).map((a) => a.handleId)).toEqual(['h1', 'h1', 'h1', 'h2']);
    expect(block.allocations.every((a) => a === null)).toBe(true); // input untouched
  });

  it('skips reserved addresses and counts them as reserved, not free', () => {
    const block = newBlock('10.0.0.0/29', null);
    const reservations = [parseCidr('10.0.0.0/31'), parseCidr('10.0.0.5/32'), parseCidr('fd00::/64')];
    const result = allocate(block, { count: 8, handleId: 'h', reservations });
    expect(result.ips).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.6', '10.0.0.7']);
    expect(usage(result.block, reservations)).toEqual({ total: 8, inUse: 5, free: 0, reserved: 3 });
  });

  it('re-uses released addresses last and compacts attributes', () => {
    let block = allocate(newBlock('10.0.0.0/29', null), { count: 2, handleId: 'a' }).block;
    block = allocate(block, { count: 1, handleId: 'b' }).block;
    const released = release(block, ['10.0.0.0', '10.0.0.7']);
    expect(released.released.map((r) => r.ip)).toEqual(['10.0.0.0']);
    expect(released.notAllocated).toEqual(['10.0.0.7']);
    block = releaseByHandle(released.block, 'a').block;
    expect(block.attributes).toEqual([{ handleId: 'b', attrs: {} }]);
    expect(allocate(block, { count: 6, handleId: 'c' }).ips).toEqual([
      '10.0.0.3',
      '10.0.0.4',
      '10.0.0.5',
      '10.0.0.6',
      '10.0.0.7',
      '10.0.0.0',
    ]);
  });

  it('guarded release only frees the allocation it names (handle and sequence number)', () => {
    const { block } = allocate(newBlock('10.0.0.0/30', null), { count: 1, handleId: 'old' });
    const seq = allocationsOf(block)[0]!.sequenceNumber;
    const reused = allocate(release(block, ['10.0.0.0']).block, { count: 4, handleId: 'new' }).block;
    const stale = release(reused, [{ ip: '10.0.0.0', handleId: 'new', sequenceNumber: seq }]);
    expect(stale.mismatched).toEqual(['10.0.0.0']);
    expect(stale.released).toEqual([]);
    expect(release(reused, [{ ip: '10.0.0.1', handleId: 'old' }]).mismatched).toEqual(['10.0.0.1']);
  });

  it('rejects addresses outside the block and malformed documents with the field named', () => {
    const block = newBlock('10.0.0.0/30', null);
    expect(() => release(block, ['10.0.1.0'])).toThrow(/not inside block 10.0.0.0\/30/);
    expect(() => newBlock('10.0.0.0/16', null)).toThrow(/at most 4096/);
    expect(() => parseBlockDocument({ ...block, allocations: [null] })).toThrow(
      /\.allocations: must be an array of 4/,
    );
    expect(() => parseBlockDocument({ ...block, unallocated: [0, 1, 2] })).toThrow(/misses 1 free ordinal/);
    expect(() =>
      parseBlockDocument({ ...block, allocations: [7, null, null, null], unallocated: [1, 2, 3] }),
    ).toThrow(BlockError);
    expect(parseBlockDocument(JSON.parse(JSON.stringify(block)))).toEqual(block);
  });

  it('property: arbitrary allocate/release sequences never hand out an address twice and keep counts', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('alloc' as const),
        count: fc.integer({ min: 0, max: 9 }),
        handle: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({ kind: fc.constant('release' as const), ordinal: fc.integer({ min: 0, max: 15 }) }),
      fc.record({ kind: fc.constant('releaseHandle' as const), handle: fc.integer({ min: 0, max: 3 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 60 }),
        fc.integer({ min: 0, max: 15 }),
        (ops, reservedOrdinal) => {
          const reservations = [parseCidr(`10.9.0.${reservedOrdinal}/32`)];
          let block = newBlock('10.9.0.0/28', 'host:n');
          const held = new Map<string, string>(); // ip → handle, the model
          for (const operation of ops) {
            if (operation.kind === 'alloc') {
              const result = allocate(block, {
                count: operation.count,
                handleId: `h${operation.handle}`,
                reservations,
              });
              for (const ip of result.ips) {
                expect(held.has(ip)).toBe(false);
                expect(ip).not.toBe(`10.9.0.${reservedOrdinal}`);
                held.set(ip, `h${operation.handle}`);
              }
              block = result.block;
            } else if (operation.kind === 'release') {
              const ip = `10.9.0.${operation.ordinal}`;
              const result = release(block, [ip]);
              expect(result.released.length).toBe(held.has(ip) ? 1 : 0);
              held.delete(ip);
              block = result.block;
            } else {
              block = releaseByHandle(block, `h${operation.handle}`).block;
              for (const [ip, handle] of [...held]) if (handle === `h${operation.handle}`) held.delete(ip);
            }
            const counts = usage(block, reservations);
            expect(counts.inUse).toBe(held.size);
            expect(counts.inUse + counts.free + counts.reserved).toBe(16);
            expect(isEmpty(block)).toBe(held.size === 0);
            expect(new Map(allocationsOf(block).map((a) => [a.ip, a.handleId]))).toEqual(held);
            parseBlockDocument(JSON.parse(JSON.stringify(block)));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
