// Pure translation between the speaker's FIB entries and @caracal/kernel routes: validation with precise
// errors (prefix, gateway family, IPv6 link-local without a device), the kernel route we write for an
// entry, and whether a route read back from the kernel already is what we want.

import { AddressError, addressFamily, canonicalCidr, type KernelRoute, parseCidr } from '@caracal/kernel';
import type { FibEntry, FibNextHop } from './types.js';

/** The route protocol caracal-bgpd uses unless configured otherwise (unassigned in rt_protos). */
export const DEFAULT_BGP_ROUTE_PROTOCOL = 201;

export class FibEntryError extends Error {
  override readonly name = 'FibEntryError';
}

/** Canonical text of a prefix (the FIB's key); throws FibEntryError naming the prefix. */
export function canonicalFibPrefix(prefix: string): string {
  try {
    return canonicalCidr(prefix);
  } catch (error) {
    if (error instanceof AddressError) throw new FibEntryError(`FIB prefix: ${error.message}`);
    throw error;
  }
}

/** The kernel route for `entry` at `prefix` (canonical), with our protocol and table. */
export function kernelRouteFor(
  prefix: string,
  entry: FibEntry,
  owner: { readonly protocol: number; readonly table: number },
): KernelRoute {
  const base = { dst: prefix, table: owner.table, protocol: owner.protocol, scope: 'universe' as const };
  if (entry.kind === 'blackhole') return { ...base, type: 'blackhole' };
  if (entry.kind !== 'unicast') {
    throw new FibEntryError(`${prefix}: unknown FIB entry kind '${(entry as { kind: unknown }).kind}'`);
  }
  const family = parseCidr(prefix).family;
  if (!Array.isArray(entry.nextHops) || entry.nextHops.length === 0) {
    throw new FibEntryError(`${prefix}: a unicast entry needs at least one next hop`);
  }
  const hops = uniqueHops(entry.nextHops.map((hop, index) => checkedHop(prefix, family, hop, index)));
  if (hops.length === 1) {
    const [hop] = hops as [FibNextHop];
    return { ...base, type: 'unicast', gateway: hop.gateway, ...(hop.device ? { device: hop.device } : {}) };
  }
  return {
    ...base,
    type: 'unicast',
    nextHops: hops.map((hop) => ({ gateway: hop.gateway, ...(hop.device ? { device: hop.device } : {}) })),
  };
}

/**
 * True when `actual` (read from the kernel) forwards as `wanted` does: same type and the same set of
 * gateways; a device is compared only where we chose one (the kernel fills in the resolved device).
 * Metric and scope are the kernel's defaults and are not compared.
 */
export function kernelRouteMatches(actual: KernelRoute, wanted: KernelRoute): boolean {
  if (actual.type !== wanted.type || actual.dst !== wanted.dst || actual.table !== wanted.table) return false;
  if (wanted.type !== 'unicast') return true;
  const actualHops = hopsOf(actual);
  const wantedHops = hopsOf(wanted);
  if (actualHops.length !== wantedHops.length) return false;
  const remaining = [...actualHops];
  for (const hop of wantedHops) {
    const index = remaining.findIndex(
      (candidate) =>
        candidate.gateway === hop.gateway && (hop.device === undefined || candidate.device === hop.device),
    );
    if (index < 0) return false;
    remaining.splice(index, 1);
  }
  return true;
}

function hopsOf(route: KernelRoute): { gateway: string | undefined; device: string | undefined }[] {
  if (route.nextHops && route.nextHops.length > 0) {
    return route.nextHops.map((hop) => ({ gateway: hop.gateway, device: hop.device }));
  }
  return [{ gateway: route.gateway, device: route.device }];
}

function checkedHop(prefix: string, family: 4 | 6, hop: FibNextHop, index: number): FibNextHop {
  const where = `${prefix}: nextHops[${index}]`;
  if (typeof hop?.gateway !== 'string') throw new FibEntryError(`${where}.gateway must be an address`);
  let gatewayFamily: 4 | 6;
  let gateway: string;
  try {
    gatewayFamily = addressFamily(hop.gateway);
    gateway = parseCidr(hop.gateway).address;
  } catch (error) {
    if (error instanceof AddressError) throw new FibEntryError(`${where}.gateway: ${error.message}`);
    throw error;
  }
  if (gatewayFamily !== family) {
    throw new FibEntryError(
      `${where}.gateway ${hop.gateway} is IPv${gatewayFamily} but the prefix is IPv${family}`,
    );
  }
  if (hop.device !== undefined && (typeof hop.device !== 'string' || hop.device === '')) {
    throw new FibEntryError(`${where}.device must be a non-empty interface name`);
  }
  if (family === 6 && isIpv6LinkLocal(gateway) && hop.device === undefined) {
    throw new FibEntryError(`${where}.gateway ${gateway} is link-local: a device is required`);
  }
  return hop.device === undefined ? { gateway } : { gateway, device: hop.device };
}

function uniqueHops(hops: FibNextHop[]): FibNextHop[] {
  const seen = new Set<string>();
  const unique: FibNextHop[] = [];
  for (const hop of hops) {
    const key = `${hop.gateway}%${hop.device ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(hop);
  }
  // A stable order, so the same set of next hops always gives the same kernel route.
  return unique.sort((a, b) =>
    a.gateway === b.gateway ? (a.device ?? '').localeCompare(b.device ?? '') : a.gateway < b.gateway ? -1 : 1,
  );
}

/** fe80::/10, for an address in canonical text (the first hextet is fe80..febf). */
export function isIpv6LinkLocal(canonicalAddress: string): boolean {
  return /^fe[89ab][0-9a-f]:/.test(canonicalAddress);
}
