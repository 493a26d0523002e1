// FifoQueue (the route writer's request and datagram queues): order, the edge cases of an empty queue
// and of removeAt, and a property test that runs random operation sequences (bursts long enough to cross
// the compaction threshold many times, removals from the middle, drains) against a plain array.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FifoQueue } from '../src/fifo-queue.js';

describe('FifoQueue', () => {
  it('hands items out oldest first and is empty afterwards', () => {
    const queue = new FifoQueue<string>();
    expect(queue.length).toBe(0);
    expect(queue.peek()).toBeUndefined();
    expect(queue.shift()).toBeUndefined();
    queue.push('a');
    queue.push('b');
    queue.push('c');
    expect(queue.length).toBe(3);
    expect(queue.peek()).toBe('a');
    expect(queue.shift()).toBe('a');
    expect([...queue]).toEqual(['b', 'c']);
    expect(queue.at(1)).toBe('c');
    expect(queue.at(2)).toBeUndefined();
    expect(queue.at(-1)).toBeUndefined();
    expect(queue.shift()).toBe('b');
    expect(queue.shift()).toBe('c');
    expect(queue.shift()).toBeUndefined();
    expect(queue.length).toBe(0);
    queue.push('d');
    expect(queue.peek()).toBe('d');
  });

  it('keeps order across many compactions (200,000 items through a queue that never empties)', () => {
    const queue = new FifoQueue<number>();
    let nextIn = 0;
    let nextOut = 0;
    for (let round = 0; round < 1000; round++) {
      for (let i = 0; i < 200; i++) queue.push(nextIn++);
      for (let i = 0; i < 199; i++) {
        const item = queue.shift();
        if (item !== nextOut) throw new Error(`round ${round}: got ${item}, expected ${nextOut}`);
        nextOut++;
      }
    }
    expect(queue.length).toBe(nextIn - nextOut);
    expect([...queue]).toEqual(Array.from({ length: nextIn - nextOut }, (_, i) => nextOut + i));
  });

  it('removeAt takes an item from the middle and refuses a position outside the queue, naming it', () => {
    const queue = new FifoQueue<string>();
    for (const item of ['a', 'b', 'c', 'd']) queue.push(item);
    queue.shift();
    expect(queue.removeAt(1)).toBe('c');
    expect([...queue]).toEqual(['b', 'd']);
    expect(queue.indexOf('d')).toBe(1);
    expect(queue.indexOf('a')).toBe(-1);
    expect(() => queue.removeAt(2)).toThrow('FifoQueue.removeAt: index 2 is outside 0 … 1');
    expect(() => queue.removeAt(-1)).toThrow(RangeError);
    expect(() => queue.removeAt(0.5)).toThrow('index 0.5');
    expect(queue.removeAt(0)).toBe('b');
    expect(queue.drain()).toEqual(['d']);
    expect(queue.length).toBe(0);
  });

  type Operation =
    | { readonly kind: 'push'; readonly count: number }
    | { readonly kind: 'shift'; readonly count: number }
    | { readonly kind: 'removeAt'; readonly fraction: number }
    | { readonly kind: 'indexOf'; readonly fraction: number }
    | { readonly kind: 'drain' };

  const operation: fc.Arbitrary<Operation> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('push' as const), count: fc.integer({ min: 1, max: 3000 }) }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('shift' as const), count: fc.integer({ min: 1, max: 3000 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('removeAt' as const),
        fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('indexOf' as const),
        fraction: fc.double({ min: 0, max: 1.2, noNaN: true }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drain' as const) }) },
  );

  it('behaves like a plain array used as a queue, for any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 40 }), (operations) => {
        const queue = new FifoQueue<number>();
        const model: number[] = [];
        let next = 0;
        for (const op of operations) {
          switch (op.kind) {
            case 'push':
              for (let i = 0; i < op.count; i++) {
                queue.push(next);
                model.push(next++);
              }
              break;
            case 'shift':
              for (let i = 0; i < op.count; i++) {
                const peeked = queue.peek();
                const shifted = queue.shift();
                const expected = model.shift();
                if (peeked !== expected || shifted !== expected) {
                  throw new Error(
                    `shift ${i} of ${op.count}: peek ${peeked}, shift ${shifted}, expected ${expected}`,
                  );
                }
              }
              break;
            case 'removeAt': {
              if (model.length === 0) {
                expect(() => queue.removeAt(0)).toThrow(RangeError);
                break;
              }
              const at = Math.min(model.length - 1, Math.floor(op.fraction * model.length));
              expect(queue.removeAt(at)).toBe(model.splice(at, 1)[0]);
              break;
            }
            case 'indexOf': {
              // Items past the newest (fraction > 1) and already taken ones are absent.
              const item = Math.floor(op.fraction * next);
              expect(queue.indexOf(item)).toBe(model.indexOf(item));
              break;
            }
            case 'drain':
              expect(queue.drain()).toEqual(model.splice(0));
              break;
          }
          expect(queue.length).toBe(model.length);
          expect(queue.at(0)).toBe(model[0]);
          expect(queue.at(model.length - 1)).toBe(model[model.length - 1]);
        }
        expect([...queue]).toEqual(model);
      }),
      { numRuns: 200 },
    );
  });
});
