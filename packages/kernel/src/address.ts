// IP address and CIDR text <-> bytes, with canonical formatting (RFC 5952 for IPv6), so routes read from
// the kernel and routes we want compare as equal strings.

import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

export function addressFamily(address: string): Family {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  throw new AddressError(`'${address}' is not an IPv4 or IPv6 address`);
}

export function addressToBytes(address: string): Uint8Array {
  if (isIPv4(address)) return Uint8Array.from(address.split('.').map(Number));
  if (!isIPv6(address)) throw new AddressError(`'${address}' is not an IPv4 or IPv6 address`);
  let text = address;
  const bytes = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a, b, c, d] = v4[1].split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const parts =
    tail === undefined
      ? headParts
      : [...headParts, ...new Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts];
  parts.forEach((part, i) => {
    const value = Number.parseInt(part, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}

export function bytesToAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new AddressError(`an address has 4 or 16 bytes, not ${bytes.length}`);
  const hextets: number[] = [];
  for (let i = 0; i < 16; i += 2) hextets.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: compress the longest run (length >= 2) of zero hextets, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (hextets[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((h) => h.toString(16)).join(':');
  if (bestStart < 0) return hex(hextets);
  return `${hex(hextets.slice(0, bestStart))}::${hex(hextets.slice(bestStart + bestLength))}`;
}

export interface Cidr {
  readonly family: Family;
  readonly address: string;
  readonly length: number;
}

/** Parses `a.b.c.d/n` or `x::y/n` (a bare address is a host route); host bits must be zero. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  // Quick path: canonical IPv4 text with a canonical length and no host bits (what routes mostly are).
  const quick = quickIPv4(text, 0, slash < 0 ? text.length : slash);
  if (quick !== undefined) {
    const lengthText = slash < 0 ? '32' : text.slice(slash + 1);
    if (lengthText.length <= 2 && /^(?:0|[1-9]\d?)$/.test(lengthText)) {
      const length = Number(lengthText);
      if (length <= 32 && (quick & (length >= 32 ? 0 : 0xffffffff >>> length)) === 0) {
        return { family: 4, address: slash < 0 ? text : text.slice(0, slash), length };
      }
    }
  }
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = addressFamily(address);
  const max = family === 4 ? 32 : 128;
  const lengthText = slash < 0 ? String(max) : text.slice(slash + 1);
  const length = Number(lengthText);
  if (!/^\d+$/.test(lengthText) || length > max) {
    throw new AddressError(`'${text}': prefix length must be 0..${max}`);
  }
  const bytes = addressToBytes(address);
  if (!hostBitsZero(bytes, length)) {
    throw new AddressError(
      `'${text}': host bits are set (the network is ${formatCidr(mask(bytes, length), length)})`,
    );
  }
  return { family, address: bytesToAddress(bytes), length };
}

export function canonicalCidr(text: string): string {
  const cidr = parseCidr(text);
  return `${cidr.address}/${cidr.length}`;
}

export function formatCidr(bytes: Uint8Array, length: number): string {
  return `${bytesToAddress(bytes)}/${length}`;
}

function mask(bytes: Uint8Array, length: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = length; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

function hostBitsZero(bytes: Uint8Array, length: number): boolean {
  const masked = mask(bytes, length);
  return masked.every((b, i) => b === bytes[i]);
}

/** A canonical dotted quad (no leading zeros) in text[start, end) as an unsigned 32-bit number. */
export function quickIPv4(text: string, start: number, end: number): number | undefined {
  let value = 0;
  let octet = -1;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (octet < 0 || dots === 3) return undefined;
      value = value * 256 + octet;
      octet = -1;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined; // leading zero
      octet = Math.max(octet, 0) * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || octet < 0) return undefined;
  return value * 256 + octet;
}
