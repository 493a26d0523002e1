// Attribute interning: one shared RouteAttributes object per distinct attribute set across all peers'
// Adj-RIB-Ins, reference counted so a set is forgotten when the last path using it goes. Identity of the
// interned object (or its numeric id) lets later stages (Loc-RIB, Adj-RIB-Out) compare and group attribute
// sets without serialising them. Sets are found by a structural hash of the next hop and attribute list
// and confirmed by structural equality: no text is built or kept per set. The hash is computed once per
// object handed in (every prefix of one UPDATE shares one object, handed in one prefix after the other),
// never per prefix; interned objects are found by identity in a plain Map (no WeakMap per set).

import type { BgpPathAttribute } from '../codec/attributes.js';
import type { RouteAttributes } from './route.js';

/** A canonical text of an attribute set (attribute order kept: it is part of what was received). */
export function attributesKey(attributes: RouteAttributes): string {
  return JSON.stringify([attributes.nextHop, attributes.list], (_key, value) =>
    value instanceof Uint8Array ? Array.from(value) : value,
  );
}

// ---- structural hash and equality ----------------------------------------------------------------------
// Both walk values the way attributesKey serialises them: own enumerable keys in insertion order,
// properties whose value is undefined left out, a Uint8Array equal to the array of its bytes, attribute
// order significant. Two sets equal here have equal attributesKey texts, and (for the plain data the codec
// produces) the other way round.

function mix(hash: number, value: number): number {
  return Math.imul(hash ^ value, 0x01000193);
}

function hashString(hash: number, text: string): number {
  let h = mix(hash, text.length);
  for (let i = 0; i < text.length; i++) h = mix(h, text.charCodeAt(i));
  return h;
}

function hashValue(hash: number, value: unknown): number {
  switch (typeof value) {
    case 'number':
      // Integers (the usual case) exactly; others through their text.
      return Number.isInteger(value) && Math.abs(value) <= 2 ** 53
        ? mix(mix(mix(hash, 1), value | 0), Math.floor(value / 2 ** 32) | 0)
        : hashString(mix(hash, 2), String(value));
    case 'string':
      return hashString(mix(hash, 3), value);
    case 'boolean':
      return mix(hash, value ? 4 : 5);
    case 'bigint':
      return hashString(mix(hash, 6), value.toString());
    case 'object': {
      if (value === null) return mix(hash, 7);
      if (value instanceof Uint8Array || Array.isArray(value)) {
        // One tag for both: attributesKey prints a Uint8Array as the array of its bytes.
        let h = mix(mix(hash, 8), value.length);
        for (let i = 0; i < value.length; i++) h = hashValue(h, value[i]);
        return h;
      }
      let h = mix(hash, 9);
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        const field = (value as Record<string, unknown>)[key];
        if (field === undefined || typeof field === 'function') continue;
        h = hashValue(hashString(h, key), field);
      }
      return h;
    }
    default:
      return mix(hash, 10);
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aList = a instanceof Uint8Array || Array.isArray(a);
  const bList = b instanceof Uint8Array || Array.isArray(b);
  if (aList || bList) {
    if (!aList || !bList) return false;
    const x = a as ArrayLike<unknown>;
    const y = b as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameValue(x[i], y[i])) return false;
    return true;
  }
  const aKeys = definedKeys(a);
  const bKeys = definedKeys(b);
  if (aKeys.length !== bKeys.length) return false;
  for (let i = 0; i < aKeys.length; i++) {
    const key = aKeys[i]!;
    if (key !== bKeys[i]) return false;
    if (!sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

function definedKeys(value: object): string[] {
  const keys: string[] = [];
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined && typeof field !== 'function') keys.push(key);
  }
  return keys;
}

function hashNumbers(hash: number, values: readonly number[]): number {
  let h = mix(hash, values.length);
  for (let i = 0; i < values.length; i++) h = mix(h, values[i]! | 0);
  return h;
}

