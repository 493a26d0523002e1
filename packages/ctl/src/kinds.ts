// The resource kinds caracalctl knows and the names an operator may type for them: case-insensitive,
// singular, plural and the short aliases calicoctl accepts (ippool/ippools/ipp, gnp, wep, hep, netpol,
// felixconfig, bgpconfig, ...). An unknown name gets the list of known kinds and the closest match.

import { CommandFailure } from './errors.js';

export interface KindInfo {
  /** The kind as written in manifests (`IPPool`). */
  readonly kind: string;
  /** Lower-case name used in result lines (`ippool/default-pool created`). */
  readonly lowerName: string;
  /** Plural lower-case name (`ippools`). */
  readonly plural: string;
  /** True for kinds that live in a namespace (WorkloadEndpoint, NetworkPolicy). */
  readonly namespaced: boolean;
  /** Every accepted spelling, lower case. */
  readonly aliases: readonly string[];
}

function kindInfo(
  kind: string,
  plural: string,
  namespaced: boolean,
  shortAliases: readonly string[],
): KindInfo {
  const lowerName = kind.toLowerCase();
  return {
    kind,
    lowerName,
    plural,
    namespaced,
    aliases: [lowerName, plural, ...shortAliases],
  };
}

export const knownKinds: readonly KindInfo[] = [
  kindInfo('Node', 'nodes', false, ['no']),
  kindInfo('IPPool', 'ippools', false, ['ipp', 'ipps', 'pool', 'pools']),
  kindInfo('IPReservation', 'ipreservations', false, ['ipr', 'iprs', 'ipres']),
  kindInfo('BGPConfiguration', 'bgpconfigurations', false, ['bgpconfig', 'bgpconfigs', 'bgpc']),
  kindInfo('BGPPeer', 'bgppeers', false, ['bgpp', 'bgpps', 'peer', 'peers']),
  kindInfo('WorkloadEndpoint', 'workloadendpoints', true, ['wep', 'weps']),
  kindInfo('NetworkPolicy', 'networkpolicies', true, [
    'netpol',
    'netpols',
    'np',
    'nps',
    'policy',
    'policies',
  ]),
  kindInfo('GlobalNetworkPolicy', 'globalnetworkpolicies', false, ['gnp', 'gnps']),
  kindInfo('Profile', 'profiles', false, ['pro', 'pros']),
  kindInfo('HostEndpoint', 'hostendpoints', false, ['hep', 'heps']),
  kindInfo('FelixConfiguration', 'felixconfigurations', false, ['felixconfig', 'felixconfigs', 'fc']),
];

const kindsByAlias = new Map<string, KindInfo>(
  knownKinds.flatMap((info) => info.aliases.map((alias) => [alias, info] as const)),
);

/** Looks a typed kind name up; undefined when unknown. */
export function findKind(typed: string): KindInfo | undefined {
  return kindsByAlias.get(typed.trim().toLowerCase());
}

/** Looks a kind up by its manifest spelling (`IPPool`), exact case first, then case-insensitive. */
export function kindInfoFor(kind: string): KindInfo | undefined {
  return knownKinds.find((info) => info.kind === kind) ?? findKind(kind);
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest known alias when it is close enough to be a likely typo (or a prefix of one). */
export function suggestKind(typed: string): KindInfo | undefined {
  const lower = typed.trim().toLowerCase();
  if (lower === '') return undefined;
  let best: { info: KindInfo; distance: number } | undefined;
  for (const [alias, info] of kindsByAlias) {
    const distance = alias.startsWith(lower) && lower.length >= 3 ? 1 : editDistance(lower, alias);
    if (best === undefined || distance < best.distance) best = { info, distance };
  }
  if (best === undefined) return undefined;
  const tolerance = Math.max(2, Math.floor(lower.length / 3));
  return best.distance <= tolerance ? best.info : undefined;
}

/** A multi-line description of every kind and its aliases, for errors and help. */
export function describeKnownKinds(): string {
  return knownKinds.map((info) => `  ${info.kind.padEnd(20)} ${info.aliases.join(', ')}`).join('\n');
}

/** Resolves a typed kind or throws an UnknownKindError listing the known kinds and the closest match. */
export function resolveKind(typed: string): KindInfo {
  const found = findKind(typed);
  if (found !== undefined) return found;
  const suggestion = suggestKind(typed);
  const hint =
    suggestion === undefined ? '' : `\nDid you mean "${suggestion.lowerName}" (${suggestion.kind})?`;
  throw new UnknownKindError(
    `unknown resource kind "${typed}"${hint}\nKnown kinds (and the names accepted for them):\n${describeKnownKinds()}`,
  );
}

/** An unknown kind names no resource type: exit 1 (as calicoctl), with the list of known kinds. */
export class UnknownKindError extends CommandFailure {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownKindError';
  }
}
