// The IPAM client on the datastore: auto-assignment from a node's affine blocks, block claims with
// pending → confirmed affinities, borrowing, release by handle or address, empty-block release, node block
// release and usage (show). Every change is one etcd transaction conditioned on the revisions read
// (block + handle, or block + affinity), retried with jittered backoff on conflict.
import {
  AlreadyExistsError,
  type KeyValue,
  type KeyValueStore,
  keys,
  RevisionConflictError,
  TransactionConflictError,
  type TxnCondition,
  type TxnWrite,
} from '@caracal/datastore';
import {
  affinityForNode,
  allocate,
  type BlockDocument,
  freeCount,
  isEmpty,
  newBlock,
  nodeOfAffinity,
  parseBlockDocument,
  release,
  releaseByHandle,
  usage,
} from './block.js';
import {
  type AffinityDocument,
  type AffinityState,
  DEFAULT_IPAM_CONFIG,
  type HandleDocument,
  type IpamConfig,
  parseAffinityDocument,
  parseHandleDocument,
  parseIpamConfig,
} from './documents.js';
import {
  blockCount,
  type Cidr,
  cidrContainsCidr,
  cidrContainsIp,
  formatCidr,
  type IpVersion,
  nthBlock,
  parseCidr,
  parseIp,
} from './ip.js';

/** The pool fields IPAM needs (a structural subset of the model's IPPool spec plus its name). */
export interface IpamPool {
  name: string;
  cidr: string;
  /** Block prefix length: IPv4 20–32 (default 26), IPv6 116–128 (default 122). */
  blockSize?: number;
  /** Node selector expression; empty or `all()` selects every node. */
  nodeSelector?: string;
  disabled?: boolean;
}

export interface IpamClientOptions {
  store: KeyValueStore;
  /** The IP pools, or a function reading them (called once per autoAssign). */
  pools: readonly IpamPool[] | (() => Promise<readonly IpamPool[]>);
  /** Reserved CIDRs never handed out (IPReservation resources), or a function reading them. */
  reservedCidrs?: readonly string[] | (() => Promise<readonly string[]>);
  /** Decides whether a node matches a pool's nodeSelector (e.g. the model's selector parser on node labels). */
  nodeMatchesSelector?: (node: string, selector: string) => boolean;
  /** Attempts per compare-and-swap before giving up (default 50). */
  maxAttempts?: number;
  /** A pending affinity older than this is a crashed claim (default 60 s). */
  pendingGraceMs?: number;
}

export interface AutoAssignRequest {
  node: string;
  handleId: string;
  attrs?: Record<string, string>;
  num4?: number;
  num6?: number;
  /** Restrict to these pools (names or CIDRs). */
  pools?: readonly string[];
  /** Overrides the stored IpamConfig.strictAffinity for this call. */
  strictAffinity?: boolean;
}

export interface Assignment {
  ip: string;
  block: string;
  pool: string;
  /** True when the address came from a block affine to another node (or to none). */
  borrowed: boolean;
}

export interface AutoAssignResult {
  ipv4: string[];
  ipv6: string[];
  assignments: Assignment[];
}

/** Not enough addresses: names the pools tried and why. */
export class IpamExhaustedError extends Error {
  override readonly name = 'IpamExhaustedError';
  constructor(
    readonly version: IpVersion,
    readonly wanted: number,
    readonly got: number,
    readonly poolsTried: readonly string[],
    reason: string,
  ) {
    super(
      `IPv${version}: wanted ${wanted} address(es), found ${got} in pool(s) [${poolsTried.join(', ')}]: ${reason}`,
    );
  }
}

/** A compare-and-swap kept conflicting after all attempts. */
export class IpamConflictError extends Error {
  override readonly name = 'IpamConflictError';
}

/** Bad request input; the message names the field. */
export class IpamRequestError extends Error {
  override readonly name = 'IpamRequestError';
}

interface ResolvedPool {
  name: string;
  cidr: Cidr;
  blockSize: number;
}

export interface AffineBlock {
  cidr: string;
  state: AffinityState;
}

