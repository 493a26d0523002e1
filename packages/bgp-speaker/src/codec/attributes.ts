// Path attributes (RFC 4271 §4.3/§5, 4760, 6793, 1997, 4360, 4456, 8092): one type per attribute, a
// code → decoder table carrying each attribute's expected flags and its RFC 7606 §7 error action, Unknown
// keeping raw bytes, and the encoder (value length, value writer, whole attribute block).

import {
  type BgpCodecContext,
  BgpDecodeError,
  BgpEncodeError,
  type BgpErrorAction,
  hasAddPath,
} from './errors.js';
import { type BgpPrefix, nlriEncodedLength, readNlri, writeNlri } from './prefix.js';

export const AttributeFlag = {
  optional: 0x80,
  transitive: 0x40,
  partial: 0x20,
  extendedLength: 0x10,
} as const;

/** AS_PATH segment types: 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET. */
export interface AsPathSegment {
  readonly type: 1 | 2 | 3 | 4;
  readonly asns: readonly number[];
}

export interface LargeCommunity {
  readonly global: number;
  readonly local1: number;
  readonly local2: number;
}

/** RFC 4360 extended community; `type` is the high-order type octet as received (keeps the transitive bit). */
export type BgpExtendedCommunity =
  | {
      readonly kind: 'two-octet-as' | 'four-octet-as' | 'ipv4-address';
      readonly type: number;
      readonly subtype: number;
      /** ASN (2 or 4 octets) or IPv4 address as uint32, the "global administrator". */
      readonly global: number;
      readonly local: number;
    }
  | { readonly kind: 'opaque'; readonly bytes: Uint8Array };

interface Flagged {
  /** Attribute flags octet as on the wire; absent = this attribute's standard flags. */
  readonly flags?: number;
}

export interface OriginAttribute extends Flagged {
  readonly kind: 'origin';
  /** 0 IGP, 1 EGP, 2 INCOMPLETE. */
  readonly value: number;
}
export interface AsPathAttribute extends Flagged {
  readonly kind: 'as-path';
  readonly segments: readonly AsPathSegment[];
}
export interface As4PathAttribute extends Flagged {
  readonly kind: 'as4-path';
  readonly segments: readonly AsPathSegment[];
}
export interface NextHopAttribute extends Flagged {
  readonly kind: 'next-hop';
  /** IPv4 address as uint32. */
  readonly address: number;
}
export interface MedAttribute extends Flagged {
  readonly kind: 'med';
  readonly value: number;
}
export interface LocalPrefAttribute extends Flagged {
  readonly kind: 'local-pref';
  readonly value: number;
}
export interface AtomicAggregateAttribute extends Flagged {
  readonly kind: 'atomic-aggregate';
}
export interface AggregatorAttribute extends Flagged {
  readonly kind: 'aggregator';
  readonly asn: number;
  readonly address: number;
}
export interface As4AggregatorAttribute extends Flagged {
  readonly kind: 'as4-aggregator';
  readonly asn: number;
  readonly address: number;
}
export interface CommunitiesAttribute extends Flagged {
  readonly kind: 'communities';
  /** 32-bit values (asn << 16 | value). */
  readonly values: readonly number[];
}
export interface OriginatorIdAttribute extends Flagged {
  readonly kind: 'originator-id';
  readonly id: number;
}
export interface ClusterListAttribute extends Flagged {
  readonly kind: 'cluster-list';
  readonly ids: readonly number[];
}
export interface MpReachAttribute extends Flagged {
  readonly kind: 'mp-reach';
  readonly afi: number;
  readonly safi: number;
  /** 4 (IPv4), 16 (IPv6 global) or 32 (global + link-local) octets. */
  readonly nextHop: Uint8Array;
  /** The reserved octet after the next hop (RFC 4760), present only when not zero. */
  readonly reserved?: number;
  readonly nlri: readonly BgpPrefix[];
}
export interface MpUnreachAttribute extends Flagged {
  readonly kind: 'mp-unreach';
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn: readonly BgpPrefix[];
}
export interface ExtendedCommunitiesAttribute extends Flagged {
  readonly kind: 'extended-communities';
  readonly values: readonly BgpExtendedCommunity[];
}
export interface LargeCommunitiesAttribute extends Flagged {
  readonly kind: 'large-communities';
  readonly values: readonly LargeCommunity[];
}
/** Any attribute this codec does not model (or MP attributes of other families): raw value bytes. */
export interface UnknownAttribute extends Flagged {
  readonly kind: 'unknown';
  readonly code: number;
  readonly value: Uint8Array;
}

