// Property-based tests (fast-check): arbitrary valid models of every message type round-trip byte for byte
// with a matching encodedLength; arbitrary and mutated bytes never raise anything but BgpDecodeError; the
// framer yields the same messages whatever the chunking.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AsPathSegment,
  type BgpCapability,
  type BgpCodecContext,
  BgpDecodeError,
  type BgpExtendedCommunity,
  BgpFramer,
  type BgpMessage,
  BgpMessageWriter,
  type BgpPathAttribute,
  type BgpPrefix,
  bgpMessageEncodedLength,
  decodeBgpMessage,
  encodeBgpMessage,
  encodeBgpMessages,
  ipv4ToString,
  makeUpdate,
  messageToJson,
  shutdownNotification,
} from '../../src/codec/index.js';

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const contexts = fc
  .record({
    as4: fc.boolean(),
    addPath: fc.constantFrom(
      undefined,
      [{ afi: 1, safi: 1 }],
      [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
    ),
    extendedMessage: fc.boolean(),
  })
  .map(
    ({ as4, addPath, extendedMessage }): BgpCodecContext =>
      addPath ? { as4, addPath, extendedMessage } : { as4, extendedMessage },
  );

function ipv4Prefix(pathIds: boolean): fc.Arbitrary<BgpPrefix> {
  return fc
    .record({ length: fc.integer({ min: 0, max: 32 }), address: u32, pathId: u32 })
    .map(({ length, address, pathId }) => {
      const octets = (length + 7) >>> 3;
      const kept = octets === 0 ? 0 : (address & (0xffffffff << (32 - octets * 8))) >>> 0;
      return pathIds ? { afi: 1, address: kept, length, pathId } : { afi: 1, address: kept, length };
    });
}
function ipv6Prefix(pathIds: boolean): fc.Arbitrary<BgpPrefix> {
  return fc
    .record({
      length: fc.integer({ min: 0, max: 128 }),
      bytes: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      pathId: u32,
    })
    .map(({ length, bytes, pathId }) => {
      const address = new Uint8Array(16);
      address.set(bytes.subarray(0, (length + 7) >>> 3));
      return pathIds ? { afi: 2, address, length, pathId } : { afi: 2, address, length };
    });
}

const segments = (asSize: 2 | 4): fc.Arbitrary<AsPathSegment[]> =>
  fc.array(
    fc.record({
      type: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const),
      asns: fc.array(asSize === 4 ? u32 : u16, { minLength: 1, maxLength: 8 }),
    }),
    { maxLength: 4 },
  );

const extendedCommunity: fc.Arbitrary<BgpExtendedCommunity> = fc.oneof(
  fc
    .record({ type: fc.constantFrom(0x00, 0x40), subtype: u8, global: u16, local: u32 })
    .map((c) => ({ kind: 'two-octet-as' as const, ...c })),
  fc
    .record({ type: fc.constantFrom(0x01, 0x41), subtype: u8, global: u32, local: u16 })
    .map((c) => ({ kind: 'ipv4-address' as const, ...c })),
  fc
    .record({ type: fc.constantFrom(0x02, 0x42), subtype: u8, global: u32, local: u16 })
    .map((c) => ({ kind: 'four-octet-as' as const, ...c })),
  fc
    .tuple(fc.constantFrom(0x03, 0x06, 0x43, 0x80), fc.uint8Array({ minLength: 7, maxLength: 7 }))
    .map(([type, rest]) => ({ kind: 'opaque' as const, bytes: Uint8Array.of(type, ...rest) })),
);

// Modelled codes, plus 25 and 128 whose raw values have RFC 7606 length rules.
const KNOWN_CODES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 25, 32, 128]);

