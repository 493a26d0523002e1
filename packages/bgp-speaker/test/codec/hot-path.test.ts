// The UPDATE decoder's in-place fast path (hot-path.ts) must agree exactly with the general attribute
// decoder: whenever it accepts an attribute, the general path gives a deep-equal value (and no error);
// whenever it declines, the general path is what runs. Also checks it does accept the well-formed common
// attributes, so the fast path cannot silently fall out of use; and that decodeBgpMessage's in-place
// UPDATE decode gives exactly what decodeUpdateBody gives on the body alone (values, errors, messages).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCommonAttribute } from '../../src/codec/hot-path.js';
import {
  BgpDecodeError,
  type BgpPathAttribute,
  decodeBgpMessage,
  decodePathAttribute,
  decodeUpdateBody,
  encodeAttributes,
  encodeBgpMessage,
  makeUpdate,
} from '../../src/codec/index.js';

/** The attribute laid out as on the wire: header (3 or 4 octets per the extended-length flag) then value. */
function onTheWire(flags: number, code: number, value: Uint8Array): { bytes: Uint8Array; start: number } {
  const extended = (flags & 0x10) !== 0;
  const header = extended
    ? [flags, code, value.length >>> 8, value.length & 0xff]
    : [flags, code, value.length];
  const bytes = new Uint8Array(header.length + value.length);
  bytes.set(header);
  bytes.set(value, header.length);
  return { bytes, start: header.length };
}

const flagsArbitrary = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xc0, 0xd0, 0xe0),
);
const validAsPath = fc
  .array(
    fc.record({
      type: fc.integer({ min: 1, max: 4 }),
      asns: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 5 }),
    }),
    { maxLength: 3 },
  )
  .map((segments) => {
    const out: number[] = [];
    for (const segment of segments) {
      out.push(segment.type, segment.asns.length);
      for (const asn of segment.asns) out.push(0, 0, asn >>> 8, asn & 0xff);
    }
    return Uint8Array.from(out);
  });
const smallOctets = fc
  .array(fc.integer({ min: 0, max: 5 }), { maxLength: 13 })
  .map((octets) => Uint8Array.from(octets));
const valueArbitrary = fc.oneof(fc.uint8Array({ maxLength: 13 }), smallOctets, validAsPath);