export interface PoolUsage {
  name: string;
  cidr: string;
  total: string;
  inUse: number;
  free: string;
  blocks: number;
}

export interface BlockShow {
  cidr: string;
  pool: string | null;
  affinity: string | null;
  inUse: number;
  free: number;
}

export interface IpamShow {
  pools: PoolUsage[];
  blocks?: BlockShow[];
}

function hashName(text: string): number {
  let hash = 2166136261;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 16777619);
  }
  return hash >>> 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isConflict(error: unknown): boolean {
  return error instanceof TransactionConflictError || error instanceof RevisionConflictError;
}

export class IpamClient {
  readonly store: KeyValueStore;
  private readonly maxAttempts: number;
  private readonly pendingGraceMs: number;

  constructor(private readonly options: IpamClientOptions) {
    this.store = options.store;
    this.maxAttempts = options.maxAttempts ?? 50;
    this.pendingGraceMs = options.pendingGraceMs ?? 60_000;
  }

  private async backoff(attempt: number): Promise<void> {
    const ceiling = Math.min(50, 2 ** attempt);
    await sleep(Math.random() * ceiling);
  }

  async getConfig(): Promise<IpamConfig> {
    const stored = await this.store.get(keys.ipamConfig);
    return stored === undefined ? { ...DEFAULT_IPAM_CONFIG } : parseIpamConfig(stored.value);
  }

  async setConfig(config: Partial<IpamConfig>): Promise<IpamConfig> {
    const merged = parseIpamConfig(JSON.stringify({ ...(await this.getConfig()), ...config }));
    await this.store.put(keys.ipamConfig, JSON.stringify(merged));
    return merged;
  }

  async resolvedPools(): Promise<ResolvedPool[]> {
    const pools = typeof this.options.pools === 'function' ? await this.options.pools() : this.options.pools;
    return pools.map((pool, index) => {
      const cidr = parseCidr(pool.cidr, `pools[${index}] (${pool.name}).cidr`);
      const blockSize = pool.blockSize ?? (cidr.version === 4 ? 26 : 122);
      const [low, high] = cidr.version === 4 ? [20, 32] : [116, 128];
      if (!Number.isInteger(blockSize) || blockSize < low || blockSize > high || blockSize < cidr.prefix) {
        throw new IpamRequestError(
          `pools[${index}] (${pool.name}).blockSize ${blockSize}: must be ${low}–${high} and not shorter than the pool prefix /${cidr.prefix}`,
        );
      }
      return {
        name: pool.name,
        cidr,
        blockSize,
        disabled: pool.disabled === true,
        selector: pool.nodeSelector ?? '',
      };
    }) as (ResolvedPool & { disabled: boolean; selector: string })[];
  }

  private async reservations(): Promise<Cidr[]> {
    const source = this.options.reservedCidrs ?? [];
    const list = typeof source === 'function' ? await source() : source;
    return list.map((text, index) =>
      parseCidr(text, `reservedCidrs[${index}]`, { strict: false, allowBareAddress: true }),
    );
  }

  private eligiblePools(
    all: (ResolvedPool & { disabled?: boolean; selector?: string })[],
    version: IpVersion,
    node: string,
    restrict: readonly string[] | undefined,
  ): ResolvedPool[] {
    return all.filter((pool) => {
      if (pool.cidr.version !== version || pool.disabled) return false;
      if (
        restrict !== undefined &&
        !restrict.includes(pool.name) &&
        !restrict.includes(formatCidr(pool.cidr))
      )
        return false;
      const selector = (pool.selector ?? '').trim();
      if (selector === '' || selector === 'all()') return true;
      if (this.options.nodeMatchesSelector === undefined) {
        throw new IpamRequestError(
          `pool ${pool.name} has nodeSelector "${selector}" but the IPAM client was given no nodeMatchesSelector`,
        );
      }
      return this.options.nodeMatchesSelector(node, selector);
    });
  }

