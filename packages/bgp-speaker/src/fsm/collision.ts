// Connection collision detection (RFC 4271 §6.8, RFC 6286 §2.3) as a pure function: when two TCP
// connections exist to the same peer, which one survives.
import { parseRouterId } from './open.js';
import type { SessionState } from './types.js';

/** Who opened a connection: we ("outgoing") or the peer ("incoming"). */
export type ConnectionDirection = 'outgoing' | 'incoming';

export interface CollisionInput {
  readonly localRouterId: string;
  readonly remoteRouterId: string;
  readonly localAs: number;
  readonly remoteAs: number;
  /** The connection that existed first, and its FSM state. */
  readonly existing: { readonly direction: ConnectionDirection; readonly state: SessionState };
  /** The connection on which an OPEN just arrived. */
  readonly incoming: { readonly direction: ConnectionDirection };
  /** RFC 4271 §8.1.1 CollisionDetectEstablishedState (default false). */
  readonly collisionDetectEstablishedState?: boolean;
}

/** The verdict: no collision (the existing connection is not far enough along), or which one to close. */
export type CollisionVerdict = 'noCollision' | 'closeExisting' | 'closeNew';

/** Which side's connection is kept: the one initiated by the higher BGP identifier (§6.8). */
export function survivingDirection(
  localRouterId: string,
  remoteRouterId: string,
  localAs: number,
  remoteAs: number,
): ConnectionDirection {
  const local = parseRouterId(localRouterId) ?? 0;
  const remote = parseRouterId(remoteRouterId) ?? 0;
  // RFC 6286 §2.3: with equal identifiers (possible between ASes), the larger AS number wins.
  if (local === remote) return localAs > remoteAs ? 'outgoing' : 'incoming';
  // §6.8: "If the value of the local BGP Identifier is less than the remote one, the local system closes
  // the BGP connection that already exists … and accepts the BGP connection initiated by the remote
  // system" — i.e. the connection initiated by the higher identifier survives.
  return local > remote ? 'outgoing' : 'incoming';
}

/**
 * §6.8: "Upon receipt of an OPEN message, the local system MUST examine all of its connections that
 * are in the OpenConfirm state." Connections in OpenSent are examined too (we know the peer's identifier
 * from the OPEN now in hand). "a connection collision with an existing BGP connection that is in the
 * Established state causes closing of the newly created connection" unless CollisionDetectEstablishedState.
 */
export function resolveCollision(input: CollisionInput): CollisionVerdict {
  const { existing, incoming } = input;
  if (existing.state === 'Idle' || existing.state === 'Connect' || existing.state === 'Active') {
    return 'noCollision';
  }
  if (existing.state === 'Established' && !input.collisionDetectEstablishedState) return 'closeNew';
  if (existing.direction === incoming.direction) return 'closeNew';
  const keep = survivingDirection(input.localRouterId, input.remoteRouterId, input.localAs, input.remoteAs);
  return keep === existing.direction ? 'closeNew' : 'closeExisting';
}
