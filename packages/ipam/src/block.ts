// Pure allocation-block logic: a block is one fixed-size CIDR cut from a pool (e.g. a /26), stored as a
// document holding, per ordinal (offset in the block), the index of its attribute record or null when free.
// Every function here takes a document and returns a new one; nothing here touches a datastore.
import {
  bitsOf,
  type Cidr,
  cidrContainsIp,
  cidrSize,
  formatCidr,
  formatIp,
  IpFormatError,
  type IpVersion,
  parseCidr,
  parseIp,
} from './ip.js';

/** Who holds an allocation: the handle (one per workload) and free-form attributes (namespace, pod, node…). */
export interface AllocationAttribute {
  handleId: string | null;
  attrs: Record<string, string>;
}

/** The stored form of a block (JSON). Field names follow Calico's AllocationBlock. */
export interface BlockDocument {
  /** The block's CIDR, canonical text, e.g. `10.42.0.64/26`. */
  cidr: string;
  /** `host:<node>` for the node the block is affine to, or null for none. */
  affinity: string | null;
  /** One entry per ordinal: index into `attributes`, or null when the address is free. */
  allocations: (number | null)[];
  /** Free ordinals in the order they will be handed out; released ordinals go to the end. */
  unallocated: number[];
  attributes: AllocationAttribute[];
  /** Incremented on every allocation; lets a release prove it targets the allocation it saw. */
  sequenceNumber: number;
  /** The block's sequenceNumber at the time each ordinal (key, decimal) was allocated. */
  sequenceNumberForAllocation: Record<string, number>;
  /** Set while the block is being torn down; nothing is allocated from a deleted block. */
  deleted: boolean;
}

/** One allocated address and who holds it. */
export interface BlockAllocation {
  ip: string;
  ordinal: number;
  handleId: string | null;
  attrs: Record<string, string>;
  sequenceNumber: number;
}

export interface BlockUsage {
  total: number;
  inUse: number;
  /** Addresses that could still be handed out (free and not reserved). */
  free: number;
  /** Free addresses that a reservation keeps from being handed out. */
  reserved: number;
}

/** Largest block accepted, in addresses (a /20 for IPv4, a /116 for IPv6). */
export const MAX_BLOCK_ADDRESSES = 4096;

/** Thrown when a block document or an operation's input is malformed; the message says which field. */
export class BlockError extends Error {
  override readonly name = 'BlockError';
}

export function affinityForNode(node: string): string {
  return `host:${node}`;
}

/** The node of a `host:<node>` affinity, or undefined for none / another kind. */
export function nodeOfAffinity(affinity: string | null): string | undefined {
  return affinity?.startsWith('host:') ? affinity.slice('host:'.length) : undefined;
}

/** A new, empty block for `cidr` with the given affinity. */
export function newBlock(cidrText: string, affinity: string | null): BlockDocument {
  const cidr = parseCidr(cidrText, 'block cidr');
  const size = cidrSize(cidr);
  if (size > BigInt(MAX_BLOCK_ADDRESSES)) {
    throw new BlockError(
      `block cidr ${cidrText} has ${size} addresses; blocks hold at most ${MAX_BLOCK_ADDRESSES} (IPv4 /20, IPv6 /116)`,
    );
  }
  const count = Number(size);
  return {
    cidr: formatCidr(cidr),
    affinity,
    allocations: new Array<number | null>(count).fill(null),
    unallocated: Array.from({ length: count }, (_, ordinal) => ordinal),
    attributes: [],
    sequenceNumber: 0,
    sequenceNumberForAllocation: {},
    deleted: false,
  };
}

export function blockCidr(block: BlockDocument): Cidr {
  return parseCidr(block.cidr, 'block cidr');
}

export function ordinalToIp(block: BlockDocument, ordinal: number): string {
  const cidr = blockCidr(block);
  return formatIp(cidr.version, cidr.network + BigInt(ordinal));
}

/** The ordinal of `ip` in the block; throws when the address is not inside it. */
export function ipToOrdinal(block: BlockDocument, ip: string): number {
  const cidr = blockCidr(block);
  const { version, value } = parseIp(ip, 'ip');
  if (!cidrContainsIp(cidr, version, value))
    throw new BlockError(`ip ${ip} is not inside block ${block.cidr}`);
  return Number(value - cidr.network);
}