export type BgpPathAttribute =
  | OriginAttribute
  | AsPathAttribute
  | As4PathAttribute
  | NextHopAttribute
  | MedAttribute
  | LocalPrefAttribute
  | AtomicAggregateAttribute
  | AggregatorAttribute
  | As4AggregatorAttribute
  | CommunitiesAttribute
  | OriginatorIdAttribute
  | ClusterListAttribute
  | MpReachAttribute
  | MpUnreachAttribute
  | ExtendedCommunitiesAttribute
  | LargeCommunitiesAttribute
  | UnknownAttribute;

export type BgpAttributeKind = BgpPathAttribute['kind'];

/** Type code, standard flags (optional/transitive) and RFC 7606 action per known attribute. */
export const ATTRIBUTE_SPECS = {
  origin: { code: 1, flags: 0x40, action: 'treat-as-withdraw' },
  'as-path': { code: 2, flags: 0x40, action: 'treat-as-withdraw' },
  'next-hop': { code: 3, flags: 0x40, action: 'treat-as-withdraw' },
  med: { code: 4, flags: 0x80, action: 'treat-as-withdraw' },
  'local-pref': { code: 5, flags: 0x40, action: 'treat-as-withdraw' },
  'atomic-aggregate': { code: 6, flags: 0x40, action: 'attribute-discard' },
  aggregator: { code: 7, flags: 0xc0, action: 'attribute-discard' },
  communities: { code: 8, flags: 0xc0, action: 'treat-as-withdraw' },
  'originator-id': { code: 9, flags: 0x80, action: 'treat-as-withdraw' },
  'cluster-list': { code: 10, flags: 0x80, action: 'treat-as-withdraw' },
  'mp-reach': { code: 14, flags: 0x80, action: 'afi-safi-disable' },
  'mp-unreach': { code: 15, flags: 0x80, action: 'afi-safi-disable' },
  'extended-communities': { code: 16, flags: 0xc0, action: 'treat-as-withdraw' },
  'as4-path': { code: 17, flags: 0xc0, action: 'attribute-discard' },
  'as4-aggregator': { code: 18, flags: 0xc0, action: 'attribute-discard' },
  'large-communities': { code: 32, flags: 0xc0, action: 'treat-as-withdraw' },
} as const satisfies Record<
  Exclude<BgpAttributeKind, 'unknown'>,
  { code: number; flags: number; action: BgpErrorAction }
>;

type KnownKind = keyof typeof ATTRIBUTE_SPECS;
const KIND_BY_CODE = new Map<number, KnownKind>(
  (Object.keys(ATTRIBUTE_SPECS) as KnownKind[]).map((kind) => [ATTRIBUTE_SPECS[kind].code, kind]),
);

export function attributeCode(attribute: BgpPathAttribute): number {
  // The common kinds by switch: a keyed lookup into ATTRIBUTE_SPECS costs more per attribute on encode.
  switch (attribute.kind) {
    case 'origin':
      return 1;
    case 'as-path':
      return 2;
    case 'next-hop':
      return 3;
    case 'med':
      return 4;
    case 'local-pref':
      return 5;
    case 'communities':
      return 8;
    case 'unknown':
      return attribute.code;
    default:
      return ATTRIBUTE_SPECS[attribute.kind].code;
  }
}

export function attributeKindOfCode(code: number): BgpAttributeKind {
  return KIND_BY_CODE.get(code) ?? 'unknown';
}

function defaultFlags(attribute: BgpPathAttribute): number {
  // Same switch-first shape as attributeCode, for the same reason.
  switch (attribute.kind) {
    case 'origin':
    case 'as-path':
    case 'next-hop':
    case 'local-pref':
      return 0x40;
    case 'med':
      return 0x80;
    case 'communities':
    case 'unknown':
      return 0xc0;
    default:
      return ATTRIBUTE_SPECS[attribute.kind].flags;
  }
}

// ---------------------------------------------------------------- decoding

const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number) =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** Either the decoded attribute or a reason (with RFC 4271 subcode) it is malformed. */
type AttributeDecodeResult = BgpPathAttribute | Malformed;

function malformed(reason: string, subcode = 5): { malformed: string; subcode: number } {
  return { malformed: reason, subcode };
}

