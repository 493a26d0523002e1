// The pure configuration diff behind SIGHUP reload: which peers were added, removed or changed, and for
// each change whether the session must be reset, a soft route refresh is enough, or nothing is needed.
import type { BgpdConfig, PeerConfig, PolicyRef } from './types.js';

/** What applying a change costs: drop and re-establish, re-run policies (route refresh), or nothing. */
export type ChangeImpact = 'reset' | 'refresh' | 'none';

export interface PeerChange {
  readonly name: string;
  readonly impact: ChangeImpact;
  /** Changed fields, e.g. ["holdTime", "import"]; "global.routerId" for global causes. */
  readonly fields: readonly string[];
}

export interface ConfigDiff {
  readonly peersAdded: readonly string[];
  readonly peersRemoved: readonly string[];
  readonly peersChanged: readonly PeerChange[];
  readonly peersUnchanged: readonly string[];
  /** Global fields that changed (besides peers). */
  readonly globalChanged: readonly string[];
}

/** Peer fields negotiated in OPEN or fixing the transport: a change needs a new session. */
const RESET_FIELDS: ReadonlySet<keyof PeerConfig> = new Set<keyof PeerConfig>([
  'address',
  'asNumber',
  'port',
  'passive',
  'localAddress',
  'multihop',
  'holdTime',
  'keepaliveTime',
  'families',
  'addPath',
  'gracefulRestart',
  'delayOpen',
  'enhancedRouteRefresh',
  'extendedMessage',
]);

/** Peer fields that change which routes are accepted or sent: a route refresh (in and out) applies them. */
const REFRESH_FIELDS: ReadonlySet<keyof PeerConfig> = new Set<keyof PeerConfig>([
  'import',
  'export',
  'nextHop',
  'routeReflectorClient',
  'softReconfiguration',
  'importLimit',
  'maxPrefix',
]);

/** Global fields every session carries in its OPEN or transport. */
const GLOBAL_RESET_FIELDS: ReadonlyArray<keyof BgpdConfig> = ['asNumber', 'routerId', 'clusterId'];

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function filtersUsed(ref: PolicyRef): string[] {
  return ref.kind === 'filter' ? [ref.name] : [];
}

const rank: Record<ChangeImpact, number> = { none: 0, refresh: 1, reset: 2 };
const worst = (a: ChangeImpact, b: ChangeImpact): ChangeImpact => (rank[a] >= rank[b] ? a : b);

/** Compares two validated configurations. Peers are identified by name. */
export function diffConfig(previous: BgpdConfig, next: BgpdConfig): ConfigDiff {
  const before = new Map(previous.peers.map((p) => [p.name, p]));
  const after = new Map(next.peers.map((p) => [p.name, p]));
  const globalKeys = new Set([...Object.keys(previous), ...Object.keys(next)]) as Set<keyof BgpdConfig>;
  globalKeys.delete('peers');
  const globalChanged = [...globalKeys].filter((key) => !same(previous[key], next[key])).sort();
  const globalReset = GLOBAL_RESET_FIELDS.filter((key) => globalChanged.includes(key));
  const policyChanged = globalChanged.includes('policy');
  const changedFilters = new Set(
    [...new Set([...Object.keys(previous.policy.filters), ...Object.keys(next.policy.filters)])].filter(
      (name) => !same(previous.policy.filters[name], next.policy.filters[name]),
    ),
  );
  const listsChanged =
    !same(previous.policy.prefixLists, next.policy.prefixLists) ||
    !same(previous.policy.communityLists, next.policy.communityLists) ||
    !same(previous.policy.asPathLists, next.policy.asPathLists);

  const peersChanged: PeerChange[] = [];
  const peersUnchanged: string[] = [];
  for (const [name, peer] of after) {
    const old = before.get(name);
    if (!old) continue;
    let impact: ChangeImpact = 'none';
    const fields: string[] = [];
    const keys = new Set([...Object.keys(old), ...Object.keys(peer)]) as Set<keyof PeerConfig>;
    for (const key of keys) {
      if (same(old[key], peer[key])) continue;
      fields.push(key);
      impact = worst(impact, RESET_FIELDS.has(key) ? 'reset' : REFRESH_FIELDS.has(key) ? 'refresh' : 'none');
    }
    for (const key of globalReset) {
      fields.push(`global.${key}`);
      impact = 'reset';
    }
    // Global import/export and families were resolved into each peer at parse time: they show up as peer
    // fields above.
    if (policyChanged) {
      // A changed named filter, or a changed list a filter may use, re-runs this peer's policies.
      const used = [...filtersUsed(peer.import), ...filtersUsed(peer.export)];
      const usesChanged = used.some((f) => changedFilters.has(f));
      const usesLists =
        listsChanged && (used.length > 0 || peer.import.kind === 'terms' || peer.export.kind === 'terms');
      if (usesChanged || usesLists) {
        fields.push('global.policy');
        impact = worst(impact, 'refresh');
      }
    }
    if (fields.length === 0) peersUnchanged.push(name);
    else peersChanged.push({ name, impact, fields: fields.sort() });
  }
  return {
    peersAdded: [...after.keys()].filter((name) => !before.has(name)).sort(),
    peersRemoved: [...before.keys()].filter((name) => !after.has(name)).sort(),
    peersChanged: peersChanged.sort((a, b) => a.name.localeCompare(b.name)),
    peersUnchanged: peersUnchanged.sort(),
    globalChanged,
  };
}
