// Compact IP prefixes (IPv4 as a uint32 + length, IPv6 as 16 bytes + length, optional ADD-PATH path id)
// and the NLRI wire format of RFC 4271 §4.3 / RFC 4760 / RFC 7911. Host bits beyond the prefix length are
// kept exactly as received (so re-encoding is byte-exact); formatPrefix prints the masked network and
// maskPrefix returns the canonical prefix for use as a RIB key.

import { BgpDecodeError, BgpEncodeError, BgpUpdateSubcode } from './errors.js';

export interface Ipv4Prefix {
  readonly afi: 1;
  /** The address as an unsigned 32-bit integer, network byte order value (10.0.0.0 = 0x0a000000). */
  readonly address: number;
  readonly length: number;
  readonly pathId?: number;
}

export interface Ipv6Prefix {
  readonly afi: 2;
  /** 16 bytes; bytes beyond ceil(length / 8) are zero. */
  readonly address: Uint8Array;
  readonly length: number;
  readonly pathId?: number;
}

export type BgpPrefix = Ipv4Prefix | Ipv6Prefix;

export function ipv4ToString(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new RangeError(`invalid IPv4 address "${text}": expected 4 dotted octets`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255)
      throw new RangeError(`invalid IPv4 address "${text}": octet "${part}" is not 0..255`);
    value = value * 256 + Number(part);
  }
  return value >>> 0;
}

export function ipv6ToString(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function parseIpv6(text: string): Uint8Array {
  const fail = (reason: string): never => {
    throw new RangeError(`invalid IPv6 address "${text}": ${reason}`);
  };
  let head = text;
  let tail = '';
  const doubleColon = text.indexOf('::');
  if (doubleColon >= 0) {
    if (text.indexOf('::', doubleColon + 1) >= 0) fail('more than one "::"');
    head = text.slice(0, doubleColon);
    tail = text.slice(doubleColon + 2);
  }
  const parseGroups = (part: string): number[] => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let index = 0; index < pieces.length; index++) {
      const piece = pieces[index]!;
      if (index === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        groups.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) groups.push(Number.parseInt(piece, 16));
      else fail(`group "${piece}" is not 1-4 hex digits`);
    }
    return groups;
  };
  const headGroups = parseGroups(head);
  const tailGroups = parseGroups(tail);
  const total = headGroups.length + tailGroups.length;
  if (doubleColon < 0 && total !== 8) fail(`expected 8 groups, got ${total}`);
  if (doubleColon >= 0 && total > 7) fail('too many groups around "::"');
  const groups = [...headGroups, ...new Array<number>(8 - total).fill(0), ...tailGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >>> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

const IPV4_MASKS = new Uint32Array(33);
for (let length = 1; length <= 32; length++) IPV4_MASKS[length] = (0xffffffff << (32 - length)) >>> 0;

export function ipv4Mask(length: number): number {
  return IPV4_MASKS[length] ?? 0;
}

/** The prefix with host bits cleared (the canonical network); the same object when already canonical. */
export function maskPrefix<P extends BgpPrefix>(prefix: P): P {
  if (prefix.afi === 1) {
    const masked = (prefix.address & ipv4Mask(prefix.length)) >>> 0;
    return masked === prefix.address ? prefix : { ...prefix, address: masked };
  }
  const bytes = new Uint8Array(16);
  const full = prefix.length >>> 3;
  bytes.set(prefix.address.subarray(0, full));
  const rest = prefix.length & 7;
  if (rest) bytes[full] = (prefix.address[full] ?? 0) & (0xff << (8 - rest));
  return { ...prefix, address: bytes };
}

export function formatPrefix(prefix: BgpPrefix): string {
  const masked = maskPrefix(prefix);
  const text =
    masked.afi === 1
      ? `${ipv4ToString(masked.address)}/${masked.length}`
      : `${ipv6ToString(masked.address)}/${masked.length}`;
  return prefix.pathId === undefined ? text : `${text} path-id ${prefix.pathId}`;
}

/** Parses "10.0.0.0/8" or "2001:db8::/32" (host bits must be zero). */
export function parsePrefix(text: string, pathId?: number): BgpPrefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new RangeError(`invalid prefix "${text}": missing "/length"`);
  const addressText = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText)) throw new RangeError(`invalid prefix "${text}": length is not a number`);
  const length = Number(lengthText);
  const withPath = <P extends BgpPrefix>(prefix: P): P =>
    pathId === undefined ? prefix : { ...prefix, pathId };
  if (addressText.includes(':')) {
    if (length > 128) throw new RangeError(`invalid prefix "${text}": IPv6 length ${length} > 128`);
    const prefix: Ipv6Prefix = { afi: 2, address: parseIpv6(addressText), length };
    if (maskPrefix(prefix).address.some((byte, i) => byte !== prefix.address[i]))
      throw new RangeError(`invalid prefix "${text}": host bits set beyond /${length}`);
    return withPath(prefix);
  }
  if (length > 32) throw new RangeError(`invalid prefix "${text}": IPv4 length ${length} > 32`);
  const address = parseIpv4(addressText);
  if ((address & ipv4Mask(length)) >>> 0 !== address)
    throw new RangeError(`invalid prefix "${text}": host bits set beyond /${length}`);
  return withPath({ afi: 1, address, length });
}

