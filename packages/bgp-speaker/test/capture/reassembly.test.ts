// TCP reassembly: whatever the order, duplication, retransmission or overlap of the segments, the
// stream is the bytes the sender wrote (property test); holes become gap events; sequence numbers wrap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type StreamEvent, TcpStreamReassembler } from '../../src/capture/index.js';

function collect(events: StreamEvent[]): { bytes: number[]; gaps: Array<[number, number]> } {
  const bytes: number[] = [];
  const gaps: Array<[number, number]> = [];
  for (const event of events) {
    if (event.kind === 'data') {
      expect(event.offset).toBe(bytes.length + gaps.reduce((sum, [, length]) => sum + length, 0));
      bytes.push(...event.bytes);
    } else gaps.push([event.offset, event.length]);
  }
  return { bytes, gaps };
}

/** Cuts `stream` at `cuts` into segments (seq relative to `isn` + 1), plus overlapping retransmissions. */
function segmentsOf(stream: Uint8Array, cuts: number[], isn: number, overlaps: Array<[number, number]>) {
  const bounds = [...new Set([0, ...cuts.map((cut) => cut % (stream.length + 1)), stream.length])].sort(
    (a, b) => a - b,
  );
  const segments = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = bounds[i] as number;
    const end = bounds[i + 1] as number;
    segments.push({
      sequence: (isn + 1 + start) >>> 0,
      syn: false,
      fin: false,
      payload: stream.subarray(start, end),
      timestampNs: 0n,
    });
  }
  for (const [a, b] of overlaps) {
    const start = Math.min(a, b) % (stream.length + 1);
    const end = Math.max(a, b) % (stream.length + 1);
    if (end > start)
      segments.push({
        sequence: (isn + 1 + start) >>> 0,
        syn: false,
        fin: false,
        payload: stream.subarray(start, end),
        timestampNs: 0n,
      });
  }
  return segments;
}

describe('TcpStreamReassembler', () => {
  it('yields the sent stream for any segment order, duplication and overlap (also across sequence wrap)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 10 }),
        fc.oneof(fc.constant(0xffffff00), fc.nat({ max: 0xffffffff })),
        fc.infiniteStream(fc.nat()),
        fc.boolean(),
        (stream, cuts, overlaps, isn, randomness, synFirst) => {
          const segments = segmentsOf(stream, cuts, isn, overlaps);
          // shuffle, and duplicate some segments
          const shuffled = [...segments, ...segments.filter((_, i) => i % 3 === 0)];
          const iterator = randomness[Symbol.iterator]();
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = (iterator.next().value as number) % (i + 1);
            [shuffled[i], shuffled[j]] = [
              shuffled[j] as (typeof shuffled)[number],
              shuffled[i] as (typeof shuffled)[number],
            ];
          }
          const reassembler = new TcpStreamReassembler();
          const events: StreamEvent[] = [];
          if (synFirst)
            events.push(
              ...reassembler.push({
                sequence: isn,
                syn: true,
                fin: false,
                payload: new Uint8Array(0),
                timestampNs: 0n,
              }),
            );
          else {
            // Without a SYN the first segment seen fixes offset 0: deliver the first one first.
            const firstIndex = shuffled.findIndex((segment) => segment.sequence === (isn + 1) >>> 0);
            const [first] = shuffled.splice(firstIndex, 1);
            if (first) shuffled.unshift(first);
          }
          for (const segment of shuffled) events.push(...reassembler.push(segment));
          events.push(...reassembler.finish());
          const { bytes, gaps } = collect(events);
          expect(gaps).toEqual([]);
          expect(bytes).toEqual([...stream]);
        },
      ),
    );
  });

  it('reports a missing segment as a gap at finish and delivers what follows', () => {
    const reassembler = new TcpStreamReassembler();
    const events = [
      ...reassembler.push({
        sequence: 99,
        syn: true,
        fin: false,
        payload: new Uint8Array(0),
        timestampNs: 1n,
      }),
      ...reassembler.push({
        sequence: 100,
        syn: false,
        fin: false,
        payload: new Uint8Array([1, 2]),
        timestampNs: 2n,
      }),
      ...reassembler.push({
        sequence: 105,
        syn: false,
        fin: true,
        payload: new Uint8Array([6, 7]),
        timestampNs: 3n,
      }),
    ];
    expect(collect(events)).toEqual({ bytes: [1, 2], gaps: [] });
    const tail = reassembler.finish();
    expect(tail[0]).toEqual({ kind: 'gap', offset: 2, length: 3, timestampNs: 3n });
    expect(tail[1]).toMatchObject({ kind: 'data', offset: 5 });
    expect(reassembler.closed).toBe(true);
  });

  it('declares a gap as soon as more than the buffer limit waits behind a hole', () => {
    const reassembler = new TcpStreamReassembler(4);
    reassembler.push({ sequence: 0, syn: false, fin: false, payload: new Uint8Array([1]), timestampNs: 0n });
    expect(
      reassembler.push({
        sequence: 10,
        syn: false,
        fin: false,
        payload: new Uint8Array([2, 3, 4]),
        timestampNs: 0n,
      }),
    ).toEqual([]);
    const events = reassembler.push({
      sequence: 13,
      syn: false,
      fin: false,
      payload: new Uint8Array([5, 6]),
      timestampNs: 0n,
    });
    expect(events.map((event) => event.kind)).toEqual(['gap', 'data', 'data']);
    expect(events[0]).toMatchObject({ offset: 1, length: 9 });
    expect(reassembler.deliveredBytes).toBe(15);
  });

  it('ignores a retransmission of bytes already delivered', () => {
    const reassembler = new TcpStreamReassembler();
    reassembler.push({
      sequence: 5,
      syn: false,
      fin: false,
      payload: new Uint8Array([1, 2, 3]),
      timestampNs: 0n,
    });
    expect(
      reassembler.push({
        sequence: 5,
        syn: false,
        fin: false,
        payload: new Uint8Array([1, 2]),
        timestampNs: 0n,
      }),
    ).toEqual([]);
    const events = reassembler.push({
      sequence: 6,
      syn: false,
      fin: false,
      payload: new Uint8Array([2, 3, 4]),
      timestampNs: 0n,
    });
    expect(events).toEqual([{ kind: 'data', offset: 3, bytes: new Uint8Array([4]), timestampNs: 0n }]);
  });
});
