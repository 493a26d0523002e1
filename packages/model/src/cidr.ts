// The IP/CIDR vocabulary of the model (validation and IPAM speak it): the parsing, formatting and
// arithmetic are @caracal/ip's; this file keeps the model's shapes — parseIp answering undefined for a
// non-address, Cidr with `prefixLength`, CIDRs normalised (host bits cleared) as Calico does.

import {
  cidrContainsCidr,
  cidrContainsIp,
  type IpAddress,
  type IpCidr,
  IpParseError,
  cidrLast as ipCidrLast,
  cidrsOverlap as ipCidrsOverlap,
  formatCidr as ipFormatCidr,
  parseCidr as ipParseCidr,
  parseIp as ipParseIp,
  parseAddressWithLength,
  prefixMask,
} from '@caracal/ip';

export { formatIp, type IpAddress, type IpVersion } from '@caracal/ip';

export interface Cidr {
  version: IpAddress['version'];
  /** Network address (host bits cleared). */
  network: bigint;
  prefixLength: number;
}

const toIpCidr = (cidr: Cidr): IpCidr => ({
  version: cidr.version,
  network: cidr.network,
  length: cidr.prefixLength,
});

/** Parses an IPv4 or IPv6 address; undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  try {
    return ipParseIp(text);
  } catch (error) {
    if (error instanceof IpParseError) return undefined;
    throw error;
  }
}

export type CidrParse =
  | {
      ok: true;
      cidr: Cidr;
      /** The address as written, before host bits were cleared. */
      address: IpAddress;
      hostBitsSet: boolean;
    }
  | { ok: false; reason: string };

/** Parses "address/prefix"; reports whether host bits were set (the returned cidr has them cleared). */
export function parseCidrDetailed(text: string): CidrParse {
  let parsed: ReturnType<typeof parseAddressWithLength>;
  try {
    parsed = parseAddressWithLength(text);
  } catch (error) {
    if (error instanceof IpParseError) return { ok: false, reason: error.message };
    throw error;
  }
  const { address, length } = parsed;
  const network = address.value & prefixMask(address.version, length);
  return {
    ok: true,
    cidr: { version: address.version, network, prefixLength: length },
    address,
    hostBitsSet: network !== address.value,
  };
}

/** Parses a CIDR, clearing host bits (10.0.0.5/24 → 10.0.0.0/24); throws IpParseError naming the problem. */
export function parseCidr(text: string): Cidr {
  const { version, network, length } = ipParseCidr(text, { hostBits: 'clear' });
  return { version, network, prefixLength: length };
}

export function formatCidr(cidr: Cidr): string {
  return ipFormatCidr(toIpCidr(cidr));
}

/** The normalised text of a CIDR (host bits cleared, canonical address form). */
export function normalizeCidr(text: string): string {
  return formatCidr(parseCidr(text));
}

/** Last address of a CIDR. */
export function cidrLast(cidr: Cidr): bigint {
  return ipCidrLast(toIpCidr(cidr));
}

/** Whether `inner` (a CIDR or an address) lies entirely within `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr | IpAddress): boolean {
  if ('value' in inner) return cidrContainsIp(toIpCidr(outer), inner);
  return cidrContainsCidr(toIpCidr(outer), toIpCidr(inner));
}

/** Whether two CIDRs share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return ipCidrsOverlap(toIpCidr(a), toIpCidr(b));
}
