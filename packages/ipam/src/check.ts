// IPAM consistency check and repair (like `calicoctl ipam check/release`): finds leaked addresses (held by a
// handle with no live workload), handle documents that disagree with the blocks, blocks affine to nodes
// that do not exist and orphaned affinities; the JSON report can be saved and fed back to repair with
// guards, so only allocations that are still the leaked ones are released.
import { keys } from '@caracal/datastore';
import {
  affinityForNode,
  allocationsOf,
  type BlockDocument,
  nodeOfAffinity,
  parseBlockDocument,
  release,
} from './block.js';
import type { IpamClient } from './client.js';
import { parseAffinityDocument, parseHandleDocument } from './documents.js';

export interface IpamCheckOptions {
  /** True when the workload owning this handle still exists (e.g. a WorkloadEndpoint is stored for it). */
  workloadExists: (handleId: string, attrs: Record<string, string>) => boolean | Promise<boolean>;
  /** True when the node exists; without it, node checks are skipped. */
  nodeExists?: (node: string) => boolean | Promise<boolean>;
  now?: number;
}

export interface LeakedIp {
  ip: string;
  block: string;
  handleId: string | null;
  attrs: Record<string, string>;
  sequenceNumber: number;
}

export interface HandleProblem {
  handleId: string;
  /** Counts the handle document claims per block. */
  recorded: Record<string, number>;
  /** Counts actually found in the blocks. */
  actual: Record<string, number>;
}

export interface AffinityProblem {
  node: string;
  cidr: string;
  state: string;
  reason: string;
}

export interface IpamCheckReport {
  version: 1;
  generatedAt: string;
  /** Store revision at which the blocks were read. */
  revision: number;
  summary: { blocks: number; allocatedIps: number; handles: number; leakedIps: number; problems: number };
  leakedIps: LeakedIp[];
  /** Handles with no allocation at all, or whose per-block counts disagree with the blocks. */
  handleProblems: HandleProblem[];
  /** Blocks affine to a node that does not exist. */
  blocksWithMissingNode: { cidr: string; node: string; inUse: number }[];
  /** Affinities without a matching block, stale pending claims, leftovers of deletions, or of missing nodes. */
  orphanedAffinities: AffinityProblem[];
}

export async function ipamCheck(client: IpamClient, options: IpamCheckOptions): Promise<IpamCheckReport> {
  const now = options.now ?? Date.now();
  const blocksListing = await client.store.list(keys.blocksPrefix);
  const blocks = blocksListing.items.map((item) => parseBlockDocument(JSON.parse(item.value)));
  const handles = (await client.store.list(keys.handlesPrefix)).items.map((item) =>
    parseHandleDocument(item.value, item.key),
  );
  const affinities = (await client.store.list(keys.affinitiesPrefix)).items.map((item) =>
    parseAffinityDocument(item.value, item.key),
  );
  const leakedIps: LeakedIp[] = [];
  const actual = new Map<string, Record<string, number>>();
  let allocatedIps = 0;
  const liveCache = new Map<string, boolean>();
  for (const block of blocks) {
    for (const allocation of allocationsOf(block)) {
      allocatedIps += 1;
      const handleId = allocation.handleId;
      if (handleId !== null) {
        const counts = actual.get(handleId) ?? {};
        counts[block.cidr] = (counts[block.cidr] ?? 0) + 1;
        actual.set(handleId, counts);
      }
      const cacheKey = handleId ?? `\u0000${allocation.ip}`;
      let live = liveCache.get(cacheKey);
      if (live === undefined) {
        live = handleId !== null && (await options.workloadExists(handleId, allocation.attrs));
        liveCache.set(cacheKey, live);
      }
      if (!live)
        leakedIps.push({ block: block.cidr, ...allocation, ordinal: undefined } as unknown as LeakedIp);
    }
  }
  const handleProblems: HandleProblem[] = [];
  const seenHandles = new Set<string>();
  for (const handle of handles) {
    seenHandles.add(handle.handleId);
    const found = actual.get(handle.handleId) ?? {};
    const same =
      Object.keys(found).length === Object.keys(handle.blocks).length &&
      Object.entries(found).every(([cidr, count]) => handle.blocks[cidr] === count);
    if (!same) handleProblems.push({ handleId: handle.handleId, recorded: handle.blocks, actual: found });
  }
  for (const [handleId, found] of actual) {
    if (!seenHandles.has(handleId)) handleProblems.push({ handleId, recorded: {}, actual: found });
  }
  const nodeLive = new Map<string, boolean>();
  const nodeExists = async (node: string) => {
    if (options.nodeExists === undefined) return true;
    let live = nodeLive.get(node);
    if (live === undefined) {
      live = await options.nodeExists(node);
      nodeLive.set(node, live);
    }
    return live;
  };
  const blocksWithMissingNode: IpamCheckReport['blocksWithMissingNode'] = [];
  for (const block of blocks) {
    const node = nodeOfAffinity(block.affinity);
    if (node !== undefined && !(await nodeExists(node))) {
      blocksWithMissingNode.push({ cidr: block.cidr, node, inUse: allocationsOf(block).length });
    }
  }
  const orphanedAffinities: AffinityProblem[] = [];
  const blockByCidr = new Map(blocks.map((block) => [block.cidr, block]));
  for (const affinity of affinities) {
    const block = blockByCidr.get(affinity.cidr);
    const owned = block !== undefined && block.affinity === affinityForNode(affinity.node);
    const age = now - Date.parse(affinity.updatedAt);
    let reason: string | undefined;
    if (!(await nodeExists(affinity.node))) reason = 'node does not exist';
    else if (affinity.state === 'pending' && !owned && age >= 60_000)
      reason = 'stale pending claim without its block';
    else if (affinity.state === 'confirmed' && !owned) {
      reason =
        block === undefined ? 'block does not exist' : `block is affine to ${block.affinity ?? 'no node'}`;
    } else if (affinity.state === 'pendingDeletion' && age >= 60_000) reason = 'unfinished release';
    if (reason !== undefined) orphanedAffinities.push({ ...affinity, reason });
  }
  const problems =
    leakedIps.length + handleProblems.length + blocksWithMissingNode.length + orphanedAffinities.length;
  return {
    version: 1,
    generatedAt: new Date(now).toISOString(),
    revision: blocksListing.revision,
    summary: {
      blocks: blocks.length,
      allocatedIps,
      handles: handles.length,
      leakedIps: leakedIps.length,
      problems,
    },
    leakedIps,
    handleProblems,
    blocksWithMissingNode,
    orphanedAffinities,
  };
}

