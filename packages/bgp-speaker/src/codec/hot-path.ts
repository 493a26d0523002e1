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
// against the decoded number, or for AS_PATH against the remembered value octets) is that same object. Routes from one peer,
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

type NumberAttribute = Extract<BgpPathAttribute, { kind: 'next-hop' | 'local-pref' }>;
type AsPathValue = Extract<BgpPathAttribute, { kind: 'as-path' }>;
type CommunitiesValue = Extract<BgpPathAttribute, { kind: 'communities' }>;

const nextHops: (NumberAttribute | undefined)[] = new Array(SLOTS).fill(undefined);
const localPrefs: (NumberAttribute | undefined)[] = new Array(SLOTS).fill(undefined);

function numericValueOf(attribute: NumberAttribute): number {
  return attribute.kind === 'next-hop' ? attribute.address : attribute.value;
}

/** The shared NEXT_HOP (code 3) or LOCAL_PREF (code 5) for (flags, value), made and remembered on a miss. */
function sharedNumber(code: 3 | 5, flags: number, value: number): NumberAttribute {
  const table = code === 3 ? nextHops : localPrefs;
  const slot = slotOfNumber(value);
  const cached = table[slot];
  if (cached !== undefined && cached.flags === flags && numericValueOf(cached) === value) return cached;
  return rememberNumber(table, slot, code, flags, value);
}

/** A table miss (kept out of sharedNumber so that it stays small enough to inline): made and remembered. */
function rememberNumber(
  table: (NumberAttribute | undefined)[],
  slot: number,
  code: 3 | 5,
  flags: number,
  value: number,
): NumberAttribute {
  const made: NumberAttribute =
    code === 3 ? { kind: 'next-hop', flags, address: value } : { kind: 'local-pref', flags, value };
  table[slot] = made;
  return made;
}

// The AS_PATH table keeps, per slot, the decoded object, a key of (value length, flags, AS width) and the
// raw value octets (paths up to RAW_OCTETS long: 15 four-octet ASNs), so a hit is one key comparison and a
// byte comparison of the value, without walking the decoded segments. A longer path is still decoded and
// remembered (so the RIB keeps one copy while it stays in its slot) but never matches (key -1).
const RAW_OCTETS = 64;
const asPaths: (AsPathValue | undefined)[] = new Array(SLOTS).fill(undefined);
const asPathKeys = new Int32Array(SLOTS).fill(-1);
const asPathRaw = new Uint8Array(SLOTS * RAW_OCTETS);

/**
 * Slot of an AS_PATH value from its key and, when it has them, the first ASN's low octets and the last two
 * octets (the last ASN's). Paths that differ elsewhere share a slot and only cost a miss.
 */
function slotOfAsPath(bytes: Uint8Array, start: number, end: number, key: number): number {
  if (end - start < 6) return slotOfNumber(key);
  const mixed =
    (bytes[start + 4]! << 24) | (bytes[start + 5]! << 16) | (bytes[end - 2]! << 8) | bytes[end - 1]!;
  return slotOfNumber(mixed ^ Math.imul(key, 0x85ebca6b));
}

/** Whether bytes[start, start + length) equals the raw value remembered in `slot`. */
function rawAsPathEquals(bytes: Uint8Array, start: number, length: number, slot: number): boolean {
  const base = slot * RAW_OCTETS;
  for (let i = 0; i < length; i++) if (asPathRaw[base + i] !== bytes[start + i]) return false;
  return true;
}

function sharedAsPath(
  flags: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  wide: boolean,
): AsPathValue | undefined {
  const length = end - start;
  const key = (length << 9) | (flags << 1) | (wide ? 1 : 0);
  const slot = slotOfAsPath(bytes, start, end, key);
  if (asPathKeys[slot] === key && rawAsPathEquals(bytes, start, length, slot)) return asPaths[slot];
  return rememberAsPath(flags, bytes, start, end, wide, key, slot);
}

/** A table miss: decodes the AS_PATH (undefined when malformed) and remembers it in `slot`. */
function rememberAsPath(
  flags: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  wide: boolean,
  key: number,
  slot: number,
): AsPathValue | undefined {
  const segments = segmentsAt(bytes, start, end, wide);
  if (segments === undefined) return undefined;
  const made: AsPathValue = { kind: 'as-path', flags, segments };
  const length = end - start;
  asPaths[slot] = made;
  if (length <= RAW_OCTETS) {
    asPathRaw.set(bytes.subarray(start, end), slot * RAW_OCTETS);
    asPathKeys[slot] = key;
  } else asPathKeys[slot] = -1;
  return made;
}

/** COMMUNITIES of more than one value (one value is built inline by decodeCommonAttribute). */
function communitiesAt(flags: number, bytes: Uint8Array, start: number, end: number): CommunitiesValue {
  const values: number[] = new Array((end - start) >>> 2);
  for (let i = 0, at = start; i < values.length; i++, at += 4) values[i] = u32At(bytes, at);
  return { kind: 'communities', flags, values };
}

/**
 * The attribute at bytes[start, end) (its value; flags and code already read), when it is one of the common
 * kinds, carries its standard flags and is well formed; otherwise undefined. The object returned may be
 * shared with earlier results (see the header): treat it as immutable.
 *
 * Kept small on purpose: TurboFan inlines it, and what it calls, into the UPDATE decoder only while their
 * bytecode fits its inlining budget; the rare shapes (a table miss, several communities, an ORIGIN with
 * unusual flags) are separate functions, and the four-octet values share one read.
 */
export function decodeCommonAttribute(
  flags: number,
  code: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  as4: boolean,
): BgpPathAttribute | undefined {
  const category = flags & 0xc0;
  if (code === 2) return category === 0x40 ? sharedAsPath(flags, bytes, start, end, as4) : undefined;
  const length = end - start;
  if (length === 4) {
    const value = u32At(bytes, start);
    if (code === 3 || code === 5) return category === 0x40 ? sharedNumber(code, flags, value) : undefined;
    if (code === 4) return category === 0x80 ? { kind: 'med', flags, value } : undefined;
    if (code === 8) return category === 0xc0 ? { kind: 'communities', flags, values: [value] } : undefined;
    return undefined;
  }
  if (code === 1) return category === 0x40 && length === 1 ? originAt(flags, bytes[start]!) : undefined;
  if (code === 8 && category === 0xc0 && length !== 0 && (length & 3) === 0)
    return communitiesAt(flags, bytes, start, end);
  return undefined;
}

/** ORIGIN `value` under `flags` (category already checked): shared for the standard flags, else made. */
function originAt(flags: number, value: number): BgpPathAttribute | undefined {
  if (value > 2) return undefined;
  return flags === 0x40 ? SHARED_ORIGINS[value] : { kind: 'origin', flags, value };
}
