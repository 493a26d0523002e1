// The BGP decision process (RFC 4271 §9.1.2.2, RFC 4456 §9): picks the best path among the candidates for
// one prefix. Each tie-break is its own small step that keeps only the candidates best on that criterion;
// the step that left one candidate is reported as the reason the best path won. Pure: no RIB state here.

/** What the decision process needs to know about one path; the RIB derives it from the path attributes. */
export interface CandidatePath {
  /** Originated by this speaker (static, blackhole, programmatic): preferred over learned paths. */
  readonly local: boolean;
  /** LOCAL_PREF, or the configured default (100) when the attribute is absent (eBGP-learned paths). */
  readonly localPref: number;
  /** AS_PATH length: each AS in an AS_SEQUENCE counts 1, an AS_SET counts 1, confederation segments 0. */
  readonly asPathLength: number;
  /** ORIGIN: 0 IGP, 1 EGP, 2 INCOMPLETE. */
  readonly origin: number;
  /** MULTI_EXIT_DISC; absent is treated as 0 (RFC 4271 §9.1.2.2 c), or as worst with `missingMedAsWorst`. */
  readonly med: number | undefined;
  /** The neighbour AS: the first AS of the AS_PATH's first AS_SEQUENCE, undefined for a local path. */
  readonly neighborAs: number | undefined;
  /** Learned over eBGP (true) or iBGP (false). */
  readonly fromEbgp: boolean;
  /** The BGP identifier of the peer the path came from, as an unsigned 32-bit number. */
  readonly peerRouterId: number;
  /** ORIGINATOR_ID (RFC 4456) when present: it replaces the peer's router id in the comparison. */
  readonly originatorId: number | undefined;
  /** CLUSTER_LIST length (RFC 4456); 0 when absent. */
  readonly clusterListLength: number;
  /** The peer's address in a form that orders numerically (e.g. a zero-padded hex string). */
  readonly peerAddressKey: string;
  /** Marked stale by graceful restart (RFC 4724): a fresh path always beats a stale one. */
  readonly stale: boolean;
}

export interface DecisionOptions {
  /** Compare MED between paths from different neighbour ASes (Cisco's `always-compare-med`). */
  readonly alwaysCompareMed?: boolean;
  /** Treat a missing MED as the worst value (4294967295) instead of 0. */
  readonly missingMedAsWorst?: boolean;
  /** Maximum number of equal-cost paths to return for ECMP (1 = no multipath). */
  readonly maxPaths?: number;
}

/** The names of the decision steps, in order; also the `reason` a best path won. */
export type DecisionStep =
  | 'only-path'
  | 'not-stale'
  | 'local-origination'
  | 'local-pref'
  | 'as-path-length'
  | 'origin'
  | 'med'
  | 'ebgp-over-ibgp'
  | 'router-id'
  | 'cluster-list-length'
  | 'peer-address';

export interface Decision<P extends CandidatePath> {
  readonly best: P;
  /** The step that eliminated the last competitor ('only-path' when there was one candidate). */
  readonly reason: DecisionStep;
  /** Paths usable for ECMP together with `best` (best first), at most `maxPaths`. */
  readonly multipath: readonly P[];
}

type Step = {
  readonly name: DecisionStep;
  /** Keeps the candidates that are best on this criterion. */
  readonly keepBest: <P extends CandidatePath>(paths: readonly P[], options: DecisionOptions) => P[];
};

/** Keeps the paths whose key is minimal. */
function keepMin<P>(paths: readonly P[], key: (p: P) => number | string): P[] {
  let bestKey: number | string | undefined;
  let kept: P[] = [];
  for (const path of paths) {
    const k = key(path);
    if (bestKey === undefined || k < bestKey) {
      bestKey = k;
      kept = [path];
    } else if (k === bestKey) {
      kept.push(path);
    }
  }
  return kept;
}

const MAX_MED = 0xffffffff;

function effectiveMed(path: CandidatePath, options: DecisionOptions): number {
  if (path.med !== undefined) return path.med;
  return options.missingMedAsWorst ? MAX_MED : 0;
}