/**
 * One attribute's hash: the common kinds read their few fields directly (no key walk, no key text hashed),
 * others go through hashValue. Any function of the fields sameValue compares keeps "equal sets hash
 * equal"; the `| 0` of 32-bit values maps distinct unsigned values to distinct integers.
 */
function hashAttribute(hash: number, attribute: BgpPathAttribute): number {
  switch (attribute.kind) {
    case 'origin':
      return mix(mix(hash, 101), attribute.value | 0);
    case 'med':
      return mix(mix(hash, 104), attribute.value | 0);
    case 'local-pref':
      return mix(mix(hash, 105), attribute.value | 0);
    case 'as-path': {
      const segments = attribute.segments;
      let h = mix(mix(hash, 102), segments.length);
      for (let i = 0; i < segments.length; i++) h = hashNumbers(mix(h, segments[i]!.type), segments[i]!.asns);
      return h;
    }
    case 'communities':
      return hashNumbers(mix(hash, 108), attribute.values);
    case 'originator-id':
      return mix(mix(hash, 109), attribute.id | 0);
    case 'cluster-list':
      return hashNumbers(mix(hash, 110), attribute.ids);
    default:
      return hashValue(hash, attribute);
  }
}

/** The structural hash of an attribute set (32-bit; equal sets hash equal). */
export function attributesHash(attributes: RouteAttributes): number {
  const list = attributes.list;
  let h = mix(hashString(0x811c9dc5, attributes.nextHop), list.length);
  for (let i = 0; i < list.length; i++) h = hashAttribute(h, list[i]!);
  return h >>> 0;
}

/** The interner's table key of a hash: 30 bits, so it stays a small integer (no boxed number per lookup). */
const tableKey = (hash: number) => hash & 0x3fffffff;

/** Whether two attribute sets are structurally equal (same next hop, same attributes in the same order). */
export function sameAttributes(a: RouteAttributes, b: RouteAttributes): boolean {
  return a === b || (a.nextHop === b.nextHop && sameValue(a.list, b.list));
}

interface InternedSet {
  readonly attributes: RouteAttributes;
  /** The interner's table key (tableKey of the structural hash). */
  readonly hash: number;
  readonly id: number;
  /** 0 once released for the last time: the set is no longer in the table. */
  references: number;
  /** What the interner's owner keeps per set (setMemo), undefined until set. */
  memo: unknown;
}

export class AttributeInterner {
  /** Interned sets by table key (one set per key almost always; an array on a collision). */
  readonly #byHash = new Map<number, InternedSet | InternedSet[]>();
  /**
   * Each interned (handed out) object → its set; the entry goes with the set's last reference. A plain
   * Map rather than a WeakMap: the entries' lifetime is known, and the garbage collector's ephemeron work
   * for a WeakMap of one entry per attribute set (a set per prefix when every prefix has its own MED or
   * community) was a large part of the receive path's cost.
   */
  readonly #interned = new Map<RouteAttributes, InternedSet>();
  /**
   * The last other object handed in and its set: every prefix of one UPDATE brings the same object, which
   * is then hashed once per UPDATE, not per prefix (checked for a live set before use).
   */
  #lastHandedIn: RouteAttributes | undefined;
  #lastSet: InternedSet | undefined;
  /**
   * The last object peek() found nothing for, and its table key: an acquire() of that same object right
   * after (the Adj-RIB-Out's "known? else intern" step) does not hash it a second time.
   */
  #missed: RouteAttributes | undefined;
  #missedKey = 0;
  #size = 0;
  #nextId = 1;

  /** Number of distinct attribute sets in use. */
  get size(): number {
    return this.#size;
  }