function decodeSegments(v: Uint8Array, asSize: 2 | 4): readonly AsPathSegment[] | string {
  const segments: AsPathSegment[] = [];
  let at = 0;
  while (at < v.length) {
    if (at + 2 > v.length) return `segment header at offset ${at} truncated`;
    const type = v[at]!;
    const count = v[at + 1]!;
    if (type < 1 || type > 4) return `segment type ${type} at offset ${at} is not 1..4`;
    if (count === 0) return `zero-length segment at offset ${at}`;
    const end = at + 2 + count * asSize;
    if (end > v.length) return `segment at offset ${at} with ${count} ASNs overruns the attribute`;
    const asns: number[] = new Array(count);
    for (let i = 0; i < count; i++) asns[i] = asSize === 4 ? u32(v, at + 2 + i * 4) : u16(v, at + 2 + i * 2);
    segments.push({ type: type as AsPathSegment['type'], asns });
    at = end;
  }
  return segments;
}

function decodeExtendedCommunity(v: Uint8Array, at: number): BgpExtendedCommunity {
  const type = v[at]!;
  const subtype = v[at + 1]!;
  switch (type & 0xbf) {
    case 0x00:
      return { kind: 'two-octet-as', type, subtype, global: u16(v, at + 2), local: u32(v, at + 4) };
    case 0x01:
      return { kind: 'ipv4-address', type, subtype, global: u32(v, at + 2), local: u16(v, at + 6) };
    case 0x02:
      return { kind: 'four-octet-as', type, subtype, global: u32(v, at + 2), local: u16(v, at + 6) };
    default:
      return { kind: 'opaque', bytes: v.subarray(at, at + 8) };
  }
}

/**
 * RFC 7606 §7.15 and §7.16 length rules for attributes kept raw: IPv6 Address Specific Extended Community
 * (25, a positive multiple of 20 octets) and ATTR_SET (128, at least the 4-octet origin AS); both
 * treat-as-withdraw.
 */
function opaqueAttributeProblem(code: number, length: number): string | undefined {
  if (code === 25 && (length === 0 || length % 20 !== 0))
    return `IPv6 Address Specific Extended Community length ${length} is not a positive multiple of 20`;
  if (code === 128 && length < 4) return `ATTR_SET length ${length} < 4 (origin AS)`;
  return undefined;
}

function isSupportedFamily(afi: number, safi: number): boolean {
  return (afi === 1 || afi === 2) && (safi === 1 || safi === 2);
}

/**
 * The whole attribute (flags, type, length, value) around a value view taken from the message; built only
 * for error data, so the decode path makes no extra view per attribute.
 */
function wholeAttribute(flags: number, value: Uint8Array): Uint8Array {
  const headerLength = flags & AttributeFlag.extendedLength ? 4 : 3;
  if (value.byteOffset < headerLength) return value;
  return new Uint8Array(value.buffer, value.byteOffset - headerLength, value.length + headerLength);
}

/**
 * Decodes one attribute value (a view into the UPDATE, preceded by its attribute header). Never throws
 * except for session-reset conditions (unrecognized well-known attribute, MP attribute whose AFI/SAFI cannot
 * be read); malformed values come back as a BgpDecodeError carrying the RFC 7606 action, with the whole
 * attribute as data.
 */
export function decodePathAttribute(
  flags: number,
  code: number,
  value: Uint8Array,
  context: BgpCodecContext,
): BgpPathAttribute | BgpDecodeError {
  const kind = KIND_BY_CODE.get(code);
  if (kind === undefined) {
    if ((flags & AttributeFlag.optional) === 0)
      throw new BgpDecodeError(
        3,
        2,
        wholeAttribute(flags, value),
        'session-reset',
        `UPDATE: unrecognized well-known attribute type ${code}`,
      );
    const problem = opaqueAttributeProblem(code, value.length);
    if (problem !== undefined)
      return new BgpDecodeError(
        3,
        5,
        wholeAttribute(flags, value),
        'treat-as-withdraw',
        `UPDATE: malformed attribute ${code}: ${problem}`,
      );
    return { kind: 'unknown', flags, code, value };
  }
  const spec = ATTRIBUTE_SPECS[kind];
  if ((kind === 'mp-reach' && value.length < 5) || (kind === 'mp-unreach' && value.length < 3))
    throw new BgpDecodeError(
      3,
      9,
      wholeAttribute(flags, value),
      'session-reset',
      `UPDATE: ${kind === 'mp-reach' ? 'MP_REACH_NLRI' : 'MP_UNREACH_NLRI'} length ${value.length} too short to hold AFI/SAFI`,
    );
  if ((flags & 0xc0) !== spec.flags)
    return new BgpDecodeError(
      3,
      4,
      wholeAttribute(flags, value),
      spec.action === 'afi-safi-disable' ? 'afi-safi-disable' : spec.action,
      `UPDATE: attribute ${code} (${kind}) flags 0x${flags.toString(16)} conflict with optional/transitive 0x${spec.flags.toString(16)}`,
    );
  let result: AttributeDecodeResult;
  try {
    result = (ATTRIBUTE_CODECS[kind] as AttributeCodec<BgpPathAttribute>).decode(value, flags, context);
  } catch (error) {
    if (error instanceof BgpDecodeError)
      return new BgpDecodeError(
        3,
        9,
        wholeAttribute(flags, value),
        'afi-safi-disable',
        `UPDATE: ${error.message}`,
      );
    throw error;
  }
  if ('malformed' in result)
    return new BgpDecodeError(
      3,
      result.subcode,
      wholeAttribute(flags, value),
      spec.action,
      `UPDATE: malformed attribute ${code}: ${result.malformed}`,
    );
  return result;
}