function clone(block: BlockDocument): BlockDocument {
  return {
    cidr: block.cidr,
    affinity: block.affinity,
    allocations: block.allocations.slice(),
    unallocated: block.unallocated.slice(),
    attributes: block.attributes.map((attribute) => ({
      handleId: attribute.handleId,
      attrs: { ...attribute.attrs },
    })),
    sequenceNumber: block.sequenceNumber,
    sequenceNumberForAllocation: { ...block.sequenceNumberForAllocation },
    deleted: block.deleted,
  };
}

function sameAttrs(a: Record<string, string>, b: Record<string, string>): boolean {
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every((key) => b[key] === a[key]);
}

/** Reserved address predicate for one block, built from reserved CIDRs (other families are ignored). */
function reservedPredicate(
  block: BlockDocument,
  reservations: readonly Cidr[],
): (ordinal: number) => boolean {
  const cidr = blockCidr(block);
  const relevant = reservations.filter((reservation) => reservation.version === cidr.version);
  if (relevant.length === 0) return () => false;
  return (ordinal) =>
    relevant.some((reservation) => cidrContainsIp(reservation, cidr.version, cidr.network + BigInt(ordinal)));
}

export interface AllocateRequest {
  count: number;
  handleId: string | null;
  attrs?: Record<string, string>;
  /** Addresses inside these CIDRs are never handed out. */
  reservations?: readonly Cidr[];
}

export interface AllocateResult {
  block: BlockDocument;
  /** The addresses handed out, in order; fewer than asked when the block ran out. */
  ips: string[];
}

/**
 * Hands out up to `count` free, unreserved addresses in `unallocated` order, all recorded with one
 * attribute record (reused when an identical one exists). Every address of the block is eligible,
 * including its first and last (as Calico does: a block is not a subnet).
 */
export function allocate(block: BlockDocument, request: AllocateRequest): AllocateResult {
  if (!Number.isInteger(request.count) || request.count < 0) {
    throw new BlockError(`allocate: count ${request.count} is not a non-negative integer`);
  }
  if (block.deleted) throw new BlockError(`allocate: block ${block.cidr} is marked deleted`);
  if (request.count === 0) return { block, ips: [] };
  const isReserved = reservedPredicate(block, request.reservations ?? []);
  const next = clone(block);
  const attrs = request.attrs ?? {};
  const chosen: number[] = [];
  const remaining: number[] = [];
  for (const ordinal of next.unallocated) {
    if (chosen.length < request.count && !isReserved(ordinal)) chosen.push(ordinal);
    else remaining.push(ordinal);
  }
  if (chosen.length === 0) return { block, ips: [] };
  let attributeIndex = next.attributes.findIndex(
    (attribute) => attribute.handleId === request.handleId && sameAttrs(attribute.attrs, attrs),
  );
  if (attributeIndex < 0) {
    attributeIndex = next.attributes.length;
    next.attributes.push({ handleId: request.handleId, attrs: { ...attrs } });
  }
  for (const ordinal of chosen) {
    next.allocations[ordinal] = attributeIndex;
    next.sequenceNumberForAllocation[String(ordinal)] = next.sequenceNumber;
    next.sequenceNumber += 1;
  }
  next.unallocated = remaining;
  return { block: next, ips: chosen.map((ordinal) => ordinalToIp(next, ordinal)) };
}

/** Drops attribute records no allocation refers to and renumbers the rest. */
function compactAttributes(block: BlockDocument): void {
  const used = new Set<number>();
  for (const index of block.allocations) if (index !== null) used.add(index);
  if (used.size === block.attributes.length) return;
  const renumber = new Map<number, number>();
  const kept: AllocationAttribute[] = [];
  block.attributes.forEach((attribute, index) => {
    if (used.has(index)) {
      renumber.set(index, kept.length);
      kept.push(attribute);
    }
  });
  block.attributes = kept;
  block.allocations = block.allocations.map((index) => (index === null ? null : renumber.get(index)!));
}

/** A release of one address, optionally guarded: it only happens if the allocation is still the one seen. */
export interface ReleaseRequest {
  ip: string;
  /** Release only if the address is held by this handle. */
  handleId?: string | null;
  /** Release only if the allocation still has this sequence number (i.e. was not released and re-used). */
  sequenceNumber?: number;
}

