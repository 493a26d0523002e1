// Loc-RIB: per prefix, the accepted paths of every peer's Adj-RIB-In plus locally originated paths; the
// best path (and ECMP set) chosen by `selectBestPath`. Each change of a prefix's best path or multipath set
// is queued as a BestPathChange for the FIB and the Adj-RIB-Out. `routes()` answers `caracal-bgp routes`.

import { asPathLength } from '../codec/as4.js';
import type { BgpPrefix } from '../codec/prefix.js';
import type { AdjRibInChange } from './adj-rib-in.js';
import {
  type CandidatePath,
  type Decision,
  type DecisionOptions,
  type DecisionStep,
  selectBestPath,
} from './decision.js';
import {
  asPathSegments,
  findAttribute,
  type PeerInfo,
  prefixKey,
  type RouteAttributes,
  withoutPathId,
} from './route.js';

/** A path in the Loc-RIB. `peer` undefined: originated by this speaker. */
export interface LocRibPath extends CandidatePath {
  readonly prefix: BgpPrefix;
  readonly pathId: number;
  readonly attributes: RouteAttributes;
  readonly peer: PeerInfo | undefined;
}

export interface BestPathChange {
  readonly kind: 'added' | 'changed' | 'withdrawn';
  readonly prefixKey: string;
  readonly prefix: BgpPrefix;
  /** The new best path; undefined for 'withdrawn'. */
  readonly best: LocRibPath | undefined;
  /** The previous best path; undefined for 'added'. */
  readonly previous: LocRibPath | undefined;
  /** The ECMP set, best first (just [best] without multipath); empty for 'withdrawn'. */
  readonly multipath: readonly LocRibPath[];
  readonly reason: DecisionStep | undefined;
}

export interface RouteView {
  readonly prefixKey: string;
  readonly prefix: BgpPrefix;
  readonly candidates: ReadonlyArray<{
    readonly path: LocRibPath;
    readonly best: boolean;
    readonly multipath: boolean;
  }>;
  readonly reason: DecisionStep;
}

export interface LocRibOptions {
  readonly decision?: DecisionOptions;
  /** LOCAL_PREF assumed when absent (eBGP-learned paths); RFC 4271 leaves it local, 100 is customary. */
  readonly defaultLocalPref?: number;
}

/**
 * One prefix. The common case, one path, holds it inline (`single`, `singleSource`) without a Map; a
 * second source turns the entry into a Map of candidates keyed by source (peer address or "local", plus
 * "#path id" when not 0).
 */
interface PrefixEntry {
  readonly key: string;
  readonly prefix: BgpPrefix;
  /** Touched since the last takeChanges(); `previous` is the decision it had then. */
  dirty: boolean;
  previous: Decision<LocRibPath> | undefined;
  single: LocRibPath | undefined;
  singleSource: string;
  candidates: Map<string, LocRibPath> | undefined;
  decision: Decision<LocRibPath> | undefined;
}

function candidateCount(entry: PrefixEntry): number {
  return entry.candidates !== undefined ? entry.candidates.size : entry.single !== undefined ? 1 : 0;
}

function candidatesOf(entry: PrefixEntry): LocRibPath[] {
  if (entry.candidates !== undefined) return [...entry.candidates.values()];
  return entry.single !== undefined ? [entry.single] : [];
}

/** Orders IPv4 and IPv6 peer addresses numerically as text: zero-padded hex. */
export function peerAddressKey(address: string): string {
  if (!address.includes(':'))
    return address
      .split('.')
      .map((octet) => Number(octet).toString(16).padStart(2, '0'))
      .join('');
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [
        ...headGroups,
        ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'),
        ...tailGroups,
      ]
    : headGroups;
  return `z${groups.map((group) => group.padStart(4, '0')).join('')}`;
}

/** What the decision process reads from an attribute set, computed once per (shared) set object. */
interface AttributeFacts {
  readonly localPref: number | undefined;
  readonly asPathLength: number;
  readonly origin: number;
  readonly med: number | undefined;
  readonly firstAs: number | undefined;
  readonly originatorId: number | undefined;
  readonly clusterListLength: number;
}

