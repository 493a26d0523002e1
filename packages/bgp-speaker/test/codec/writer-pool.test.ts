// BgpMessageWriter's buffer pool and raw reservations: batches given back with recycle() are written over
// by later batches (so steady-state writing allocates no buffer), a batch not yet given back is never
// changed, a foreign array or a second recycle is refused with an error naming it, and — whatever the
// sequence of write/take/recycle — the bytes taken are exactly encodeBgpMessage's, message after message.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BgpCodecContext,
  BgpEncodeError,
  type BgpMessage,
  BgpMessageWriter,
  type BgpPrefix,
  encodeBgpMessage,
  KEEPALIVE_MESSAGE,
  makeUpdate,
  parsePrefix,
} from '../../src/codec/index.js';
import { attributeSetArbitrary, concatenated } from './generators.js';

const context: BgpCodecContext = { as4: true };

/** A small UPDATE with its own MED and community: the distinct-attribute shape (~60 octets). */
function distinct(i: number): BgpMessage {
  return makeUpdate({
    attributes: [
      { kind: 'origin', value: 0 },
      { kind: 'as-path', segments: [{ type: 2, asns: [65001, 65002] }] },
      { kind: 'next-hop', address: 0x0a000001 },
      { kind: 'med', value: i },
      { kind: 'communities', values: [0xfde80000 + (i & 0xffff)] },
    ],
    nlri: [{ afi: 1, address: (0x14000000 + i * 256) >>> 0, length: 24 }],
  });
}

describe('BgpMessageWriter buffer pool', () => {
  it('steady state: batches written into the given-back buffers, no new buffer after the first rounds', () => {
    const writer = new BgpMessageWriter(context, 8192, 2);
    const seen = new Set<ArrayBufferLike>();
    let message = 0;
    const round = (): Uint8Array => {
      for (let i = 0; i < 50; i++) writer.write(distinct(message++));
      const batch = writer.take();
      seen.add(batch.buffer);
      return batch;
    };
    // Two batches in flight (socket writes pending) while the next two are encoded; then given back.
    let inFlight = [round(), round()];
    const cycle = () => {
      const next = [round(), round()];
      for (const batch of inFlight) writer.recycle(batch);
      inFlight = next;
    };
    for (let i = 0; i < 3; i++) cycle();
    const warm = seen.size;
    for (let i = 0; i < 20; i++) cycle();
    expect(seen.size).toBe(warm);
    expect(warm).toBe(4);
    expect(writer.pooled).toBeGreaterThan(0);
  });

  it('never writes over a batch that was not given back', () => {
    const writer = new BgpMessageWriter(context, 4096, 4);
    writer.write(distinct(1));
    const kept = writer.take();
    const snapshot = kept.slice();
    for (let i = 0; i < 30; i++) {
      writer.write(distinct(100 + i));
      writer.recycle(writer.take());
    }
    expect(kept).toEqual(snapshot);
    expect(kept).toEqual(encodeBgpMessage(distinct(1), context));
  });

  it('keeps at most poolSize buffers, none over maxPooledOctets', () => {
    const writer = new BgpMessageWriter(context, 4096, 2);
    const batches: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      writer.write(distinct(i));
      batches.push(writer.take());
    }
    for (const batch of batches) writer.recycle(batch);
    expect(writer.pooled).toBe(2);

    const small = new BgpMessageWriter(context, 4096, 2);
    const many = 2 + Math.ceil(small.maxPooledOctets / 60);
    for (let i = 0; i < many; i++) small.write(distinct(i));
    const huge = small.take();
    expect(huge.buffer.byteLength).toBeGreaterThan(small.maxPooledOctets);
    // The buffers it outgrew on the way (never handed out) may be pooled; the huge one is not.
    const before = small.pooled;
    small.recycle(huge);
    expect(small.pooled).toBe(before);
    small.write(distinct(0));
    expect(small.take().buffer.byteLength).toBeLessThanOrEqual(small.maxPooledOctets);
  });

  it('refuses a batch given back twice and an array it did not hand out, naming them', () => {
    const writer = new BgpMessageWriter(context, 4096, 2);
    writer.write(distinct(1));
    const batch = writer.take();
    writer.recycle(batch);
    expect(() => writer.recycle(batch)).toThrow(/batch of \d+ octets was already given back/);
    // The same buffer handed out again as a new batch: the old batch object still counts as given back.
    writer.write(distinct(2));
    const again = writer.take();
    expect(again.buffer).toBe(batch.buffer);
    expect(() => writer.recycle(batch)).toThrow(/already given back/);
    expect(() => writer.recycle(again.subarray(19))).toThrow(
      /array at offset 19 of a \d+-octet buffer is not a batch this writer's take\(\) returned/,
    );
    expect(() => writer.recycle(new Uint8Array(10))).toThrow(/not a batch this writer's take\(\) returned/);
    const other = new BgpMessageWriter(context, 4096, 2);
    expect(() => other.recycle(again)).toThrow(/not a batch this writer's take\(\) returned/);
    writer.recycle(again);
  });

  it('without a pool: copies of small batches and handed-over buffers are accepted and dropped', () => {
    const writer = new BgpMessageWriter(context, 65536);
    writer.write(KEEPALIVE_MESSAGE);
    const copy = writer.take();
    expect(copy.buffer.byteLength).toBe(19);
    writer.recycle(copy);
    expect(writer.pooled).toBe(0);
    expect(() => writer.recycle(copy)).toThrow(/already given back/);
    const empty = writer.take();
    expect(empty.length).toBe(0);
    writer.recycle(empty);
  });

  it('rejects a pool size that is not a non-negative integer, naming it', () => {
    expect(() => new BgpMessageWriter(context, 4096, -1)).toThrow(/poolSize -1/);
    expect(() => new BgpMessageWriter(context, 4096, 0.5)).toThrow(/poolSize 0.5/);
  });
});

describe('BgpMessageWriter reservations', () => {
  it('reserve/commit appends the octets written in place; an uncommitted reservation is dropped', () => {
    const writer = new BgpMessageWriter(context, 0, 1);
    const keepalive = encodeBgpMessage(KEEPALIVE_MESSAGE, context);
    let at = writer.reserve(19);
    writer.buffer.set(keepalive, at);
    writer.commit();
    at = writer.reserve(19);
    writer.buffer.set(keepalive, at);
    writer.write(distinct(3)); // drops the reservation
    expect(() => writer.commit()).toThrow(/no reservation/);
    expect(writer.take()).toEqual(concatenated([keepalive, encodeBgpMessage(distinct(3), context)]));
  });

  it('refuses lengths under a header or over the maximum, and truncate outside what was written', () => {
    const writer = new BgpMessageWriter(context);
    expect(() => writer.reserve(18)).toThrow(/length 18 is not an integer of at least 19/);
    expect(() => writer.reserve(4097)).toThrow(
      new BgpEncodeError('message of 4097 octets exceeds the maximum 4096'),
    );
    writer.setContext({ as4: true, extendedMessage: true });
    expect(writer.reserve(4097)).toBe(0);
    writer.write(KEEPALIVE_MESSAGE);
    expect(() => writer.truncate(20)).toThrow(/length 20 is not an integer in 0..19/);
    writer.truncate(0);
    expect(writer.length).toBe(0);
  });
});

// ---- property: any sequence of write / take / recycle gives encodeBgpMessage's bytes ----------------------

const prefixes: fc.Arbitrary<BgpPrefix[]> = fc.array(
  fc.oneof(
    fc
      .record({ address: fc.integer({ min: 0, max: 0xffffffff }), length: fc.integer({ min: 0, max: 32 }) })
      .map(({ address, length }) => parsePrefix(`${ipv4(address, length)}/${length}`)),
  ),
  { maxLength: 6 },
);

function ipv4(address: number, length: number): string {
  const masked = length === 0 ? 0 : (address & (0xffffffff << (32 - length))) >>> 0;
  return [24, 16, 8, 0].map((shift) => (masked >>> shift) & 0xff).join('.');
}

const attributes = attributeSetArbitrary({ maxCommunities: 5, maxAsns: 8, maxAsn: 0xffffffff });

const message: fc.Arbitrary<BgpMessage> = fc.oneof(
  fc
    .record({ withdrawn: prefixes, attributes, nlri: prefixes })
    .map(({ withdrawn, attributes, nlri }) =>
      makeUpdate(nlri.length === 0 ? { withdrawn } : { withdrawn, attributes, nlri }),
    ),
  fc.constant(KEEPALIVE_MESSAGE),
  fc.constantFrom(1, 2).map((afi) => ({ type: 'route-refresh' as const, afi, safi: 1, subtype: 0 as const })),
);

type Step =
  | { readonly op: 'write'; readonly message: BgpMessage }
  | { readonly op: 'take' }
  | { readonly op: 'recycle'; readonly pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: message.map((m) => ({ op: 'write' as const, message: m })) },
  { weight: 2, arbitrary: fc.constant({ op: 'take' as const }) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ op: 'recycle' as const, pick })) },
);

