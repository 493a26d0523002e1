// Route reflection (RFC 4456) for reflector nodes, as rules on the one BGP speaker: to which peers a path
// may be exported (depending on where it was learned and on each peer's role), which paths are reflected
// and the attributes a reflector adds (ORIGINATOR_ID, CLUSTER_LIST), and the loop checks on import, over
// peer roles and the two attributes as plain numbers. Every rule here is caracal-bgpd's own
// (@caracal/bgp-speaker: `mayExport` and `isReflection` re-exported, `reflectedPathAttributes` of its
// Adj-RIB-Out and `importLoop` of its Adj-RIB-In run on the two numbers), so a reflector node cannot drift
// from the speaker that runs it; cluster ids are parsed by @caracal/ip.

import {
  type BgpPathAttribute,
  findAttribute,
  importLoop,
  isReflection,
  type LoopReason,
  mayExport,
  type PeerInfo,
  type PeerRole,
  type ReflectionContext,
  reflectedPathAttributes,
} from '@caracal/bgp-speaker';
import { IpParseError, ipParseResult, parseIpv4 } from '@caracal/ip';

/**
 * RFC 4271 §9.2 plus RFC 4456 §6: `mayExport(learnedFrom, to)` says whether a path learned from a peer of
 * one role ('local' when originated here, 'ebgp', 'ibgp-client' when we are its reflector,
 * 'ibgp-nonclient' otherwise) may be advertised to a peer of another. The path is never sent back to the
 * peer it came from (checked by the caller by identity).
 */
export { mayExport, type PeerRole };

export interface ReflectionAttributes {
  readonly originatorId: number | undefined;
  readonly clusterList: readonly number[];
}

/**
 * Attributes of a path reflected by this speaker (RFC 4456 §8): ORIGINATOR_ID is set to the router id of
 * the peer the path came from when absent; our cluster id is prepended to CLUSTER_LIST. This is
 * caracal-bgpd's `reflectedPathAttributes` (what its Adj-RIB-Out sends), run on the two attributes.
 */
export function reflectedAttributes(
  path: ReflectionAttributes,
  context: ReflectionContext,
): ReflectionAttributes {
  const received: BgpPathAttribute[] = [{ kind: 'cluster-list', ids: path.clusterList }];
  if (path.originatorId !== undefined) received.push({ kind: 'originator-id', id: path.originatorId });
  const reflected = reflectedPathAttributes({ list: received, nextHop: '' }, context);
  return {
    originatorId: findAttribute(reflected, 'originator-id')?.id,
    clusterList: findAttribute(reflected, 'cluster-list')?.ids ?? [],
  };
}

/**
 * `isReflection(learnedFrom, to)`: whether the path is being reflected (iBGP-learned, sent to iBGP) and so
 * needs reflectedAttributes; caracal-bgpd's own, the condition under which its Adj-RIB-Out applies them.
 * `ReflectionContext`: the second argument of reflectedAttributes (cluster id, router id learned from).
 */
export { isReflection, type ReflectionContext };

export type ImportLoop = Exclude<LoopReason, 'as-path-loop'> | undefined;

/**
 * The sender of the attributes checked by reflectionLoop, as importLoop wants one: an iBGP peer (only
 * `ibgp` is read, for the AS_PATH check, which has nothing to look at here).
 */
const IBGP_SENDER: PeerInfo = {
  address: '',
  asNumber: 0,
  routerId: 0,
  ibgp: true,
  routeReflectorClient: false,
};

/**
 * RFC 4456 §8 loop checks on import: such a path is dropped (and counted, not an error). Our router id as
 * ORIGINATOR_ID is always a loop; our cluster id in CLUSTER_LIST only when we have one (a node without a
 * cluster id is no reflector here, whereas caracal-bgpd defaults its cluster id to its router id).
 */
export function reflectionLoop(
  path: ReflectionAttributes,
  self: { readonly routerId: number; readonly clusterId: number | undefined },
): ImportLoop {
  const received: BgpPathAttribute[] = [];
  if (path.originatorId !== undefined) received.push({ kind: 'originator-id', id: path.originatorId });
  if (self.clusterId !== undefined) received.push({ kind: 'cluster-list', ids: path.clusterList });
  const loop = importLoop(received, IBGP_SENDER, {
    localAs: 0,
    localRouterId: self.routerId,
    ...(self.clusterId !== undefined ? { clusterId: self.clusterId } : {}),
  });
  return loop === 'as-path-loop' ? undefined : loop;
}

/** A cluster id written as a dotted quad (Calico's routeReflectorClusterID) as a 32-bit number. */
export function parseClusterId(text: string): number {
  const parsed = ipParseResult(() => parseIpv4(text));
  if (parsed instanceof IpParseError)
    throw new Error(`cluster id '${text}' must be a dotted quad such as 224.0.0.1 (${parsed.reason})`);
  return parsed;
}