export interface ReleaseResult {
  block: BlockDocument;
  released: BlockAllocation[];
  /** Addresses that were already free. */
  notAllocated: string[];
  /** Addresses whose allocation did not match the request's guard (handle or sequence number). */
  mismatched: string[];
}

/** Frees addresses; freed ordinals go to the end of the unallocated list (so they are re-used last). */
export function release(block: BlockDocument, requests: readonly (string | ReleaseRequest)[]): ReleaseResult {
  const next = clone(block);
  const released: BlockAllocation[] = [];
  const notAllocated: string[] = [];
  const mismatched: string[] = [];
  for (const raw of requests) {
    const request: ReleaseRequest = typeof raw === 'string' ? { ip: raw } : raw;
    const ordinal = ipToOrdinal(next, request.ip);
    const ip = ordinalToIp(next, ordinal);
    const attributeIndex = next.allocations[ordinal];
    if (attributeIndex === null || attributeIndex === undefined) {
      notAllocated.push(ip);
      continue;
    }
    const attribute = next.attributes[attributeIndex]!;
    const sequenceNumber = next.sequenceNumberForAllocation[String(ordinal)] ?? -1;
    if (
      (request.handleId !== undefined && request.handleId !== attribute.handleId) ||
      (request.sequenceNumber !== undefined && request.sequenceNumber !== sequenceNumber)
    ) {
      mismatched.push(ip);
      continue;
    }
    next.allocations[ordinal] = null;
    delete next.sequenceNumberForAllocation[String(ordinal)];
    next.unallocated.push(ordinal);
    released.push({
      ip,
      ordinal,
      handleId: attribute.handleId,
      attrs: { ...attribute.attrs },
      sequenceNumber,
    });
  }
  if (released.length === 0) return { block, released, notAllocated, mismatched };
  compactAttributes(next);
  return { block: next, released, notAllocated, mismatched };
}

/** Frees every address held by `handleId`. */
export function releaseByHandle(block: BlockDocument, handleId: string): ReleaseResult {
  const ips = allocationsOf(block)
    .filter((allocation) => allocation.handleId === handleId)
    .map((allocation) => allocation.ip);
  return release(block, ips);
}

/** Every allocated address of the block, in ordinal order. */
export function allocationsOf(block: BlockDocument): BlockAllocation[] {
  const result: BlockAllocation[] = [];
  const cidr = blockCidr(block);
  block.allocations.forEach((attributeIndex, ordinal) => {
    if (attributeIndex === null) return;
    const attribute = block.attributes[attributeIndex];
    if (attribute === undefined) {
      throw new BlockError(
        `block ${block.cidr}: ordinal ${ordinal} refers to missing attribute ${attributeIndex}`,
      );
    }
    result.push({
      ip: formatIp(cidr.version, cidr.network + BigInt(ordinal)),
      ordinal,
      handleId: attribute.handleId,
      attrs: { ...attribute.attrs },
      sequenceNumber: block.sequenceNumberForAllocation[String(ordinal)] ?? -1,
    });
  });
  return result;
}

export function countByHandle(block: BlockDocument, handleId: string): number {
  let count = 0;
  for (const index of block.allocations) {
    if (index !== null && block.attributes[index]?.handleId === handleId) count += 1;
  }
  return count;
}

export function isEmpty(block: BlockDocument): boolean {
  return block.allocations.every((index) => index === null);
}

export function usage(block: BlockDocument, reservations: readonly Cidr[] = []): BlockUsage {
  const total = block.allocations.length;
  const inUse = block.allocations.reduce<number>((sum, index) => (index === null ? sum : sum + 1), 0);
  const isReserved = reservedPredicate(block, reservations);
  let reserved = 0;
  for (const ordinal of block.unallocated) if (isReserved(ordinal)) reserved += 1;
  return { total, inUse, free: total - inUse - reserved, reserved };
}

/** Number of addresses that `allocate` could still hand out. */
export function freeCount(block: BlockDocument, reservations: readonly Cidr[] = []): number {
  if (block.deleted) return 0;
  return usage(block, reservations).free;
}

function fail(path: string, reason: string): never {
  throw new BlockError(`block document ${path}: ${reason}`);
}

