// Loc-RIB: per prefix, the accepted paths of every peer's Adj-RIB-In plus locally originated paths; the
// best path (and ECMP set) chosen by `selectBestPath`. Each change of a prefix's best path or multipath set
// is queued as a BestPathChange for the FIB and the Adj-RIB-Out. `routes()` answers `caracal-bgp routes`.
// Prefixes are keyed by RibKey (a number for IPv4). A prefix with one path — the common case — is just
// that path in the map (the Adj-RIB-In's RibPath object itself): no entry object, no Map of candidates, no
// decision object; a second source turns it into a MultiPathEntry, and back when it goes.

import type { BgpPrefix } from '../codec/prefix.js';
import { type AdjRibInChange, adjRibInChangeKey } from './adj-rib-in.js';
import {
  type CandidatePath,
  type Decision,
  type DecisionOptions,
  type DecisionStep,
  selectBestPath,
} from './decision.js';
import { factsOf, PathCommon, RibPath } from './path.js';
import {
  type PeerInfo,
  type RibKey,
  type RouteAttributes,
  ribKey,
  ribKeyText,
  withoutPathId,
} from './route.js';

export { peerAddressKey } from './path.js';

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

/** A prefix with two or more sources: candidates keyed by source (peer address or "local", plus "#path id"). */
class MultiPathEntry {
  constructor(
    readonly candidates: Map<string, RibPath>,
    public decision: Decision<RibPath>,
  ) {}
}

type Stored = RibPath | MultiPathEntry;

/** The decision of a prefix with one path (what selectBestPath returns for one candidate). */
function onlyPath<P extends CandidatePath>(path: P): Decision<P> {
  return { best: path, reason: 'only-path', multipath: [path] };
}

function decisionOf(stored: Stored | undefined): Decision<RibPath> | undefined {
  if (stored === undefined) return undefined;
  return stored instanceof MultiPathEntry ? stored.decision : onlyPath(stored);
}

/** A best path's source key: the peer address or "local", plus "#path id" when not 0. */
function sourceOf(path: RibPath): string {
  const base = path.peer === undefined ? LOCAL_SOURCE : path.peer.address;
  const pathId = path.pathId;
  return pathId === 0 ? base : `${base}#${pathId}`;
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
  return newCandidate(prefix, pathId, attributes, peer, stale, defaultLocalPref);
}

function newCandidate(
  prefix: BgpPrefix,
  pathId: number,
  attributes: RouteAttributes,
  peer: PeerInfo | undefined,
  stale: boolean,
  defaultLocalPref: number,
): RibPath {
  return new RibPath(
    prefix,
    new PathCommon(attributes, peer, undefined, factsOf(attributes, defaultLocalPref)),
    pathId,
    true,
    stale,
  );
}

const LOCAL_SOURCE = 'local';
/** What a prefix had when first touched since the last takeChanges(): its one path, its decision, or none. */
type Previous = RibPath | Decision<RibPath> | undefined;

function previousDecision(previous: Previous): Decision<RibPath> | undefined {
  return previous instanceof RibPath ? onlyPath(previous) : previous;
}

/**
 * A BestPathChange that keeps the prefix's RibKey and makes the prefix object, its text and a one-path
 * multipath list only when a consumer reads them (the Adj-RIB-Out reads the key, the FIB the rest).
 */
class Change implements BestPathChange {
  readonly #multipath: readonly LocRibPath[] | undefined;
  constructor(
    readonly kind: 'added' | 'changed' | 'withdrawn',
    readonly key: RibKey,
    readonly best: LocRibPath | undefined,
    readonly previous: LocRibPath | undefined,
    /** undefined: just [best] (or [] without best). */
    multipath: readonly LocRibPath[] | undefined,
    readonly reason: DecisionStep | undefined,
  ) {
    this.#multipath = multipath;
  }
  get prefix(): BgpPrefix {
    return withoutPathId((this.best ?? this.previous)!.prefix);
  }
  get prefixKey(): string {
    return ribKeyText(this.key);
  }
  get multipath(): readonly LocRibPath[] {
    return this.#multipath ?? (this.best === undefined ? [] : [this.best]);
  }
}

/** The RibKey of a change's prefix (kept by the Loc-RIB's own changes, computed for others). */
export function changeKey(change: BestPathChange): RibKey {
  return change instanceof Change ? change.key : ribKey(change.prefix);
}

export class LocRib {
  readonly #prefixes = new Map<RibKey, Stored>();
  /** Prefixes touched since the last takeChanges(), in the order first touched, with what they had then. */
  #dirty = new Map<RibKey, Previous>();
  readonly #defaultLocalPref: number;

  constructor(private readonly options: LocRibOptions = {}) {
    this.#defaultLocalPref = options.defaultLocalPref ?? 100;
  }

  /** Feeds the changes of one peer's Adj-RIB-In. */
  applyPeerChanges(peer: PeerInfo, changes: readonly AdjRibInChange[]): void {
    const defaultLocalPref = this.#defaultLocalPref;
    for (const change of changes) {
      const received = change.path;
      let path: RibPath | undefined;
      if (
        (received as unknown) === change &&
        received instanceof RibPath &&
        received.peer === peer &&
        received.facts.defaultLocalPref === defaultLocalPref
      ) {
        // An accepted RibPath that is its own change (the Adj-RIB-In's usual announcement): kept as it is.
        path = received;
      } else if (received !== undefined) {
        // The Adj-RIB-In's own object when it fits as it is (same peer, same default LOCAL_PREF).
        path =
          received instanceof RibPath &&
          received.peer === peer &&
          received.accepted &&
          received.pathId === change.pathId &&
          received.facts.defaultLocalPref === defaultLocalPref
            ? received
            : newCandidate(
                change.prefix,
                change.pathId,
                received.attributes,
                peer,
                received.stale,
                defaultLocalPref,
              );
      }
      const source = change.pathId === 0 ? peer.address : `${peer.address}#${change.pathId}`;
      this.#set(adjRibInChangeKey(change), source, path);
    }
  }

