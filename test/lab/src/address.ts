// IP address and CIDR arithmetic for topology validation, in the lab's own terms (a family, the text as
// written, undefined for text that is not an address): containment, overlap and the addresses a host may
// not take. The parsing and the arithmetic are @caracal/ip's, the one grammar of every Caracal package.
import {
  bitsOf,
  cidrContainsIp,
  cidrLast,
  cidrsOverlap,
  type IpCidr,
  IpParseError,
  ipParseResult,
  parseAddressWithLength,
  parseIp,
  prefixMask,
} from '@caracal/ip';

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

/** The value of `parse()`, or undefined when @caracal/ip refuses the text (any other error is thrown). */
function unlessInvalid<T>(parse: () => T): T | undefined {
  const result = ipParseResult(parse);
  return result instanceof IpParseError ? undefined : result;
}

/** Parses a plain IP address; returns undefined when the text is not one. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const address = unlessInvalid(() => parseIp(text));
  return address && { family: address.version, value: address.value, text };
}

/**
 * Parses "address/length". With `strict`, host bits must be zero (a subnet); otherwise the address
 * keeps its host bits in `text` and `network` is the masked value (an interface address).
 */
export function parsePrefix(text: string, strict: boolean): ParsedPrefix | undefined {
  const parsed = unlessInvalid(() => parseAddressWithLength(text));
  if (parsed === undefined) return undefined;
  const { address, length } = parsed;
  const network = address.value & prefixMask(address.version, length);
  if (strict && network !== address.value) return undefined;
  return { family: address.version, network, length, text };
}

function asCidr(prefix: ParsedPrefix): IpCidr {
  return { version: prefix.family, network: prefix.network, length: prefix.length };
}

/** True when `address` lies inside `prefix` (same family, same network bits). */
export function prefixContains(prefix: ParsedPrefix, address: ParsedAddress): boolean {
  return cidrContainsIp(asCidr(prefix), { version: address.family, value: address.value });
}

/** True when two prefixes share at least one address. */
export function prefixesOverlap(a: ParsedPrefix, b: ParsedPrefix): boolean {
  return cidrsOverlap(asCidr(a), asCidr(b));
}

/** The network and broadcast addresses of an IPv4 prefix shorter than /31 cannot be given to hosts. */
export function isReservedInPrefix(prefix: ParsedPrefix, address: ParsedAddress): boolean {
  if (prefix.family !== 4 || prefix.length >= bitsOf(4) - 1) return false;
  return address.value === prefix.network || address.value === cidrLast(asCidr(prefix));
}
