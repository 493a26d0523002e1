// CIDR text "address/length" of either family: parsing with the problem named (host bits rejected or
// cleared, a bare address optionally taken as a host route), canonical formatting, containment and overlap.
// IPv4-only and IPv6-only parsers return numbers/bytes without bigints for callers on a hot path.

import { bitsOf, formatIp, type IpAddress, type IpVersion, ipv6BytesToBigint, readIp } from './address.js';
import { IpParseError } from './errors.js';
import { formatIpv4, ipv4Mask, scanIpv4 } from './ipv4.js';
import { formatIpv6 } from './ipv6.js';

/** A network of either family: `network` has no bits set beyond `length`. */
export interface IpCidr {
  readonly version: IpVersion;
  readonly network: bigint;
  readonly length: number;
}

/** An IPv4 CIDR on numbers: `address` is an unsigned 32-bit number. */
export interface Ipv4Cidr {
  readonly address: number;
  readonly length: number;
}

/** An IPv6 CIDR on bytes: `address` is 16 bytes. */
export interface Ipv6Cidr {
  readonly address: Uint8Array;
  readonly length: number;
}

export interface CidrOptions {
  /** "reject" (the default): host bits beyond the length are an error; "clear": they are masked off. */
  readonly hostBits?: 'reject' | 'clear';
  /** Take a bare address as its host route (/32 or /128) instead of refusing it. */
  readonly allowBareAddress?: boolean;
}

const NO_LENGTH = 'no prefix length (expected address/length)';

/** The prefix length in text[from, end), at most `max`; throws IpParseError naming `text`. */
function readLength(text: string, from: number, max: number): number {
  if (from === text.length) throw new IpParseError(text, 'the prefix length after "/" is empty');
  let length = 0;
  for (let i = from; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9)
      throw new IpParseError(
        text,
        `prefix length ${JSON.stringify(text.slice(from))} is not a decimal number`,
      );
    length = length * 10 + digit;
  }
  if (length > max)
    throw new IpParseError(
      text,
      `prefix length must be 0..${max} for IPv${max === 32 ? 4 : 6}, not ${text.slice(from)}`,
    );
  return length;
}

function hostBitsProblem(length: number, network: string): string {
  return `host bits set beyond /${length} (the network is ${network}/${length})`;
}

/** Parses an IPv4 CIDR ("10.0.0.0/8") into numbers; throws IpParseError naming the problem. */
export function parseIpv4Cidr(text: string, options?: CidrOptions): Ipv4Cidr {
  const slash = text.indexOf('/');
  const addressEnd = slash < 0 ? text.length : slash;
  let address = scanIpv4(text, 0, addressEnd);
  if (address < 0) {
    const parsed = readIp(text, 0, addressEnd, text); // throws the precise problem unless it is IPv6
    if (typeof parsed !== 'number') throw new IpParseError(text, 'an IPv6 CIDR where IPv4 is expected');
    address = parsed;
  }
  let length = 32;
  if (slash >= 0) length = readLength(text, slash + 1, 32);
  else if (options?.allowBareAddress !== true) throw new IpParseError(text, NO_LENGTH);
  const network = (address & ipv4Mask(length)) >>> 0;
  if (network !== address) {
    if (options?.hostBits !== 'clear')
      throw new IpParseError(text, hostBitsProblem(length, formatIpv4(network)));
    address = network;
  }
  return { address, length };
}

/** Clears the bits of 16 address bytes beyond `length`, in place; true when any was set. */
function clearIpv6HostBits(bytes: Uint8Array, length: number): boolean {
  let changed = false;
  for (let index = length >>> 3; index < 16; index++) {
    const keep = index === length >>> 3 ? (0xff00 >>> (length & 7)) & 0xff : 0;
    const masked = bytes[index]! & keep;
    if (masked !== bytes[index]) {
      bytes[index] = masked;
      changed = true;
    }
  }
  return changed;
}

