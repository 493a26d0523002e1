// Adj-RIB-In of one peer: the paths it announced, keyed by (prefix, ADD-PATH path id) — a RibKey number
// for an IPv4 prefix without path id, text otherwise — each one RibPath (see path.ts) with the attributes
// after import policy (interned: every prefix of one UPDATE points at one attributes object), the
// pre-policy copy when soft reconfiguration is on, and a graceful-restart stale mark. Applying an UPDATE
// returns the per-prefix changes the Loc-RIB consumes (their `path` is the very object the Loc-RIB keeps)
// and the max-prefix verdict. Pure data.

import { reconcileAs4 } from '../codec/as4.js';
import type { BgpPathAttribute } from '../codec/attributes.js';
import type { BgpPrefix } from '../codec/prefix.js';
import { ipv4ToString, maskPrefix } from '../codec/prefix.js';
import type { BgpUpdate } from '../codec/update.js';
import type { MaxPrefixConfig } from '../config/types.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { AttributeInterner } from './intern.js';
import { computeFacts, PathCommon, RibPath } from './path.js';
import { nextHopText, type PeerInfo, prefixKey, type RibKey, type RouteAttributes, ribKey } from './route.js';

/** One path received from the peer. */
export interface AdjRibInPath {
  /** The canonical prefix (host bits cleared), with the path id when ADD-PATH is used. */
  readonly prefix: BgpPrefix;
  readonly pathId: number;
  /** Post-policy attributes; meaningful when `accepted`. */
  readonly attributes: RouteAttributes;
  /** The received attributes; kept only with soft reconfiguration. */
  readonly received?: RouteAttributes | undefined;
  readonly accepted: boolean;
  readonly stale: boolean;
}

/** A change of one (prefix, path id) of this peer: the new accepted path, or undefined when it is gone. */
export interface AdjRibInChange {
  readonly prefixKey: string;
  readonly prefix: BgpPrefix;
  readonly pathId: number;
  readonly path: AdjRibInPath | undefined;
}

/**
 * An AdjRibInChange whose prefix text is made only when asked for; it keeps the prefix's RibKey (`key`,
 * what the Loc-RIB keys by). An accepted path needs none: the RibPath is its own change (see path.ts).
 */
class PathChange implements AdjRibInChange {
  constructor(
    readonly prefix: BgpPrefix,
    readonly pathId: number,
    readonly path: RibPath | undefined,
    readonly key: RibKey,
  ) {}
  get prefixKey(): string {
    return prefixKey(this.prefix);
  }
}

/** The withdrawal of a stored path (session down, stale sweep): its prefix is read from the path on demand. */
class GoneChange implements AdjRibInChange {
  readonly path = undefined;
  constructor(readonly gone: RibPath) {}
  get key(): RibKey {
    return this.gone.key;
  }
  get prefix(): BgpPrefix {
    return this.gone.prefix;
  }
  get pathId(): number {
    return this.gone.pathId;
  }
  get prefixKey(): string {
    return prefixKey(this.gone.prefix);
  }
}

/** The RibKey of a change's prefix (path id ignored): kept by this module's changes, computed for others. */
export function adjRibInChangeKey(change: AdjRibInChange): RibKey {
  if (change instanceof RibPath || change instanceof PathChange || change instanceof GoneChange)
    return change.key;
  return ribKey(change.prefix);
}

export type LoopReason = 'as-path-loop' | 'originator-is-us' | 'cluster-list-has-us';

export interface AdjRibInResult {
  readonly changes: AdjRibInChange[];
  /** Why announced prefixes were dropped as withdrawals (RFC 7606 treat-as-withdraw or a loop). */
  readonly dropped?: 'treat-as-withdraw' | LoopReason;
  /** Set when the number of received paths exceeds the configured limit; the caller acts on it. */
  readonly maxPrefix?: {
    readonly action: 'warn' | 'teardown';
    readonly count: number;
    readonly limit: number;
  };
}

export interface AdjRibInOptions {
  readonly localAs: number;
  /** Our BGP identifier as an unsigned 32-bit number. */
  readonly localRouterId: number;
  /** Our cluster id (route reflector); defaults to the router id as RFC 4456 says. */
  readonly clusterId?: number;
  readonly importPolicy: CompiledPolicy;
  readonly softReconfiguration: boolean;
  readonly maxPrefix?: MaxPrefixConfig;
  /**
   * The session negotiated 4-octet ASNs (default true). When false the real AS path is rebuilt from
   * AS_PATH + AS4_PATH (RFC 6793 §4.2.3); AS4_PATH / AS4_AGGREGATOR are never stored.
   */
  readonly fourOctetAs?: boolean;
  /** Shared by all peers' Adj-RIB-Ins so equal attribute sets are stored once; a private one by default. */
  readonly interner?: AttributeInterner;
}