/**
 * MED step (RFC 4271 §9.1.2.2 c): a path is removed when another remaining path from the same neighbour AS
 * has a lower MED. Comparing only within a neighbour AS makes MED non-transitive, which is why this is an
 * elimination over the whole remaining set rather than a pairwise comparator.
 */
function keepBestMed<P extends CandidatePath>(paths: readonly P[], options: DecisionOptions): P[] {
  if (options.alwaysCompareMed) return keepMin(paths, (p) => effectiveMed(p, options));
  const lowestByAs = new Map<number | undefined, number>();
  for (const path of paths) {
    const med = effectiveMed(path, options);
    const current = lowestByAs.get(path.neighborAs);
    if (current === undefined || med < current) lowestByAs.set(path.neighborAs, med);
  }
  return paths.filter((p) => effectiveMed(p, options) === lowestByAs.get(p.neighborAs));
}

/** The decision steps in order. The first four decide the "degree of preference" and ECMP eligibility. */
export const DECISION_STEPS: readonly Step[] = [
  { name: 'not-stale', keepBest: (paths) => keepMin(paths, (p) => (p.stale ? 1 : 0)) },
  { name: 'local-origination', keepBest: (paths) => keepMin(paths, (p) => (p.local ? 0 : 1)) },
  { name: 'local-pref', keepBest: (paths) => keepMin(paths, (p) => -p.localPref) },
  { name: 'as-path-length', keepBest: (paths) => keepMin(paths, (p) => p.asPathLength) },
  { name: 'origin', keepBest: (paths) => keepMin(paths, (p) => p.origin) },
  { name: 'med', keepBest: keepBestMed },
  { name: 'ebgp-over-ibgp', keepBest: (paths) => keepMin(paths, (p) => (p.fromEbgp ? 0 : 1)) },
  { name: 'router-id', keepBest: (paths) => keepMin(paths, (p) => p.originatorId ?? p.peerRouterId) },
  { name: 'cluster-list-length', keepBest: (paths) => keepMin(paths, (p) => p.clusterListLength) },
  { name: 'peer-address', keepBest: (paths) => keepMin(paths, (p) => p.peerAddressKey) },
];

/** Index of the step after which remaining candidates are ECMP-equal (up to and including eBGP-over-iBGP). */
const LAST_MULTIPATH_STEP = DECISION_STEPS.findIndex((s) => s.name === 'ebgp-over-ibgp');

/** Runs the decision process; undefined when there is no candidate. */
export function selectBestPath<P extends CandidatePath>(
  candidates: readonly P[],
  options: DecisionOptions = {},
): Decision<P> | undefined {
  const first = candidates[0];
  if (first === undefined) return undefined;
  if (candidates.length === 1) return { best: first, reason: 'only-path', multipath: [first] };

  let remaining: P[] = [...candidates];
  let multipathSet: P[] | undefined;
  let reason: DecisionStep = 'peer-address';
  for (let i = 0; i < DECISION_STEPS.length; i++) {
    const step = DECISION_STEPS[i]!;
    const kept = step.keepBest(remaining, options);
    if (kept.length < remaining.length && kept.length === 1) reason = step.name;
    remaining = kept;
    if (i === LAST_MULTIPATH_STEP) multipathSet = [...remaining];
    if (remaining.length === 1) break;
  }
  const best = remaining[0]!;
  const maxPaths = Math.max(1, options.maxPaths ?? 1);
  const multipath = multipathEligible(best, multipathSet ?? [best], maxPaths);
  return { best, reason, multipath };
}

/**
 * ECMP: the paths equal to the best through the eBGP-over-iBGP step; for eBGP paths also the same neighbour
 * AS (as BIRD and most routers require without "relax"). Best first, then by peer address for stability.
 */
function multipathEligible<P extends CandidatePath>(best: P, equal: readonly P[], maxPaths: number): P[] {
  if (maxPaths === 1) return [best];
  const others = equal
    .filter((p) => p !== best && !p.local && (!best.fromEbgp || p.neighborAs === best.neighborAs))
    .sort((a, b) => (a.peerAddressKey < b.peerAddressKey ? -1 : a.peerAddressKey > b.peerAddressKey ? 1 : 0));
  return [best, ...others].slice(0, maxPaths);
}
