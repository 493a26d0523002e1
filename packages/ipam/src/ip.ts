// IP address and CIDR arithmetic on bigints for IPv4 and IPv6: parsing (validated with ip-num), canonical
// formatting (IPv6 compressed per RFC 5952), containment, and cutting a pool into blocks.
import { IPv4, IPv6, Validator } from 'ip-num';

export type IpVersion = 4 | 6;

/** A parsed CIDR: `network` is the first address (host bits must be zero), `prefix` its length. */
export interface Cidr {
  readonly version: IpVersion;
  readonly network: bigint;
  readonly prefix: number;
}

/** Thrown for malformed addresses or CIDRs; the message names the input and what is wrong with it. */
export class IpFormatError extends Error {
  override readonly name = 'IpFormatError';
}

export function bitsOf(version: IpVersion): number {
  return version === 4 ? 32 : 128;
}

/** Parses an IPv4 or IPv6 address into its version and numeric value. `what` names the field for errors. */
export function parseIp(text: string, what = 'address'): { version: IpVersion; value: bigint } {
  const trimmed = text.trim();
  if (trimmed.includes(':')) {
    const [valid, messages] = Validator.isValidIPv6String(trimmed);
    if (!valid)
      throw new IpFormatError(`${what}: "${text}" is not a valid IPv6 address (${messages.join('; ')})`);
    return { version: 6, value: IPv6.fromString(trimmed).getValue() };
  }
  const [valid, messages] = Validator.isValidIPv4String(trimmed);
  if (!valid)
    throw new IpFormatError(`${what}: "${text}" is not a valid IPv4 address (${messages.join('; ')})`);
  return { version: 4, value: IPv4.fromString(trimmed).getValue() };
}

/** Canonical text of an address: dotted quad for IPv4, RFC 5952 compressed lower-case form for IPv6. */
export function formatIp(version: IpVersion, value: bigint): string {
  if (version === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join('.');
  }
  const groups: number[] = [];
  for (let index = 7; index >= 0; index -= 1) groups.push(Number((value >> BigInt(index * 16)) & 0xffffn));
  // Longest run of two or more zero groups (first one on ties) becomes "::".
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - start > bestLength && end - start >= 2) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/** Canonical form of an address string (e.g. `fd00:0::1` → `fd00::1`). */
export function canonicalIp(text: string, what = 'address'): string {
  const { version, value } = parseIp(text, what);
  return formatIp(version, value);
}

/**
 * Parses `a.b.c.d/n` or `x::/n`. With `strict` (default) host bits must be zero; otherwise they are
 * masked off. A bare address is accepted as a /32 or /128 only when `allowBareAddress` is set.
 */
export function parseCidr(
  text: string,
  what = 'cidr',
  options: { strict?: boolean; allowBareAddress?: boolean } = {},
): Cidr {
  const strict = options.strict ?? true;
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  if (slash < 0 && !options.allowBareAddress) {
    throw new IpFormatError(`${what}: "${text}" has no prefix length (expected address/length)`);
  }
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const { version, value } = parseIp(addressText, what);
  const bits = bitsOf(version);
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      throw new IpFormatError(`${what}: "${text}" has prefix length "${prefixText}"; expected 0–${bits}`);
    }
    prefix = Number(prefixText);
  }
  const network = value & prefixMask(version, prefix);
  if (strict && network !== value) {
    throw new IpFormatError(
      `${what}: "${text}" has host bits set; the network is ${formatIp(version, network)}/${prefix}`,
    );
  }
  return { version, network, prefix };
}

export function prefixMask(version: IpVersion, prefix: number): bigint {
  const bits = bitsOf(version);
  const all = (1n << BigInt(bits)) - 1n;
  return (all >> BigInt(bits - prefix)) << BigInt(bits - prefix);
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.version, cidr.network)}/${cidr.prefix}`;
}

/** Number of addresses in the CIDR. */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(bitsOf(cidr.version) - cidr.prefix);
}

export function cidrContainsIp(cidr: Cidr, version: IpVersion, value: bigint): boolean {
  return cidr.version === version && (value & prefixMask(version, cidr.prefix)) === cidr.network;
}

/** True when the two CIDRs share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.version !== b.version) return false;
  const shorter = Math.min(a.prefix, b.prefix);
  const mask = prefixMask(a.version, shorter);
  return (a.network & mask) === (b.network & mask);
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.version === inner.version &&
    inner.prefix >= outer.prefix &&
    cidrContainsIp(outer, inner.version, inner.network)
  );
}

/** Number of blocks of `blockSize` in the pool (the pool prefix must not be longer than blockSize). */
export function blockCount(pool: Cidr, blockSize: number): bigint {
  return 1n << BigInt(blockSize - pool.prefix);
}

/** The index-th block of `blockSize` within the pool. */
export function nthBlock(pool: Cidr, blockSize: number, index: bigint): Cidr {
  const step = 1n << BigInt(bitsOf(pool.version) - blockSize);
  return { version: pool.version, network: pool.network + step * index, prefix: blockSize };
}

/** The block of `blockSize` that holds the address. */
export function blockOf(version: IpVersion, value: bigint, blockSize: number): Cidr {
  return { version, network: value & prefixMask(version, blockSize), prefix: blockSize };
}
