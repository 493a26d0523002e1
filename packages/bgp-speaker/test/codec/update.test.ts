// UPDATE tests: hand-made vectors from the RFC 4271/4760/6793/1997/4360/8092 layouts, every RFC 7606 case
// with its action (and code/subcode/data), the RFC 6793 merge, packing, JSON rendering, and byte-exact
// round trips of the real BIRD 2 ↔ GoBGP captures under test/fixtures.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type BgpCodecContext,
  BgpDecodeError,
  BgpFramer,
  type BgpUpdate,
  decodeBgpMessage,
  encodeAttributes,
  encodeBgpMessage,
  forForwarding,
  formatPrefix,
  makeUpdate,
  mergeAs4Path,
  messageToJson,
  packUpdates,
  parseCommunity,
  parsePrefix,
  reconcileAs4,
  updateAnnounced,
  updateWithdrawn,
  writeAttribute,
} from '../../src/codec/index.js';

const ctx: BgpCodecContext = { as4: true };
const marker = new Array<number>(16).fill(0xff);
function update(withdrawn: number[], attributes: number[], nlri: number[]): Uint8Array {
  const body = [
    withdrawn.length >> 8,
    withdrawn.length & 0xff,
    ...withdrawn,
    attributes.length >> 8,
    attributes.length & 0xff,
    ...attributes,
    ...nlri,
  ];
  return Uint8Array.from([...marker, (19 + body.length) >> 8, (19 + body.length) & 0xff, 2, ...body]);
}
const ORIGIN_IGP = [0x40, 1, 1, 0];
const AS_PATH_65001 = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9];
const NEXT_HOP_10_0_0_1 = [0x40, 3, 4, 10, 0, 0, 1];
const MANDATORY = [...ORIGIN_IGP, ...AS_PATH_65001, ...NEXT_HOP_10_0_0_1];
const NLRI_10_1_24 = [24, 10, 1, 0];

function decodeUpdate(bytes: Uint8Array, context: BgpCodecContext = ctx): BgpUpdate {
  const message = decodeBgpMessage(bytes, context);
  if (message.type !== 'update') throw new Error('not an UPDATE');
  return message;
}
function roundTrip(bytes: Uint8Array, context: BgpCodecContext = ctx): BgpUpdate {
  const decoded = decodeUpdate(bytes, context);
  expect(decoded.errors).toEqual([]);
  expect(encodeBgpMessage(decoded, context)).toEqual(bytes);
  expect(decodeBgpMessage(encodeBgpMessage(decoded, context), context)).toEqual(decoded);
  return decoded;
}
function thrown(bytes: Uint8Array, context: BgpCodecContext = ctx): BgpDecodeError {
  try {
    decodeBgpMessage(bytes, context);
  } catch (error) {
    if (error instanceof BgpDecodeError) return error;
    throw error;
  }
  throw new Error('expected a BgpDecodeError');
}