function attributes(context: BgpCodecContext): fc.Arbitrary<BgpPathAttribute[]> {
  const ext = fc.constantFrom(0, 0x10);
  const addPath = (afi: number) => (context.addPath ?? []).some((f) => f.afi === afi && f.safi === 1);
  const optional: fc.Arbitrary<BgpPathAttribute>[] = [
    fc.tuple(ext, u32).map(([e, value]) => ({ kind: 'med' as const, flags: 0x80 | e, value })),
    fc.tuple(ext, u32).map(([e, value]) => ({ kind: 'local-pref' as const, flags: 0x40 | e, value })),
    ext.map((e) => ({ kind: 'atomic-aggregate' as const, flags: 0x40 | e })),
    fc
      .tuple(ext, context.as4 ? u32 : u16, u32)
      .map(([e, asn, address]) => ({ kind: 'aggregator' as const, flags: 0xc0 | e, asn, address })),
    fc
      .tuple(ext, fc.array(u32, { minLength: 1, maxLength: 20 }))
      .map(([e, values]) => ({ kind: 'communities' as const, flags: 0xc0 | e, values })),
    fc.tuple(ext, u32).map(([e, id]) => ({ kind: 'originator-id' as const, flags: 0x80 | e, id })),
    fc
      .tuple(ext, fc.array(u32, { minLength: 1, maxLength: 10 }))
      .map(([e, ids]) => ({ kind: 'cluster-list' as const, flags: 0x80 | e, ids })),
    fc
      .tuple(ext, fc.array(extendedCommunity, { minLength: 1, maxLength: 20 }))
      .map(([e, values]) => ({ kind: 'extended-communities' as const, flags: 0xc0 | e, values })),
    fc.tuple(ext, segments(4)).map(([e, s]) => ({ kind: 'as4-path' as const, flags: 0xc0 | e, segments: s })),
    fc
      .tuple(ext, u32, u32)
      .map(([e, asn, address]) => ({ kind: 'as4-aggregator' as const, flags: 0xc0 | e, asn, address })),
    fc
      .tuple(
        ext,
        fc.array(fc.record({ global: u32, local1: u32, local2: u32 }), { minLength: 1, maxLength: 15 }),
      )
      .map(([e, values]) => ({ kind: 'large-communities' as const, flags: 0xc0 | e, values })),
    fc
      .tuple(
        fc.constantFrom(4, 16, 32),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom(1, 2),
        fc.integer({ min: 0, max: 8 }),
        fc.boolean(),
      )
      .chain(([nextHopLength, hop, afi, count, extended]) =>
        fc
          .array(afi === 1 ? ipv4Prefix(addPath(1)) : ipv6Prefix(addPath(2)), { maxLength: count })
          .map((nlri) => ({
            kind: 'mp-reach' as const,
            flags: extended ? 0x90 : 0x80,
            afi,
            safi: 1,
            nextHop: hop.slice(0, nextHopLength),
            ...(hop[0]! > 200 ? { reserved: hop[0]! } : {}),
            nlri,
          })),
      ),
    fc.tuple(fc.constantFrom(1, 2), fc.boolean()).chain(([afi, extended]) =>
      fc
        .array(afi === 1 ? ipv4Prefix(addPath(1)) : ipv6Prefix(addPath(2)), { maxLength: 8 })
        .map((withdrawn) => ({
          kind: 'mp-unreach' as const,
          flags: extended ? 0x90 : 0x80,
          afi,
          safi: 1,
          withdrawn,
        })),
    ),
    fc
      .tuple(
        u8.filter((code) => !KNOWN_CODES.has(code)),
        fc.constantFrom(0x80, 0xc0, 0xe0, 0xd0),
        fc.uint8Array({ maxLength: 40 }),
      )
      .map(([code, flags, value]) => ({ kind: 'unknown' as const, flags, code, value })),
  ];
  const mandatory = fc.tuple(
    fc
      .tuple(ext, fc.integer({ min: 0, max: 2 }))
      .map(([e, value]) => ({ kind: 'origin' as const, flags: 0x40 | e, value })),
    fc
      .tuple(ext, segments(context.as4 ? 4 : 2))
      .map(([e, s]) => ({ kind: 'as-path' as const, flags: 0x40 | e, segments: s })),
    fc.tuple(ext, u32).map(([e, address]) => ({ kind: 'next-hop' as const, flags: 0x40 | e, address })),
  );
  const others = fc.uniqueArray(fc.oneof(...optional), {
    selector: (attribute) => (attribute.kind === 'unknown' ? attribute.code : attribute.kind),
    maxLength: 6,
  });
  return fc
    .tuple(mandatory, others)
    .chain(([m, o]) => fc.shuffledSubarray([...m, ...o], { minLength: m.length + o.length }));
}

