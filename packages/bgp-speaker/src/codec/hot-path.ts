// Allocation-lean fast paths of the UPDATE decoder for the attributes nearly every route carries (ORIGIN,
// AS_PATH, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES). They read straight from the message at (bytes, start,
// end) — no view per attribute, no closure, no try/catch — and only accept a well-formed value with the
// standard optional/transitive flags. Anything else returns `undefined` and the caller falls back to the
// general decodePathAttribute, so RFC 7606 handling (and every error message) stays in one place.
// Decoded objects are built with the same property order as the general path (kind, flags, …) so both
// produce one hidden class per kind.

import type { AsPathSegment, BgpPathAttribute } from './attributes.js';

function u32At(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/**
 * AS_PATH / AS4_PATH segments of bytes[start, end), or undefined when malformed (general path reports it).
 * A first pass checks the segment headers and counts them, so the list is allocated at its exact size.
 */
function segmentsAt(
  bytes: Uint8Array,
  start: number,
  end: number,
  wide: boolean,
): AsPathSegment[] | undefined {
  const asSize = wide ? 4 : 2;
  let count = 0;
  for (let at = start; at < end; count++) {
    if (at + 2 > end) return undefined;
    const type = bytes[at]!;
    const asnCount = bytes[at + 1]!;
    if (type < 1 || type > 4 || asnCount === 0) return undefined;
    at += 2 + asnCount * asSize;
    if (at > end) return undefined;
  }
  const segments: AsPathSegment[] = new Array(count);
  let at = start;
  for (let s = 0; s < count; s++) {
    const type = bytes[at]! as AsPathSegment['type'];
    const asnCount = bytes[at + 1]!;
    const asns: number[] = new Array(asnCount);
    at += 2;
    if (wide) for (let i = 0; i < asnCount; i++, at += 4) asns[i] = u32At(bytes, at);
    else for (let i = 0; i < asnCount; i++, at += 2) asns[i] = (bytes[at]! << 8) | bytes[at + 1]!;
    segments[s] = { type, asns };
  }
  return segments;
}

/**
 * The attribute at bytes[start, end) (its value; flags and code already read), when it is one of the common
 * kinds, carries its standard flags and is well formed; otherwise undefined.
 */
export function decodeCommonAttribute(
  flags: number,
  code: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  as4: boolean,
): BgpPathAttribute | undefined {
  const length = end - start;
  const category = flags & 0xc0;
  switch (code) {
    case 1: {
      const value = bytes[start]!;
      return category === 0x40 && length === 1 && value <= 2 ? { kind: 'origin', flags, value } : undefined;
    }
    case 2: {
      if (category !== 0x40) return undefined;
      const segments = segmentsAt(bytes, start, end, as4);
      return segments === undefined ? undefined : { kind: 'as-path', flags, segments };
    }
    case 3:
      return category === 0x40 && length === 4
        ? { kind: 'next-hop', flags, address: u32At(bytes, start) }
        : undefined;
    case 4:
      return category === 0x80 && length === 4
        ? { kind: 'med', flags, value: u32At(bytes, start) }
        : undefined;
    case 5:
      return category === 0x40 && length === 4
        ? { kind: 'local-pref', flags, value: u32At(bytes, start) }
        : undefined;
    case 8: {
      if (category !== 0xc0 || length === 0 || (length & 3) !== 0) return undefined;
      const values: number[] = new Array(length >>> 2);
      for (let i = 0, at = start; i < values.length; i++, at += 4) values[i] = u32At(bytes, at);
      return { kind: 'communities', flags, values };
    }
    default:
      return undefined;
  }
}