describe('UPDATE vectors', () => {
  it('decodes the mandatory attributes and classic NLRI', () => {
    const decoded = roundTrip(update([], MANDATORY, [...NLRI_10_1_24, 32, 192, 0, 2, 1, 0]));
    expect(decoded.attributes).toEqual([
      { kind: 'origin', flags: 0x40, value: 0 },
      { kind: 'as-path', flags: 0x40, segments: [{ type: 2, asns: [65001] }] },
      { kind: 'next-hop', flags: 0x40, address: 0x0a000001 },
    ]);
    expect(decoded.nlri.map((p) => formatPrefix(p))).toEqual(['10.1.0.0/24', '192.0.2.1/32', '0.0.0.0/0']);
  });

  it('decodes 2-octet AS_PATH with all segment types, AGGREGATOR, AS4_PATH, AS4_AGGREGATOR', () => {
    const attrs = [
      ...ORIGIN_IGP,
      ...[0x40, 2, 18, 2, 2, 0x5b, 0xa0, 0xfd, 0xe8, 1, 1, 0, 1, 3, 1, 0, 2, 4, 1, 0, 3],
      ...NEXT_HOP_10_0_0_1,
      ...[0xc0, 7, 6, 0x5b, 0xa0, 10, 0, 0, 9],
      ...[0xc0, 17, 10, 2, 2, 0, 1, 0x11, 0x70, 0, 0, 0xfd, 0xe8],
      ...[0xc0, 18, 8, 0, 1, 0x11, 0x70, 10, 0, 0, 9],
    ];
    const as2: BgpCodecContext = { as4: false };
    const decoded = roundTrip(update([], attrs, NLRI_10_1_24), as2);
    const asPath = decoded.attributes.find((a) => a.kind === 'as-path');
    expect(asPath).toEqual({
      kind: 'as-path',
      flags: 0x40,
      segments: [
        { type: 2, asns: [23456, 65000] },
        { type: 1, asns: [1] },
        { type: 3, asns: [2] },
        { type: 4, asns: [3] },
      ],
    });
    const merged = reconcileAs4(decoded.attributes);
    expect(merged.aggregator).toEqual({ asn: 70000, address: 0x0a000009 });
    // AS_PATH counts 3 (sequence of 2, a set counts 1, confederation segments 0), AS4_PATH 2: one leading ASN kept.
    expect(merged.asPath).toEqual([
      { type: 2, asns: [23456] },
      { type: 2, asns: [70000, 65000] },
    ]);
    expect(messageToJson(decoded)).toMatchObject({
      asPath: '23456 65000 {1} (2) [3]',
      as4Path: '70000 65000',
      aggregator: { asn: 23456, address: '10.0.0.9' },
    });
  });

  it('decodes MED, LOCAL_PREF, ATOMIC_AGGREGATE, COMMUNITIES, ORIGINATOR_ID, CLUSTER_LIST, extended and large communities', () => {
    const attrs = [
      ...MANDATORY,
      ...[0x80, 4, 4, 0, 0, 0, 100],
      ...[0x40, 5, 4, 0, 0, 0, 200],
      ...[0x40, 6, 0],
      ...[0xc0, 8, 12, 0xfd, 0xe8, 0, 1, 0xff, 0xff, 0xff, 0x01, 0xff, 0xff, 0x02, 0x9a],
      ...[0x80, 9, 4, 1, 2, 3, 4],
      ...[0x80, 10, 8, 5, 6, 7, 8, 9, 9, 9, 9],
      ...[0xc0, 16, 32],
      ...[0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 7],
      ...[0x01, 0x03, 192, 0, 2, 1, 0, 9],
      ...[0x02, 0x02, 0, 1, 0x11, 0x70, 0, 5],
      ...[0x03, 0x0c, 0, 0, 0, 0, 0, 8],
      ...[0xc0, 32, 12, 0, 1, 0x11, 0x70, 0, 0, 0, 1, 0, 0, 0, 2],
    ];
    const decoded = roundTrip(update([], attrs, NLRI_10_1_24));
    expect(messageToJson(decoded)).toMatchObject({
      type: 'update',
      announced: ['10.1.0.0/24'],
      origin: 'igp',
      nextHop: '10.0.0.1',
      med: 100,
      localPref: 200,
      atomicAggregate: true,
      communities: ['65000:1', 'NO_EXPORT', 'BLACKHOLE'],
      originatorId: '1.2.3.4',
      clusterList: ['5.6.7.8', '9.9.9.9'],
      extendedCommunities: ['rt:65000:7', 'ro:192.0.2.1:9', 'rt:70000:5', 'raw:030c000000000008'],
      largeCommunities: ['70000:1:2'],
    });
    expect(parseCommunity('NO_EXPORT')).toBe(0xffffff01);
    expect(parseCommunity('65000:1')).toBe(0xfde80001);
  });

  it('decodes MP_REACH_NLRI with a global + link-local next hop and MP_UNREACH_NLRI, with ADD-PATH ids', () => {
    const nextHop = [
      0x20,
      0x01,
      0x0d,
      0xb8,
      ...new Array(11).fill(0),
      1,
      0xfe,
      0x80,
      ...new Array(13).fill(0),
      2,
    ];
    const mpReach = [
      0x90,
      14,
      0,
      5 + 32 + 9 + 13,
      0,
      2,
      1,
      32,
      ...nextHop,
      0,
      0,
      0,
      0,
      7,
      32,
      0x20,
      0x01,
      0x0d,
      0xb8,
    ];
    mpReach.push(0, 0, 0, 8, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0);
    const mpUnreach = [0x80, 15, 3 + 5, 0, 2, 1, 0, 0, 0, 9, 0];
    const context: BgpCodecContext = { as4: true, addPath: [{ afi: 2, safi: 1 }] };
    const decoded = roundTrip(
      update([], [...mpReach, ...mpUnreach, ...ORIGIN_IGP, ...AS_PATH_65001], []),
      context,
    );
    expect(messageToJson(decoded)).toMatchObject({
      announced: ['2001:db8::/32 path-id 7', '2001:db8:1::/64 path-id 8'],
      withdrawn: ['::/0 path-id 9'],
      mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1 fe80::2' },
      nextHop: '2001:db8::1 fe80::2',
    });
    expect(updateAnnounced(decoded).map((p) => formatPrefix(p))).toEqual([
      '2001:db8::/32 path-id 7',
      '2001:db8:1::/64 path-id 8',
    ]);
    expect(updateWithdrawn(decoded).map((p) => formatPrefix(p))).toEqual(['::/0 path-id 9']);
  });

  it('keeps a non-zero MP_REACH_NLRI reserved octet', () => {
    const mpReach = [0x80, 14, 5 + 4 + 4, 0, 1, 2, 4, 10, 0, 0, 1, 9, 24, 10, 3, 0];
    const decoded = roundTrip(update([], [...ORIGIN_IGP, ...AS_PATH_65001, ...mpReach], []));
    expect(decoded.attributes.at(-1)).toMatchObject({ kind: 'mp-reach', afi: 1, safi: 2, reserved: 9 });
  });

  it('decodes IPv4 NLRI over an IPv6 next hop (RFC 8950)', () => {
    const mpReach = [
      0x80,
      14,
      5 + 16 + 4,
      0,
      1,
      1,
      16,
      0xfd,
      0,
      ...new Array(13).fill(0),
      1,
      0,
      24,
      10,
      2,
      0,
    ];
    const decoded = roundTrip(update([], [...ORIGIN_IGP, ...AS_PATH_65001, ...mpReach], []));
    expect(messageToJson(decoded)).toMatchObject({
      announced: ['10.2.0.0/24'],
      mpReach: { nextHop: 'fd00::1' },
    });
  });

  it('an AS_PATH over 255 octets gets the extended length (written in one pass, then moved), at any offset of a dirty buffer', () => {
    const asns = Array.from({ length: 70 }, (_, i) => 65000 + i);
    const value = [2, 70, ...asns.flatMap((asn) => [0, 0, asn >>> 8, asn & 0xff])];
    for (const flags of [undefined, 0x40, 0x50]) {
      const attribute =
        flags === undefined
          ? ({ kind: 'as-path', segments: [{ type: 2, asns }] } as const)
          : ({ kind: 'as-path', flags, segments: [{ type: 2, asns }] } as const);
      const expected = [0x50, 2, value.length >> 8, value.length & 0xff, ...value];
      const out = new Uint8Array(400).fill(0xaa);
      const end = writeAttribute(attribute, ctx, out, 7);
      expect(end).toBe(7 + expected.length);
      expect([...out.subarray(7, end)]).toEqual(expected);
      expect(out[6]).toBe(0xaa);
      expect(out[end]).toBe(0xaa);
      expect([...encodeAttributes([attribute], ctx)]).toEqual(expected);
    }
    // A short path with the extended-length flag set keeps the two-octet length.
    const short = writeAttribute(
      { kind: 'as-path', flags: 0x50, segments: [{ type: 2, asns: [65001] }] },
      ctx,
      new Uint8Array(16),
      0,
    );
    expect(short).toBe(4 + 6);
  });
  it('keeps the extended-length flag and an unknown optional transitive attribute, forwarding it with Partial', () => {
    const attrs = [
      0x50,
      1,
      0,
      1,
      0,
      ...AS_PATH_65001,
      ...NEXT_HOP_10_0_0_1,
      0xc0,
      99,
      2,
      0xab,
      0xcd,
      0x80,
      98,
      1,
      1,
    ];
    const decoded = roundTrip(update([], attrs, NLRI_10_1_24));
    expect(decoded.attributes[0]).toEqual({ kind: 'origin', flags: 0x50, value: 0 });
    const forwarded = forForwarding(decoded.attributes);
    expect(forwarded.at(-1)).toEqual({
      kind: 'unknown',
      flags: 0xe0,
      code: 99,
      value: Uint8Array.of(0xab, 0xcd),
    });
    expect(forwarded.some((a) => a.kind === 'unknown' && a.code === 98)).toBe(false);
  });

  it('keeps prefix host bits as received (byte-exact) but prints the network', () => {
    const decoded = roundTrip(update([], MANDATORY, [23, 10, 1, 1]));
    expect(formatPrefix(decoded.nlri[0]!)).toBe('10.1.0.0/23');
  });

  it('parses and formats prefixes', () => {
    for (const text of [
      '0.0.0.0/0',
      '10.0.0.0/8',
      '192.0.2.128/25',
      '::/0',
      '2001:db8::/32',
      'fd00:caca::1/128',
      '1:2:3:4:5:6:7:8/128',
    ])
      expect(formatPrefix(parsePrefix(text))).toBe(text);
    expect(() => parsePrefix('10.0.0.1/8')).toThrow(
      '"10.0.0.1/8": host bits set beyond /8 (the network is 10.0.0.0/8)',
    );
    expect(() => parsePrefix('10.0.0.0/33')).toThrow(
      '"10.0.0.0/33": prefix length must be 0..32 for IPv4, not 33',
    );
    expect(() => parsePrefix('2001:db8::/129')).toThrow(
      '"2001:db8::/129": prefix length must be 0..128 for IPv6, not 129',
    );
    expect(() => parsePrefix('10.0.0.0')).toThrow('"10.0.0.0": no prefix length (expected address/length)');
    expect(parsePrefix('10.1.0.0/16', 7)).toEqual({ afi: 1, address: 0x0a010000, length: 16, pathId: 7 });
  });
});

