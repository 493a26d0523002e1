// The node's affine blocks as caracal-bgpd should advertise them: this node's affinities (watched under
// /caracal/v1/ipam/affinities/<node>/, values written by @caracal/ipam as {node, cidr, state, updatedAt}) and
// the IP pools (for `disableBGPExport`). Only confirmed affinities count (pending ones may still lose their
// claim; pendingDeletion ones are going); IPv6 blocks only when the node has an IPv6 address (its IPv6 mesh
// sessions carry them). CIDR text is read by @caracal/ip, the grammar every other package uses.
import { type KeyValue, keySegmentToCidr, type WatchEvent } from '@caracal/datastore';
import { cidrContainsCidr, type IpCidr, IpParseError, ipParseResult, parseCidr } from '@caracal/ip';
import type { IPPoolResource } from '@caracal/model';

/** The CIDR of a confirmed affinity key/value, or undefined (not confirmed, deleted, or unreadable). */
export function confirmedAffinityCidr(key: string, value: string): string | undefined {
  const segment = key.slice(key.lastIndexOf('/') + 1);
  let cidr: string;
  try {
    cidr = keySegmentToCidr(segment);
  } catch {
    return undefined;
  }
  let document: { state?: unknown; deleted?: unknown };
  try {
    document = JSON.parse(value) as { state?: unknown; deleted?: unknown };
  } catch {
    return undefined;
  }
  if (document === null || typeof document !== 'object' || document.deleted === true) return undefined;
  return document.state === undefined || document.state === 'confirmed' ? cidr : undefined;
}

/**
 * The IPv4 network of a CIDR text (@caracal/ip's grammar: no leading-zero octets, length 0..32; host bits
 * cleared, as the old dotted-quad fold did); undefined for IPv6 and for text that is no CIDR.
 */
function ipv4Network(cidr: string): IpCidr | undefined {
  const parsed = ipParseResult(() => parseCidr(cidr, { hostBits: 'clear' }));
  return parsed instanceof IpParseError || parsed.version !== 4 ? undefined : parsed;
}

/** Whether IPv4 `inner` lies inside IPv4 `outer` (false when either is IPv6 or no CIDR). */
export function ipv4CidrContains(outer: string, inner: string): boolean {
  const o = ipv4Network(outer);
  const i = ipv4Network(inner);
  return o !== undefined && i !== undefined && cidrContainsCidr(o, i);
}

/** The network of a CIDR text of either family (host bits cleared), or undefined when it is no CIDR. */
function network(cidr: string): IpCidr | undefined {
  const parsed = ipParseResult(() => parseCidr(cidr, { hostBits: 'clear' }));
  return parsed instanceof IpParseError ? undefined : parsed;
}

/** Whether `inner` lies inside `outer`, of either family (false across families or for text that is no CIDR). */
export function cidrTextContains(outer: string, inner: string): boolean {
  const o = network(outer);
  const i = network(inner);
  return o !== undefined && i !== undefined && o.version === i.version && cidrContainsCidr(o, i);
}

/**
 * The blocks to originate: confirmed, not in a pool with disableBGPExport (sorted, unique); IPv4 ones, and
 * IPv6 ones too with `ipv6: true` (the node has an IPv6 address, so its IPv6 mesh sessions carry them).
 */
export function blocksToAdvertise(
  affineBlocks: Iterable<string>,
  pools: Iterable<Pick<IPPoolResource['spec'], 'cidr' | 'disableBGPExport'>>,
  options: { readonly ipv6?: boolean } = {},
): string[] {
  const noExport = [...pools].filter((p) => p.disableBGPExport).map((p) => p.cidr);
  return [...new Set(affineBlocks)]
    .filter((cidr) => {
      const parsed = network(cidr);
      return parsed !== undefined && (parsed.version === 4 || options.ipv6 === true);
    })
    .filter((cidr) => !noExport.some((pool) => cidrTextContains(pool, cidr)))
    .sort();
}

/** This node's confirmed affine blocks, kept current from the affinity prefix's watch events. */
export class AffinityState {
  private readonly byKey = new Map<string, string>();
  inSync = false;

  /** Applies one watch event; returns whether the set of blocks may have changed (and is in sync). */
  apply(event: WatchEvent): boolean {
    switch (event.type) {
      case 'snapshot':
        this.byKey.clear();
        for (const item of event.items as KeyValue[]) this.set(item.key, item.value);
        this.inSync = false;
        return false;
      case 'in-sync':
        this.inSync = true;
        return true;
      case 'put':
        this.set(event.key, event.value);
        return this.inSync;
      case 'delete':
        this.byKey.delete(event.key);
        return this.inSync;
    }
  }

  private set(key: string, value: string): void {
    const cidr = confirmedAffinityCidr(key, value);
    if (cidr === undefined) this.byKey.delete(key);
    else this.byKey.set(key, cidr);
  }

  get blocks(): string[] {
    return [...new Set(this.byKey.values())].sort();
  }
}