// ---------------------------------------------------------------- encoding

function put16(out: Uint8Array, at: number, value: number): number {
  out[at] = value >>> 8;
  out[at + 1] = value;
  return at + 2;
}
function put32(out: Uint8Array, at: number, value: number): number {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
  return at + 4;
}

// ---------------------------------------------------------------- one contract per attribute

/** Decode, encode and encodedLength of one attribute type (value only: flags/type/length are generic). */
export interface AttributeCodec<A extends BgpPathAttribute> {
  decode(value: Uint8Array, flags: number, context: BgpCodecContext): A | UnknownAttribute | Malformed;
  valueLength(attribute: A, context: BgpCodecContext): number;
  /** Writes the value at `at`; returns the offset after it. */
  write(attribute: A, context: BgpCodecContext, out: Uint8Array, at: number): number;
}

interface Malformed {
  readonly malformed: string;
  readonly subcode: number;
}

type AttributeCodecTable = {
  readonly [K in KnownKind]: AttributeCodec<Extract<BgpPathAttribute, { kind: K }>>;
};

const fixed4 = <A extends BgpPathAttribute>(
  name: string,
  make: (value: number, flags: number) => A,
  read: (attribute: A) => number,
): AttributeCodec<A> => ({
  decode: (v, flags) =>
    v.length === 4 ? make(u32(v, 0), flags) : malformed(`${name} length ${v.length}, expected 4`),
  valueLength: () => 4,
  write: (attribute, _context, out, at) => put32(out, at, read(attribute)),
});

type AnyAsPath = AsPathAttribute | As4PathAttribute;
function asPathCodec(kind: AnyAsPath['kind'], name: string): AttributeCodec<AnyAsPath> {
  const size = (context: BgpCodecContext) => (kind === 'as4-path' || context.as4 ? 4 : 2);
  return {
    decode: (v, flags, context) => {
      const segments = decodeSegments(v, size(context));
      if (typeof segments === 'string') return malformed(`${name} ${segments}`, 11);
      return { kind, flags, segments };
    },
    valueLength: (attribute, context) => {
      let total = 0;
      for (const segment of attribute.segments) total += 2 + segment.asns.length * size(context);
      return total;
    },
    write: (attribute, context, out, at) => {
      const wide = size(context) === 4;
      for (const segment of attribute.segments) {
        if (segment.asns.length > 255)
          throw new BgpEncodeError(`${name} segment of ${segment.asns.length} ASNs > 255`);
        out[at++] = segment.type;
        out[at++] = segment.asns.length;
        for (const asn of segment.asns) {
          if (!wide && asn > 0xffff) throw new BgpEncodeError(`ASN ${asn} does not fit a 2-octet ${name}`);
          at = wide ? put32(out, at, asn) : put16(out, at, asn);
        }
      }
      return at;
    },
  };
}

type AnyAggregator = AggregatorAttribute | As4AggregatorAttribute;
function aggregatorCodec(kind: AnyAggregator['kind'], name: string): AttributeCodec<AnyAggregator> {
  const wide = (context: BgpCodecContext) => kind === 'as4-aggregator' || context.as4;
  return {
    decode: (v, flags, context) => {
      const expected = wide(context) ? 8 : 6;
      if (v.length !== expected) return malformed(`${name} length ${v.length}, expected ${expected}`);
      const asn = expected === 8 ? u32(v, 0) : u16(v, 0);
      return { kind, flags, asn, address: u32(v, expected - 4) };
    },
    valueLength: (_attribute, context) => (wide(context) ? 8 : 6),
    write: (attribute, context, out, at) => {
      if (wide(context)) at = put32(out, at, attribute.asn);
      else {
        if (attribute.asn > 0xffff)
          throw new BgpEncodeError(`${name} ASN ${attribute.asn} does not fit 2 octets`);
        at = put16(out, at, attribute.asn);
      }
      return put32(out, at, attribute.address);
    },
  };
}