describe('RFC 7606 error handling', () => {
  const nlri = NLRI_10_1_24;
  const expectAction = (bytes: Uint8Array, action: string, code: number, subcode: number) => {
    const decoded = decodeUpdate(bytes);
    expect(decoded.errors.map((e) => [e.action, e.code, e.subcode])).toContainEqual([action, code, subcode]);
    expect(decoded.treatAsWithdraw).toBe(
      action === 'treat-as-withdraw' || decoded.errors.some((e) => e.action === 'treat-as-withdraw'),
    );
    return decoded;
  };

  it('withdrawn routes length inconsistent with the message: session reset 3/1', () => {
    const bytes = update([], [], []);
    bytes[20] = 9;
    expect(thrown(bytes)).toMatchObject({ code: 3, subcode: 1, action: 'session-reset' });
  });
  it('total path attribute length inconsistent: session reset 3/1', () => {
    const bytes = update([], ORIGIN_IGP, []);
    bytes[22] = 40;
    expect(thrown(bytes)).toMatchObject({ code: 3, subcode: 1, action: 'session-reset' });
  });
  it('attribute overrunning the attribute block: treat-as-withdraw', () => {
    expectAction(update([], [...MANDATORY, 0xc0, 8, 9, 0, 0, 0, 1], nlri), 'treat-as-withdraw', 3, 5);
  });
  it('truncated attribute header: treat-as-withdraw', () => {
    expectAction(update([], [...MANDATORY, 0xc0], nlri), 'treat-as-withdraw', 3, 1);
  });
  it('attribute errors carry the whole attribute (flags, type, length, value) as NOTIFICATION data', () => {
    const decoded = decodeUpdate(
      update([], [0x40, 1, 2, 0, 0, ...AS_PATH_65001, ...NEXT_HOP_10_0_0_1], nlri),
    );
    expect(decoded.errors[0]?.data).toEqual(Uint8Array.of(0x40, 1, 2, 0, 0));
    const extended = decodeUpdate(update([], [...MANDATORY, 0x50, 6, 0, 1, 7], nlri));
    expect(extended.errors[0]).toMatchObject({
      action: 'attribute-discard',
      data: Uint8Array.of(0x50, 6, 0, 1, 7),
    });
  });
  it('ORIGIN wrong length or undefined value: treat-as-withdraw (§7.1)', () => {
    expectAction(
      update([], [0x40, 1, 2, 0, 0, ...AS_PATH_65001, ...NEXT_HOP_10_0_0_1], nlri),
      'treat-as-withdraw',
      3,
      5,
    );
    expectAction(
      update([], [0x40, 1, 1, 3, ...AS_PATH_65001, ...NEXT_HOP_10_0_0_1], nlri),
      'treat-as-withdraw',
      3,
      6,
    );
  });
  it('malformed AS_PATH (overrun, bad type, zero-length segment): treat-as-withdraw 3/11 (§7.2)', () => {
    for (const asPath of [
      [0x40, 2, 4, 2, 2, 0, 1],
      [0x40, 2, 6, 7, 1, 0, 0, 0, 1],
      [0x40, 2, 2, 2, 0],
    ])
      expectAction(
        update([], [...ORIGIN_IGP, ...asPath, ...NEXT_HOP_10_0_0_1], nlri),
        'treat-as-withdraw',
        3,
        11,
      );
  });
  it('NEXT_HOP wrong length: treat-as-withdraw (§7.3)', () => {
    expectAction(
      update([], [...ORIGIN_IGP, ...AS_PATH_65001, 0x40, 3, 5, 10, 0, 0, 1, 0], nlri),
      'treat-as-withdraw',
      3,
      5,
    );
  });
  it('MED, LOCAL_PREF, ORIGINATOR_ID wrong length: treat-as-withdraw (§7.4, 7.5, 7.9)', () => {
    for (const attribute of [
      [0x80, 4, 3, 0, 0, 1],
      [0x40, 5, 2, 0, 1],
      [0x80, 9, 5, 1, 1, 1, 1, 1],
    ])
      expectAction(update([], [...MANDATORY, ...attribute], nlri), 'treat-as-withdraw', 3, 5);
  });
  it('ATOMIC_AGGREGATE with a value: attribute discarded (§7.6)', () => {
    const decoded = expectAction(update([], [...MANDATORY, 0x40, 6, 1, 0], nlri), 'attribute-discard', 3, 5);
    expect(decoded.treatAsWithdraw).toBe(false);
    expect(decoded.attributes.some((a) => a.kind === 'atomic-aggregate')).toBe(false);
  });
  it('AGGREGATOR of the wrong length for the session: attribute discarded (§7.7)', () => {
    const decoded = expectAction(
      update([], [...MANDATORY, 0xc0, 7, 6, 0xfd, 0xe8, 1, 2, 3, 4], nlri),
      'attribute-discard',
      3,
      5,
    );
    expect(decoded.treatAsWithdraw).toBe(false);
  });
  it('COMMUNITIES, CLUSTER_LIST, EXTENDED_COMMUNITIES, LARGE_COMMUNITY bad length: treat-as-withdraw', () => {
    for (const attribute of [
      [0xc0, 8, 3, 0, 0, 1],
      [0x80, 10, 0],
      [0xc0, 16, 4, 0, 2, 0, 1],
      [0xc0, 32, 8, 0, 0, 0, 1, 0, 0, 0, 1],
    ])
      expectAction(update([], [...MANDATORY, ...attribute], nlri), 'treat-as-withdraw', 3, 5);
  });
  it('AS4_PATH and AS4_AGGREGATOR malformed: attribute discarded', () => {
    expectAction(update([], [...MANDATORY, 0xc0, 17, 3, 2, 1, 0], nlri), 'attribute-discard', 3, 11);
    expectAction(update([], [...MANDATORY, 0xc0, 18, 6, 0, 0, 1, 1, 1, 1], nlri), 'attribute-discard', 3, 5);
  });
  it('wrong optional/transitive flags on a well-known attribute: treat-as-withdraw 3/4', () => {
    expectAction(
      update([], [0xc0, 1, 1, 0, ...AS_PATH_65001, ...NEXT_HOP_10_0_0_1], nlri),
      'treat-as-withdraw',
      3,
      4,
    );
  });
  it('missing well-known mandatory attribute with NLRI: treat-as-withdraw, 3/3 with the type in the data', () => {
    const decoded = decodeUpdate(update([], [...ORIGIN_IGP, ...AS_PATH_65001], nlri));
    expect(decoded.errors[0]).toMatchObject({
      code: 3,
      subcode: 3,
      action: 'treat-as-withdraw',
      data: Uint8Array.of(3),
    });
    expect(decodeUpdate(update([], [], [])).errors).toEqual([]);
  });
  it('every mandatory attribute missing: one treat-as-withdraw error each, in code order, naming it', () => {
    const decoded = decodeUpdate(update([], [0x80, 4, 4, 0, 0, 0, 1], nlri));
    expect(decoded.errors.map((error) => [error.data[0], error.message])).toEqual([
      [1, 'UPDATE: missing well-known mandatory attribute 1 (ORIGIN)'],
      [2, 'UPDATE: missing well-known mandatory attribute 2 (AS_PATH)'],
      [3, 'UPDATE: missing well-known mandatory attribute 3 (NEXT_HOP)'],
    ]);
    expect(decoded.treatAsWithdraw).toBe(true);
  });
  it('MP_REACH_NLRI only: ORIGIN and AS_PATH are mandatory, NEXT_HOP is not', () => {
    const mpReach = [
      0x80,
      14,
      5 + 16 + 5,
      0,
      2,
      1,
      16,
      ...new Array<number>(15).fill(0),
      1,
      0,
      32,
      0x20,
      1,
      0x0d,
      0xb8,
    ];
    expect(decodeUpdate(update([], [...AS_PATH_65001, ...mpReach], [])).errors.map((e) => e.data[0])).toEqual(
      [1],
    );
    expect(decodeUpdate(update([], [...ORIGIN_IGP, ...AS_PATH_65001, ...mpReach], [])).errors).toEqual([]);
  });
  it('an attribute code above 31 twice: the first is kept; the next UPDATE starts afresh', () => {
    const large = (value: number) => [0xc0, 32, 12, 0, 0, 0xfd, 0xe8, 0, 0, 0, 1, 0, 0, 0, value];
    const twice = decodeUpdate(update([], [...MANDATORY, ...large(1), ...large(2)], nlri));
    expect(twice.errors.map((e) => [e.action, e.message])).toEqual([
      ['attribute-discard', 'UPDATE: attribute 32 repeated; the first is kept'],
    ]);
    expect(twice.attributes.filter((a) => a.kind === 'large-communities')).toHaveLength(1);
    // The per-UPDATE bookkeeping of codes above 31 must not leak into the next message.
    for (let i = 0; i < 3; i++)
      expect(decodeUpdate(update([], [...MANDATORY, ...large(i)], nlri)).errors).toEqual([]);
  });
  it('MP_REACH_NLRI twice: session reset 3/1', () => {
    const mpUnreach = [0x80, 15, 3, 0, 2, 1];
    expect(thrown(update([], [...mpUnreach, ...mpUnreach], []))).toMatchObject({
      code: 3,
      subcode: 1,
      action: 'session-reset',
    });
  });
  it('MP_REACH_NLRI too short for AFI/SAFI: session reset; bad NLRI inside: afi-safi-disable', () => {
    expect(thrown(update([], [0x80, 14, 2, 0, 2], []))).toMatchObject({ code: 3, action: 'session-reset' });
    const mpReach = [0x80, 14, 5 + 4 + 2, 0, 1, 1, 4, 10, 0, 0, 1, 0, 33, 10];
    expectAction(update([], [...ORIGIN_IGP, ...AS_PATH_65001, ...mpReach], []), 'afi-safi-disable', 3, 9);
  });
  it('other attribute twice: the first is kept, the rest discarded', () => {
    const decoded = decodeUpdate(
      update([], [...MANDATORY, 0x80, 4, 4, 0, 0, 0, 1, 0x80, 4, 4, 0, 0, 0, 2], nlri),
    );
    expect(decoded.attributes.filter((a) => a.kind === 'med')).toEqual([
      { kind: 'med', flags: 0x80, value: 1 },
    ]);
    expect(decoded.errors.map((e) => e.action)).toEqual(['attribute-discard']);
    expect(decoded.treatAsWithdraw).toBe(false);
  });
  it('IPv4 prefix length over 32 in NLRI or withdrawn: session reset 3/10', () => {
    expect(thrown(update([], MANDATORY, [33, 10, 0, 0, 0, 0]))).toMatchObject({
      code: 3,
      subcode: 10,
      action: 'session-reset',
    });
    expect(thrown(update([40, 1, 1, 1, 1, 1], [], []))).toMatchObject({
      code: 3,
      subcode: 10,
      action: 'session-reset',
    });
  });
  it('NLRI overrunning the message: session reset', () => {
    expect(thrown(update([], MANDATORY, [24, 10, 1]))).toMatchObject({ code: 3, action: 'session-reset' });
  });
  it('unrecognized well-known attribute: session reset 3/2', () => {
    expect(thrown(update([], [...MANDATORY, 0x40, 99, 0], nlri))).toMatchObject({ code: 3, subcode: 2 });
  });
  it('IPv6 Address Specific Extended Community not a multiple of 20, ATTR_SET under 4 octets: treat-as-withdraw (§7.15, §7.16)', () => {
    expectAction(
      update([], [...MANDATORY, 0xc0, 25, 8, 0, 2, 0, 0, 0, 0, 0, 0], nlri),
      'treat-as-withdraw',
      3,
      5,
    );
    expectAction(update([], [...MANDATORY, 0xc0, 128, 2, 0, 1], nlri), 'treat-as-withdraw', 3, 5);
    const valid = roundTrip(update([], [...MANDATORY, 0xc0, 128, 4, 0, 0, 0xfd, 0xe8], nlri));
    expect(valid.attributes.at(-1)).toMatchObject({ kind: 'unknown', code: 128 });
  });
  it('an UPDATE with no NLRI and only bad attributes keeps the session', () => {
    const decoded = decodeUpdate(update([], [0x40, 1, 5, 0, 0, 0, 0, 0, 0x40, 6, 3, 0, 0, 0], []));
    expect(decoded.errors.map((e) => e.action)).toEqual(['treat-as-withdraw', 'attribute-discard']);
    expect(messageToJson(decoded)).toMatchObject({
      treatAsWithdraw: true,
      errors: [{ code: 3, subcode: 5, action: 'treat-as-withdraw' }, {}],
    });
  });
});