/**
 * Validates a block document read from the datastore (parsed JSON) and returns it typed. Checks the
 * invariants the functions above rely on: sizes match the CIDR, every ordinal is either allocated or in
 * `unallocated` exactly once, and every allocation refers to an existing attribute record.
 */
export function parseBlockDocument(value: unknown): BlockDocument {
  if (typeof value !== 'object' || value === null) fail('', 'is not an object');
  const record = value as Record<string, unknown>;
  if (typeof record.cidr !== 'string') fail('.cidr', 'is not a string');
  let cidr: Cidr;
  try {
    cidr = parseCidr(record.cidr, 'block document .cidr');
  } catch (error) {
    if (error instanceof IpFormatError) fail('.cidr', error.message);
    throw error;
  }
  const size = Number(cidrSize(cidr));
  if (size > MAX_BLOCK_ADDRESSES)
    fail('.cidr', `${record.cidr} is larger than ${MAX_BLOCK_ADDRESSES} addresses`);
  if (record.affinity !== null && typeof record.affinity !== 'string')
    fail('.affinity', 'is neither null nor a string');
  if (!Array.isArray(record.attributes)) fail('.attributes', 'is not an array');
  const attributes = record.attributes.map((attribute, index): AllocationAttribute => {
    if (typeof attribute !== 'object' || attribute === null)
      fail(`.attributes[${index}]`, 'is not an object');
    const { handleId, attrs } = attribute as Record<string, unknown>;
    if (handleId !== null && typeof handleId !== 'string')
      fail(`.attributes[${index}].handleId`, 'is not a string');
    if (typeof attrs !== 'object' || attrs === null) fail(`.attributes[${index}].attrs`, 'is not an object');
    for (const [key, text] of Object.entries(attrs)) {
      if (typeof text !== 'string') fail(`.attributes[${index}].attrs.${key}`, 'is not a string');
    }
    return { handleId, attrs: attrs as Record<string, string> };
  });
  if (!Array.isArray(record.allocations) || record.allocations.length !== size) {
    fail('.allocations', `must be an array of ${size} entries for ${record.cidr}`);
  }
  const seen = new Set<number>();
  const allocations = record.allocations.map((entry, ordinal) => {
    if (entry === null) return null;
    if (typeof entry !== 'number' || !Number.isInteger(entry) || entry < 0 || entry >= attributes.length) {
      fail(`.allocations[${ordinal}]`, `${JSON.stringify(entry)} is not null or an attribute index`);
    }
    seen.add(ordinal);
    return entry;
  });
  if (!Array.isArray(record.unallocated)) fail('.unallocated', 'is not an array');
  for (const [position, ordinal] of record.unallocated.entries()) {
    if (typeof ordinal !== 'number' || !Number.isInteger(ordinal) || ordinal < 0 || ordinal >= size) {
      fail(
        `.unallocated[${position}]`,
        `${JSON.stringify(ordinal)} is not an ordinal of a ${size}-address block`,
      );
    }
    if (seen.has(ordinal))
      fail(`.unallocated[${position}]`, `ordinal ${ordinal} is allocated or listed twice`);
    seen.add(ordinal);
  }
  if (seen.size !== size) fail('.unallocated', `misses ${size - seen.size} free ordinal(s)`);
  if (typeof record.sequenceNumber !== 'number') fail('.sequenceNumber', 'is not a number');
  const sequences = record.sequenceNumberForAllocation;
  if (typeof sequences !== 'object' || sequences === null)
    fail('.sequenceNumberForAllocation', 'is not an object');
  if (typeof record.deleted !== 'boolean') fail('.deleted', 'is not a boolean');
  return {
    cidr: formatCidr(cidr),
    affinity: record.affinity,
    allocations,
    unallocated: record.unallocated as number[],
    attributes,
    sequenceNumber: record.sequenceNumber,
    sequenceNumberForAllocation: sequences as Record<string, number>,
    deleted: record.deleted,
  };
}

/** The IP version of a block. */
export function blockVersion(block: BlockDocument): IpVersion {
  return blockCidr(block).version;
}

/** Address bits of the block's family (32 or 128). */
export function blockBits(block: BlockDocument): number {
  return bitsOf(blockVersion(block));
}
