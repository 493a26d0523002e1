// packUpdatesInto against packUpdates: for any attribute set and prefixes of both families, the bytes
// appended to a BgpMessageWriter — whatever it held before and however dirty its recycled buffers are —
// are exactly packUpdates' messages back to back; each message decodes to what was packed and re-encodes
// byte for byte; a refused input leaves nothing in the writer.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BgpCodecContext,
  BgpEncodeError,
  BgpMessageWriter,
  type BgpPathAttribute,
  type BgpPrefix,
  type BgpUpdate,
  decodeBgpMessage,
  encodeBgpMessage,
  KEEPALIVE_MESSAGE,
  packUpdates,
  packUpdatesInto,
  type UpdatePackingInput,
  updateAnnounced,
  updateWithdrawn,
} from '../../src/codec/index.js';
import { attributeSetArbitrary, concatenated } from './generators.js';

const v4Prefix: fc.Arbitrary<BgpPrefix> = fc
  .record({ address: fc.integer({ min: 0, max: 0xffffffff }), length: fc.integer({ min: 0, max: 32 }) })
  .map(({ address, length }) => ({
    afi: 1,
    address: length === 0 ? 0 : (address & (0xffffffff << (32 - length))) >>> 0,
    length,
  }));

const v6Prefix: fc.Arbitrary<BgpPrefix> = fc
  .record({
    bytes: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    length: fc.integer({ min: 0, max: 128 }),
  })
  .map(({ bytes, length }) => {
    const address = new Uint8Array(16);
    const whole = length >>> 3;
    address.set(bytes.subarray(0, whole));
    if (length & 7) address[whole] = bytes[whole]! & (0xff << (8 - (length & 7)));
    return { afi: 2, address, length };
  });

const prefixList = (maxLength: number) =>
  fc.array(fc.oneof({ weight: 3, arbitrary: v4Prefix }, { weight: 1, arbitrary: v6Prefix }), { maxLength });

const attributeSet = attributeSetArbitrary({ maxCommunities: 80, maxAsns: 10, maxAsn: 0xffff });

const input: fc.Arbitrary<UpdatePackingInput> = fc
  .record({
    attributes: attributeSet,
    // Up to 1,500 prefixes: several messages per family at 4,096 octets.
    announced: fc.oneof(prefixList(4), prefixList(1500)),
    withdrawn: fc.oneof(prefixList(4), prefixList(1500)),
    nextHopLength: fc.constantFrom(16, 32),
  })
  .map(({ attributes, announced, withdrawn, nextHopLength }) => ({
    attributes,
    announced,
    withdrawn,
    ipv6NextHop: new Uint8Array(nextHopLength).fill(0x20),
  }));

const contexts: fc.Arbitrary<BgpCodecContext> = fc.constantFrom(
  { as4: true },
  { as4: false },
  { as4: true, extendedMessage: true },
);

