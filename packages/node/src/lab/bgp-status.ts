// The BGP status of one lab node, asked of its caracal-bgpd over the control socket
// `<run-dir>/bgpd.sock` with the daemon's own client (queryStatus of @caracal/bgp-speaker), reduced to
// the columns the lab prints; a failure becomes the `error` text instead of an exception.
import { join } from 'node:path';
import { queryStatus } from '@caracal/bgp-speaker';

export interface LabBgpPeer {
  readonly peerAddress: string;
  readonly peerType: string;
  readonly state: string;
  readonly since: string;
  readonly info: string;
}

export interface LabBgpStatus {
  readonly node: string;
  /** The socket asked. */
  readonly socketPath: string;
  /** The peers when the daemon answered. */
  readonly peers?: readonly LabBgpPeer[];
  readonly routerId?: string;
  readonly asNumber?: number;
  /** Why there is no answer (no socket, refused, timeout, bad answer, daemon error). */
  readonly error?: string;
}

/** Asks `<runDir>/bgpd.sock` for caracal-bgpd's status and returns what it answered (never throws). */
export async function queryLabBgpStatus(
  node: string,
  runDir: string,
  timeoutMs = 3000,
): Promise<LabBgpStatus> {
  const socketPath = join(runDir, 'bgpd.sock');
  try {
    const status = await queryStatus(socketPath, { timeoutMs });
    return {
      node,
      socketPath,
      peers: status.peers.map(({ peerAddress, peerType, state, since, info }) => ({
        peerAddress,
        peerType,
        state,
        since,
        info,
      })),
      routerId: status.routerId,
      asNumber: status.asNumber,
    };
  } catch (error) {
    return { node, socketPath, error: (error as Error).message };
  }
}
