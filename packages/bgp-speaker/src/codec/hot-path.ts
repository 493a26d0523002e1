// Allocation-lean fast paths of the UPDATE decoder for the attributes nearly every route carries (ORIGIN,
// AS_PATH, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES). They read straight from the message at (bytes, start,
// end) — no view per attribute, no closure, no try/catch — and only accept a well-formed value with the
// standard optional/transitive flags. Anything else returns `undefined` and the caller falls back to the
// general decodePathAttribute, so RFC 7606 handling (and every error message) stays in one place.
// Loops here and in the encoder's per-message paths index their arrays rather than use for-of: for-of's
// iterator protocol (with its implicit try/finally) kept TurboFan from optimising the AS_PATH comparison
// as well, and the decode loop measured about a quarter faster without it.
// Decoded objects are built with the same property order as the general path (kind, flags, …) so both
// produce one hidden class per kind.
//
// Decoded values are shared: like BIRD's attribute cache, small direct-mapped tables remember the last
// attribute decoded per slot, and an attribute whose wire value equals the remembered one (compared
// against the decoded object itself, so no bytes are copied) is that same object. Routes from one peer,
// or from many, mostly carry the same ORIGIN, AS_PATH, NEXT_HOP and LOCAL_PREF: they decode without
// allocating and the RIB holds one copy. The tables are bounded (a miss replaces the slot) and the model
// is read-only (`readonly` throughout; nothing in the speaker mutates a decoded attribute), so sharing
// cannot change any result: decode stays a function of the bytes and the context.

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

/** Slots per table (a power of two). */
const SLOTS = 1024;
const SLOT_MASK = SLOTS - 1;

/** The three ORIGIN values with the standard flags (0x40), shared. */
const SHARED_ORIGINS: readonly BgpPathAttribute[] = [0, 1, 2].map((value) => ({
  kind: 'origin',
  flags: 0x40,
  value,
}));

/** Slot of a 32-bit value (multiplicative hashing: the top bits of value × 2^32/φ). */
function slotOfNumber(value: number): number {
  return Math.imul(value, 0x9e3779b1) >>> 22;
}

/**
 * Slot of an AS_PATH value: its length, AS width, first and last four octets mixed (the segment header
 * and first ASN, the last ASN). Paths that differ elsewhere share a slot and only cost a miss.
 */
function slotOfAsPath(bytes: Uint8Array, start: number, end: number, wide: boolean): number {
  const length = end - start;
  if (length < 4) return length & SLOT_MASK;
  const mixed =
    u32At(bytes, start) ^ Math.imul(u32At(bytes, end - 4), 0x85ebca6b) ^ (length << 1) ^ (wide ? 1 : 0);
  return slotOfNumber(mixed);
}

type NumberAttribute = Extract<BgpPathAttribute, { kind: 'next-hop' | 'local-pref' }>;
type AsPathValue = Extract<BgpPathAttribute, { kind: 'as-path' }>;
type CommunitiesValue = Extract<BgpPathAttribute, { kind: 'communities' }>;

const nextHops: (NumberAttribute | undefined)[] = new Array(SLOTS).fill(undefined);
const localPrefs: (NumberAttribute | undefined)[] = new Array(SLOTS).fill(undefined);
const asPaths: (AsPathValue | undefined)[] = new Array(SLOTS).fill(undefined);
/** Whether the AS_PATH in the same slot was decoded with 4-octet ASNs (the same bytes mean another path). */
const asPathWide = new Uint8Array(SLOTS);

function numericValueOf(attribute: NumberAttribute): number {
  return attribute.kind === 'next-hop' ? attribute.address : attribute.value;
}

/** The shared NEXT_HOP or LOCAL_PREF for (flags, value), made and remembered on a miss. */
function sharedNumber(
  table: (NumberAttribute | undefined)[],
  kind: NumberAttribute['kind'],
  flags: number,
  value: number,
): NumberAttribute {
  const slot = slotOfNumber(value);
  const cached = table[slot];
  if (cached !== undefined && cached.flags === flags && numericValueOf(cached) === value) return cached;
  const made: NumberAttribute =
    kind === 'next-hop' ? { kind, flags, address: value } : { kind, flags, value };
  table[slot] = made;
  return made;
}

/** Whether `segments` is exactly what bytes[start, end) encodes (segment headers already checked). */
function segmentsEqual(
  segments: readonly AsPathSegment[],
  bytes: Uint8Array,
  start: number,
  end: number,
  wide: boolean,
): boolean {
  let at = start;
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s]!;
    if (at + 2 > end || bytes[at] !== segment.type || bytes[at + 1] !== segment.asns.length) return false;
    at += 2;
    const asns = segment.asns;
    if (wide) {
      for (let i = 0; i < asns.length; i++, at += 4) if (u32At(bytes, at) !== asns[i]) return false;
    } else {
      for (let i = 0; i < asns.length; i++, at += 2)
        if (((bytes[at]! << 8) | bytes[at + 1]!) !== asns[i]) return false;
    }
  }
  return at === end;
}

function sharedAsPath(
  flags: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  wide: boolean,
): AsPathValue | undefined {
  const slot = slotOfAsPath(bytes, start, end, wide);
  const cached = asPaths[slot];
  if (
    cached !== undefined &&
    cached.flags === flags &&
    asPathWide[slot] === (wide ? 1 : 0) &&
    segmentsEqual(cached.segments, bytes, start, end, wide)
  )
    return cached;
  const segments = segmentsAt(bytes, start, end, wide);
  if (segments === undefined) return undefined;
  const made: AsPathValue = { kind: 'as-path', flags, segments };
  asPaths[slot] = made;
  asPathWide[slot] = wide ? 1 : 0;
  return made;
}

function communitiesAt(flags: number, bytes: Uint8Array, start: number, end: number): CommunitiesValue {
  // One community (the usual case) as an array literal: allocated inline, no array-constructor call.
  if (end - start === 4) return { kind: 'communities', flags, values: [u32At(bytes, start)] };
  const values: number[] = new Array((end - start) >>> 2);
  for (let i = 0, at = start; i < values.length; i++, at += 4) values[i] = u32At(bytes, at);
  return { kind: 'communities', flags, values };
}

/**
 * The attribute at bytes[start, end) (its value; flags and code already read), when it is one of the common
 * kinds, carries its standard flags and is well formed; otherwise undefined. The object returned may be
 * shared with earlier results (see the header): treat it as immutable.
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
      if (category !== 0x40 || length !== 1 || value > 2) return undefined;
      return flags === 0x40 ? SHARED_ORIGINS[value] : { kind: 'origin', flags, value };
    }
    case 2:
      return category === 0x40 ? sharedAsPath(flags, bytes, start, end, as4) : undefined;
    case 3:
      return category === 0x40 && length === 4
        ? sharedNumber(nextHops, 'next-hop', flags, u32At(bytes, start))
        : undefined;
    case 4:
      return category === 0x80 && length === 4
        ? { kind: 'med', flags, value: u32At(bytes, start) }
        : undefined;
    case 5:
      return category === 0x40 && length === 4
        ? sharedNumber(localPrefs, 'local-pref', flags, u32At(bytes, start))
        : undefined;
    case 8:
      if (category !== 0xc0 || length === 0 || (length & 3) !== 0) return undefined;
      return communitiesAt(flags, bytes, start, end);
    default:
      return undefined;
  }
}
