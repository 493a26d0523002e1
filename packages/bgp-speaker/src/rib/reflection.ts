// Route reflection (RFC 4456) as the Adj-RIB-Out applies it: which paths are reflected, and the
// ORIGINATOR_ID / CLUSTER_LIST a reflected path carries. Pure functions over the RIB's attribute sets,
// exported so that @caracal/reflector uses these very rules rather than a copy.

import type { PeerRole } from './adj-rib-out.js';
import { findAttribute, type RouteAttributes, withAttribute } from './route.js';

/** What reflectedPathAttributes needs besides the path: our cluster id and where the path came from. */
export interface ReflectionContext {
  /** Our cluster id (the speaker's `clusterId`, by default its router id: RFC 4456 §7). */
  readonly clusterId: number;
  /** Router id of the iBGP peer the path was learned from: the ORIGINATOR_ID when the path has none. */
  readonly learnedFromRouterId: number;
}

/**
 * Whether a path learned from a peer of role `learnedFrom` and advertised to a peer of role `to` is being
 * reflected (RFC 4456 §8): learned from an iBGP peer (client or not) and sent to an iBGP peer. Such a path
 * is sent with reflectedPathAttributes. Whether it may be sent at all is `mayExport`'s question (a
 * non-client's path goes to clients only).
 */
export function isReflection(learnedFrom: PeerRole, to: PeerRole): boolean {
  return (
    (learnedFrom === 'ibgp-client' || learnedFrom === 'ibgp-nonclient') &&
    (to === 'ibgp-client' || to === 'ibgp-nonclient')
  );
}

/**
 * The attributes of a reflected path (RFC 4456 §8): ORIGINATOR_ID kept when present, else set to the
 * router id of the peer the path was learned from; our cluster id prepended to CLUSTER_LIST (a list of
 * its own when absent). Both stay where they were in the list (the first of a kind; later ones of the
 * same kind are dropped) or are appended, ORIGINATOR_ID first; every other attribute, the next hop and
 * `attributes` itself are left as they are. No loop check here: a path with our cluster id in its
 * CLUSTER_LIST is dropped on import (`importLoop`), before it can be reflected.
 */
export function reflectedPathAttributes(
  attributes: RouteAttributes,
  context: ReflectionContext,
): RouteAttributes {
  const originatorId = findAttribute(attributes, 'originator-id')?.id ?? context.learnedFromRouterId;
  const clusterList = findAttribute(attributes, 'cluster-list')?.ids ?? [];
  const withOriginator = withAttribute(attributes, 'originator-id', {
    kind: 'originator-id',
    id: originatorId,
  });
  return withAttribute(withOriginator, 'cluster-list', {
    kind: 'cluster-list',
    ids: [context.clusterId, ...clusterList],
  });
}