  /** Adds or replaces (attributes) or removes (undefined) a locally originated path. */
  originate(prefix: BgpPrefix, attributes: RouteAttributes | undefined): void {
    const path =
      attributes === undefined
        ? undefined
        : newCandidate(prefix, 0, attributes, undefined, false, this.#defaultLocalPref);
    this.#set(ribKey(prefix), LOCAL_SOURCE, path);
  }

  /** Best-path changes since the last call, in the order prefixes were first touched; clears the queue. */
  takeChanges(): BestPathChange[] {
    const out: BestPathChange[] = [];
    const dirty = this.#dirty;
    this.#dirty = new Map();
    for (const [key, previous] of dirty) {
      const stored = this.#prefixes.get(key);
      if (previous === stored) continue;
      // The common cases without decision objects: at most one path before and after.
      if (!(stored instanceof MultiPathEntry) && (previous === undefined || previous instanceof RibPath)) {
        if (stored === undefined) {
          out.push(new Change('withdrawn', key, undefined, previous, undefined, undefined));
        } else {
          const kind = previous === undefined ? 'added' : 'changed';
          out.push(new Change(kind, key, stored, previous, undefined, 'only-path'));
        }
        continue;
      }
      const before = previousDecision(previous);
      const after = decisionOf(stored);
      if (sameDecision(before, after)) continue;
      const kind = before === undefined ? 'added' : after === undefined ? 'withdrawn' : 'changed';
      out.push(new Change(kind, key, after?.best, before?.best, after?.multipath ?? [], after?.reason));
    }
    return out;
  }

  /** Number of prefixes with at least one path. */
  get size(): number {
    return this.#prefixes.size;
  }

  /** The best path of a prefix, or undefined (best() without building a Decision for one-path prefixes). */
  bestPath(prefix: BgpPrefix): LocRibPath | undefined {
    const stored = this.#prefixes.get(ribKey(prefix));
    return stored instanceof MultiPathEntry ? stored.decision.best : stored;
  }

  best(prefix: BgpPrefix): Decision<LocRibPath> | undefined {
    return decisionOf(this.#prefixes.get(ribKey(prefix)));
  }

  /** Every best path (for an initial Adj-RIB-Out dump). */
  *bestPaths(): IterableIterator<LocRibPath> {
    for (const stored of this.#prefixes.values())
      yield stored instanceof MultiPathEntry ? stored.decision.best : stored;
  }

  /** All candidates of one prefix or of every prefix, the best marked and the step it won by. */
  routes(prefix?: BgpPrefix): RouteView[] {
    const entries: Array<readonly [RibKey, Stored | undefined]> =
      prefix === undefined
        ? [...this.#prefixes.entries()]
        : [[ribKey(prefix), this.#prefixes.get(ribKey(prefix))] as const];
    const views: RouteView[] = [];
    for (const [key, stored] of entries) {
      const decision = decisionOf(stored);
      if (stored === undefined || decision === undefined) continue;
      const candidates = stored instanceof MultiPathEntry ? [...stored.candidates.values()] : [stored];
      views.push({
        prefixKey: ribKeyText(key),
        prefix: withoutPathId(decision.best.prefix),
        reason: decision.reason,
        candidates: candidates.map((path) => ({
          path,
          best: path === decision.best,
          multipath: decision.multipath.includes(path),
        })),
      });
    }
    return views;
  }

  #set(key: RibKey, source: string, path: RibPath | undefined): void {
    const stored = this.#prefixes.get(key);
    if (stored === undefined && path === undefined) return;
    if (!this.#dirty.has(key))
      this.#dirty.set(key, stored instanceof MultiPathEntry ? stored.decision : stored);
    if (stored === undefined) {
      this.#prefixes.set(key, path!);
      return;
    }
    if (!(stored instanceof MultiPathEntry)) {
      if (sourceOf(stored) === source) {
        // Zero or one source, and it is this one: the path itself is the entry.
        if (path === undefined) this.#prefixes.delete(key);
        else this.#prefixes.set(key, path);
        return;
      }
      if (path === undefined) return; // another source, not present
      const candidates = new Map([
        [sourceOf(stored), stored],
        [source, path],
      ]);
      this.#prefixes.set(key, new MultiPathEntry(candidates, this.#decide(candidates)));
      return;
    }
    const candidates = stored.candidates;
    if (path === undefined) {
      if (!candidates.delete(source)) return;
      if (candidates.size === 1) {
        this.#prefixes.set(key, candidates.values().next().value as RibPath);
        return;
      }
    } else candidates.set(source, path);
    stored.decision = this.#decide(candidates);
  }

  #decide(candidates: Map<string, RibPath>): Decision<RibPath> {
    return selectBestPath([...candidates.values()], this.options.decision)!;
  }
}

function sameDecision(a: Decision<LocRibPath> | undefined, b: Decision<LocRibPath> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.best === b.best &&
    a.multipath.length === b.multipath.length &&
    a.multipath.every((p, i) => p === b.multipath[i])
  );
}
