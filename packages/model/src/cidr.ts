// IP address and CIDR helpers used by validation and IPAM: strict parsing of IPv4/IPv6 addresses,
// CIDR normalisation (host bits are cleared, as Calico does), formatting, containment and overlap.

export type IpVersion = 4 | 6;

export interface IpAddress {
  version: IpVersion;
  /** The address as an unsigned integer (32 or 128 bits). */
  value: bigint;
}

export interface Cidr {
  version: IpVersion;
  /** Network address (host bits cleared). */
  network: bigint;
  prefixLength: number;
}

const bitsOf = (version: IpVersion) => (version === 4 ? 32 : 128);

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  let groups: string[];
  const doubleColon = text.indexOf('::');
  if (doubleColon !== text.lastIndexOf('::')) return undefined;
  let tail = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const embedded = parseIpv4(text.slice(lastColon + 1));
    if (embedded === undefined) return undefined;
    tail = `${text.slice(0, lastColon + 1)}${(embedded >> 16n).toString(16)}:${(embedded & 0xffffn).toString(16)}`;
  }
  if (doubleColon >= 0) {
    const [head = '', rest = ''] = tail.split('::');
    const headGroups = head === '' ? [] : head.split(':');
    const restGroups = rest === '' ? [] : rest.split(':');
    const missing = 8 - headGroups.length - restGroups.length;
    if (missing < 1) return undefined;
    groups = [...headGroups, ...Array<string>(missing).fill('0'), ...restGroups];
  } else {
    groups = tail.split(':');
  }
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(`0x${group}`);
  }
  return value;
}

/** Parses an IPv4 or IPv6 address; undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === undefined ? undefined : { version: 6, value };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { version: 4, value };
}

/** Formats an address: dotted quad, or RFC 5952 compressed IPv6. */
export function formatIp(address: IpAddress): string {
  if (address.version === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => ((address.value >> shift) & 0xffn).toString()).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) =>
    Number((address.value >> BigInt(112 - 16 * i)) & 0xffffn),
  );
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

const maskOf = (version: IpVersion, prefixLength: number): bigint => {
  const bits = BigInt(bitsOf(version));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefixLength))) - 1n);
};

export type CidrParse =
  | {
      ok: true;
      cidr: Cidr /** The address as written, before host bits were cleared. */;
      address: IpAddress;
      hostBitsSet: boolean;
    }
  | { ok: false; reason: string };

/** Parses "address/prefix"; reports whether host bits were set (the returned cidr has them cleared). */
export function parseCidrDetailed(text: string): CidrParse {
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, reason: `"${text}" has no prefix length (expected address/N)` };
  const address = parseIp(text.slice(0, slash));
  if (address === undefined)
    return { ok: false, reason: `"${text.slice(0, slash)}" is not an IPv4 or IPv6 address` };
  const lengthText = text.slice(slash + 1);
  const prefixLength = Number(lengthText);
  if (!/^[0-9]{1,3}$/.test(lengthText) || prefixLength > bitsOf(address.version)) {
    return {
      ok: false,
      reason: `prefix length "${lengthText}" must be 0-${bitsOf(address.version)} for IPv${address.version}`,
    };
  }
  const network = address.value & maskOf(address.version, prefixLength);
  return {
    ok: true,
    cidr: { version: address.version, network, prefixLength },
    address,
    hostBitsSet: network !== address.value,
  };
}

/** Parses a CIDR, clearing host bits (10.0.0.5/24 → 10.0.0.0/24); throws with the reason on bad input. */
export function parseCidr(text: string): Cidr {
  const parsed = parseCidrDetailed(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.cidr;
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ version: cidr.version, value: cidr.network })}/${cidr.prefixLength}`;
}

/** The normalised text of a CIDR (host bits cleared, canonical address form). */
export function normalizeCidr(text: string): string {
  return formatCidr(parseCidr(text));
}

/** Last address of a CIDR. */
export function cidrLast(cidr: Cidr): bigint {
  return cidr.network | ((1n << BigInt(bitsOf(cidr.version) - cidr.prefixLength)) - 1n);
}

/** Whether `inner` (a CIDR or an address) lies entirely within `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr | IpAddress): boolean {
  if (outer.version !== inner.version) return false;
  if ('value' in inner) return inner.value >= outer.network && inner.value <= cidrLast(outer);
  return (
    inner.prefixLength >= outer.prefixLength &&
    inner.network >= outer.network &&
    cidrLast(inner) <= cidrLast(outer)
  );
}

/** Whether two CIDRs share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.network <= cidrLast(b) && b.network <= cidrLast(a);
}