type AnyU32List = CommunitiesAttribute | ClusterListAttribute;
function u32ListCodec(kind: AnyU32List['kind'], name: string): AttributeCodec<AnyU32List> {
  const list = (attribute: AnyU32List) =>
    attribute.kind === 'communities' ? attribute.values : attribute.ids;
  return {
    decode: (v, flags) => {
      if (v.length === 0 || v.length % 4 !== 0)
        return malformed(`${name} length ${v.length} is not a positive multiple of 4`);
      const values: number[] = new Array(v.length >>> 2);
      for (let i = 0; i < values.length; i++) values[i] = u32(v, i * 4);
      return kind === 'communities' ? { kind, flags, values } : { kind, flags, ids: values };
    },
    valueLength: (attribute) => list(attribute).length * 4,
    write: (attribute, _context, out, at) => {
      for (const value of list(attribute)) at = put32(out, at, value);
      return at;
    },
  };
}

/** The code → decoder table: every modelled attribute's decode / valueLength / write. */
export const ATTRIBUTE_CODECS: AttributeCodecTable = {
  origin: {
    decode: (v, flags) => {
      if (v.length !== 1) return malformed(`ORIGIN length ${v.length}, expected 1`);
      if (v[0]! > 2) return malformed(`ORIGIN value ${v[0]} is not 0 (IGP), 1 (EGP) or 2 (INCOMPLETE)`, 6);
      return { kind: 'origin', flags, value: v[0]! };
    },
    valueLength: () => 1,
    write: (attribute, _context, out, at) => {
      out[at] = attribute.value;
      return at + 1;
    },
  },
  'as-path': asPathCodec('as-path', 'AS_PATH') as AttributeCodec<AsPathAttribute>,
  'as4-path': asPathCodec('as4-path', 'AS4_PATH') as AttributeCodec<As4PathAttribute>,
  'next-hop': fixed4(
    'NEXT_HOP',
    (address, flags) => ({ kind: 'next-hop', flags, address }),
    (a) => a.address,
  ),
  med: fixed4(
    'MULTI_EXIT_DISC',
    (value, flags) => ({ kind: 'med', flags, value }),
    (a) => a.value,
  ),
  'local-pref': fixed4(
    'LOCAL_PREF',
    (value, flags) => ({ kind: 'local-pref', flags, value }),
    (a) => a.value,
  ),
  'originator-id': fixed4(
    'ORIGINATOR_ID',
    (id, flags) => ({ kind: 'originator-id', flags, id }),
    (a) => a.id,
  ),
  'atomic-aggregate': {
    decode: (v, flags) =>
      v.length === 0
        ? { kind: 'atomic-aggregate', flags }
        : malformed(`ATOMIC_AGGREGATE length ${v.length}, expected 0`),
    valueLength: () => 0,
    write: (_attribute, _context, _out, at) => at,
  },
  aggregator: aggregatorCodec('aggregator', 'AGGREGATOR') as AttributeCodec<AggregatorAttribute>,
  'as4-aggregator': aggregatorCodec(
    'as4-aggregator',
    'AS4_AGGREGATOR',
  ) as AttributeCodec<As4AggregatorAttribute>,
  communities: u32ListCodec('communities', 'COMMUNITIES') as AttributeCodec<CommunitiesAttribute>,
  'cluster-list': u32ListCodec('cluster-list', 'CLUSTER_LIST') as AttributeCodec<ClusterListAttribute>,
  'extended-communities': {
    decode: (v, flags) => {
      if (v.length === 0 || v.length % 8 !== 0)
        return malformed(`EXTENDED_COMMUNITIES length ${v.length} is not a positive multiple of 8`);
      const values: BgpExtendedCommunity[] = [];
      for (let at = 0; at < v.length; at += 8) values.push(decodeExtendedCommunity(v, at));
      return { kind: 'extended-communities', flags, values };
    },
    valueLength: (attribute) => attribute.values.length * 8,
    write: (attribute, _context, out, at) => {
      for (const community of attribute.values) {
        if (community.kind === 'opaque') out.set(community.bytes.subarray(0, 8), at);
        else {
          out[at] = community.type;
          out[at + 1] = community.subtype;
          if (community.kind === 'two-octet-as') {
            put16(out, at + 2, community.global);
            put32(out, at + 4, community.local);
          } else {
            put32(out, at + 2, community.global);
            put16(out, at + 6, community.local);
          }
        }
        at += 8;
      }
      return at;
    },
  },
  'large-communities': {
    decode: (v, flags) => {
      if (v.length === 0 || v.length % 12 !== 0)
        return malformed(`LARGE_COMMUNITY length ${v.length} is not a positive multiple of 12`);
      const values: LargeCommunity[] = [];
      for (let at = 0; at < v.length; at += 12)
        values.push({ global: u32(v, at), local1: u32(v, at + 4), local2: u32(v, at + 8) });
      return { kind: 'large-communities', flags, values };
    },
    valueLength: (attribute) => attribute.values.length * 12,
    write: (attribute, _context, out, at) => {
      for (const value of attribute.values) {
        at = put32(out, at, value.global);
        at = put32(out, at, value.local1);
        at = put32(out, at, value.local2);
      }
      return at;
    },
  },
  'mp-reach': {
    decode: (v, flags, context) => {
      const afi = u16(v, 0);
      const safi = v[2]!;
      if (!isSupportedFamily(afi, safi)) return { kind: 'unknown', flags, code: 14, value: v };
      const nextHopLength = v[3]!;
      if (nextHopLength !== 4 && nextHopLength !== 16 && nextHopLength !== 32)
        return malformed(`MP_REACH_NLRI next hop length ${nextHopLength} is not 4, 16 or 32`, 9);
      if (4 + nextHopLength + 1 > v.length)
        return malformed(`MP_REACH_NLRI next hop length ${nextHopLength} overruns the attribute`, 9);
      const nlri = readNlri(
        v,
        5 + nextHopLength,
        v.length,
        afi as 1 | 2,
        hasAddPath(context, afi, safi),
        'MP_REACH_NLRI NLRI',
      );
      const nextHop = v.subarray(4, 4 + nextHopLength);
      const reserved = v[4 + nextHopLength]!;
      return reserved === 0
        ? { kind: 'mp-reach', flags, afi, safi, nextHop, nlri }
        : { kind: 'mp-reach', flags, afi, safi, nextHop, reserved, nlri };
    },
    valueLength: (attribute) => 5 + attribute.nextHop.length + nlriEncodedLength(attribute.nlri),
    write: (attribute, _context, out, at) => {
      at = put16(out, at, attribute.afi);
      out[at++] = attribute.safi;
      out[at++] = attribute.nextHop.length;
      out.set(attribute.nextHop, at);
      at += attribute.nextHop.length;
      out[at++] = attribute.reserved ?? 0;
      return writeNlri(out, at, attribute.nlri);
    },
  },
  'mp-unreach': {
    decode: (v, flags, context) => {
      const afi = u16(v, 0);
      const safi = v[2]!;
      if (!isSupportedFamily(afi, safi)) return { kind: 'unknown', flags, code: 15, value: v };
      const withdrawn = readNlri(
        v,
        3,
        v.length,
        afi as 1 | 2,
        hasAddPath(context, afi, safi),
        'MP_UNREACH_NLRI withdrawn',
      );
      return { kind: 'mp-unreach', flags, afi, safi, withdrawn };
    },
    valueLength: (attribute) => 3 + nlriEncodedLength(attribute.withdrawn),
    write: (attribute, _context, out, at) => {
      at = put16(out, at, attribute.afi);
      out[at++] = attribute.safi;
      return writeNlri(out, at, attribute.withdrawn);
    },
  },
};