const FACTS = new WeakMap<RouteAttributes, AttributeFacts>();

function factsOf(attributes: RouteAttributes): AttributeFacts {
  let facts = FACTS.get(attributes);
  if (facts !== undefined) return facts;
  const segments = asPathSegments(attributes);
  const first = segments[0];
  facts = {
    localPref: findAttribute(attributes, 'local-pref')?.value,
    asPathLength: asPathLength(segments),
    origin: findAttribute(attributes, 'origin')?.value ?? 2,
    med: findAttribute(attributes, 'med')?.value,
    firstAs: first !== undefined && first.type === 2 ? first.asns[0] : undefined,
    originatorId: findAttribute(attributes, 'originator-id')?.id,
    clusterListLength: findAttribute(attributes, 'cluster-list')?.ids.length ?? 0,
  };
  FACTS.set(attributes, facts);
  return facts;
}

const ADDRESS_KEYS = new Map<string, string>();

/** peerAddressKey, remembered per address (a handful of peers, many prefixes each). */
function cachedPeerAddressKey(address: string): string {
  let key = ADDRESS_KEYS.get(address);
  if (key === undefined) {
    if (ADDRESS_KEYS.size > 4096) ADDRESS_KEYS.clear();
    key = peerAddressKey(address);
    ADDRESS_KEYS.set(address, key);
  }
  return key;
}

/** Maps a path's attributes and source to what the decision process compares. */
export function candidateOf(
  prefix: BgpPrefix,
  pathId: number,
  attributes: RouteAttributes,
  peer: PeerInfo | undefined,
  stale: boolean,
  defaultLocalPref = 100,
): LocRibPath {
  const facts = factsOf(attributes);
  return {
    prefix,
    pathId,
    attributes,
    peer,
    local: peer === undefined,
    localPref: facts.localPref ?? defaultLocalPref,
    asPathLength: facts.asPathLength,
    origin: facts.origin,
    med: facts.med,
    neighborAs: facts.firstAs ?? (peer?.ibgp === false ? peer.asNumber : undefined),
    fromEbgp: peer !== undefined && !peer.ibgp,
    peerRouterId: peer?.routerId ?? 0,
    originatorId: facts.originatorId,
    clusterListLength: facts.clusterListLength,
    peerAddressKey: peer === undefined ? '' : cachedPeerAddressKey(peer.address),
    stale,
  };
}

const LOCAL_SOURCE = 'local';

export class LocRib {
  readonly #prefixes = new Map<string, PrefixEntry>();
  /** Entries touched since the last takeChanges(), in the order they were first touched. */
  #dirty: PrefixEntry[] = [];

  constructor(private readonly options: LocRibOptions = {}) {}

  /** Feeds the changes of one peer's Adj-RIB-In. */
  applyPeerChanges(peer: PeerInfo, changes: readonly AdjRibInChange[]): void {
    for (const change of changes) {
      const source = change.pathId === 0 ? peer.address : `${peer.address}#${change.pathId}`;
      const path =
        change.path === undefined
          ? undefined
          : candidateOf(
              change.prefix,
              change.pathId,
              change.path.attributes,
              peer,
              change.path.stale,
              this.options.defaultLocalPref,
            );
      this.#set(change.prefixKey, change.prefix, source, path);
    }
  }

  /** Adds or replaces (attributes) or removes (undefined) a locally originated path. */
  originate(prefix: BgpPrefix, attributes: RouteAttributes | undefined): void {
    const key = prefixKey(prefix);
    const path =
      attributes === undefined
        ? undefined
        : candidateOf(prefix, 0, attributes, undefined, false, this.options.defaultLocalPref);
    this.#set(key, prefix, LOCAL_SOURCE, path);
  }

