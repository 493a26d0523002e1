// IP address and CIDR arithmetic for topology validation: parsing IPv4/IPv6 text into numbers,
// containment and overlap of prefixes. Pure functions, no kernel access.
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

/** A parsed IP address: its family and its value as an unsigned integer. */
export interface ParsedAddress {
  readonly family: IpFamily;
  readonly value: bigint;
  readonly text: string;
}

/** A parsed prefix such as 10.0.1.0/24: the network address (host bits cleared) and the length. */
export interface ParsedPrefix {
  readonly family: IpFamily;
  readonly network: bigint;
  readonly length: number;
  readonly text: string;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

function ipv4ToBigint(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6ToBigint(text: string): bigint {
  let body = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) is rewritten as two 16-bit hex groups.
  const lastColon = body.lastIndexOf(':');
  const tailText = body.slice(lastColon + 1);
  if (tailText.includes('.')) {
    const v4 = ipv4ToBigint(tailText);
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = body.includes('::') ? body.split('::') : [body, undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest ? rest.split(':') : [];
  const zeros = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...Array.from({ length: zeros }, () => '0'), ...restGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(`0x${group}`), 0n);
}

/** Parses a plain IP address; returns undefined when the text is not one. */
export function parseAddress(text: string): ParsedAddress | undefined {
  if (isIPv4(text)) return { family: 4, value: ipv4ToBigint(text), text };
  if (isIPv6(text) && !text.includes('%')) return { family: 6, value: ipv6ToBigint(text), text };
  return undefined;
}

/**
 * Parses "address/length". With `strict`, host bits must be zero (a subnet); otherwise the address
 * keeps its host bits in `text` and `network` is the masked value (an interface address).
 */
export function parsePrefix(text: string, strict: boolean): ParsedPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseAddress(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  const bits = BITS[address.family];
  if (length > bits) return undefined;
  const network = address.value & prefixMask(address.family, length);
  if (strict && network !== address.value) return undefined;
  return { family: address.family, network, length, text };
}

function prefixMask(family: IpFamily, length: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return (all >> (bits - BigInt(length))) << (bits - BigInt(length));
}

/** True when `address` lies inside `prefix` (same family, same network bits). */
export function prefixContains(prefix: ParsedPrefix, address: ParsedAddress): boolean {
  return (
    prefix.family === address.family &&
    (address.value & prefixMask(prefix.family, prefix.length)) === prefix.network
  );
}

/** True when two prefixes share at least one address. */
export function prefixesOverlap(a: ParsedPrefix, b: ParsedPrefix): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.length, b.length);
  const mask = prefixMask(a.family, shorter);
  return (a.network & mask) === (b.network & mask);
}

/** The network and broadcast addresses of an IPv4 prefix shorter than /31 cannot be given to hosts. */
export function isReservedInPrefix(prefix: ParsedPrefix, address: ParsedAddress): boolean {
  if (prefix.family !== 4 || prefix.length >= 31) return false;
  const hostBits = BigInt(32 - prefix.length);
  const broadcast = prefix.network | ((1n << hostBits) - 1n);
  return address.value === prefix.network || address.value === broadcast;
}