/** Octets of the attribute's value (without flags/type/length). */
export function attributeValueLength(attribute: BgpPathAttribute, context: BgpCodecContext): number {
  switch (attribute.kind) {
    case 'origin':
      return 1;
    case 'next-hop':
    case 'med':
    case 'local-pref':
      return 4;
    case 'communities':
      return attribute.values.length * 4;
    case 'as-path':
      return segmentsLength(attribute.segments, context.as4 ? 4 : 2);
    case 'unknown':
      return attribute.value.length;
    default:
      return (ATTRIBUTE_CODECS[attribute.kind] as AttributeCodec<BgpPathAttribute>).valueLength(
        attribute,
        context,
      );
  }
}

function segmentsLength(segments: readonly AsPathSegment[], asSize: number): number {
  let total = 0;
  for (let i = 0; i < segments.length; i++) total += 2 + segments[i]!.asns.length * asSize;
  return total;
}

/** Header octets (flags, type, 1- or 2-octet length) for a value of `valueLength` under `flags`. */
function headerLength(flags: number, valueLength: number): number {
  return flags & AttributeFlag.extendedLength || valueLength > 255 ? 4 : 3;
}

/**
 * Octets of the whole attribute (flags, type, length octet(s), value).
 *
 * Encoding is organised so that each function reads `kind` once and then only the fields of that kind:
 * an UPDATE's attributes all have different shapes, so every property read shared by all kinds (kind,
 * flags) is a megamorphic lookup, while a read inside one kind's case sees one or two shapes.
 */