  /** Assigns num4 IPv4 and num6 IPv6 addresses to the handle; all or nothing. */
  async autoAssign(request: AutoAssignRequest): Promise<AutoAssignResult> {
    if (request.node === '') throw new IpamRequestError('autoAssign: node is empty');
    if (request.handleId === '') throw new IpamRequestError('autoAssign: handleId is empty');
    for (const field of ['num4', 'num6'] as const) {
      const value = request[field] ?? 0;
      if (!Number.isInteger(value) || value < 0) {
        throw new IpamRequestError(`autoAssign: ${field} ${value} is not a non-negative integer`);
      }
    }
    const [config, pools, reservations] = await Promise.all([
      this.getConfig(),
      this.resolvedPools(),
      this.reservations(),
    ]);
    const strictAffinity = request.strictAffinity ?? config.strictAffinity;
    const result: AutoAssignResult = { ipv4: [], ipv6: [], assignments: [] };
    try {
      for (const [version, wanted] of [
        [4, request.num4 ?? 0],
        [6, request.num6 ?? 0],
      ] as const) {
        if (wanted === 0) continue;
        const eligible = this.eligiblePools(pools, version, request.node, request.pools);
        const got = await this.assignFamily(
          request,
          version,
          wanted,
          eligible,
          reservations,
          config,
          strictAffinity,
        );
        result.assignments.push(...got);
        (version === 4 ? result.ipv4 : result.ipv6).push(...got.map((assignment) => assignment.ip));
      }
    } catch (error) {
      if (result.assignments.length > 0) await this.releaseIps(result.assignments.map((a) => a.ip));
      throw error;
    }
    return result;
  }

  private async assignFamily(
    request: AutoAssignRequest,
    version: IpVersion,
    wanted: number,
    pools: ResolvedPool[],
    reservations: Cidr[],
    config: IpamConfig,
    strictAffinity: boolean,
  ): Promise<Assignment[]> {
    const names = pools.map((pool) => pool.name);
    if (pools.length === 0) {
      throw new IpamExhaustedError(
        version,
        wanted,
        0,
        names,
        `no enabled IPv${version} pool selects node ${request.node}`,
      );
    }
    const got: Assignment[] = [];
    const poolOf = (cidr: string) => pools.find((pool) => cidrContainsCidr(pool.cidr, parseCidr(cidr)));
    const take = async (cidr: string, requireAffinity: boolean) => {
      const pool = poolOf(cidr);
      if (pool === undefined) return;
      const ips = await this.allocateInBlock(
        cidr,
        wanted - got.length,
        request,
        reservations,
        requireAffinity,
      );
      for (const ip of ips) got.push({ ip, block: cidr, pool: pool.name, borrowed: !requireAffinity });
    };
    // 1. The node's own blocks.
    const affine = (await this.blocksAffineTo(request.node)).filter((block) => block.state === 'confirmed');
    for (const block of affine) {
      if (got.length >= wanted) break;
      if (poolOf(block.cidr) !== undefined) await take(block.cidr, true);
    }
    // 2. New blocks claimed for the node.
    let blocksOwned = affine.filter((block) => poolOf(block.cidr) !== undefined).length;
    while (
      got.length < wanted &&
      config.autoAllocateBlocks &&
      (config.maxBlocksPerHost === 0 || blocksOwned < config.maxBlocksPerHost)
    ) {
      const claimed = await this.claimNewBlock(request.node, pools, reservations);
      if (claimed === undefined) break;
      blocksOwned += 1;
      await take(claimed, true);
    }
    // 3. Borrow single addresses from other blocks.
    if (got.length < wanted && !strictAffinity) {
      const blocks = await this.listBlocks();
      for (const block of blocks) {
        if (got.length >= wanted) break;
        if (block.affinity === affinityForNode(request.node) || freeCount(block, reservations) === 0)
          continue;
        await take(block.cidr, false);
      }
    }
    if (got.length < wanted) {
      await this.releaseIps(got.map((assignment) => assignment.ip));
      const reason = strictAffinity
        ? 'the node has no free address in its blocks, no unclaimed block is left, and strictAffinity forbids borrowing'
        : 'no free address in any block and no unclaimed block left';
      throw new IpamExhaustedError(version, wanted, got.length, names, reason);
    }
    return got;
  }

