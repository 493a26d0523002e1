// Route reflection (RFC 4456) as rules on the one BGP speaker: to which peers a path may be exported
// (depending on where it was learned and on each peer's role), the attributes a reflector adds
// (ORIGINATOR_ID, CLUSTER_LIST), and the loop checks on import. Pure functions over peer roles and the two
// attributes, used by caracal-bgpd's Adj-RIB-Out when a peer is marked as a reflector client.

/** How a path was learned, or how a peer is treated on export. */
export type PeerRole =
  /** Originated by this speaker. */
  | 'local'
  | 'ebgp'
  /** An iBGP peer we reflect to (we are its route reflector). */
  | 'ibgp-client'
  /** An ordinary iBGP peer (full mesh, or another reflector of our cluster, or our own reflector). */
  | 'ibgp-nonclient';

/**
 * RFC 4271 §9.2 plus RFC 4456 §6: may a path learned from `learnedFrom` be advertised to a peer of role
 * `to`? The path is never sent back to the peer it came from (checked by the caller by identity).
 */
export function mayExport(learnedFrom: PeerRole, to: PeerRole): boolean {
  if (to === 'local') return false;
  if (learnedFrom === 'local' || learnedFrom === 'ebgp') return true;
  if (to === 'ebgp') return true;
  // iBGP-learned towards iBGP: only a reflector passes it on.
  if (learnedFrom === 'ibgp-client') return true; // to clients and non-clients
  return to === 'ibgp-client'; // from a non-client: to clients only
}

export interface ReflectionAttributes {
  readonly originatorId: number | undefined;
  readonly clusterList: readonly number[];
}

/**
 * Attributes of a path reflected by this speaker (RFC 4456 §8): ORIGINATOR_ID is set to the router id of
 * the peer the path came from when absent; our cluster id is prepended to CLUSTER_LIST.
 */
export function reflectedAttributes(
  path: ReflectionAttributes,
  context: { readonly clusterId: number; readonly learnedFromRouterId: number },
): ReflectionAttributes {
  return {
    originatorId: path.originatorId ?? context.learnedFromRouterId,
    clusterList: [context.clusterId, ...path.clusterList],
  };
}

/** Whether the path is being reflected (iBGP-learned, sent to iBGP) and so needs reflectedAttributes. */
export function isReflection(learnedFrom: PeerRole, to: PeerRole): boolean {
  return (
    (learnedFrom === 'ibgp-client' || learnedFrom === 'ibgp-nonclient') &&
    (to === 'ibgp-client' || to === 'ibgp-nonclient')
  );
}

export type ImportLoop = 'originator-is-us' | 'cluster-list-has-us' | undefined;

/** RFC 4456 §8 loop checks on import: such a path is dropped (and counted, not an error). */
export function reflectionLoop(
  path: ReflectionAttributes,
  self: { readonly routerId: number; readonly clusterId: number | undefined },
): ImportLoop {
  if (path.originatorId === self.routerId) return 'originator-is-us';
  if (self.clusterId !== undefined && path.clusterList.includes(self.clusterId)) return 'cluster-list-has-us';
  return undefined;
}

/** A cluster id written as a dotted quad (Calico's routeReflectorClusterID) as a 32-bit number. */
export function parseClusterId(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`cluster id '${text}' must be a dotted quad such as 224.0.0.1`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}