/** Why a path with these attributes must be ignored on import, or undefined (RFC 4271 §9.1.2, RFC 4456 §8). */
export function importLoop(
  list: readonly BgpPathAttribute[],
  peer: PeerInfo,
  self: { readonly localAs: number; readonly localRouterId: number; readonly clusterId?: number },
): LoopReason | undefined {
  for (const attribute of list) {
    if (attribute.kind === 'as-path' && !peer.ibgp) {
      for (const segment of attribute.segments)
        if (segment.asns.includes(self.localAs)) return 'as-path-loop';
    } else if (attribute.kind === 'originator-id' && attribute.id === self.localRouterId) {
      return 'originator-is-us';
    } else if (attribute.kind === 'cluster-list') {
      if (attribute.ids.includes(self.clusterId ?? self.localRouterId)) return 'cluster-list-has-us';
    }
  }
  return undefined;
}

/** The Adj-RIB-In key of a (canonical prefix, path id). */
function pathKey(prefix: BgpPrefix, pathId: number): RibKey {
  return pathId === 0 ? ribKey(prefix) : `${prefixKey(prefix)}#${pathId}`;
}

export class AdjRibIn {
  readonly #paths = new Map<RibKey, RibPath>();
  readonly #interner: AttributeInterner;
  /**
   * The PathCommon of the last (attribute set, pre-policy set) stored: one set per UPDATE, so it is looked
   * up once per UPDATE, not per prefix.
   */
  #lastAttributes: RouteAttributes | undefined;
  #lastReceived: RouteAttributes | undefined;
  #lastCommon: PathCommon | undefined;
  /** The last IPv4 next hop and its text: one string per next hop, not per UPDATE. */
  #lastNextHop = -1;
  #lastNextHopText: string | undefined;

  constructor(
    readonly peer: PeerInfo,
    private options: AdjRibInOptions,
  ) {
    this.#interner = options.interner ?? new AttributeInterner();
  }

  get size(): number {
    return this.#paths.size;
  }

  paths(): IterableIterator<AdjRibInPath> {
    return this.#paths.values();
  }

  get(prefix: BgpPrefix): AdjRibInPath | undefined {
    return this.#paths.get(pathKey(maskPrefix(prefix), prefix.pathId ?? 0));
  }

  /** Applies one decoded UPDATE (classic and MP NLRI, withdrawals, treat-as-withdraw, loop checks). */
  applyUpdate(update: BgpUpdate): AdjRibInResult {
    const changes: AdjRibInChange[] = [];
    const withdrawn: BgpPrefix[] = [...update.withdrawn];
    const announced: BgpPrefix[] = [...update.nlri];
    const list: BgpPathAttribute[] = [];
    let ipv4NextHop: string | undefined;
    let mpNextHop: string | undefined;
    for (const attribute of update.attributes) {
      if (attribute.kind === 'mp-unreach') withdrawn.push(...attribute.withdrawn);
      else if (attribute.kind === 'mp-reach') {
        announced.push(...attribute.nlri);
        mpNextHop = nextHopText(attribute.nextHop);
      } else if (attribute.kind === 'next-hop') ipv4NextHop = this.#ipv4Text(attribute.address);
      else list.push(attribute);
    }
    for (const prefix of withdrawn) this.#remove(prefix, changes);
    if (this.options.fourOctetAs === false) {
      const { asPath } = reconcileAs4(update.attributes);
      const index = list.findIndex((attribute) => attribute.kind === 'as-path');
      if (index >= 0) list[index] = { kind: 'as-path', segments: asPath };
    }
    for (let i = list.length - 1; i >= 0; i--)
      if (list[i]!.kind === 'as4-path' || list[i]!.kind === 'as4-aggregator') list.splice(i, 1);

    let dropped: AdjRibInResult['dropped'];
    if (update.treatAsWithdraw) dropped = 'treat-as-withdraw';
    else if (announced.length > 0) dropped = importLoop(list, this.peer, this.options);
    if (dropped !== undefined) {
      for (const prefix of announced) this.#remove(prefix, changes);
      return this.#result(changes, dropped);
    }
    // One attributes object per family for the whole UPDATE: identical sets are stored once.
    const v4: RouteAttributes = { list, nextHop: ipv4NextHop ?? '0.0.0.0' };
    const mp: RouteAttributes = { list, nextHop: mpNextHop ?? '::' };
    for (const prefix of announced) {
      const received = prefix.afi === 1 && ipv4NextHop !== undefined ? v4 : mpNextHop !== undefined ? mp : v4;
      this.#store(prefix, received, false, changes);
    }
    return this.#result(changes, undefined);
  }

