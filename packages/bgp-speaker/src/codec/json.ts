// JSON rendering of decoded messages for humans and tools (the decode CLI prints it): prefixes as strings,
// AS paths, communities with well-known names, large communities "a:b:c", typed extended communities,
// notification code/subcode names, and RFC 7606 errors with code/subcode/action.

import type { AsPathSegment, BgpExtendedCommunity, BgpPathAttribute } from './attributes.js';
import type { BgpCapability } from './capabilities.js';
import type { BgpDecodeError } from './errors.js';
import type { BgpMessage } from './messages.js';
import { formatPrefix, ipv4ToString, ipv6ToString } from './prefix.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** RFC 1997, 7999, 8326, 9494, 7611 and draft LLGR well-known communities. */
export const WELL_KNOWN_COMMUNITIES: ReadonlyMap<number, string> = new Map([
  [0xffff0000, 'GRACEFUL_SHUTDOWN'],
  [0xffff0001, 'ACCEPT_OWN'],
  [0xffff0006, 'LLGR_STALE'],
  [0xffff0007, 'NO_LLGR'],
  [0xffff029a, 'BLACKHOLE'],
  [0xffffff01, 'NO_EXPORT'],
  [0xffffff02, 'NO_ADVERTISE'],
  [0xffffff03, 'NO_EXPORT_SUBCONFED'],
  [0xffffff04, 'NO_PEER'],
]);

export function formatCommunity(value: number): string {
  return WELL_KNOWN_COMMUNITIES.get(value) ?? `${value >>> 16}:${value & 0xffff}`;
}

/** Parses "65000:1" or a well-known name into the 32-bit community value. */
export function parseCommunity(text: string): number {
  for (const [value, name] of WELL_KNOWN_COMMUNITIES) if (name === text) return value;
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match || Number(match[1]) > 0xffff || Number(match[2]) > 0xffff)
    throw new RangeError(
      `invalid community "${text}": expected "asn:value" (each 0..65535) or a well-known name`,
    );
  return ((Number(match[1]) << 16) | Number(match[2])) >>> 0;
}

const EXTENDED_SUBTYPE_NAMES: Readonly<Record<number, string>> = { 2: 'rt', 3: 'ro' };

export function formatExtendedCommunity(community: BgpExtendedCommunity): string {
  if (community.kind === 'opaque') return `raw:${Buffer.from(community.bytes).toString('hex')}`;
  const name =
    EXTENDED_SUBTYPE_NAMES[community.subtype] ??
    `type-0x${community.type.toString(16)}-sub-0x${community.subtype.toString(16)}`;
  const global =
    community.kind === 'ipv4-address' ? ipv4ToString(community.global) : String(community.global);
  return `${name}:${global}:${community.local}`;
}

const SEGMENT_NAMES = { 1: 'set', 2: 'sequence', 3: 'confed-sequence', 4: 'confed-set' } as const;

export function formatAsPath(segments: readonly AsPathSegment[]): string {
  return segments
    .map((segment) => {
      const asns = segment.asns.join(' ');
      if (segment.type === 2) return asns;
      if (segment.type === 1) return `{${asns}}`;
      if (segment.type === 3) return `(${asns})`;
      return `[${asns}]`;
    })
    .join(' ');
}

