// IP address and CIDR arithmetic on bigints for IPv4 and IPv6 in IPAM's shapes (Cidr with `prefix`, errors
// prefixed with the field they came from), over @caracal/ip (parsing, RFC 5952 formatting, containment),
// plus cutting a pool into blocks.
import {
  bitsOf,
  type IpCidr,
  IpParseError,
  type IpVersion,
  cidrContainsCidr as ipCidrContainsCidr,
  cidrContainsIp as ipCidrContainsIp,
  cidrSize as ipCidrSize,
  cidrsOverlap as ipCidrsOverlap,
  formatIp as ipFormatIp,
  parseCidr as ipParseCidr,
  parseIp as ipParseIp,
  prefixMask,
} from '@caracal/ip';

export { bitsOf, type IpVersion, prefixMask } from '@caracal/ip';

/** A parsed CIDR: `network` is the first address (host bits must be zero), `prefix` its length. */
export interface Cidr {
  readonly version: IpVersion;
  readonly network: bigint;
  readonly prefix: number;
}

/** Thrown for malformed addresses or CIDRs; the message names the field, the input and what is wrong. */
export class IpFormatError extends Error {
  override readonly name = 'IpFormatError';
}

const toIpCidr = (cidr: Cidr): IpCidr => ({
  version: cidr.version,
  network: cidr.network,
  length: cidr.prefix,
});

/** Runs a parse of @caracal/ip, turning its error into an IpFormatError naming the field `what`. */
function parsing<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof IpParseError) throw new IpFormatError(`${what}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Parses an IPv4 or IPv6 address into its version and numeric value. `what` names the field for errors. */
export function parseIp(text: string, what = 'address'): { version: IpVersion; value: bigint } {
  return parsing(what, () => ipParseIp(text.trim()));
}

/** Canonical text of an address: dotted quad for IPv4, RFC 5952 compressed lower-case form for IPv6. */
export function formatIp(version: IpVersion, value: bigint): string {
  return ipFormatIp({ version, value });
}

/** Canonical form of an address string (e.g. `fd00:0::1` → `fd00::1`). */
export function canonicalIp(text: string, what = 'address'): string {
  return ipFormatIp(parseIp(text, what));
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
  const { version, network, length } = parsing(what, () =>
    ipParseCidr(text.trim(), {
      hostBits: options.strict === false ? 'clear' : 'reject',
      allowBareAddress: options.allowBareAddress === true,
    }),
  );
  return { version, network, prefix: length };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.version, cidr.network)}/${cidr.prefix}`;
}

/** Number of addresses in the CIDR. */
export function cidrSize(cidr: Cidr): bigint {
  return ipCidrSize(toIpCidr(cidr));
}

export function cidrContainsIp(cidr: Cidr, version: IpVersion, value: bigint): boolean {
  return ipCidrContainsIp(toIpCidr(cidr), { version, value });
}

/** True when the two CIDRs share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return ipCidrsOverlap(toIpCidr(a), toIpCidr(b));
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return ipCidrContainsCidr(toIpCidr(outer), toIpCidr(inner));
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