  /** The text of an IPv4 next hop, the same string as last time when it is the same address. */
  #ipv4Text(address: number): string {
    if (address !== this.#lastNextHop || this.#lastNextHopText === undefined) {
      this.#lastNextHop = address;
      this.#lastNextHopText = ipv4ToString(address);
    }
    return this.#lastNextHopText;
  }

  /** Graceful restart (RFC 4724): the peer restarted; keep its paths but mark them stale. */
  markStale(): AdjRibInChange[] {
    const changes: AdjRibInChange[] = [];
    for (const [key, path] of this.#paths) {
      const stale = path.withStale(true);
      this.#paths.set(key, stale);
      if (path.accepted) changes.push(stale);
    }
    return changes;
  }

  /** End-of-RIB or restart timer expiry: removes paths still stale. */
  sweepStale(): AdjRibInChange[] {
    const changes: AdjRibInChange[] = [];
    for (const [key, path] of this.#paths) {
      if (!path.stale) continue;
      this.#interner.release(path.attributes);
      this.#paths.delete(key);
      if (path.accepted) changes.push(new GoneChange(path));
    }
    return changes;
  }

  /** The session went down without graceful restart: every path is withdrawn. */
  clear(): AdjRibInChange[] {
    const changes: AdjRibInChange[] = [];
    for (const path of this.#paths.values()) {
      this.#interner.release(path.attributes);
      if (path.accepted) changes.push(new GoneChange(path));
    }
    this.#paths.clear();
    return changes;
  }

  /**
   * Soft reconfiguration inbound: re-runs a new import policy over the stored pre-policy copies. Throws
   * when soft reconfiguration is off (then a ROUTE-REFRESH is the way to get the routes again).
   */
  reapplyImportPolicy(importPolicy: CompiledPolicy): AdjRibInChange[] {
    if (!this.options.softReconfiguration)
      throw new Error(`peer ${this.peer.address}: soft reconfiguration is off, no pre-policy routes kept`);
    this.options = { ...this.options, importPolicy };
    const changes: AdjRibInChange[] = [];
    for (const path of [...this.#paths.values()])
      this.#store(path.prefix, path.received as RouteAttributes, path.stale, changes);
    return changes;
  }

  #store(prefix: BgpPrefix, received: RouteAttributes, stale: boolean, changes: AdjRibInChange[]): void {
    const canonical = maskPrefix(prefix);
    const pathId = canonical.pathId ?? 0;
    const key = pathKey(canonical, pathId);
    const verdict = this.options.importPolicy({ prefix: canonical, attributes: received, peer: this.peer });
    const attributes = this.#interner.acquire(verdict.attributes);
    const kept = this.options.softReconfiguration ? received : undefined;
    let common = this.#lastCommon;
    if (attributes !== this.#lastAttributes || kept !== this.#lastReceived || common === undefined) {
      common = this.#commonOf(attributes, kept);
      this.#lastAttributes = attributes;
      this.#lastReceived = kept;
      this.#lastCommon = common;
    }
    const path = new RibPath(
      canonical,
      common,
      pathId,
      verdict.accepted,
      stale,
      canonical.pathId === undefined && typeof key === 'number' ? key : undefined,
    );
    const previous = this.#paths.get(key);
    if (previous !== undefined) this.#interner.release(previous.attributes);
    this.#paths.set(key, path);
    if (path.accepted) changes.push(path);
    else if (previous?.accepted)
      changes.push(new PathChange(canonical, pathId, undefined, ribKey(canonical)));
  }

  /**
   * The PathCommon of (interned set, this peer, pre-policy set). The interned set's memo (one Map lookup,
   * no WeakMap entry per set) is the PathCommon of the first Adj-RIB-In to store the set, without a
   * pre-policy set; the facts in it are the same for every peer, so another peer's PathCommon, or one
   * with a pre-policy set (soft reconfiguration), copies them.
   */
  #commonOf(attributes: RouteAttributes, received: RouteAttributes | undefined): PathCommon {
    let memo = this.#interner.memoOf(attributes) as PathCommon | undefined;
    if (memo === undefined) {
      memo = new PathCommon(attributes, this.peer, undefined, computeFacts(attributes));
      this.#interner.setMemo(attributes, memo);
    }
    if (memo.peer === this.peer && memo.received === received) return memo;
    return new PathCommon(attributes, this.peer, received, memo);
  }

  #remove(prefix: BgpPrefix, changes: AdjRibInChange[]): void {
    const canonical = maskPrefix(prefix);
    const pathId = canonical.pathId ?? 0;
    const key = pathKey(canonical, pathId);
    const previous = this.#paths.get(key);
    if (previous === undefined) return;
    this.#interner.release(previous.attributes);
    this.#paths.delete(key);
    if (previous.accepted) changes.push(new PathChange(canonical, pathId, undefined, ribKey(canonical)));
  }

  #result(changes: AdjRibInChange[], dropped: AdjRibInResult['dropped']): AdjRibInResult {
    const limit = this.options.maxPrefix;
    const base = dropped === undefined ? { changes } : { changes, dropped };
    if (limit === undefined || this.#paths.size <= limit.limit) return base;
    return { ...base, maxPrefix: { action: limit.action, count: this.#paths.size, limit: limit.limit } };
  }
}
