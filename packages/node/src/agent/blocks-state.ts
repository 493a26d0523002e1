// The node's affine blocks as caracal-bgpd should advertise them: this node's affinities (watched under
// /caracal/v1/ipam/affinities/<node>/, values written by @caracal/ipam as {node, cidr, state, updatedAt}) and
// the IP pools (for `disableBGPExport`). Only confirmed affinities count (pending ones may still lose their
// claim; pendingDeletion ones are going); IPv4 only (caracal-bgpd's mesh carries ipv4-unicast).
import { type KeyValue, keySegmentToCidr, type WatchEvent } from '@caracal/datastore';
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

function ipv4Bits(cidr: string): { network: number; length: number } | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!match) return undefined;
  const network = match.slice(1, 5).reduce((n, octet) => n * 256 + Number(octet), 0);
  return { network, length: Number(match[5]) };
}

/** Whether IPv4 `inner` lies inside IPv4 `outer`. */
export function ipv4CidrContains(outer: string, inner: string): boolean {
  const o = ipv4Bits(outer);
  const i = ipv4Bits(inner);
  if (!o || !i || i.length < o.length) return false;
  const size = 2 ** (32 - o.length);
  return Math.floor(i.network / size) === Math.floor(o.network / size);
}

/** The blocks to originate: IPv4, confirmed, not in a pool with disableBGPExport (sorted, unique). */
export function blocksToAdvertise(
  affineBlocks: Iterable<string>,
  pools: Iterable<Pick<IPPoolResource['spec'], 'cidr' | 'disableBGPExport'>>,
): string[] {
  const noExport = [...pools].filter((p) => p.disableBGPExport).map((p) => p.cidr);
  return [...new Set(affineBlocks)]
    .filter((cidr) => ipv4Bits(cidr) !== undefined)
    .filter((cidr) => !noExport.some((pool) => ipv4CidrContains(pool, cidr)))
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