describe('BgpMessageWriter with a pool: bytes', () => {
  it('taken batches are encodeBgpMessage back to back; batches not given back stay intact', () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 60 }),
        fc.integer({ min: 0, max: 600 }),
        fc.integer({ min: 0, max: 3 }),
        (steps, initialCapacity, poolSize) => {
          const writer = new BgpMessageWriter(context, initialCapacity, poolSize);
          const expected: Uint8Array[] = [];
          const taken: Array<{ batch: Uint8Array; snapshot: Uint8Array }> = [];
          let pendingMessages: Uint8Array[] = [];
          const outstanding: Array<{ batch: Uint8Array; snapshot: Uint8Array }> = [];
          const take = () => {
            const batch = writer.take();
            const entry = { batch, snapshot: batch.slice() };
            expect(batch).toEqual(concatenated(pendingMessages));
            expected.push(concatenated(pendingMessages));
            pendingMessages = [];
            taken.push(entry);
            outstanding.push(entry);
          };
          for (const s of steps) {
            if (s.op === 'write') {
              writer.write(s.message);
              pendingMessages.push(encodeBgpMessage(s.message, context));
            } else if (s.op === 'take') take();
            else if (outstanding.length > 0) {
              const [entry] = outstanding.splice(s.pick % outstanding.length, 1);
              // The owner is done with it: it scribbles over it (the writer must write every octet anew).
              expect(entry!.batch).toEqual(entry!.snapshot);
              writer.recycle(entry!.batch);
              entry!.batch.fill(0xa5);
            }
            for (const entry of outstanding) expect(entry.batch).toEqual(entry.snapshot);
          }
          take();
          expect(writer.length).toBe(0);
          expect(writer.pooled).toBeLessThanOrEqual(poolSize);
          expect(taken.map((entry) => entry.snapshot)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
