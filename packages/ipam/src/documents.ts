// Stored IPAM documents other than blocks: per-node block affinities, allocation handles and the IPAM
// configuration, with their JSON validation. Keys come from @caracal/datastore's `keys` layout.

/** pending: claim in progress; confirmed: the node owns the block; pendingDeletion: release in progress. */
export type AffinityState = 'pending' | 'confirmed' | 'pendingDeletion';

export interface AffinityDocument {
  node: string;
  cidr: string;
  state: AffinityState;
  /** ISO time of the last state change; a pending claim older than the grace period is stale. */
  updatedAt: string;
}

/** Which blocks hold a handle's addresses, and how many in each, so release by handle reads only those. */
export interface HandleDocument {
  handleId: string;
  blocks: Record<string, number>;
}

export interface IpamConfig {
  /** Never borrow addresses from another node's block. */
  strictAffinity: boolean;
  /** Claim new blocks for a node when its blocks are full. */
  autoAllocateBlocks: boolean;
  /** At most this many blocks per node and family (0 = no limit). */
  maxBlocksPerHost: number;
}

export const DEFAULT_IPAM_CONFIG: IpamConfig = {
  strictAffinity: false,
  autoAllocateBlocks: true,
  maxBlocksPerHost: 0,
};

export class IpamDocumentError extends Error {
  override readonly name = 'IpamDocumentError';
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new IpamDocumentError(`${what}: is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function parseAffinityDocument(text: string, key: string): AffinityDocument {
  const record = asObject(JSON.parse(text), `affinity ${key}`);
  const { node, cidr, state, updatedAt } = record;
  if (typeof node !== 'string' || node === '')
    throw new IpamDocumentError(`affinity ${key}: .node is not a name`);
  if (typeof cidr !== 'string') throw new IpamDocumentError(`affinity ${key}: .cidr is not a string`);
  if (state !== 'pending' && state !== 'confirmed' && state !== 'pendingDeletion') {
    throw new IpamDocumentError(
      `affinity ${key}: .state ${JSON.stringify(state)} is not pending|confirmed|pendingDeletion`,
    );
  }
  if (typeof updatedAt !== 'string')
    throw new IpamDocumentError(`affinity ${key}: .updatedAt is not a string`);
  return { node, cidr, state, updatedAt };
}

export function parseHandleDocument(text: string, key: string): HandleDocument {
  const record = asObject(JSON.parse(text), `handle ${key}`);
  if (typeof record.handleId !== 'string')
    throw new IpamDocumentError(`handle ${key}: .handleId is not a string`);
  const blocks = asObject(record.blocks, `handle ${key} .blocks`);
  for (const [cidr, count] of Object.entries(blocks)) {
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
      throw new IpamDocumentError(
        `handle ${key}: .blocks["${cidr}"] ${JSON.stringify(count)} is not a count`,
      );
    }
  }
  return { handleId: record.handleId, blocks: blocks as Record<string, number> };
}

export function parseIpamConfig(text: string): IpamConfig {
  const record = asObject(JSON.parse(text), 'ipam config');
  const config = { ...DEFAULT_IPAM_CONFIG };
  if (record.strictAffinity !== undefined) {
    if (typeof record.strictAffinity !== 'boolean')
      throw new IpamDocumentError('ipam config: .strictAffinity is not a boolean');
    config.strictAffinity = record.strictAffinity;
  }
  if (record.autoAllocateBlocks !== undefined) {
    if (typeof record.autoAllocateBlocks !== 'boolean') {
      throw new IpamDocumentError('ipam config: .autoAllocateBlocks is not a boolean');
    }
    config.autoAllocateBlocks = record.autoAllocateBlocks;
  }
  if (record.maxBlocksPerHost !== undefined) {
    const max = record.maxBlocksPerHost;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) {
      throw new IpamDocumentError(
        `ipam config: .maxBlocksPerHost ${JSON.stringify(max)} is not a non-negative integer`,
      );
    }
    config.maxBlocksPerHost = max;
  }
  return config;
}
