// Pure translation between the speaker's FIB entries and @caracal/kernel routes: validation with precise
// errors (prefix, gateway family, IPv6 link-local without a device), the kernel route we write for an
// entry, and whether a route read back from the kernel already is what we want.

import { isIpv6LinkLocal } from '@caracal/ip';
import {
  AddressError,
  addressFamily,
  canonicalCidr,
  type KernelRoute,
  parseCidr,
  quickIPv4,
} from '@caracal/kernel';
import type { FibEntry, FibNextHop } from './types.js';

/** The route protocol caracal-bgpd uses unless configured otherwise (unassigned in rt_protos). */
export const DEFAULT_BGP_ROUTE_PROTOCOL = 201;

export class FibEntryError extends Error {
  override readonly name = 'FibEntryError';
}

/** Canonical text of a prefix (the FIB's key); throws FibEntryError naming the prefix. */
export function canonicalFibPrefix(prefix: string): string {
  if (isCanonicalIpv4Prefix(prefix)) return prefix;
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
  const family = isCanonicalIpv4Prefix(prefix) ? 4 : parseCidr(prefix).family;
  if (!Array.isArray(entry.nextHops) || entry.nextHops.length === 0) {
    throw new FibEntryError(`${prefix}: a unicast entry needs at least one next hop`);
  }
  if (entry.nextHops.length === 1) {
    // The common case (one next hop shared by many prefixes): checked once, then found in checkedHops.
    const hop = checkedHop(prefix, family, entry.nextHops[0] as FibNextHop, 0);
    if (hop.device === undefined) {
      return {
        dst: prefix,
        table: owner.table,
        protocol: owner.protocol,
        scope: 'universe',
        type: 'unicast',
        gateway: hop.gateway,
      };
    }
    return { ...base, type: 'unicast', gateway: hop.gateway, device: hop.device };
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

/**
 * Next hops already checked, by family, gateway text and device: the same few gateways come with
 * thousands of prefixes. Bounded: emptied when it is full.
 */
const checkedHops = new Map<string, FibNextHop>();
const CHECKED_HOPS_MAX = 1024;

function checkedHop(prefix: string, family: 4 | 6, hop: FibNextHop, index: number): FibNextHop {
  if (typeof hop?.gateway === 'string' && (hop.device === undefined || typeof hop.device === 'string')) {
    const key = `${family}${hop.gateway}%${hop.device ?? ''}`;
    const known = checkedHops.get(key);
    if (known !== undefined) return known;
    const checked = checkHop(prefix, family, hop, index);
    if (checkedHops.size >= CHECKED_HOPS_MAX) checkedHops.clear();
    checkedHops.set(key, checked);
    return checked;
  }
  return checkHop(prefix, family, hop, index);
}

function checkHop(prefix: string, family: 4 | 6, hop: FibNextHop, index: number): FibNextHop {
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

/** fe80::/10, for an address in canonical text: @caracal/ip's, kept in this module's exports. */
export { isIpv6LinkLocal };

/** True for canonical IPv4 CIDR text (`a.b.c.d/n`, no leading zeros, host bits zero), checked quickly. */
function isCanonicalIpv4Prefix(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 7 || slash > 15) return false;
  const address = quickIPv4(text, 0, slash);
  if (address === undefined) return false;
  const lengthText = text.length - slash - 1;
  if (lengthText < 1 || lengthText > 2) return false;
  const first = text.charCodeAt(slash + 1) - 48;
  if (first < 0 || first > 9) return false;
  let length = first;
  if (lengthText === 2) {
    const second = text.charCodeAt(slash + 2) - 48;
    if (first === 0 || second < 0 || second > 9) return false;
    length = first * 10 + second;
  }
  if (length > 32) return false;
  return length === 32 || (address & (0xffffffff >>> length)) === 0;
}