describe('RFC 6793 merge', () => {
  it('keeps the leading AS_PATH ASNs beyond AS4_PATH and ignores a longer AS4_PATH', () => {
    const asPath = [{ type: 2 as const, asns: [65001, 23456, 23456] }];
    expect(mergeAs4Path(asPath, [{ type: 2, asns: [70000, 80000] }])).toEqual([
      { type: 2, asns: [65001] },
      { type: 2, asns: [70000, 80000] },
    ]);
    expect(mergeAs4Path(asPath, [{ type: 2, asns: [1, 2, 3, 4] }])).toEqual(asPath);
  });
});

describe('packing', () => {
  it('fills each UPDATE up to the maximum length and carries every prefix once', () => {
    const prefixes = Array.from({ length: 5000 }, (_, i) => ({
      afi: 1 as const,
      address: (0x0a000000 + i) >>> 0,
      length: 32,
    }));
    const attributes = makeUpdate({}).attributes.concat([
      { kind: 'origin', value: 0 },
      { kind: 'as-path', segments: [{ type: 2, asns: [65001] }] },
      { kind: 'next-hop', address: 0x0a000001 },
    ]);
    const messages = packUpdates(
      { attributes, announced: prefixes, withdrawn: prefixes.slice(0, 3000) },
      ctx,
    );
    const decoded = messages.map((bytes) => decodeUpdate(bytes));
    expect(decoded.flatMap((u) => u.nlri)).toEqual(prefixes);
    expect(decoded.flatMap((u) => u.withdrawn)).toEqual(prefixes.slice(0, 3000));
    const withdrawals = Math.ceil((3000 * 5) / 4073);
    expect(messages.length).toBe(withdrawals + Math.ceil((5000 * 5) / (4096 - 23 - 21)));
    for (const group of [messages.slice(0, withdrawals), messages.slice(withdrawals)])
      for (const bytes of group.slice(0, -1)) expect(bytes.length).toBeGreaterThan(4096 - 5);
  });

  it('packs IPv6 announcements and withdrawals in MP attributes, extended messages included', () => {
    const prefixes = Array.from({ length: 3000 }, (_, i) => parsePrefix(`2001:db8:${i.toString(16)}::/48`));
    const nextHop = Uint8Array.from([0xfd, 0, ...new Array(13).fill(0), 1]);
    const context: BgpCodecContext = { as4: true, extendedMessage: true };
    const attributes = [{ kind: 'origin', value: 0 } as const, { kind: 'as-path', segments: [] } as const];
    const messages = packUpdates(
      { attributes, announced: prefixes, withdrawn: prefixes, ipv6NextHop: nextHop },
      context,
    );
    const decoded = messages.map((bytes) => decodeUpdate(bytes, context));
    expect(decoded.every((u) => u.errors.length === 0)).toBe(true);
    const announced = decoded.flatMap((u) =>
      u.attributes.flatMap((a) => (a.kind === 'mp-reach' ? a.nlri : [])),
    );
    const withdrawn = decoded.flatMap((u) =>
      u.attributes.flatMap((a) => (a.kind === 'mp-unreach' ? a.withdrawn : [])),
    );
    expect(announced).toEqual(prefixes);
    expect(withdrawn).toEqual(prefixes);
    expect(messages.length).toBe(2);
  });
});

describe('real BIRD 2 ↔ GoBGP captures', () => {
  const dir = fileURLToPath(new URL('../fixtures/', import.meta.url));
  const files = readdirSync(dir).filter((name) => name.endsWith('.bgp'));
  it('has fixtures', () => expect(files.length).toBeGreaterThan(0));
  for (const name of files) {
    it(`${name} round-trips byte for byte`, () => {
      const context: BgpCodecContext = {
        as4: true,
        ...(name.includes('add-path') ? { addPath: [{ afi: 1, safi: 1 }] } : {}),
      };
      const framer = new BgpFramer(context);
      const messages = framer.push(new Uint8Array(readFileSync(`${dir}${name}`)));
      expect(framer.pendingLength).toBe(0);
      const types = new Set<string>();
      for (const bytes of messages) {
        const decoded = decodeBgpMessage(bytes, context);
        types.add(decoded.type);
        if (decoded.type === 'update') expect(decoded.errors).toEqual([]);
        expect(encodeBgpMessage(decoded, context)).toEqual(bytes);
      }
      expect(types).toContain('open');
      expect(types).toContain('update');
    });
  }
});
