// Attribute interning: one shared RouteAttributes object per distinct attribute set across all peers'
// Adj-RIB-Ins, reference counted so a set is forgotten when the last path using it goes. Identity of the
// interned object (or its numeric id) lets later stages (Loc-RIB, Adj-RIB-Out) compare and group attribute
// sets without serialising them: the canonical text is computed once per object handed in (every prefix
// of one UPDATE shares one object), never per prefix.

import type { RouteAttributes } from './route.js';

/** A canonical text of an attribute set (attribute order kept: it is part of what was received). */
export function attributesKey(attributes: RouteAttributes): string {
  return JSON.stringify([attributes.nextHop, attributes.list], (_key, value) =>
    value instanceof Uint8Array ? Array.from(value) : value,
  );
}

export class AttributeInterner {
  readonly #byKey = new Map<string, { attributes: RouteAttributes; references: number; id: number }>();
  readonly #ids = new WeakMap<RouteAttributes, number>();
  #nextId = 1;
  /** Key of every object handed out or seen, so repeated lookups of one object serialise it once. */
  readonly #keys = new WeakMap<RouteAttributes, string>();

  /** Number of distinct attribute sets in use. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The shared object equal to `attributes`, with one more reference. */
  acquire(attributes: RouteAttributes): RouteAttributes {
    let key = this.#keys.get(attributes);
    if (key === undefined) {
      key = attributesKey(attributes);
      this.#keys.set(attributes, key);
    }
    const entry = this.#byKey.get(key);
    if (entry !== undefined) {
      entry.references++;
      return entry.attributes;
    }
    const id = this.#nextId++;
    this.#byKey.set(key, { attributes, references: 1, id });
    this.#ids.set(attributes, id);
    return attributes;
  }

  /** The numeric id of an interned set (unique while interned; ids are never reused), or undefined. */
  idOf(attributes: RouteAttributes): number | undefined {
    return this.#ids.get(attributes);
  }

  /** Drops one reference to an object returned by acquire(). */
  release(attributes: RouteAttributes): void {
    const key = this.#keys.get(attributes);
    const entry = key === undefined ? undefined : this.#byKey.get(key);
    if (key === undefined || entry === undefined || entry.attributes !== attributes)
      throw new Error('AttributeInterner.release: attributes were not acquired from this interner');
    if (--entry.references === 0) {
      this.#byKey.delete(key);
      this.#ids.delete(attributes);
    }
  }
}
