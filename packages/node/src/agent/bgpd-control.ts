// The agent's questions to caracal-bgpd's control socket (`<run-dir>/bgpd.sock`), asked through the
// daemon's own client (queryStatus of @caracal/bgp-speaker) with the agent's shorter timeout, and the pure
// check of that status against the sessions this node planned, for /readiness.
import { type PeerStatusRow, queryStatus, type SpeakerStatus } from '@caracal/bgp-speaker';
import type { BgpdPeerDocument } from '../bgpd-config.js';

/** The part of caracal-bgpd's status the agent reads (queryBgpdStatus answers all of SpeakerStatus). */
export interface BgpdStatusAnswer {
  readonly peers: readonly Pick<PeerStatusRow, 'name' | 'peerAddress' | 'state' | 'info'>[];
}

/**
 * Asks caracal-bgpd for its status, giving up after `timeoutMs` (the agent polls every 2 s); rejects
 * with the client's ControlClientError, which names the socket and what went wrong.
 */
export function queryBgpdStatus(socketPath: string, timeoutMs = 2000): Promise<SpeakerStatus> {
  return queryStatus(socketPath, { timeoutMs });
}

/** Why the planned sessions are not all Established (empty: ready). Sessions are matched by name. */
export function sessionProblems(
  planned: readonly Pick<BgpdPeerDocument, 'name' | 'address'>[],
  status: BgpdStatusAnswer,
): string[] {
  const problems: string[] = [];
  for (const peer of planned) {
    const row =
      status.peers.find((p) => p.name === peer.name) ??
      status.peers.find((p) => p.name === undefined && p.peerAddress === peer.address);
    if (row === undefined) {
      problems.push(`BGP session ${peer.name} (${peer.address}) is not in caracal-bgpd yet (reload pending)`);
    } else if (row.state !== 'Established') {
      const info = row.info && row.info !== row.state ? `: ${row.info}` : '';
      problems.push(`BGP session ${peer.name} (${peer.address}) is ${row.state}${info}`);
    }
  }
  return problems;
}