/** Parses an IPv6 CIDR ("2001:db8::/32") into 16 bytes and a length; throws IpParseError naming the problem. */
export function parseIpv6Cidr(text: string, options?: CidrOptions): Ipv6Cidr {
  const slash = text.indexOf('/');
  const parsed = readIp(text, 0, slash < 0 ? text.length : slash, text);
  if (typeof parsed === 'number') throw new IpParseError(text, 'an IPv4 CIDR where IPv6 is expected');
  let length = 128;
  if (slash >= 0) length = readLength(text, slash + 1, 128);
  else if (options?.allowBareAddress !== true) throw new IpParseError(text, NO_LENGTH);
  if (clearIpv6HostBits(parsed, length) && options?.hostBits !== 'clear')
    throw new IpParseError(text, hostBitsProblem(length, formatIpv6(parsed)));
  return { address: parsed, length };
}

/** The mask of a prefix length as a bigint of the version's width (IPv4 /24 → 0xffffff00n). */
export function prefixMask(version: IpVersion, length: number): bigint {
  const bits = BigInt(bitsOf(version));
  const hostBits = bits - BigInt(length);
  return ((1n << bits) - 1n) ^ ((1n << hostBits) - 1n);
}

/**
 * Parses "address/length" keeping the address as written (host bits and all), as an interface address
 * such as "10.0.0.5/24" is; throws IpParseError naming the problem.
 */
export function parseAddressWithLength(
  text: string,
  options?: Pick<CidrOptions, 'allowBareAddress'>,
): { address: IpAddress; length: number } {
  const slash = text.indexOf('/');
  const parsed = readIp(text, 0, slash < 0 ? text.length : slash, text);
  const version: IpVersion = typeof parsed === 'number' ? 4 : 6;
  let length = bitsOf(version);
  if (slash >= 0) length = readLength(text, slash + 1, length);
  else if (options?.allowBareAddress !== true) throw new IpParseError(text, NO_LENGTH);
  const value = typeof parsed === 'number' ? BigInt(parsed) : ipv6BytesToBigint(parsed);
  return { address: { version, value }, length };
}

/** Parses a CIDR of either family ("10.0.0.0/8", "fd00::/64"); throws IpParseError naming the problem. */
export function parseCidr(text: string, options?: CidrOptions): IpCidr {
  const { address, length } = parseAddressWithLength(text, options);
  const network = address.value & prefixMask(address.version, length);
  if (network !== address.value && options?.hostBits !== 'clear')
    throw new IpParseError(
      text,
      hostBitsProblem(length, formatIp({ version: address.version, value: network })),
    );
  return { version: address.version, network, length };
}

/**
 * Orders CIDRs for sorting: every IPv4 network before every IPv6 one, then by network address, then by
 * length (shorter first: 10.0.0.0/8 before 10.0.0.0/24 before 10.0.1.0/24).
 */
export function compareCidr(a: IpCidr, b: IpCidr): number {
  if (a.version !== b.version) return a.version - b.version;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.length - b.length;
}

/** The canonical text of a CIDR ("fd00::/64"). */
export function formatCidr(cidr: IpCidr): string {
  return `${formatIp({ version: cidr.version, value: cidr.network })}/${cidr.length}`;
}

/** The canonical text of CIDR text ("2001:DB8:0::/32" → "2001:db8::/32"); throws IpParseError when invalid. */
export function canonicalCidr(text: string, options?: CidrOptions): string {
  return formatCidr(parseCidr(text, options));
}

/** The number of addresses in the CIDR. */
export function cidrSize(cidr: IpCidr): bigint {
  return 1n << BigInt(bitsOf(cidr.version) - cidr.length);
}

/** The last address of the CIDR. */
export function cidrLast(cidr: IpCidr): bigint {
  return cidr.network | (cidrSize(cidr) - 1n);
}

/** Whether the address lies in the CIDR (never across families). */
export function cidrContainsIp(cidr: IpCidr, address: IpAddress): boolean {
  return (
    cidr.version === address.version &&
    (address.value & prefixMask(cidr.version, cidr.length)) === cidr.network
  );
}

/** Whether `inner` lies entirely within `outer` (never across families). */
export function cidrContainsCidr(outer: IpCidr, inner: IpCidr): boolean {
  return (
    outer.version === inner.version &&
    inner.length >= outer.length &&
    (inner.network & prefixMask(outer.version, outer.length)) === outer.network
  );
}

/** Whether two CIDRs share at least one address (never across families). */
export function cidrsOverlap(a: IpCidr, b: IpCidr): boolean {
  if (a.version !== b.version) return false;
  const mask = prefixMask(a.version, Math.min(a.length, b.length));
  return (a.network & mask) === (b.network & mask);
}
