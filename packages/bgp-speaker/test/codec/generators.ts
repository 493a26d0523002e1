// Test helpers shared by the codec's writer and packing tests (and the RIB's batch tests): the bytes of
// several messages back to back, and random attribute sets of the shape the speaker sends (ORIGIN,
// AS_PATH, NEXT_HOP, optional MED and COMMUNITIES).

import fc from 'fast-check';
import type { BgpPathAttribute } from '../../src/codec/index.js';

/** The parts back to back in one new array (a plain Uint8Array, so toEqual compares it with writer output). */
export function concatenated(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Random attribute sets: up to `maxCommunities` communities and `maxAsns` ASNs no larger than `maxAsn`. */
export function attributeSetArbitrary(limits: {
  readonly maxCommunities: number;
  readonly maxAsns: number;
  readonly maxAsn: number;
}): fc.Arbitrary<BgpPathAttribute[]> {
  return fc
    .record({
      med: fc.option(fc.integer({ min: 0, max: 0xffffffff })),
      communities: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: limits.maxCommunities }),
      asns: fc.array(fc.integer({ min: 1, max: limits.maxAsn }), { maxLength: limits.maxAsns }),
    })
    .map(({ med, communities, asns }) => [
      { kind: 'origin', value: 0 },
      { kind: 'as-path', segments: asns.length === 0 ? [] : [{ type: 2, asns }] },
      { kind: 'next-hop', address: 0x0a000001 },
      ...(med === null ? [] : [{ kind: 'med' as const, value: med }]),
      ...(communities.length === 0 ? [] : [{ kind: 'communities' as const, values: communities }]),
    ]);
}
