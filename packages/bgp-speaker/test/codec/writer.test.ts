// BgpMessageWriter and encodeBgpMessages on the inputs encodeBgpMessage refuses: the same BgpEncodeError
// (same text), and nothing of the refused message in the output, whether the writer's buffer had room for
// the oversized UPDATE or not. Byte equality with encodeBgpMessage on valid models is the property test
// in fuzz.test.ts.

import { describe, expect, it } from 'vitest';
import {
  type BgpCodecContext,
  BgpEncodeError,
  type BgpMessage,
  BgpMessageWriter,
  type BgpPrefix,
  encodeBgpMessage,
  encodeBgpMessages,
  KEEPALIVE_MESSAGE,
  makeUpdate,
  parsePrefix,
} from '../../src/codec/index.js';

const context: BgpCodecContext = { as4: true };
const route = makeUpdate({
  attributes: [
    { kind: 'origin', value: 0 },
    { kind: 'as-path', segments: [{ type: 2, asns: [65001] }] },
    { kind: 'next-hop', address: 0x0a000001 },
  ],
  nlri: [parsePrefix('10.1.0.0/16')],
});

/** 1,000 /32 prefixes: 5,000 octets of NLRI, over the 4,096-octet maximum. */
const tooManyPrefixes: BgpPrefix[] = Array.from({ length: 1000 }, (_, i) => ({
  afi: 1,
  address: 0x0b000000 + i,
  length: 32,
}));

const oversized: Record<string, BgpMessage> = {
  'NLRI over the maximum': makeUpdate({ attributes: route.attributes, nlri: tooManyPrefixes }),
  'an unknown attribute over the maximum': makeUpdate({
    attributes: [{ kind: 'unknown', flags: 0xc0, code: 99, value: new Uint8Array(5000) }],
  }),
};

function refusal(message: BgpMessage, encodingContext: BgpCodecContext): string {
  try {
    encodeBgpMessage(message, encodingContext);
  } catch (error) {
    if (error instanceof BgpEncodeError) return error.message;
    throw error;
  }
  throw new Error('encodeBgpMessage accepted the message');
}

describe('BgpMessageWriter refusals', () => {
  for (const [name, message] of Object.entries(oversized))
    for (const initialCapacity of [0, 100, 65536])
      it(`refuses an UPDATE with ${name} as encodeBgpMessage does (initial capacity ${initialCapacity})`, () => {
        const writer = new BgpMessageWriter(context, initialCapacity);
        writer.write(route);
        expect(() => writer.write(message)).toThrow(new BgpEncodeError(refusal(message, context)));
        writer.write(KEEPALIVE_MESSAGE);
        expect(writer.take()).toEqual(encodeBgpMessages([route, KEEPALIVE_MESSAGE], context));
      });

  for (const [name, message] of Object.entries(oversized))
    it(`writeUpdate (the UPDATE as its parts) refuses an UPDATE with ${name} as write does`, () => {
      if (message.type !== 'update') throw new Error('expected an UPDATE');
      const writer = new BgpMessageWriter(context, 100);
      writer.writeUpdate(route.attributes, route.nlri);
      expect(() => writer.writeUpdate(message.attributes, message.nlri, message.withdrawn)).toThrow(
        new BgpEncodeError(refusal(message, context)),
      );
      expect(writer.take()).toEqual(encodeBgpMessage(route, context));
    });

  it('refuses an ASN that does not fit a 2-octet AS_PATH, keeping what was written before', () => {
    const twoOctet: BgpCodecContext = { as4: false };
    const wide = makeUpdate({
      attributes: [{ kind: 'as-path', segments: [{ type: 2, asns: [4200000000] }] }],
    });
    const writer = new BgpMessageWriter(twoOctet);
    writer.write(route);
    expect(() => writer.write(wide)).toThrow(new BgpEncodeError(refusal(wide, twoOctet)));
    expect(writer.take()).toEqual(encodeBgpMessage(route, twoOctet));
  });

  it('refuses an AS_PATH segment of 256 ASNs, naming the count, on 4- and 2-octet sessions', () => {
    const long = makeUpdate({
      attributes: [
        { kind: 'as-path', segments: [{ type: 2, asns: Array.from({ length: 256 }, () => 65001) }] },
      ],
    });
    for (const session of [context, { as4: false }]) {
      const writer = new BgpMessageWriter(session);
      writer.write(route);
      expect(() => writer.write(long)).toThrow(/segment of 256 ASNs > 255/);
      expect(() => encodeBgpMessage(long, session)).toThrow(/segment of 256 ASNs > 255/);
      expect(writer.take()).toEqual(encodeBgpMessage(route, session));
    }
  });

  it('accepts the same UPDATE once extended messages are negotiated (setContext)', () => {
    const message = oversized['NLRI over the maximum']!;
    const extended: BgpCodecContext = { as4: true, extendedMessage: true };
    const writer = new BgpMessageWriter(context, 0);
    expect(() => writer.write(message)).toThrow(BgpEncodeError);
    writer.setContext(extended);
    writer.write(message);
    expect(writer.take()).toEqual(encodeBgpMessage(message, extended));
  });

  it('encodeBgpMessages refuses the whole list when one message is over the maximum', () => {
    const message = oversized['NLRI over the maximum']!;
    expect(() => encodeBgpMessages([route, message], context)).toThrow(
      new BgpEncodeError(refusal(message, context)),
    );
  });

  it('hands out batches the caller owns: later writes change none of them, full or nearly empty', () => {
    for (const initialCapacity of [0, 64, 200, 65536]) {
      const writer = new BgpMessageWriter(context, initialCapacity);
      const batches: Uint8Array[] = [];
      const snapshots: Uint8Array[] = [];
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i <= round; i++) writer.write(i % 2 ? KEEPALIVE_MESSAGE : route);
        const batch = writer.take();
        batches.push(batch);
        snapshots.push(batch.slice());
      }
      writer.write(route);
      expect(batches).toEqual(snapshots);
      const expected = (round: number) =>
        encodeBgpMessages(
          Array.from({ length: round + 1 }, (_, i) => (i % 2 ? KEEPALIVE_MESSAGE : route)),
          context,
        );
      for (const [round, batch] of batches.entries()) expect(batch).toEqual(expected(round));
    }
  });

  it('rejects a capacity that is not a non-negative integer, naming it', () => {
    expect(() => new BgpMessageWriter(context, -1)).toThrow(/initialCapacity -1/);
    expect(() => new BgpMessageWriter(context, 1.5)).toThrow(/initialCapacity 1.5/);
  });
});