const capability: fc.Arbitrary<BgpCapability> = fc.oneof(
  fc.record({ afi: u16, safi: u8 }).map((c) => ({ kind: 'multiprotocol' as const, ...c })),
  fc.constantFrom(2 as const, 128 as const).map((code) => ({ kind: 'route-refresh' as const, code })),
  fc.constant({ kind: 'enhanced-route-refresh' as const }),
  fc.constant({ kind: 'extended-message' as const }),
  u32.map((asn) => ({ kind: 'four-octet-as' as const, asn })),
  fc
    .record({
      restarting: fc.boolean(),
      notification: fc.boolean(),
      restartTime: fc.integer({ min: 0, max: 4095 }),
      families: fc.array(fc.record({ afi: u16, safi: u8, forwarding: fc.boolean() }), { maxLength: 4 }),
    })
    .map((c) => ({ kind: 'graceful-restart' as const, ...c })),
  fc
    .array(
      fc.record({
        afi: u16,
        safi: u8,
        mode: fc.constantFrom('receive' as const, 'send' as const, 'both' as const),
      }),
      { maxLength: 4 },
    )
    .map((families) => ({ kind: 'add-path' as const, families })),
  fc
    .array(fc.record({ afi: u16, safi: u16, nextHopAfi: u16 }), { maxLength: 4 })
    .map((families) => ({ kind: 'extended-next-hop' as const, families })),
  fc
    .record({ hostname: fc.string({ maxLength: 30 }), domain: fc.string({ maxLength: 30 }) })
    .map((c) => ({ kind: 'fqdn' as const, ...c })),
  fc
    .tuple(
      u8.filter((code) => ![1, 2, 5, 6, 64, 65, 69, 70, 73, 128].includes(code)),
      fc.uint8Array({ maxLength: 20 }),
    )
    .map(([code, value]) => ({ kind: 'unknown' as const, code, value })),
);

function messages(context: BgpCodecContext): fc.Arbitrary<BgpMessage> {
  const addPathV4 = (context.addPath ?? []).some((f) => f.afi === 1 && f.safi === 1);
  return fc.oneof(
    fc.constant({ type: 'keepalive' as const }),
    fc.record({ afi: u16, safi: u8, subtype: u8 }).map((r) => ({ type: 'route-refresh' as const, ...r })),
    fc
      .record({ code: fc.integer({ min: 1, max: 5 }), subcode: u8, data: fc.uint8Array({ maxLength: 40 }) })
      .map((n) => ({ type: 'notification' as const, ...n })),
    fc
      .tuple(fc.constantFrom(2 as const, 4 as const), fc.string({ maxLength: 60 }))
      .map(([subcode, text]) => shutdownNotification(subcode, text)),
    fc
      .record({
        version: u8,
        myAs: u16,
        holdTime: u16,
        bgpIdentifier: u32.map(ipv4ToString),
        optionalParameters: fc.array(
          fc.oneof(
            fc
              .array(capability, { maxLength: 5 })
              .map((capabilities) => ({ type: 2 as const, capabilities })),
            fc
              .tuple(fc.integer({ min: 3, max: 254 }), fc.uint8Array({ maxLength: 10 }))
              .map(([type, value]) => ({ type, value })),
          ),
          { maxLength: 3 },
        ),
        extendedParameters: fc.boolean(),
      })
      .map(({ extendedParameters, ...open }) =>
        extendedParameters
          ? { type: 'open' as const, ...open, extendedParameters }
          : { type: 'open' as const, ...open },
      ),
    fc
      .record({
        withdrawn: fc.array(ipv4Prefix(addPathV4), { maxLength: 30 }),
        attributes: attributes(context),
        nlri: fc.array(ipv4Prefix(addPathV4), { maxLength: 30 }),
      })
      .map((parts) => makeUpdate(parts)),
  );
}

