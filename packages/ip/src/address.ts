// IPv4 or IPv6 addresses of either family: the version is told by the text (a ":" means IPv6), values are
// bigints (32 or 128 bits) or bytes (4 or 16), and every address has one canonical text.

import { IpParseError } from './errors.js';
import { formatIpv4, ipv4Problem, scanIpv4 } from './ipv4.js';
import { formatIpv6, readIpv6 } from './ipv6.js';

export type IpVersion = 4 | 6;

/** An address of either family as an unsigned integer (32 bits for IPv4, 128 for IPv6). */
export interface IpAddress {
  readonly version: IpVersion;
  readonly value: bigint;
}

/** The number of bits of an address of the version: 32 or 128. */
export function bitsOf(version: IpVersion): number {
  return version === 4 ? 32 : 128;
}

/**
 * The address in text[start, end): an unsigned 32-bit number for IPv4, 16 bytes for IPv6. Throws
 * IpParseError naming `input` (the whole text the caller was given) and the problem.
 */
export function readIp(text: string, start: number, end: number, input: string): number | Uint8Array {
  let colon = false;
  let dot = false;
  for (let i = start; i < end && !colon; i++) {
    const code = text.charCodeAt(i);
    colon = code === 58;
    dot ||= code === 46;
  }
  if (colon) {
    const bytes = new Uint8Array(16);
    const problem = readIpv6(text, start, end, bytes);
    if (problem !== undefined) throw new IpParseError(input, problem);
    return bytes;
  }
  const value = scanIpv4(text, start, end);
  if (value >= 0) return value;
  if (!dot && start < end) throw new IpParseError(input, 'not an IPv4 (a.b.c.d) or IPv6 (x:x::x) address');
  throw new IpParseError(input, ipv4Problem(text, start, end) ?? 'not an IPv4 address');
}

/** The value of 16 address bytes as a 128-bit unsigned bigint. */
export function ipv6BytesToBigint(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let word = 0; word < 16; word += 4) {
    const bits =
      (((bytes[word] ?? 0) << 24) |
        ((bytes[word + 1] ?? 0) << 16) |
        ((bytes[word + 2] ?? 0) << 8) |
        (bytes[word + 3] ?? 0)) >>>
      0;
    value = (value << 32n) | BigInt(bits);
  }
  return value;
}

/** The 16 bytes of a 128-bit unsigned bigint (network byte order). */
export function bigintToIpv6Bytes(value: bigint): Uint8Array {
  const bytes = new Uint8Array(16);
  for (let word = 3; word >= 0; word--) {
    const bits = Number((value >> BigInt(32 * (3 - word))) & 0xffffffffn);
    bytes[word * 4] = bits >>> 24;
    bytes[word * 4 + 1] = bits >>> 16;
    bytes[word * 4 + 2] = bits >>> 8;
    bytes[word * 4 + 3] = bits;
  }
  return bytes;
}

/** Parses an IPv4 or IPv6 address; throws IpParseError naming the problem ("octet 4 is 300, more than 255"). */
export function parseIp(text: string): IpAddress {
  const parsed = readIp(text, 0, text.length, text);
  return typeof parsed === 'number'
    ? { version: 4, value: BigInt(parsed) }
    : { version: 6, value: ipv6BytesToBigint(parsed) };
}

/** The version of a valid address; throws IpParseError when the text is not one. */
export function ipVersionOf(text: string): IpVersion {
  return typeof readIp(text, 0, text.length, text) === 'number' ? 4 : 6;
}

/**
 * Orders addresses for sorting: every IPv4 address before every IPv6 address, then numerically (negative,
 * zero or positive, as Array.prototype.sort wants).
 */
export function compareIp(a: IpAddress, b: IpAddress): number {
  if (a.version !== b.version) return a.version - b.version;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** The canonical text of an address: a dotted quad, or RFC 5952 for IPv6. */
export function formatIp(address: IpAddress): string {
  return address.version === 4
    ? formatIpv4(Number(address.value & 0xffffffffn))
    : formatIpv6(bigintToIpv6Bytes(address.value));
}

/** The address bytes in network order: 4 for IPv4, 16 for IPv6. */
export function ipToBytes(address: IpAddress): Uint8Array {
  if (address.version === 6) return bigintToIpv6Bytes(address.value);
  const value = Number(address.value & 0xffffffffn);
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

/** The address of 4 (IPv4) or 16 (IPv6) bytes; throws RangeError for any other length. */
export function ipFromBytes(bytes: Uint8Array): IpAddress {
  if (bytes.length === 16) return { version: 6, value: ipv6BytesToBigint(bytes) };
  if (bytes.length !== 4) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  return {
    version: 4,
    value: BigInt(((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0),
  };
}

/** Parses an address into its bytes in network order: 4 for IPv4, 16 for IPv6. */
export function parseIpBytes(text: string): Uint8Array {
  const parsed = readIp(text, 0, text.length, text);
  if (typeof parsed !== 'number') return parsed;
  return Uint8Array.of(parsed >>> 24, (parsed >>> 16) & 0xff, (parsed >>> 8) & 0xff, parsed & 0xff);
}

/** The canonical text of 4 (IPv4) or 16 (IPv6) address bytes; throws RangeError for any other length. */
export function formatIpBytes(bytes: Uint8Array): string {
  if (bytes.length === 16) return formatIpv6(bytes);
  if (bytes.length !== 4) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}
