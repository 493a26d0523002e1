// Route reflection (RFC 4456) for reflector nodes, as rules on the one BGP speaker: to which peers a path
// may be exported (depending on where it was learned and on each peer's role), the attributes a reflector
// adds (ORIGINATOR_ID, CLUSTER_LIST), and the loop checks on import, over peer roles and the two
// attributes as plain numbers. The export matrix and the loop checks are caracal-bgpd's own
// (@caracal/bgp-speaker: `mayExport` of its Adj-RIB-Out, `importLoop` of its Adj-RIB-In), so a reflector
// node cannot drift from the speaker that runs it; cluster ids are parsed by @caracal/ip.

import {
  type BgpPathAttribute,
  importLoop,
  type LoopReason,
  mayExport,
  type PeerInfo,
  type PeerRole,
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
 * the peer the path came from when absent; our cluster id is prepended to CLUSTER_LIST.
 *
 * The same rule runs inside caracal-bgpd's Adj-RIB-Out (the iBGP-to-iBGP branch of the export rules in
 * @caracal/bgp-speaker's rib/adj-rib-out.ts), written there on the speaker's attribute list rather than
 * as a function it exports; when that branch becomes an exported function, this one should call it.
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

/**
 * Whether the path is being reflected (iBGP-learned, sent to iBGP) and so needs reflectedAttributes; the
 * condition under which caracal-bgpd's Adj-RIB-Out applies the same rule.
 */
export function isReflection(learnedFrom: PeerRole, to: PeerRole): boolean {
  return (
    (learnedFrom === 'ibgp-client' || learnedFrom === 'ibgp-nonclient') &&
    (to === 'ibgp-client' || to === 'ibgp-nonclient')
  );
}

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