export function attributeEncodedLength(attribute: BgpPathAttribute, context: BgpCodecContext): number {
  switch (attribute.kind) {
    case 'origin':
      return headerLength(attribute.flags ?? 0x40, 1) + 1;
    case 'next-hop':
    case 'local-pref':
      return headerLength(attribute.flags ?? 0x40, 4) + 4;
    case 'med':
      return headerLength(attribute.flags ?? 0x80, 4) + 4;
    case 'communities': {
      const valueLength = attribute.values.length * 4;
      return headerLength(attribute.flags ?? 0xc0, valueLength) + valueLength;
    }
    case 'as-path': {
      const valueLength = segmentsLength(attribute.segments, context.as4 ? 4 : 2);
      return headerLength(attribute.flags ?? 0x40, valueLength) + valueLength;
    }
    default: {
      const valueLength = attributeValueLength(attribute, context);
      return headerLength(attribute.flags ?? defaultFlags(attribute), valueLength) + valueLength;
    }
  }
}

export function attributesEncodedLength(
  attributes: readonly BgpPathAttribute[],
  context: BgpCodecContext,
): number {
  let total = 0;
  for (let i = 0; i < attributes.length; i++) total += attributeEncodedLength(attributes[i]!, context);
  return total;
}

/**
 * Writes an attribute header at `at` (the extended-length bit added when the value needs it); returns the
 * offset of the value.
 */
function putHeader(out: Uint8Array, at: number, flags: number, code: number, valueLength: number): number {
  if (valueLength > 0xffff) throw new BgpEncodeError(`attribute ${code} value ${valueLength} > 65535 octets`);
  if (valueLength > 255) flags |= AttributeFlag.extendedLength;
  out[at] = flags;
  out[at + 1] = code;
  if (flags & AttributeFlag.extendedLength) {
    out[at + 2] = valueLength >>> 8;
    out[at + 3] = valueLength;
    return at + 4;
  }
  out[at + 2] = valueLength;
  return at + 3;
}

/**
 * Writes one attribute at `at`; returns the offset after it. The common kinds are written in one step
 * (header and value, each field read once); the rest go through ATTRIBUTE_CODECS.
 */
export function writeAttribute(
  attribute: BgpPathAttribute,
  context: BgpCodecContext,
  out: Uint8Array,
  at: number,
): number {
  // The common kinds without the extended-length flag (0x10) are written with plain stores, header then
  // value; anything else goes through the attribute's codec. The code is kept small on purpose: TurboFan
  // inlines this function, with its callees, into the UPDATE encoder only within its inlining budget. The
  // flag is a literal here and in the callees: AttributeFlag.extendedLength is a property load through the
  // module context at each use, which TurboFan does not fold.
  let code = 0;
  let flags = 0;
  let value = 0;
  switch (attribute.kind) {
    case 'origin':
      code = 1;
      flags = attribute.flags ?? 0x40;
      value = attribute.value;
      break;
    case 'next-hop':
      code = 3;
      flags = attribute.flags ?? 0x40;
      value = attribute.address;
      break;
    case 'med':
      code = 4;
      flags = attribute.flags ?? 0x80;
      value = attribute.value;
      break;
    case 'local-pref':
      code = 5;
      flags = attribute.flags ?? 0x40;
      value = attribute.value;
      break;
    case 'as-path':
      if (context.as4) return writeWideAsPath(attribute.flags ?? 0x40, attribute.segments, out, at);
      break;
    case 'communities':
      return writeCommunities(attribute, context, out, at);
  }
  // code 0: a kind without a fast path here (or a 2-octet AS_PATH).
  if (code === 0 || flags & 0x10) return writeGenericAttribute(attribute, context, out, at);
  out[at] = flags;
  out[at + 1] = code;
  if (code === 1) {
    out[at + 2] = 1;
    out[at + 3] = value;
    return at + 4;
  }
  out[at + 2] = 4;
  return put32(out, at + 3, value);
}

