// Calico's CNI IPAM options as `caracal-ipam` reads them from the configuration's `ipam` object:
// `assign_ipv4` / `assign_ipv6` ("true"/"false" strings as in Calico's conflist, or JSON booleans; defaults
// IPv4 on, IPv6 off) and `ipv4_pools` / `ipv6_pools` (pool names or CIDRs). Pure: parsing and the pool
// restriction handed to IPAM's autoAssign, with errors naming the field and the value.
import { formatCidr, type IpamPool, parseCidr } from '@caracal/ipam';
import { CniError, CniErrorCode } from './spec.js';

export interface IpamAssignOptions {
  readonly assignIpv4: boolean;
  readonly assignIpv6: boolean;
  /** As written in the configuration; undefined = every enabled pool of the family. */
  readonly ipv4Pools?: readonly string[];
  readonly ipv6Pools?: readonly string[];
}

function invalid(message: string): CniError {
  return new CniError(CniErrorCode.InvalidNetworkConfig, `invalid IPAM configuration: ${message}`);
}

function parseFlag(ipam: Readonly<Record<string, unknown>>, field: string, fallback: boolean): boolean {
  const value = ipam[field];
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalid(`ipam.${field} must be "true" or "false" (or a boolean), got ${JSON.stringify(value)}`);
}

function parsePoolList(ipam: Readonly<Record<string, unknown>>, field: string): string[] | undefined {
  const value = ipam[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw invalid(`ipam.${field} must be a list of pool names or CIDRs, got ${JSON.stringify(value)}`);
  }
  return value.map((entry, index) => {
    if (typeof entry !== 'string' || entry.trim() === '') {
      throw invalid(`ipam.${field}[${index}] must be a pool name or CIDR, got ${JSON.stringify(entry)}`);
    }
    return entry.trim();
  });
}

/** The `ipam` object's assignment options; code 7 naming `ipam.<field>` and the value when one is bad. */
export function parseIpamAssignOptions(ipam: Readonly<Record<string, unknown>>): IpamAssignOptions {
  const assignIpv4 = parseFlag(ipam, 'assign_ipv4', true);
  const assignIpv6 = parseFlag(ipam, 'assign_ipv6', false);
  if (!assignIpv4 && !assignIpv6) {
    throw invalid('ipam.assign_ipv4 and ipam.assign_ipv6 are both "false": there is nothing to assign');
  }
  const ipv4Pools = parsePoolList(ipam, 'ipv4_pools');
  const ipv6Pools = parsePoolList(ipam, 'ipv6_pools');
  return {
    assignIpv4,
    assignIpv6,
    ...(ipv4Pools !== undefined ? { ipv4Pools } : {}),
    ...(ipv6Pools !== undefined ? { ipv6Pools } : {}),
  };
}

/** The canonical CIDR of a pool (undefined when its CIDR does not parse: IPAM reports that itself). */
function canonicalPoolCidr(pool: IpamPool): { cidr: string; version: 4 | 6 } | undefined {
  try {
    const cidr = parseCidr(pool.cidr, `pool ${pool.name}`);
    return { cidr: formatCidr(cidr), version: cidr.version };
  } catch {
    return undefined;
  }
}

/** A configured pool entry as a CIDR in canonical form, or the entry unchanged when it is not a CIDR. */
function canonicalEntry(entry: string): string {
  if (!entry.includes('/')) return entry;
  try {
    return formatCidr(parseCidr(entry, 'pool', { strict: false }));
  } catch {
    return entry;
  }
}

/**
 * The `pools` restriction for IPAM's autoAssign (names), or undefined when neither list is given. Every
 * entry must name an existing pool (by name or CIDR) of its family; a family without a list keeps all its
 * pools. Code 7 naming `ipam.<field>[i]` and the value otherwise.
 */
export function poolRestriction(
  options: IpamAssignOptions,
  pools: readonly IpamPool[],
): string[] | undefined {
  if (options.ipv4Pools === undefined && options.ipv6Pools === undefined) return undefined;
  const described = pools.map((pool) => ({ pool, parsed: canonicalPoolCidr(pool) }));
  const allowed: string[] = [];
  for (const version of [4, 6] as const) {
    const field = version === 4 ? 'ipv4_pools' : 'ipv6_pools';
    const list = version === 4 ? options.ipv4Pools : options.ipv6Pools;
    const ofFamily = described.filter((d) => d.parsed?.version === version);
    if (list === undefined) {
      allowed.push(...ofFamily.map((d) => d.pool.name));
      continue;
    }
    list.forEach((entry, index) => {
      const wanted = canonicalEntry(entry);
      const match = described.find((d) => d.pool.name === entry || d.parsed?.cidr === wanted);
      if (match === undefined) {
        throw invalid(
          `ipam.${field}[${index}] ${JSON.stringify(entry)} names no IPPool (known: ${pools.map((p) => `${p.name} ${p.cidr}`).join(', ') || 'none'})`,
        );
      }
      if (match.parsed?.version !== version) {
        throw invalid(
          `ipam.${field}[${index}] ${JSON.stringify(entry)} is IPPool ${match.pool.name} (${match.pool.cidr}), not an IPv${version} pool`,
        );
      }
      allowed.push(match.pool.name);
    });
  }
  return [...new Set(allowed)];
}