describe('UPDATE decode fast path', () => {
  it('agrees with decodePathAttribute whenever it accepts an attribute', () => {
    fc.assert(
      fc.property(
        flagsArbitrary,
        fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 16, 32, 99),
        valueArbitrary,
        fc.boolean(),
        (flags, code, value, as4) => {
          const { bytes, start } = onTheWire(flags, code, value);
          const fast = decodeCommonAttribute(flags, code, bytes, start, bytes.length, as4);
          if (fast === undefined) return;
          const general = decodePathAttribute(flags, code, bytes.subarray(start), { as4 });
          expect(general).not.toBeInstanceOf(BgpDecodeError);
          expect(fast).toEqual(general);
          expect(Object.keys(fast)).toEqual(Object.keys(general as BgpPathAttribute));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('shared values: a sequence drawn from a small pool (hits, misses, slot reuse, both AS widths) always decodes as the general path does', () => {
    const pool = fc.constantFrom(
      ...[
        [0x40, 2, [2, 1, 0, 0, 0xfd, 0xe9]],
        [0x40, 2, [2, 2, 0, 0, 0xfd, 0xe9, 0, 0, 0xfd, 0xea]],
        [0x50, 2, [2, 1, 0, 0, 0xfd, 0xe9]],
        [0x40, 2, [1, 1, 0xfd, 0xe9]],
        // Well-formed with 2- and with 4-octet ASNs, meaning different paths: the AS width is part of the key.
        [0x40, 2, [2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]],
        [0x40, 2, []],
        // Same length, flags and hashed octets (first ASN, last two octets), different middle ASN: one slot.
        [0x40, 2, [2, 3, 0, 0, 0xfd, 0xe9, 0, 0, 0x11, 0x11, 0, 0, 0xfd, 0xea]],
        [0x40, 2, [2, 3, 0, 0, 0xfd, 0xe9, 0, 0, 0x22, 0x22, 0, 0, 0xfd, 0xea]],
        // Longer than the remembered value octets (64): decoded every time, never matched by bytes.
        [0x40, 2, [2, 20, ...Array.from({ length: 20 }, (_, i) => [0, 0, 0xfd, i]).flat()]],
        [0x40, 2, [2, 20, ...Array.from({ length: 20 }, (_, i) => [0, 0, 0xfe, i]).flat()]],
        [0x40, 3, [10, 0, 0, 1]],
        [0x60, 3, [10, 0, 0, 1]],
        [0x40, 3, [10, 0, 0, 2]],
        [0x40, 5, [0, 0, 0, 100]],
        [0x40, 5, [0, 0, 0, 200]],
        [0x40, 1, [0]],
        [0x60, 1, [1]],
      ].map(([flags, code, value]) => ({
        flags: flags as number,
        code: code as number,
        value: Uint8Array.from(value as number[]),
      })),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(pool, fc.boolean()), { minLength: 1, maxLength: 40 }), (sequence) => {
        for (const [{ flags, code, value }, as4] of sequence) {
          const { bytes, start } = onTheWire(flags, code, value);
          const fast = decodeCommonAttribute(flags, code, bytes, start, bytes.length, as4);
          // Declined values (e.g. the Partial bit on a well-known attribute) take the general path.
          if (fast === undefined) continue;
          expect(fast).toEqual(decodePathAttribute(flags, code, bytes.subarray(start), { as4 }));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('identical ORIGIN, AS_PATH, NEXT_HOP and LOCAL_PREF values in two UPDATEs decode to the same objects', () => {
    const decodeWith = (med: number) => {
      const message = encodeBgpMessage(
        makeUpdate({
          attributes: [
            { kind: 'origin', value: 0 },
            { kind: 'as-path', segments: [{ type: 2, asns: [65001, 65002] }] },
            { kind: 'next-hop', address: 0x0aff0002 },
            { kind: 'med', value: med },
            { kind: 'local-pref', value: 100 },
          ],
          nlri: [{ afi: 1, address: 0x0a000000 + med, length: 32 }],
        }),
        { as4: true },
      );
      const decoded = decodeBgpMessage(message, { as4: true });
      if (decoded.type !== 'update') throw new Error(decoded.type);
      return decoded.attributes;
    };
    const first = decodeWith(1);
    const second = decodeWith(2);
    for (const index of [0, 1, 2, 4]) expect(second[index]).toBe(first[index]);
    expect(second[3]).not.toBe(first[3]);
    expect(second[3]).toEqual({ kind: 'med', flags: 0x80, value: 2 });
  });

  it('accepts every well-formed common attribute with standard or extended-length flags', () => {
    const attributes: BgpPathAttribute[] = [
      { kind: 'origin', flags: 0x40, value: 2 },
      { kind: 'as-path', flags: 0x50, segments: [{ type: 2, asns: [65001, 4200000000] }] },
      { kind: 'next-hop', flags: 0x40, address: 0x0aff0002 },
      { kind: 'med', flags: 0x80, value: 7 },
      { kind: 'local-pref', flags: 0x40, value: 100 },
      { kind: 'communities', flags: 0xc0, values: [0xfde80001, 0xffffff01] },
    ];
    const block = encodeAttributes(attributes, { as4: true });
    let at = 0;
    for (const expected of attributes) {
      const flags = block[at]!;
      const headerLength = flags & 0x10 ? 4 : 3;
      const length = headerLength === 4 ? (block[at + 2]! << 8) | block[at + 3]! : block[at + 2]!;
      const start = at + headerLength;
      expect(decodeCommonAttribute(flags, block[at + 1]!, block, start, start + length, true)).toEqual(
        expected,
      );
      at = start + length;
    }
  });

  it('declines malformed values and non-standard optional/transitive flags', () => {
    const cases: [number, number, number[]][] = [
      [0x40, 1, [3]], // ORIGIN value out of range
      [0x40, 1, [0, 0]], // ORIGIN length 2
      [0x80, 1, [0]], // ORIGIN flagged optional
      [0x40, 2, [2, 0]], // zero-length AS_PATH segment
      [0x40, 2, [5, 1, 0, 0, 0, 1]], // segment type 5
      [0x40, 3, [10, 0, 0]], // NEXT_HOP length 3
      [0x40, 4, [0, 0, 0, 1]], // MED flagged well-known
      [0xc0, 8, [0, 0, 1]], // COMMUNITIES length 3
      [0xc0, 8, []], // COMMUNITIES empty
      [0xc0, 99, [1]], // not a common attribute
    ];
    for (const [flags, code, value] of cases) {
      const { bytes, start } = onTheWire(flags, code, Uint8Array.from(value));
      expect(decodeCommonAttribute(flags, code, bytes, start, bytes.length, true)).toBeUndefined();
    }
  });

  it('does not carry attribute state from one UPDATE into the next', () => {
    const full = encodeBgpMessage(
      makeUpdate({
        attributes: [
          { kind: 'origin', value: 0 },
          { kind: 'as-path', segments: [] },
          { kind: 'next-hop', address: 1 },
        ],
        nlri: [{ afi: 1, address: 0x0a000000, length: 8 }],
      }),
      { as4: true },
    );
    const missingNextHop = encodeBgpMessage(
      makeUpdate({
        attributes: [
          { kind: 'origin', value: 0 },
          { kind: 'as-path', segments: [] },
        ],
        nlri: [{ afi: 1, address: 0x0a000000, length: 8 }],
      }),
      { as4: true },
    );
    const first = decodeBgpMessage(full, { as4: true });
    const second = decodeBgpMessage(missingNextHop, { as4: true });
    expect(first.type === 'update' && first.errors).toEqual([]);
    expect(second.type === 'update' && second.treatAsWithdraw).toBe(true);
    expect(second.type === 'update' && second.errors.map((error) => error.subcode)).toEqual([3]);
  });

  it('decodes an UPDATE in place exactly as decodeUpdateBody decodes its body', () => {
    const outcome = (run: () => unknown) => {
      try {
        return { value: run() };
      } catch (error) {
        if (!(error instanceof BgpDecodeError)) throw error;
        return { code: error.code, subcode: error.subcode, data: [...error.data], message: error.message };
      }
    };
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 60 }), smallOctets), fc.boolean(), (body, addPath) => {
        const context = addPath ? { as4: true, addPath: [{ afi: 1, safi: 1 }] } : { as4: true };
        const whole = new Uint8Array(19 + body.length);
        whole.fill(0xff, 0, 16);
        whole[16] = whole.length >>> 8;
        whole[17] = whole.length & 0xff;
        whole[18] = 2;
        whole.set(body, 19);
        if (whole.length < 23) return;
        expect(outcome(() => decodeBgpMessage(whole, context))).toEqual(
          outcome(() => decodeUpdateBody(body.slice(), context)),
        );
      }),
      { numRuns: 3000 },
    );
  });
});