function nextHopText(bytes: Uint8Array): string {
  if (bytes.length === 4)
    return ipv4ToString(((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0);
  if (bytes.length === 16) return ipv6ToString(bytes);
  if (bytes.length === 32)
    return `${ipv6ToString(bytes.subarray(0, 16))} ${ipv6ToString(bytes.subarray(16))}`;
  return Buffer.from(bytes).toString('hex');
}

const hex = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

export const NOTIFICATION_NAMES: Readonly<
  Record<number, { name: string; subcodes: Readonly<Record<number, string>> }>
> = {
  1: {
    name: 'Message Header Error',
    subcodes: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  },
  2: {
    name: 'OPEN Message Error',
    subcodes: {
      1: 'Unsupported Version Number',
      2: 'Bad Peer AS',
      3: 'Bad BGP Identifier',
      4: 'Unsupported Optional Parameter',
      6: 'Unacceptable Hold Time',
      7: 'Unsupported Capability',
      11: 'Role Mismatch',
    },
  },
  3: {
    name: 'UPDATE Message Error',
    subcodes: {
      1: 'Malformed Attribute List',
      2: 'Unrecognized Well-known Attribute',
      3: 'Missing Well-known Attribute',
      4: 'Attribute Flags Error',
      5: 'Attribute Length Error',
      6: 'Invalid ORIGIN Attribute',
      8: 'Invalid NEXT_HOP Attribute',
      9: 'Optional Attribute Error',
      10: 'Invalid Network Field',
      11: 'Malformed AS_PATH',
    },
  },
  4: { name: 'Hold Timer Expired', subcodes: {} },
  5: {
    name: 'Finite State Machine Error',
    subcodes: {
      1: 'Receive Unexpected Message in OpenSent State',
      2: 'Receive Unexpected Message in OpenConfirm State',
      3: 'Receive Unexpected Message in Established State',
    },
  },
  6: {
    name: 'Cease',
    subcodes: {
      1: 'Maximum Number of Prefixes Reached',
      2: 'Administrative Shutdown',
      3: 'Peer De-configured',
      4: 'Administrative Reset',
      5: 'Connection Rejected',
      6: 'Other Configuration Change',
      7: 'Connection Collision Resolution',
      8: 'Out of Resources',
      9: 'Hard Reset',
      10: 'BFD Down',
    },
  },
  7: { name: 'ROUTE-REFRESH Message Error', subcodes: { 1: 'Invalid Message Length' } },
  8: { name: 'Send Hold Timer Expired', subcodes: {} },
};

export function notificationName(code: number, subcode: number): string {
  const entry = NOTIFICATION_NAMES[code];
  if (entry === undefined) return `code ${code} subcode ${subcode}`;
  const sub = entry.subcodes[subcode] ?? (subcode === 0 ? 'Unspecific' : `subcode ${subcode}`);
  return `${entry.name} / ${sub}`;
}

export function decodeErrorToJson(error: BgpDecodeError): JsonValue {
  return {
    code: error.code,
    subcode: error.subcode,
    action: error.action,
    data: hex(error.data),
    message: error.message,
  };
}

function capabilityToJson(capability: BgpCapability): JsonValue {
  if (capability.kind === 'unknown')
    return { kind: 'unknown', code: capability.code, value: hex(capability.value) };
  return JSON.parse(JSON.stringify(capability)) as JsonValue;
}

function attributeToJson(attribute: BgpPathAttribute, out: { [key: string]: JsonValue }): void {
  switch (attribute.kind) {
    case 'origin':
      out.origin = ['igp', 'egp', 'incomplete'][attribute.value] ?? attribute.value;
      return;
    case 'as-path':
      out.asPath = formatAsPath(attribute.segments);
      out.asPathSegments = attribute.segments.map((s) => ({
        type: SEGMENT_NAMES[s.type],
        asns: [...s.asns],
      }));
      return;
    case 'as4-path':
      out.as4Path = formatAsPath(attribute.segments);
      return;
    case 'next-hop':
      out.nextHop = ipv4ToString(attribute.address);
      return;
    case 'med':
      out.med = attribute.value;
      return;
    case 'local-pref':
      out.localPref = attribute.value;
      return;
    case 'atomic-aggregate':
      out.atomicAggregate = true;
      return;
    case 'aggregator':
    case 'as4-aggregator':
      out[attribute.kind === 'aggregator' ? 'aggregator' : 'as4Aggregator'] = {
        asn: attribute.asn,
        address: ipv4ToString(attribute.address),
      };
      return;
    case 'communities':
      out.communities = attribute.values.map(formatCommunity);
      return;
    case 'originator-id':
      out.originatorId = ipv4ToString(attribute.id);
      return;
    case 'cluster-list':
      out.clusterList = attribute.ids.map(ipv4ToString);
      return;
    case 'extended-communities':
      out.extendedCommunities = attribute.values.map(formatExtendedCommunity);
      return;
    case 'large-communities':
      out.largeCommunities = attribute.values.map((v) => `${v.global}:${v.local1}:${v.local2}`);
      return;
    case 'mp-reach':
      out.mpReach = { afi: attribute.afi, safi: attribute.safi, nextHop: nextHopText(attribute.nextHop) };
      if (out.nextHop === undefined) out.nextHop = nextHopText(attribute.nextHop);
      (out.announced as JsonValue[]).push(...attribute.nlri.map(formatPrefix));
      return;
    case 'mp-unreach':
      out.mpUnreach = { afi: attribute.afi, safi: attribute.safi };
      (out.withdrawn as JsonValue[]).push(...attribute.withdrawn.map(formatPrefix));
      return;
    case 'unknown': {
      if (out.unknownAttributes === undefined) out.unknownAttributes = [];
      (out.unknownAttributes as JsonValue[]).push({
        code: attribute.code,
        flags: attribute.flags ?? 0xc0,
        value: hex(attribute.value),
      });
      return;
    }
  }
}

/** A JSON-ready description of a decoded message. */
export function messageToJson(message: BgpMessage): { [key: string]: JsonValue } {
  switch (message.type) {
    case 'keepalive':
      return { type: 'keepalive' };
    case 'route-refresh':
      return {
        type: 'route-refresh',
        afi: message.afi,
        safi: message.safi,
        subtype: ['request', 'borr', 'eorr'][message.subtype] ?? message.subtype,
      };
    case 'notification': {
      const out: { [key: string]: JsonValue } = {
        type: 'notification',
        code: message.code,
        subcode: message.subcode,
        name: notificationName(message.code, message.subcode),
        data: hex(message.data),
      };
      if (message.shutdownCommunication !== undefined)
        out.shutdownCommunication = message.shutdownCommunication;
      return out;
    }
    case 'open': {
      const out: { [key: string]: JsonValue } = {
        type: 'open',
        version: message.version,
        myAs: message.myAs,
        holdTime: message.holdTime,
        bgpIdentifier: message.bgpIdentifier,
        capabilities: message.optionalParameters.flatMap((p) =>
          'capabilities' in p ? p.capabilities.map(capabilityToJson) : [],
        ),
      };
      const others = message.optionalParameters.filter((p) => !('capabilities' in p));
      if (others.length > 0)
        out.otherParameters = others.map((p) => ({ type: p.type, value: 'value' in p ? hex(p.value) : '' }));
      if (message.extendedParameters) out.extendedParameters = true;
      return out;
    }
    case 'update': {
      const out: { [key: string]: JsonValue } = {
        type: 'update',
        withdrawn: message.withdrawn.map(formatPrefix),
        announced: message.nlri.map(formatPrefix),
      };
      for (const attribute of message.attributes) attributeToJson(attribute, out);
      if (message.errors.length > 0) {
        out.errors = message.errors.map(decodeErrorToJson);
        out.treatAsWithdraw = message.treatAsWithdraw;
      }
      return out;
    }
  }
}