  /** Best-path changes since the last call, in the order prefixes were first touched; clears the queue. */
  takeChanges(): BestPathChange[] {
    const out: BestPathChange[] = [];
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const entry of dirty) {
      const before = entry.previous;
      const after = entry.decision;
      entry.dirty = false;
      entry.previous = undefined;
      if (candidateCount(entry) === 0) this.#prefixes.delete(entry.key);
      if (sameDecision(before, after)) continue;
      const kind = before === undefined ? 'added' : after === undefined ? 'withdrawn' : 'changed';
      out.push({
        kind,
        prefixKey: entry.key,
        prefix: entry.prefix,
        best: after?.best,
        previous: before?.best,
        multipath: after?.multipath ?? [],
        reason: after?.reason,
      });
    }
    return out;
  }

  best(prefix: BgpPrefix): Decision<LocRibPath> | undefined {
    return this.#prefixes.get(prefixKey(prefix))?.decision;
  }

  /** Every best path (for an initial Adj-RIB-Out dump). */
  *bestPaths(): IterableIterator<LocRibPath> {
    for (const entry of this.#prefixes.values()) if (entry.decision !== undefined) yield entry.decision.best;
  }

  /** All candidates of one prefix or of every prefix, the best marked and the step it won by. */
  routes(prefix?: BgpPrefix): RouteView[] {
    const entries =
      prefix === undefined
        ? [...this.#prefixes.entries()]
        : [[prefixKey(prefix), this.#prefixes.get(prefixKey(prefix))] as const];
    const views: RouteView[] = [];
    for (const [key, entry] of entries) {
      if (entry?.decision === undefined) continue;
      const decision = entry.decision;
      views.push({
        prefixKey: key,
        prefix: entry.prefix,
        reason: decision.reason,
        candidates: candidatesOf(entry).map((path) => ({
          path,
          best: path === decision.best,
          multipath: decision.multipath.includes(path),
        })),
      });
    }
    return views;
  }

  #set(key: string, prefix: BgpPrefix, source: string, path: LocRibPath | undefined): void {
    let entry = this.#prefixes.get(key);
    if (entry === undefined) {
      if (path === undefined) return;
      entry = {
        key,
        prefix: withoutPathId(prefix),
        dirty: false,
        previous: undefined,
        single: undefined,
        singleSource: '',
        candidates: undefined,
        decision: undefined,
      };
      this.#prefixes.set(key, entry);
    }
    if (!entry.dirty) {
      entry.dirty = true;
      entry.previous = entry.decision;
      this.#dirty.push(entry);
    }
    const candidates = entry.candidates;
    if (candidates === undefined) {
      if (entry.single === undefined || entry.singleSource === source) {
        // Zero or one source, and it is this one: no Map, no candidate array.
        entry.single = path;
        entry.singleSource = path === undefined ? '' : source;
        entry.decision = path === undefined ? undefined : onlyPath(path);
        return;
      }
      if (path === undefined) return; // another source, not present
      entry.candidates = new Map([
        [entry.singleSource, entry.single],
        [source, path],
      ]);
      entry.single = undefined;
      entry.singleSource = '';
    } else if (path === undefined) {
      candidates.delete(source);
      if (candidates.size === 1) {
        const [onlySource, only] = candidates.entries().next().value as [string, LocRibPath];
        entry.candidates = undefined;
        entry.single = only;
        entry.singleSource = onlySource;
        entry.decision = onlyPath(only);
        return;
      }
    } else candidates.set(source, path);
    entry.decision = selectBestPath([...entry.candidates!.values()], this.options.decision);
  }
}

/** The decision of a prefix with one path (what selectBestPath returns for one candidate). */
function onlyPath(path: LocRibPath): Decision<LocRibPath> {
  return { best: path, reason: 'only-path', multipath: [path] };
}

function sameDecision(a: Decision<LocRibPath> | undefined, b: Decision<LocRibPath> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.best === b.best &&
    a.multipath.length === b.multipath.length &&
    a.multipath.every((p, i) => p === b.multipath[i])
  );
}
