// IP address and CIDR text <-> bytes for routes, with canonical formatting (RFC 5952 for IPv6), so routes
// read from the kernel and routes we want compare as equal strings. The grammar and the error texts are
// @caracal/ip's; this file keeps the kernel's shapes (text addresses, 4/16-byte arrays, AddressError).

import {
  formatIpBytes,
  formatIpv4,
  formatIpv6,
  IpParseError,
  type IpVersion,
  ipVersionOf,
  parseIpBytes,
  parseIpv4Cidr,
  parseIpv6Cidr,
  scanIpv4,
} from '@caracal/ip';

export type Family = IpVersion;

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

/** The AddressError for a parse failure of @caracal/ip (same message); other errors pass unchanged. */
function asAddressError(error: unknown): unknown {
  return error instanceof IpParseError ? new AddressError(error.message, { cause: error }) : error;
}

export function addressFamily(address: string): Family {
  try {
    return ipVersionOf(address);
  } catch (error) {
    throw asAddressError(error);
  }
}

/** The 4 (IPv4) or 16 (IPv6) bytes of an address. */
export function addressToBytes(address: string): Uint8Array {
  try {
    return parseIpBytes(address);
  } catch (error) {
    throw asAddressError(error);
  }
}

/** The canonical text of 4 or 16 address bytes. */
export function bytesToAddress(bytes: Uint8Array): string {
  if (bytes.length !== 4 && bytes.length !== 16)
    throw new AddressError(`an address has 4 or 16 bytes, not ${bytes.length}`);
  return formatIpBytes(bytes);
}

export interface Cidr {
  readonly family: Family;
  readonly address: string;
  readonly length: number;
}

const HOST_ROUTE = { allowBareAddress: true } as const;

/** Parses `a.b.c.d/n` or `x::y/n` (a bare address is a host route); host bits must be zero. */
export function parseCidr(text: string): Cidr {
  try {
    if (text.includes(':')) {
      const cidr = parseIpv6Cidr(text, HOST_ROUTE);
      return { family: 6, address: formatIpv6(cidr.address), length: cidr.length };
    }
    const cidr = parseIpv4Cidr(text, HOST_ROUTE);
    return { family: 4, address: formatIpv4(cidr.address), length: cidr.length };
  } catch (error) {
    throw asAddressError(error);
  }
}

export function canonicalCidr(text: string): string {
  const cidr = parseCidr(text);
  return `${cidr.address}/${cidr.length}`;
}

export function formatCidr(bytes: Uint8Array, length: number): string {
  return `${bytesToAddress(bytes)}/${length}`;
}

/** A canonical dotted quad (no leading zeros) in text[start, end) as an unsigned 32-bit number. */
export function quickIPv4(text: string, start: number, end: number): number | undefined {
  const value = scanIpv4(text, start, end);
  return value < 0 ? undefined : value;
}
