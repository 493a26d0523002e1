// The route model shared by the RIBs and the policy engine: a prefix's path attributes with the next hop
// pulled out of NEXT_HOP / MP_REACH_NLRI (so IPv4 and IPv6 routes look alike), helpers to read and
// replace single attributes without mutating, and RIB keys for prefixes (text, and the compact RibKey the
// RIB maps use).

import type { AsPathSegment, BgpPathAttribute } from '../codec/attributes.js';
import {
  type BgpPrefix,
  formatPrefix,
  ipv4ToString,
  ipv6ToString,
  maskPrefix,
  parsePrefix,
} from '../codec/prefix.js';

/** Path attributes of a route. Shared (never mutated): every prefix of one UPDATE points at one object. */
export interface RouteAttributes {
  /** Attributes in wire order, without NEXT_HOP, MP_REACH_NLRI and MP_UNREACH_NLRI. */
  readonly list: readonly BgpPathAttribute[];
  /** The next hop as text ("192.0.2.1", "2001:db8::1"); for IPv6 the global address. */
  readonly nextHop: string;
}

/** Where a path came from, as the RIBs and policies see it. */
export interface PeerInfo {
  /** The peer's address as text; also its identity in the RIBs. */
  readonly address: string;
  readonly asNumber: number;
  /** The peer's BGP identifier as an unsigned 32-bit number. */
  readonly routerId: number;
  /** Internal BGP (same AS as ours). */
  readonly ibgp: boolean;
  /** We are this peer's route reflector. */
  readonly routeReflectorClient: boolean;
}

type KindOf<K extends BgpPathAttribute['kind']> = Extract<BgpPathAttribute, { kind: K }>;

/** The attribute of that kind, or undefined. */
export function findAttribute<K extends BgpPathAttribute['kind']>(
  attributes: RouteAttributes,
  kind: K,
): KindOf<K> | undefined {
  for (const attribute of attributes.list) if (attribute.kind === kind) return attribute as KindOf<K>;
  return undefined;
}

/** A copy with the attribute of that kind replaced (appended when absent, removed when `value` is undefined). */
export function withAttribute(
  attributes: RouteAttributes,
  kind: BgpPathAttribute['kind'],
  value: BgpPathAttribute | undefined,
): RouteAttributes {
  const list: BgpPathAttribute[] = [];
  let replaced = false;
  for (const attribute of attributes.list) {
    if (attribute.kind !== kind) list.push(attribute);
    else if (value !== undefined && !replaced) {
      list.push(value);
      replaced = true;
    }
  }
  if (value !== undefined && !replaced) list.push(value);
  return { list, nextHop: attributes.nextHop };
}

export function asPathSegments(attributes: RouteAttributes): readonly AsPathSegment[] {
  return findAttribute(attributes, 'as-path')?.segments ?? [];
}

/** The AS path as space-separated ASNs (an AS_SET's members in braces), as AS-path regexes see it. */
export function renderAsPath(segments: readonly AsPathSegment[]): string {
  return segments
    .map((segment) =>
      segment.type === 2 || segment.type === 3 ? segment.asns.join(' ') : `{${segment.asns.join(' ')}}`,
    )
    .filter((text) => text !== '')
    .join(' ');
}

export function communities(attributes: RouteAttributes): readonly number[] {
  return findAttribute(attributes, 'communities')?.values ?? [];
}

/** The next hop bytes of an MP_REACH_NLRI as text. */
export function nextHopText(bytes: Uint8Array): string {
  if (bytes.length === 4)
    return ipv4ToString(((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0);
  return ipv6ToString(bytes.subarray(0, 16));
}

/** The prefix without its ADD-PATH path id (what a peer without ADD-PATH receive must get). */
export function withoutPathId(prefix: BgpPrefix): BgpPrefix {
  if (prefix.pathId === undefined) return prefix;
  const { pathId: _pathId, ...bare } = prefix;
  return bare as BgpPrefix;
}

/** RIB key of a prefix: its canonical text without path id ("10.0.0.0/24"). */
export function prefixKey(prefix: BgpPrefix): string {
  if (prefix.afi === 1) {
    // The common case without intermediate objects: mask, then print.
    const mask = prefix.length === 0 ? 0 : (0xffffffff << (32 - prefix.length)) >>> 0;
    return `${ipv4ToString((prefix.address & mask) >>> 0)}/${prefix.length}`;
  }
  const { pathId: _pathId, ...bare } = maskPrefix(prefix);
  return formatPrefix(bare as BgpPrefix);
}

/**
 * Compact RIB key of a prefix, path id ignored. IPv4: one number, `2^length + (network >>> (32 − length))`
 * (the prefix's index in a complete binary trie): unique per (network, length), a small integer (no heap
 * object) up to /30, and no string per prefix. IPv6: the prefixKey text. Numbers and strings never collide
 * as Map keys.
 */
export type RibKey = number | string;

export function ribKey(prefix: BgpPrefix): RibKey {
  if (prefix.afi !== 1) return prefixKey(prefix);
  const length = prefix.length;
  if (length === 0) return 1;
  // Up to /30 in 31 bits with shifts; /31 and /32 (up to 2^33) by arithmetic. Host bits drop out.
  if (length <= 30) return (1 << length) | (prefix.address >>> (32 - length));
  return 2 ** length + Math.floor(prefix.address / 2 ** (32 - length));
}

/** The prefix (without path id) a RibKey stands for. */
export function prefixOfRibKey(key: RibKey): BgpPrefix {
  if (typeof key === 'string') return parsePrefix(key);
  const length = key >= 2 ** 32 ? 32 : 31 - Math.clz32(key);
  return { afi: 1, address: ((key - 2 ** length) * 2 ** (32 - length)) >>> 0, length };
}

/** The prefixKey text of a RibKey. */
export function ribKeyText(key: RibKey): string {
  if (typeof key === 'string') return key;
  return prefixKey(prefixOfRibKey(key));
}

/** The family name of a prefix ("ipv4-unicast" / "ipv6-unicast"). */
export function prefixFamily(prefix: BgpPrefix): 'ipv4-unicast' | 'ipv6-unicast' {
  return prefix.afi === 1 ? 'ipv4-unicast' : 'ipv6-unicast';
}