  /** The shared object equal to `attributes`, with one more reference. */
  acquire(attributes: RouteAttributes): RouteAttributes {
    const known = this.#known(attributes);
    if (known !== undefined) {
      known.references++;
      return known.attributes;
    }
    const key = this.#keyOf(attributes);
    const found = this.#find(key, attributes);
    if (found !== undefined) {
      found.references++;
      this.#remember(attributes, found);
      return found.attributes;
    }
    const set: InternedSet = { attributes, hash: key, id: this.#nextId++, references: 1, memo: undefined };
    const bucket = this.#byHash.get(key);
    if (bucket === undefined) this.#byHash.set(key, set);
    else if (Array.isArray(bucket)) bucket.push(set);
    else this.#byHash.set(key, [bucket, set]);
    this.#interned.set(attributes, set);
    this.#size++;
    return attributes;
  }

  /** The interned object equal to `attributes` without taking a reference, or undefined when none is. */
  peek(attributes: RouteAttributes): RouteAttributes | undefined {
    const known = this.#known(attributes);
    if (known !== undefined) return known.attributes;
    const key = this.#keyOf(attributes);
    const found = this.#find(key, attributes);
    if (found !== undefined) {
      this.#remember(attributes, found);
      return found.attributes;
    }
    this.#missed = attributes;
    this.#missedKey = key;
    return undefined;
  }

  /** The numeric id of an interned set (unique while interned; ids are never reused), or undefined. */
  idOf(attributes: RouteAttributes): number | undefined {
    return this.#interned.get(attributes)?.id;
  }

  /**
   * The value kept with an interned set by setMemo(), or undefined (none kept, or not an interned object).
   * One value per set for the interner's owner: the Adj-RIB-Ins keep the set's PathFacts there, so no
   * WeakMap entry per set is needed for them.
   */
  memoOf(attributes: RouteAttributes): unknown {
    return this.#interned.get(attributes)?.memo;
  }

  /** Keeps `value` with the interned set of `attributes` until its last release; throws for other objects. */
  setMemo(attributes: RouteAttributes, value: unknown): void {
    const set = this.#interned.get(attributes);
    if (set === undefined) throw new Error('AttributeInterner.setMemo: attributes are not interned here');
    set.memo = value;
  }

  /** Drops one reference to an object returned by acquire(). */
  release(attributes: RouteAttributes): void {
    const set = this.#interned.get(attributes);
    if (set === undefined)
      throw new Error('AttributeInterner.release: attributes were not acquired from this interner');
    if (--set.references > 0) return;
    this.#size--;
    this.#interned.delete(attributes);
    if (this.#lastSet === set) {
      this.#lastHandedIn = undefined;
      this.#lastSet = undefined;
    }
    const bucket = this.#byHash.get(set.hash);
    if (bucket === set) this.#byHash.delete(set.hash);
    else if (Array.isArray(bucket)) {
      bucket.splice(bucket.indexOf(set), 1);
      if (bucket.length === 1) this.#byHash.set(set.hash, bucket[0]!);
    }
  }

  /** The live set of an object without hashing: an interned object, or the last one handed in. */
  #known(attributes: RouteAttributes): InternedSet | undefined {
    if (attributes === this.#lastHandedIn) return this.#lastSet;
    return this.#interned.get(attributes);
  }

  #remember(attributes: RouteAttributes, set: InternedSet): void {
    this.#lastHandedIn = attributes;
    this.#lastSet = set;
  }

  /** The table key of an object (hashed unless peek() just missed it; sets are never mutated). */
  #keyOf(attributes: RouteAttributes): number {
    if (attributes === this.#missed) {
      this.#missed = undefined;
      return this.#missedKey;
    }
    return tableKey(attributesHash(attributes));
  }

  #find(key: number, attributes: RouteAttributes): InternedSet | undefined {
    const bucket = this.#byHash.get(key);
    if (bucket === undefined) return undefined;
    if (!Array.isArray(bucket)) return sameAttributes(bucket.attributes, attributes) ? bucket : undefined;
    for (const set of bucket) if (sameAttributes(set.attributes, attributes)) return set;
    return undefined;
  }
}