/** COMMUNITIES of up to 63 values without the extended-length flag, else through its codec. */
function writeCommunities(
  attribute: Extract<BgpPathAttribute, { kind: 'communities' }>,
  context: BgpCodecContext,
  out: Uint8Array,
  at: number,
): number {
  const values = attribute.values;
  const flags = attribute.flags ?? 0xc0;
  if (values.length > 63 || flags & 0x10) return writeGenericAttribute(attribute, context, out, at);
  out[at] = flags;
  out[at + 1] = 8;
  out[at + 2] = values.length * 4;
  at += 3;
  for (let i = 0; i < values.length; i++) at = put32(out, at, values[i]!);
  return at;
}

/**
 * A 4-octet AS_PATH (the AS4 session case, where no ASN can be out of range) in one pass over its
 * segments: the value is written after a 3-octet header. With the extended-length flag, or when the value
 * turns out longer than 255 octets, widenAsPathHeader finishes it. Same octets and errors as the
 * header-then-value path through putHeader.
 */
function writeWideAsPath(
  flags: number,
  segments: readonly AsPathSegment[],
  out: Uint8Array,
  at: number,
): number {
  let end = at + 3;
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s]!;
    const asns = segment.asns;
    const count = asns.length;
    if (count > 255) throw segmentTooLong(count);
    out[end] = segment.type;
    out[end + 1] = count;
    end += 2;
    for (let i = 0; i < count; i++) end = put32(out, end, asns[i]!);
  }
  const length = end - at - 3;
  if (length > 255 || flags & 0x10) return widenAsPathHeader(flags, out, at, end);
  out[at] = flags;
  out[at + 1] = 2;
  out[at + 2] = length;
  return end;
}

/** The error for an AS_PATH segment of more than 255 ASNs (kept out of the encoder's hot functions). */
function segmentTooLong(count: number): BgpEncodeError {
  return new BgpEncodeError(`AS_PATH segment of ${count} ASNs > 255`);
}

/**
 * The rare AS_PATH written at at+3..end that needs a 4-octet header (extended-length flag asked for, or a
 * value over 255 octets): the value moves one octet on. Returns the new end.
 */
function widenAsPathHeader(flags: number, out: Uint8Array, at: number, end: number): number {
  const length = end - at - 3;
  if (length > 0xffff) throw new BgpEncodeError(`attribute 2 value ${length} > 65535 octets`);
  out.copyWithin(at + 4, at + 3, end);
  out[at] = flags | 0x10;
  out[at + 1] = 2;
  out[at + 2] = length >>> 8;
  out[at + 3] = length;
  return end + 1;
}

/** writeAttribute through the attribute's codec: value length, header, value, and a check of the two. */
function writeGenericAttribute(
  attribute: BgpPathAttribute,
  context: BgpCodecContext,
  out: Uint8Array,
  at: number,
): number {
  const valueLength = attributeValueLength(attribute, context);
  const code = attributeCode(attribute);
  at = putHeader(out, at, attribute.flags ?? defaultFlags(attribute), code, valueLength);
  let end: number;
  if (attribute.kind === 'unknown') {
    out.set(attribute.value, at);
    end = at + valueLength;
  } else
    end = (ATTRIBUTE_CODECS[attribute.kind] as AttributeCodec<BgpPathAttribute>).write(
      attribute,
      context,
      out,
      at,
    );
  if (end !== at + valueLength)
    throw new BgpEncodeError(`attribute ${code} wrote ${end - at} of ${valueLength} octets`);
  return end;
}

/** The encoded attribute block (for reuse across many UPDATEs). */
export function encodeAttributes(
  attributes: readonly BgpPathAttribute[],
  context: BgpCodecContext,
): Uint8Array {
  const out = new Uint8Array(attributesEncodedLength(attributes, context));
  let at = 0;
  for (let i = 0; i < attributes.length; i++) at = writeAttribute(attributes[i]!, context, out, at);
  return out;
}

/**
 * The attributes as a speaker forwards them (RFC 4271 §5): unknown optional transitive attributes get the
 * Partial bit, unknown optional non-transitive ones are dropped. Pure decode/encode never changes flags.
 */
export function forForwarding(attributes: readonly BgpPathAttribute[]): BgpPathAttribute[] {
  const out: BgpPathAttribute[] = [];
  for (const attribute of attributes) {
    if (attribute.kind !== 'unknown') {
      out.push(attribute);
      continue;
    }
    const flags = attribute.flags ?? 0xc0;
    if ((flags & AttributeFlag.transitive) === 0) continue;
    out.push({ ...attribute, flags: flags | AttributeFlag.partial });
  }
  return out;
}