describe('round trip of arbitrary valid models', () => {
  it('decode(encode(x)) = x, encode(decode(bytes)) = bytes, encodedLength = bytes written', () => {
    fc.assert(
      fc.property(
        contexts.chain((context) => fc.tuple(fc.constant(context), messages(context))),
        ([context, message]) => {
          const bytes = encodeBgpMessage(message, context);
          expect(bgpMessageEncodedLength(message, context)).toBe(bytes.length);
          const decoded = decodeBgpMessage(bytes, context);
          expect(decoded).toEqual(message);
          expect(encodeBgpMessage(decoded, context)).toEqual(bytes);
          expect(() => JSON.stringify(messageToJson(decoded))).not.toThrow();
        },
      ),
      { numRuns: 600 },
    );
  });
});

function concatenated(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

describe('encoding many messages into one buffer', () => {
  it('BgpMessageWriter and encodeBgpMessages give exactly the encodeBgpMessage bytes back to back', () => {
    fc.assert(
      fc.property(
        contexts.chain((context) =>
          fc.tuple(
            fc.constant(context),
            fc.array(messages(context), { maxLength: 12 }),
            // Small capacities make the writer grow; take points split the output into batches.
            fc.integer({ min: 0, max: 300 }),
            fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
          ),
        ),
        ([context, list, initialCapacity, takeAfter]) => {
          const expected = concatenated(list.map((message) => encodeBgpMessage(message, context)));
          expect(encodeBgpMessages(list, context)).toEqual(expected);
          const writer = new BgpMessageWriter(context, initialCapacity);
          const batches: Uint8Array[] = [];
          list.forEach((message, i) => {
            writer.write(message);
            if (takeAfter[i]) batches.push(writer.take());
          });
          batches.push(writer.take());
          expect(writer.length).toBe(0);
          expect(concatenated(batches)).toEqual(expected);
          // The send path's form: UPDATEs given as their parts, without the BgpUpdate object.
          const parts = new BgpMessageWriter(context, initialCapacity);
          for (const message of list)
            if (message.type === 'update')
              parts.writeUpdate(message.attributes, message.nlri, message.withdrawn);
            else parts.write(message);
          expect(parts.take()).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

const KEEPALIVE: BgpMessage = { type: 'keepalive' };

const header = (type: number, length: number) => [
  ...new Array<number>(16).fill(0xff),
  length >> 8,
  length & 0xff,
  type,
];

function onlyDecodeErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof BgpDecodeError)) throw error;
    expect(error.action).toBe('session-reset');
  }
}

describe('hostile input', () => {
  it('arbitrary bodies behind a valid header raise only session-reset BgpDecodeErrors', () => {
    fc.assert(
      fc.property(
        contexts,
        fc.integer({ min: 1, max: 5 }),
        fc.uint8Array({ maxLength: 300 }),
        (context, type, body) => {
          const bytes = Uint8Array.from([...header(type, 19 + body.length), ...body]);
          onlyDecodeErrors(() => {
            const message = decodeBgpMessage(bytes, context);
            JSON.stringify(messageToJson(message));
          });
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('mutated valid messages raise only BgpDecodeErrors and decoded results re-encode', () => {
    fc.assert(
      fc.property(
        contexts.chain((context) => fc.tuple(fc.constant(context), messages(context))),
        fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 4 }),
        ([context, message], mutations) => {
          const bytes = encodeBgpMessage(message, context);
          for (const [position, value] of mutations)
            bytes[19 + (position % Math.max(1, bytes.length - 19))] = value;
          onlyDecodeErrors(() => {
            const decoded = decodeBgpMessage(bytes.subarray(0, Math.max(19, bytes.length)), context);
            JSON.stringify(messageToJson(decoded));
            encodeBgpMessage(decoded, { ...context, maxLength: 65535 });
          });
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('arbitrary byte streams through the framer raise only BgpDecodeErrors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        onlyDecodeErrors(() => new BgpFramer({ as4: true }).push(bytes));
      }),
    );
  });
});

describe('framer', () => {
  it('yields the same messages whatever the chunking', () => {
    const context: BgpCodecContext = { as4: true };
    fc.assert(
      fc.property(
        fc.array(messages(context), { minLength: 1, maxLength: 8 }),
        // Small cuts split headers and messages; large ones leave whole messages inside a chunk (views).
        fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 2000 })), {
          minLength: 1,
        }),
        (list, cuts) => {
          const encoded = list.map((message) => encodeBgpMessage(message, context));
          const stream = Uint8Array.from(encoded.flatMap((bytes) => [...bytes]));
          const framer = new BgpFramer(context);
          const out: Uint8Array[] = [];
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const size = cuts[i % cuts.length]!;
            out.push(...framer.push(stream.slice(at, at + size)));
            at += size;
          }
          expect(out).toEqual(encoded);
          expect(framer.pendingLength).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports a bad marker after a split message as soon as its 19 header octets are in, at any cut', () => {
    const context: BgpCodecContext = { as4: true };
    const good = encodeBgpMessage(KEEPALIVE, context);
    const bad = Uint8Array.from(header(4, 19));
    bad[7] = 0;
    const stream = concatenated([good, good, bad]);
    for (let cut = 1; cut < stream.length; cut++) {
      const framer = new BgpFramer(context);
      const out: Uint8Array[] = [];
      let error: unknown;
      try {
        out.push(...framer.push(stream.slice(0, cut)));
        out.push(...framer.push(stream.slice(cut)));
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: 1, subcode: 1, message: 'header: marker octet 7 is not 0xff' });
      // The bad header is complete only with the second push, which throws: out is what the first gave.
      expect(out).toEqual([good, good].slice(0, Math.floor(cut / 19)));
    }
  });

  it('messages inside a Buffer chunk at an offset of a larger ArrayBuffer are plain views of its bytes', () => {
    const context: BgpCodecContext = { as4: true };
    const keepalive = encodeBgpMessage(KEEPALIVE, context);
    const backing = new ArrayBuffer(100);
    new Uint8Array(backing).fill(0xee);
    const chunk = Buffer.from(backing, 13, 2 * keepalive.length);
    chunk.set(keepalive, 0);
    chunk.set(keepalive, keepalive.length);
    const framed = new BgpFramer(context).push(chunk);
    expect(framed).toEqual([keepalive, keepalive]);
    for (const [index, message] of framed.entries()) {
      expect(Buffer.isBuffer(message)).toBe(false);
      expect(message.buffer).toBe(backing);
      expect(message.byteOffset).toBe(13 + index * keepalive.length);
    }
  });

  it('rejects a length over the negotiated maximum with 1/2 and the length in the data', () => {
    const framer = new BgpFramer({ as4: true });
    const bytes = Uint8Array.from(header(2, 5000));
    expect(() => framer.push(bytes)).toThrow(
      expect.objectContaining({ code: 1, subcode: 2, data: Uint8Array.of(0x13, 0x88) }),
    );
    const extended = new BgpFramer({ as4: true, extendedMessage: true });
    expect(extended.push(bytes)).toEqual([]);
    expect(extended.pendingLength).toBe(19);
  });
});