/** Encoded size of one prefix in NLRI (length octet, address octets, 4 octets of path id if any). */
export function prefixEncodedLength(prefix: BgpPrefix): number {
  return (prefix.pathId === undefined ? 1 : 5) + ((prefix.length + 7) >>> 3);
}

export function nlriEncodedLength(prefixes: readonly BgpPrefix[]): number {
  let total = 0;
  for (let i = 0; i < prefixes.length; i++) {
    const prefix = prefixes[i]!;
    total += (prefix.pathId === undefined ? 1 : 5) + ((prefix.length + 7) >>> 3);
  }
  return total;
}

/** Writes prefixes at offset; returns the offset after them. */
export function writeNlri(target: Uint8Array, offset: number, prefixes: readonly BgpPrefix[]): number {
  let at = offset;
  for (let i = 0; i < prefixes.length; i++) {
    const prefix = prefixes[i]!;
    const pathId = prefix.pathId;
    if (pathId !== undefined) {
      target[at] = pathId >>> 24;
      target[at + 1] = pathId >>> 16;
      target[at + 2] = pathId >>> 8;
      target[at + 3] = pathId;
      at += 4;
    }
    const length = prefix.length;
    target[at++] = length;
    const octets = (length + 7) >>> 3;
    if (prefix.afi === 1) {
      if (length > 32) throw new BgpEncodeError(`IPv4 prefix length ${length} > 32`);
      const address = prefix.address;
      if (octets > 0) target[at] = address >>> 24;
      if (octets > 1) target[at + 1] = address >>> 16;
      if (octets > 2) target[at + 2] = address >>> 8;
      if (octets > 3) target[at + 3] = address;
    } else {
      if (length > 128) throw new BgpEncodeError(`IPv6 prefix length ${length} > 128`);
      target.set(prefix.address.subarray(0, octets), at);
    }
    at += octets;
  }
  return at;
}

function nlriError(field: string, message: string, subcode: number = BgpUpdateSubcode.InvalidNetworkField) {
  return new BgpDecodeError(3, subcode, new Uint8Array(0), 'session-reset', `${field}: ${message}`);
}

/**
 * Decodes NLRI of one family from bytes[start, end). Throws BgpDecodeError (session-reset by default; the
 * caller re-labels it for MP attributes) naming `field` when a length is over the maximum or overruns.
 * Offsets in error messages are counted from `offsetBase` (the start of the enclosing body when `bytes` is
 * a whole message).
 *
 * Two passes: the first checks every length and counts the prefixes (reading only the length octets), the
 * second fills an array of exactly that size. A growing array would allocate a 16-slot backing store for
 * the typical single-prefix UPDATE and copy repeatedly for a packed one.
 */
export function readNlri(
  bytes: Uint8Array,
  start: number,
  end: number,
  afi: 1 | 2,
  addPath: boolean,
  field: string,
  offsetBase = 0,
): BgpPrefix[] {
  const count = countNlri(bytes, start, end, afi === 1 ? 32 : 128, addPath, field, offsetBase);
  const prefixes: BgpPrefix[] = new Array(count);
  let at = start;
  if (afi === 1) {
    for (let i = 0; i < count; i++) {
      let pathId = -1;
      if (addPath) {
        pathId = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
        at += 4;
      }
      const length = bytes[at++]!;
      let address: number;
      if (length > 24)
        address =
          ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
      else if (length > 16)
        address = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8)) >>> 0;
      else if (length > 8) address = ((bytes[at]! << 24) | (bytes[at + 1]! << 16)) >>> 0;
      else if (length > 0) address = (bytes[at]! << 24) >>> 0;
      else address = 0;
      at += (length + 7) >>> 3;
      prefixes[i] = pathId < 0 ? { afi: 1, address, length } : { afi: 1, address, length, pathId };
    }
    return prefixes;
  }
  for (let i = 0; i < count; i++) {
    let pathId = -1;
    if (addPath) {
      pathId = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
      at += 4;
    }
    const length = bytes[at++]!;
    const octets = (length + 7) >>> 3;
    const address = new Uint8Array(16);
    for (let k = 0; k < octets; k++) address[k] = bytes[at + k]!;
    at += octets;
    prefixes[i] = pathId < 0 ? { afi: 2, address, length } : { afi: 2, address, length, pathId };
  }
  return prefixes;
}

/** The number of prefixes in bytes[start, end), every length checked (readNlri's first pass). */
function countNlri(
  bytes: Uint8Array,
  start: number,
  end: number,
  maxBits: number,
  addPath: boolean,
  field: string,
  offsetBase: number,
): number {
  let count = 0;
  let at = start;
  while (at < end) {
    if (addPath) {
      if (at + 4 > end)
        throw nlriError(field, `path identifier at offset ${at - offsetBase} overruns the field`);
      at += 4;
      if (at >= end)
        throw nlriError(field, `prefix length missing after path identifier at offset ${at - offsetBase}`);
    }
    const length = bytes[at++]!;
    if (length > maxBits)
      throw nlriError(field, `prefix length ${length} > ${maxBits} at offset ${at - 1 - offsetBase}`);
    const octets = (length + 7) >>> 3;
    if (at + octets > end)
      throw nlriError(
        field,
        `prefix /${length} at offset ${at - 1 - offsetBase} overruns the field by ${at + octets - end} octets`,
      );
    at += octets;
    count++;
  }
  return count;
}