export interface ReleaseFromReportResult {
  released: string[];
  /** Addresses no longer leaked (re-allocated, already freed, or the workload came back). */
  skipped: { ip: string; reason: string }[];
}

/**
 * Releases the report's leaked addresses. Each release is guarded by the handle and sequence number seen
 * at check time and done with CAS, so an address freed and re-allocated since the check is left alone;
 * with `workloadExists`, a handle whose workload has come back is skipped too.
 */
export async function ipamReleaseFromReport(
  client: IpamClient,
  report: IpamCheckReport,
  options: Partial<Pick<IpamCheckOptions, 'workloadExists'>> = {},
): Promise<ReleaseFromReportResult> {
  if (report?.version !== 1 || !Array.isArray(report.leakedIps)) {
    throw new Error(
      'ipamReleaseFromReport: not an IPAM check report (expected version 1 with a leakedIps array)',
    );
  }
  const released: string[] = [];
  const skipped: ReleaseFromReportResult['skipped'] = [];
  const byBlock = new Map<string, LeakedIp[]>();
  for (const leak of report.leakedIps) {
    if (
      leak.handleId !== null &&
      options.workloadExists &&
      (await options.workloadExists(leak.handleId, leak.attrs))
    ) {
      skipped.push({ ip: leak.ip, reason: `workload of handle ${leak.handleId} exists again` });
      continue;
    }
    byBlock.set(leak.block, [...(byBlock.get(leak.block) ?? []), leak]);
  }
  for (const [cidr, leaks] of byBlock) {
    const done = await client.modifyBlock(cidr, (block) => releaseGuarded(block, leaks));
    released.push(...done);
    for (const leak of leaks) {
      if (!done.includes(leak.ip))
        skipped.push({ ip: leak.ip, reason: 'no longer the leaked allocation (freed or re-allocated)' });
    }
  }
  return { released, skipped };
}

function releaseGuarded(block: BlockDocument, leaks: LeakedIp[]) {
  return release(
    block,
    leaks.map((leak) => ({ ip: leak.ip, handleId: leak.handleId, sequenceNumber: leak.sequenceNumber })),
  );
}

/** `ipam release --ip …`: releases the given addresses whoever holds them (no leak re-check). */
export async function ipamRelease(
  client: IpamClient,
  request: { ips: readonly string[] },
): Promise<{ released: string[]; notAllocated: string[] }> {
  return client.releaseIps(request.ips);
}