describe('packUpdatesInto', () => {
  it('appends exactly packUpdates bytes, into a writer with earlier output and dirty recycled buffers', () => {
    fc.assert(
      fc.property(fc.array(input, { minLength: 1, maxLength: 3 }), contexts, (inputs, context) => {
        const writer = new BgpMessageWriter(context, 512, 2);
        // Dirty pooled buffers: the next batches are written over bytes that are not zero.
        for (let i = 0; i < 3; i++) writer.write(KEEPALIVE_MESSAGE);
        const dirty = writer.take();
        dirty.fill(0xa5);
        writer.recycle(dirty);
        writer.write(KEEPALIVE_MESSAGE);
        const expected: Uint8Array[] = [encodeBgpMessage(KEEPALIVE_MESSAGE, context)];
        for (const one of inputs) {
          const messages = packUpdates(one, context);
          expect(packUpdatesInto(writer, one)).toBe(messages.length);
          expected.push(...messages);
        }
        expect(writer.take()).toEqual(concatenated(expected));
      }),
      { numRuns: 150 },
    );
  });

  it('packUpdates messages carry the input and re-encode byte for byte', () => {
    fc.assert(
      fc.property(input, contexts, (one, context) => {
        const decoded = packUpdates(one, context).map((bytes) => {
          const message = decodeBgpMessage(bytes, context);
          if (message.type !== 'update') throw new Error('not an UPDATE');
          expect(message.errors).toEqual([]);
          expect(encodeBgpMessage(message, context)).toEqual(bytes);
          return message;
        });
        const byFamily = (list: readonly BgpPrefix[]) => [
          ...list.filter((p) => p.afi === 1),
          ...list.filter((p) => p.afi === 2),
        ];
        expect(decoded.flatMap(updateWithdrawn)).toEqual(byFamily(one.withdrawn ?? []));
        expect(decoded.flatMap(updateAnnounced)).toEqual(byFamily(one.announced ?? []));
        const announcing = decoded.filter((u: BgpUpdate) => updateAnnounced(u).length > 0);
        for (const update of announcing) {
          const kept = update.attributes.filter((a) => a.kind !== 'mp-reach' && a.kind !== 'next-hop');
          const given = one.attributes.filter((a) => a.kind !== 'next-hop');
          expect(kept.map((a) => a.kind)).toEqual(given.map((a) => a.kind));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a few IPv4 prefixes whose attribute set leaves room for only one of them per message: split as packUpdates splits', () => {
    const context: BgpCodecContext = { as4: true };
    // ORIGIN 4 + AS_PATH 9 + NEXT_HOP 7 + COMMUNITIES 4 + 4 × 1011 = 4068 octets of attributes: with the
    // 23 fixed octets of an UPDATE, 5 octets are left, one /32.
    const attributes: BgpPathAttribute[] = [
      { kind: 'origin', value: 0 },
      { kind: 'as-path', segments: [{ type: 2, asns: [65001] }] },
      { kind: 'next-hop', address: 0x0a000001 },
      { kind: 'communities', values: Array.from({ length: 1011 }, (_, i) => 0xfde80000 + i) },
    ];
    const input = {
      attributes,
      announced: [
        { afi: 1, address: 0x0a000001, length: 32 },
        { afi: 1, address: 0x0a000002, length: 32 },
      ] as BgpPrefix[],
    };
    const expected = packUpdates(input, context);
    expect(expected.map((message) => message.length)).toEqual([4096, 4096]);
    const writer = new BgpMessageWriter(context, 1024, 2);
    writer.write(KEEPALIVE_MESSAGE);
    expect(packUpdatesInto(writer, input)).toBe(2);
    expect(writer.take()).toEqual(concatenated([encodeBgpMessage(KEEPALIVE_MESSAGE, context), ...expected]));
  });

  it('leaves nothing in the writer when it refuses an input, keeping what was there', () => {
    const context: BgpCodecContext = { as4: false };
    const writer = new BgpMessageWriter(context, 4096, 1);
    writer.write(KEEPALIVE_MESSAGE);
    const prefixes: BgpPrefix[] = Array.from({ length: 2000 }, (_, i) => ({
      afi: 1,
      address: (0x0b000000 + i) >>> 0,
      length: 32,
    }));
    const ok: UpdatePackingInput = { attributes: [{ kind: 'origin', value: 0 }], announced: prefixes };
    // Withdrawals fit; the announcement's AS_PATH does not fit a 2-octet session: all of it is refused.
    expect(() =>
      packUpdatesInto(writer, {
        attributes: [{ kind: 'as-path', segments: [{ type: 2, asns: [4200000000] }] }],
        announced: prefixes,
        withdrawn: prefixes,
      }),
    ).toThrow(BgpEncodeError);
    expect(() =>
      packUpdatesInto(writer, {
        attributes: [],
        announced: [{ afi: 2, address: new Uint8Array(16), length: 64 }],
      }),
    ).toThrow(/IPv6 announcements need ipv6NextHop of 16 or 32 octets/);
    expect(writer.length).toBe(19);
    packUpdatesInto(writer, ok);
    expect(writer.take()).toEqual(
      concatenated([encodeBgpMessage(KEEPALIVE_MESSAGE, context), ...packUpdates(ok, context)]),
    );
  });
});