  /** Allocates up to `count` addresses in one block; one transaction on block + handle, retried. */
  private async allocateInBlock(
    cidr: string,
    count: number,
    request: AutoAssignRequest,
    reservations: Cidr[],
    requireAffinity: boolean,
  ): Promise<string[]> {
    const blockKey = keys.block(cidr);
    const handleKey = keys.handle(request.handleId);
    const attrs = { ...(request.attrs ?? {}), node: request.node };
    let handle: KeyValue | undefined;
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const stored = await this.store.get(blockKey);
      if (stored === undefined) return [];
      const block = parseBlockDocument(JSON.parse(stored.value));
      if (block.deleted) return [];
      if (requireAffinity && block.affinity !== affinityForNode(request.node)) return [];
      const result = allocate(block, { count, handleId: request.handleId, attrs, reservations });
      if (result.ips.length === 0) return [];
      const handleDoc: HandleDocument =
        handle === undefined
          ? { handleId: request.handleId, blocks: {} }
          : parseHandleDocument(handle.value, handleKey);
      handleDoc.blocks[block.cidr] = (handleDoc.blocks[block.cidr] ?? 0) + result.ips.length;
      const conditions: TxnCondition[] = [
        { key: blockKey, revision: stored.revision },
        handle === undefined
          ? { key: handleKey, absent: true }
          : { key: handleKey, revision: handle.revision },
      ];
      try {
        await this.store.commitAll(conditions, [
          { type: 'put', key: blockKey, value: JSON.stringify(result.block) },
          { type: 'put', key: handleKey, value: JSON.stringify(handleDoc) },
        ]);
        return result.ips;
      } catch (error) {
        if (!isConflict(error)) throw error;
        handle = await this.store.get(handleKey);
        await this.backoff(attempt);
      }
    }
    throw new IpamConflictError(
      `allocating in block ${cidr}: still conflicting after ${this.maxAttempts} attempts`,
    );
  }

  /** Finds an unclaimed block in the pools and claims it for the node; undefined when none is left. */
  private async claimNewBlock(
    node: string,
    pools: ResolvedPool[],
    reservations: Cidr[],
  ): Promise<string | undefined> {
    const existing = new Set((await this.store.list(keys.blocksPrefix)).items.map((item) => item.key));
    for (const pool of pools) {
      const count = blockCount(pool.cidr, pool.blockSize);
      // Start at a per-node offset so nodes claiming at once rarely race for the same block.
      const start = BigInt(hashName(node)) % count;
      for (let step = 0n; step < count; step += 1n) {
        const block = nthBlock(pool.cidr, pool.blockSize, (start + step) % count);
        const cidr = formatCidr(block);
        if (existing.has(keys.block(cidr))) continue;
        if (reservations.some((reservation) => cidrContainsCidr(reservation, block))) continue;
        if (await this.claimBlock(node, cidr)) return cidr;
      }
    }
    return undefined;
  }

  /**
   * Claims one block: (1) create the affinity as `pending`; (2) one transaction creating the block (only
   * if absent) and confirming the affinity. A crash after (1) leaves a pending affinity without a block,
   * which a later claim of the same block by the node re-uses, and which is stale after pendingGraceMs.
   */
  async claimBlock(node: string, cidr: string): Promise<boolean> {
    const affinityKey = keys.affinity(node, cidr);
    const blockKey = keys.block(cidr);
    const pending: AffinityDocument = { node, cidr, state: 'pending', updatedAt: new Date().toISOString() };
    let affinityRevision: number;
    try {
      affinityRevision = await this.store.create(affinityKey, JSON.stringify(pending));
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
      affinityRevision = error.currentRevision;
    }
    try {
      await this.store.commitAll(
        [
          { key: blockKey, absent: true },
          { key: affinityKey, revision: affinityRevision },
        ],
        [
          { type: 'put', key: blockKey, value: JSON.stringify(newBlock(cidr, affinityForNode(node))) },
          { type: 'put', key: affinityKey, value: JSON.stringify({ ...pending, state: 'confirmed' }) },
        ],
      );
      return true;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    const block = await this.store.get(blockKey);
    if (
      block !== undefined &&
      parseBlockDocument(JSON.parse(block.value)).affinity === affinityForNode(node)
    ) {
      await this.setAffinityState(node, cidr, 'confirmed');
      return true;
    }
    // Another node won the block: withdraw our pending claim (only if still the one we wrote).
    await this.store.delete(affinityKey, affinityRevision).catch((error: unknown) => {
      if (!isConflict(error)) throw error;
    });
    return false;
  }

  private async setAffinityState(node: string, cidr: string, state: AffinityState): Promise<void> {
    const key = keys.affinity(node, cidr);
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const stored = await this.store.get(key);
      const doc: AffinityDocument = { node, cidr, state, updatedAt: new Date().toISOString() };
      try {
        if (stored === undefined) await this.store.create(key, JSON.stringify(doc));
        else await this.store.update(key, JSON.stringify(doc), stored.revision);
        return;
      } catch (error) {
        if (!isConflict(error) && !(error instanceof AlreadyExistsError)) throw error;
        await this.backoff(attempt);
      }
    }
    throw new IpamConflictError(`affinity ${key}: still conflicting after ${this.maxAttempts} attempts`);
  }

  /** The node's affinities (every state), sorted by key. */
  async blocksAffineTo(node: string): Promise<AffineBlock[]> {
    const listed = await this.store.list(keys.nodeAffinitiesPrefix(node));
    return listed.items.map((item) => {
      const doc = parseAffinityDocument(item.value, item.key);
      return { cidr: doc.cidr, state: doc.state };
    });
  }

  /**
   * Ensures the node has at least one confirmed block in every enabled pool family that selects it (what
   * caracal-node does at start-up); returns the node's confirmed block CIDRs.
   */
  async claimAffinityBlocks(node: string): Promise<string[]> {
    const [pools, reservations] = await Promise.all([this.resolvedPools(), this.reservations()]);
    for (const version of [4, 6] as const) {
      const eligible = this.eligiblePools(pools, version, node, undefined);
      if (eligible.length === 0) continue;
      const owned = (await this.blocksAffineTo(node)).filter(
        (block) =>
          block.state === 'confirmed' &&
          eligible.some((pool) => cidrContainsCidr(pool.cidr, parseCidr(block.cidr))),
      );
      if (owned.length === 0) await this.claimNewBlock(node, eligible, reservations);
    }
    return (await this.blocksAffineTo(node))
      .filter((block) => block.state === 'confirmed')
      .map((block) => block.cidr);
  }

  async listBlocks(): Promise<BlockDocument[]> {
    const listed = await this.store.list(keys.blocksPrefix);
    return listed.items.map((item) => parseBlockDocument(JSON.parse(item.value)));
  }

  /** Releases every address of the handle and deletes the handle; returns the released addresses. */
  async releaseByHandle(handleId: string): Promise<string[]> {
    const handleKey = keys.handle(handleId);
    const handle = await this.store.get(handleKey);
    if (handle === undefined) return [];
    const released: string[] = [];
    for (const cidr of Object.keys(parseHandleDocument(handle.value, handleKey).blocks)) {
      const ips = await this.modifyBlock(cidr, (block) => releaseByHandle(block, handleId));
      released.push(...ips);
    }
    return released;
  }

  /** Releases addresses, whoever holds them. Returns which were released and which were not allocated. */
  async releaseIps(ips: readonly string[]): Promise<{ released: string[]; notAllocated: string[] }> {
    const blocks = await this.listBlocks();
    const byBlock = new Map<string, string[]>();
    const notAllocated: string[] = [];
    for (const ip of ips) {
      const { version, value } = parseIp(ip, 'ip');
      const block = blocks.find((candidate) => cidrContainsIp(parseCidr(candidate.cidr), version, value));
      if (block === undefined) notAllocated.push(ip);
      else byBlock.set(block.cidr, [...(byBlock.get(block.cidr) ?? []), ip]);
    }
    const released: string[] = [];
    for (const [cidr, blockIps] of byBlock) {
      const done = await this.modifyBlock(cidr, (block) => release(block, blockIps));
      released.push(...done);
      notAllocated.push(...blockIps.filter((ip) => !done.includes(ip)));
    }
    return { released, notAllocated };
  }

  /**
   * Applies a release to one block and decrements the handles it touched, in one transaction conditioned
   * on the block's and every handle's revision; retried on conflict. An emptied block affine to a node is
   * then released when that node has another block of the family with free space.
   */
  async modifyBlock(
    cidr: string,
    change: (block: BlockDocument) => {
      block: BlockDocument;
      released: { ip: string; handleId: string | null }[];
    },
  ): Promise<string[]> {
    const blockKey = keys.block(cidr);
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const stored = await this.store.get(blockKey);
      if (stored === undefined) return [];
      const result = change(parseBlockDocument(JSON.parse(stored.value)));
      if (result.released.length === 0) return [];
      const conditions: TxnCondition[] = [{ key: blockKey, revision: stored.revision }];
      const writes: TxnWrite[] = [{ type: 'put', key: blockKey, value: JSON.stringify(result.block) }];
      const perHandle = new Map<string, number>();
      for (const item of result.released) {
        if (item.handleId !== null) perHandle.set(item.handleId, (perHandle.get(item.handleId) ?? 0) + 1);
      }
      for (const [handleId, count] of perHandle) {
        const handleKey = keys.handle(handleId);
        const handle = await this.store.get(handleKey);
        if (handle === undefined) continue;
        conditions.push({ key: handleKey, revision: handle.revision });
        const doc = parseHandleDocument(handle.value, handleKey);
        const left = (doc.blocks[result.block.cidr] ?? 0) - count;
        if (left > 0) doc.blocks[result.block.cidr] = left;
        else delete doc.blocks[result.block.cidr];
        writes.push(
          Object.keys(doc.blocks).length === 0
            ? { type: 'delete', key: handleKey }
            : { type: 'put', key: handleKey, value: JSON.stringify(doc) },
        );
      }
      try {
        await this.store.commitAll(conditions, writes);
      } catch (error) {
        if (!isConflict(error)) throw error;
        await this.backoff(attempt);
        continue;
      }
      const node = nodeOfAffinity(result.block.affinity);
      if (isEmpty(result.block) && node !== undefined)
        await this.maybeReleaseEmptyBlock(node, result.block.cidr);
      return result.released.map((item) => item.ip);
    }
    throw new IpamConflictError(
      `releasing in block ${cidr}: still conflicting after ${this.maxAttempts} attempts`,
    );
  }

  /** Policy: an emptied block is released when its node keeps another block of the family with free space. */
  private async maybeReleaseEmptyBlock(node: string, cidr: string): Promise<void> {
    const version = parseCidr(cidr).version;
    const reservations = await this.reservations();
    for (const other of await this.blocksAffineTo(node)) {
      if (other.cidr === cidr || other.state !== 'confirmed' || parseCidr(other.cidr).version !== version)
        continue;
      const stored = await this.store.get(keys.block(other.cidr));
      if (stored !== undefined && freeCount(parseBlockDocument(JSON.parse(stored.value)), reservations) > 0) {
        await this.releaseBlockAffinity(node, cidr, { onlyIfEmpty: true });
        return;
      }
    }
  }

  /**
   * Gives up the node's affinity to a block: (1) affinity → pendingDeletion (no new allocations use it);
   * (2) one transaction: delete the block if empty, else clear its affinity; delete the affinity.
   * A crash after (1) leaves a pendingDeletion affinity that a re-run of this completes. With onlyIfEmpty
   * (the empty-block policy), a block that got an allocation meanwhile is kept and re-confirmed.
   * Returns true when the block was deleted.
   */
  async releaseBlockAffinity(
    node: string,
    cidr: string,
    options: { onlyIfEmpty?: boolean } = {},
  ): Promise<boolean> {
    const affinityKey = keys.affinity(node, cidr);
    const blockKey = keys.block(cidr);
    await this.setAffinityState(node, cidr, 'pendingDeletion');
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const [affinity, stored] = await Promise.all([this.store.get(affinityKey), this.store.get(blockKey)]);
      if (affinity === undefined) return false;
      const conditions: TxnCondition[] = [{ key: affinityKey, revision: affinity.revision }];
      const writes: TxnWrite[] = [{ type: 'delete', key: affinityKey }];
      let deleted = false;
      if (stored !== undefined) {
        const block = parseBlockDocument(JSON.parse(stored.value));
        conditions.push({ key: blockKey, revision: stored.revision });
        if (options.onlyIfEmpty && !isEmpty(block) && block.affinity === affinityForNode(node)) {
          // An allocation landed since the block emptied: the node keeps it.
          await this.setAffinityState(node, cidr, 'confirmed');
          return false;
        }
        if (block.affinity === affinityForNode(node)) {
          if (isEmpty(block)) {
            writes.push({ type: 'delete', key: blockKey });
            deleted = true;
          } else {
            writes.push({ type: 'put', key: blockKey, value: JSON.stringify({ ...block, affinity: null }) });
          }
        }
      }
      try {
        await this.store.commitAll(conditions, writes);
        return deleted;
      } catch (error) {
        if (!isConflict(error)) throw error;
        await this.backoff(attempt);
      }
    }
    throw new IpamConflictError(
      `releasing affinity ${affinityKey}: still conflicting after ${this.maxAttempts} attempts`,
    );
  }

  /** For node deletion: releases every affinity of the node (empty blocks are deleted, others kept unowned). */
  async releaseNodeBlocks(node: string): Promise<{ deleted: string[]; kept: string[] }> {
    const deleted: string[] = [];
    const kept: string[] = [];
    for (const block of await this.blocksAffineTo(node)) {
      if (await this.releaseBlockAffinity(node, block.cidr)) deleted.push(block.cidr);
      else kept.push(block.cidr);
    }
    return { deleted, kept };
  }

  /** Pending affinities older than the grace period (crashed claims) are deleted; returns their keys. */
  async cleanupStalePendingAffinities(now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    for (const item of (await this.store.list(keys.affinitiesPrefix)).items) {
      const doc = parseAffinityDocument(item.value, item.key);
      if (doc.state !== 'pending' || now - Date.parse(doc.updatedAt) < this.pendingGraceMs) continue;
      const block = await this.store.get(keys.block(doc.cidr));
      if (
        block !== undefined &&
        parseBlockDocument(JSON.parse(block.value)).affinity === affinityForNode(doc.node)
      ) {
        await this.setAffinityState(doc.node, doc.cidr, 'confirmed');
        continue;
      }
      try {
        await this.store.delete(item.key, item.revision);
        removed.push(item.key);
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    return removed;
  }

  /** Usage per pool and, with showBlocks, per block. */
  async ipamShow(options: { showBlocks?: boolean } = {}): Promise<IpamShow> {
    const [pools, blocks, reservations] = await Promise.all([
      this.resolvedPools(),
      this.listBlocks(),
      this.reservations(),
    ]);
    const poolOf = (cidr: string) => pools.find((pool) => cidrContainsCidr(pool.cidr, parseCidr(cidr)));
    const result: IpamShow = {
      pools: pools.map((pool) => {
        const inside = blocks.filter((block) => poolOf(block.cidr) === pool);
        const inUse = inside.reduce((sum, block) => sum + usage(block, reservations).inUse, 0);
        const total = 1n << BigInt((pool.cidr.version === 4 ? 32 : 128) - pool.cidr.prefix);
        return {
          name: pool.name,
          cidr: formatCidr(pool.cidr),
          total: total.toString(),
          inUse,
          free: (total - BigInt(inUse)).toString(),
          blocks: inside.length,
        };
      }),
    };
    if (options.showBlocks) {
      result.blocks = blocks.map((block) => {
        const counts = usage(block, reservations);
        return {
          cidr: block.cidr,
          pool: poolOf(block.cidr)?.name ?? null,
          affinity: block.affinity,
          inUse: counts.inUse,
          free: counts.free,
        };
      });
    }
    return result;
  }
}
