// Borrowed addresses this node must advertise as /32s. With strictAffinity off, IPAM may give a pod on this
// node an address from a block affine to another node B; B advertises (and Felix on B blackholes) that whole
// block, so without a more specific route the pod's traffic would end in B's blackhole. As Calico does, the
// node that hosts the pod originates a /32 for it (longest prefix wins over B's block and its blackhole).
// This module keeps this node's WorkloadEndpoints from the watch of /caracal/v1/resources/workloadendpoints/
// (values are WorkloadEndpoint resources written by the CNI plugin: spec.node, spec.ipNetworks) and computes,
// purely, which of their addresses (IPv6 ones when the node has an IPv6 address) lie outside every confirmed block affine to this node.
import type { WatchEvent } from '@caracal/datastore';
import {
  compareCidr,
  formatCidr,
  formatIpv4,
  type IpCidr,
  IpParseError,
  ipParseResult,
  parseCidr,
  parseIpv4Cidr,
} from '@caracal/ip';
import type { IPPoolResource } from '@caracal/model';
import { cidrTextContains } from './blocks-state.js';

/** What the borrowed-address computation needs of a WorkloadEndpoint. */
export interface LocalWorkload {
  /** The endpoint's datastore key (names it in warnings). */
  readonly key: string;
  readonly ipNetworks: readonly string[];
}

export interface BorrowedAddresses {
  /** The /32s to originate, sorted by address, unique. */
  readonly prefixes: string[];
  /** IPv4 networks of local endpoints that cannot be advertised as one address, each named. */
  readonly warnings: string[];
}

/** The address of an IPv4 network that is one address ("10.0.0.5/32", or bare "10.0.0.5"), or why it is not. */
function singleIpv4Address(network: string): number | string {
  const cidr = ipParseResult(() => parseIpv4Cidr(network, { allowBareAddress: true }));
  if (cidr instanceof IpParseError) return cidr.reason;
  return cidr.length === 32 ? cidr.address : `a /${cidr.length} network`;
}

/** The address of an IPv6 network that is one address ("fd00::5/128", or bare "fd00::5"), or why it is not. */
function singleIpv6Address(network: string): IpCidr | string {
  const cidr = ipParseResult(() => parseCidr(network, { allowBareAddress: true }));
  if (cidr instanceof IpParseError) return cidr.reason;
  if (cidr.version !== 6) return 'an IPv4 network';
  return cidr.length === 128 ? cidr : `a /${cidr.length} network`;
}

/**
 * The /32s of this node's workloads that no confirmed affine block covers (borrowed from another node's
 * block, or in a block whose affinity is not confirmed, so not advertised as a block). Only addresses inside
 * an IP pool without `disableBGPExport` are advertised (Calico's export filter accepts only pool routes).
 * IPv6 networks get the same treatment as /128s with `ipv6: true` (the node has an IPv6 address, so its
 * IPv6 mesh sessions carry them), and are left out without a warning otherwise; a network that is not one
 * address (`/32`, `/128`) is left out with a warning naming the endpoint. IPv4 /32s come first, by address,
 * then IPv6 /128s, by address.
 */
export function borrowedAddressesToAdvertise(
  workloads: Iterable<LocalWorkload>,
  affineBlocks: readonly string[],
  pools: Iterable<Pick<IPPoolResource['spec'], 'cidr' | 'disableBGPExport'>>,
  options: { readonly ipv6?: boolean } = {},
): BorrowedAddresses {
  const poolList = [...pools];
  const addresses = new Set<number>();
  const ipv6Addresses = new Map<string, IpCidr>();
  const warnings: string[] = [];
  const advertisable = (prefix: string): boolean => {
    if (affineBlocks.some((block) => cidrTextContains(block, prefix))) return false;
    const pool = poolList.find((p) => cidrTextContains(p.cidr, prefix));
    return pool !== undefined && !pool.disableBGPExport;
  };
  for (const workload of workloads) {
    for (const network of workload.ipNetworks) {
      if (network.includes(':')) {
        if (options.ipv6 !== true) continue;
        const address = singleIpv6Address(network);
        if (typeof address === 'string') {
          warnings.push(
            `endpoint ${workload.key}: ipNetwork ${JSON.stringify(network)} is not one IPv6 address (/128: ${address}); not advertised`,
          );
          continue;
        }
        const prefix = formatCidr(address);
        if (advertisable(prefix)) ipv6Addresses.set(prefix, address);
        continue;
      }
      const address = singleIpv4Address(network);
      if (typeof address === 'string') {
        warnings.push(
          `endpoint ${workload.key}: ipNetwork ${JSON.stringify(network)} is not one IPv4 address (A.B.C.D/32: ${address}); not advertised`,
        );
        continue;
      }
      if (advertisable(`${formatIpv4(address)}/32`)) addresses.add(address);
    }
  }
  return {
    prefixes: [
      ...[...addresses].sort((a, b) => a - b).map((address) => `${formatIpv4(address)}/32`),
      ...[...ipv6Addresses.values()].sort(compareCidr).map(formatCidr),
    ],
    warnings,
  };
}

/** The WorkloadEndpoint fields read here, or undefined when the value is not a readable endpoint. */
export function workloadOfValue(
  key: string,
  value: string,
): { node: string; workload: LocalWorkload } | undefined {
  let document: unknown;
  try {
    document = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (document === null || typeof document !== 'object') return undefined;
  const { kind, spec } = document as { kind?: unknown; spec?: unknown };
  if (kind !== 'WorkloadEndpoint' || spec === null || typeof spec !== 'object') return undefined;
  const { node, ipNetworks } = spec as { node?: unknown; ipNetworks?: unknown };
  if (typeof node !== 'string') return undefined;
  const networks = Array.isArray(ipNetworks) ? ipNetworks.filter((n) => typeof n === 'string') : [];
  return { node, workload: { key, ipNetworks: networks } };
}

/** This node's WorkloadEndpoints, kept current from the WorkloadEndpoint prefix's watch events. */
export class LocalWorkloadState {
  private readonly byKey = new Map<string, LocalWorkload>();
  inSync = false;

  constructor(private readonly nodeName: string) {}

  /** Applies one watch event; returns whether this node's endpoints may have changed (and are in sync). */
  apply(event: WatchEvent): boolean {
    switch (event.type) {
      case 'snapshot':
        this.byKey.clear();
        for (const item of event.items) this.set(item.key, item.value);
        this.inSync = false;
        return false;
      case 'in-sync':
        this.inSync = true;
        return true;
      case 'put': {
        const changed = this.set(event.key, event.value);
        return this.inSync && changed;
      }
      case 'delete':
        return this.byKey.delete(event.key) && this.inSync;
    }
  }

  /** Records a local endpoint (or forgets the key); returns whether the key was or is local. */
  private set(key: string, value: string): boolean {
    const parsed = workloadOfValue(key, value);
    if (parsed === undefined || parsed.node !== this.nodeName) return this.byKey.delete(key);
    this.byKey.set(key, parsed.workload);
    return true;
  }

  get workloads(): LocalWorkload[] {
    return [...this.byKey.values()];
  }
}
