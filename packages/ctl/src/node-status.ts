// `caracalctl node status`: asks the local BGP daemon over its control socket (with the daemon's own
// client, queryControlSocket of @caracal/bgp-speaker), checks the answer field by field, says failures in
// terms of caracal-node (which runs caracal-bgpd), and renders the calicoctl-style tables.
//
// Protocol (src/control/protocol.ts of @caracal/bgp-speaker; caracal-bgpd serves it): a unix stream
// socket at `<run-dir>/bgpd.sock` (default run dir /run/caracal). The client sends one line
// `{"op":"status"}\n`; the daemon answers with one JSON line and may close the connection:
//   {"peers":[{"peerAddress":"10.0.0.2","peerType":"node-to-node mesh","state":"Established",
//              "since":"2026-11-21T18:00:00Z","info":"Established"}, ...],
//    "routerId":"10.0.0.1", "asNumber":64512, "version":"0.1.0"}          (routerId/asNumber/version optional)
// or, when the daemon cannot answer: {"error":"reason"}.

import { join } from 'node:path';
import { ControlClientError, parseControlAnswer, queryControlSocket } from '@caracal/bgp-speaker';
import { type Palette, plainPalette } from './format/color.js';
import { renderBoxedTable } from './format/table.js';

export const defaultRunDir = '/run/caracal';
export const bgpdSocketName = 'bgpd.sock';

export interface BgpPeerStatus {
  readonly peerAddress: string;
  readonly peerType: string;
  readonly state: string;
  readonly since: string;
  readonly info: string;
}

export interface BgpdStatus {
  readonly peers: readonly BgpPeerStatus[];
  readonly routerId?: string;
  readonly asNumber?: number;
  readonly version?: string;
}

/** Why the daemon could not be asked; `notRunning` is the ordinary "nothing there" case. */
export class BgpdUnreachableError extends Error {
  constructor(
    message: string,
    readonly notRunning: boolean,
  ) {
    super(message);
    this.name = 'BgpdUnreachableError';
  }
}

export function bgpdSocketPath(runDir: string): string {
  return join(runDir, bgpdSocketName);
}

function asString(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value === undefined || value === null) return '';
  throw new Error(`invalid status from caracal-bgpd: ${what} is ${JSON.stringify(value)}, expected a string`);
}

/** Checks one answer line of the daemon and turns it into a BgpdStatus; throws naming what is wrong. */
export function parseBgpdStatus(line: string): BgpdStatus {
  return toBgpdStatus(parseControlAnswer(line), line);
}

/** The daemon's parsed answer as a BgpdStatus; throws naming the first bad field. */
function toBgpdStatus(answer: unknown, line = JSON.stringify(answer)): BgpdStatus {
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) {
    throw new Error(`invalid status from caracal-bgpd: expected a JSON object, got ${line.slice(0, 200)}`);
  }
  const object = answer as Record<string, unknown>;
  if (!Array.isArray(object.peers)) {
    throw new Error('invalid status from caracal-bgpd: "peers" is missing or not a list');
  }
  const peers = object.peers.map((entry: unknown, index): BgpPeerStatus => {
    if (entry === null || typeof entry !== 'object') {
      throw new Error(`invalid status from caracal-bgpd: peers[${index}] is not an object`);
    }
    const peer = entry as Record<string, unknown>;
    return {
      peerAddress: asString(peer.peerAddress, `peers[${index}].peerAddress`),
      peerType: asString(peer.peerType, `peers[${index}].peerType`),
      state: asString(peer.state, `peers[${index}].state`),
      since: asString(peer.since, `peers[${index}].since`),
      info: asString(peer.info, `peers[${index}].info`),
    };
  });
  return {
    peers,
    ...(typeof object.routerId === 'string' ? { routerId: object.routerId } : {}),
    ...(typeof object.asNumber === 'number' ? { asNumber: object.asNumber } : {}),
    ...(typeof object.version === 'string' ? { version: object.version } : {}),
  };
}

/**
 * Asks the daemon at `<runDir>/bgpd.sock` for its status (one request line, one answer line). Rejects
 * with a BgpdUnreachableError when it cannot be asked, or with the client's error for an error answer
 * or an answer that is not JSON, or with an "invalid status" error naming the bad field.
 */
export async function queryBgpdStatus(runDir: string, timeoutMs = 5000): Promise<BgpdStatus> {
  const socketPath = bgpdSocketPath(runDir);
  let answer: unknown;
  try {
    answer = await queryControlSocket(socketPath, { op: 'status' }, { timeoutMs });
  } catch (error) {
    throw error instanceof ControlClientError ? unreachableInNodeTerms(error, socketPath) : error;
  }
  return toBgpdStatus(answer);
}

/**
 * The client's failures to reach the daemon, said to a caracalctl user (who runs caracal-node, which
 * runs caracal-bgpd); an error answer or a bad answer is passed on as it is.
 */
function unreachableInNodeTerms(error: ControlClientError, socketPath: string): Error {
  switch (error.reason) {
    case 'not-running':
      return new BgpdUnreachableError(
        `caracal-node does not appear to be running on this host: no control socket at ${socketPath}`,
        true,
      );
    case 'refused':
      return new BgpdUnreachableError(
        `caracal-node does not appear to be running on this host: ${socketPath} exists but nothing listens on it (stale socket)`,
        true,
      );
    case 'permission':
      return new BgpdUnreachableError(
        `permission denied on ${socketPath}: run caracalctl node status as root (or as the user caracal-node runs as)`,
        false,
      );
    case 'timeout':
    case 'closed':
    case 'io':
      return new BgpdUnreachableError(error.message, false);
    default:
      return error;
  }
}

/** Established sessions green, others yellow (only with a colour palette, i.e. on a terminal). */
function colourState(state: string, palette: Palette): string {
  return /^(up|established)$/i.test(state) ? palette.green(state) : palette.yellow(state);
}

/** The calicoctl-style report: one boxed peer table for IPv4 peers and one for IPv6 peers. */
export function renderNodeStatus(status: BgpdStatus, palette: Palette = plainPalette): string {
  const header = ['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'];
  const toRow = (peer: BgpPeerStatus): string[] => [
    peer.peerAddress,
    peer.peerType,
    colourState(peer.state, palette),
    peer.since,
    peer.info,
  ];
  const sections: string[] = ['caracal-node is running.'];
  if (status.routerId !== undefined || status.asNumber !== undefined) {
    const parts = [
      status.routerId === undefined ? undefined : `router ID ${status.routerId}`,
      status.asNumber === undefined ? undefined : `AS ${status.asNumber}`,
    ].filter((part) => part !== undefined);
    sections.push(`BGP speaker: ${parts.join(', ')}`);
  }
  for (const family of ['IPv4', 'IPv6'] as const) {
    const peers = status.peers.filter((peer) => peer.peerAddress.includes(':') === (family === 'IPv6'));
    sections.push(
      peers.length === 0
        ? `${family} BGP status\nNo ${family} peers found.\n`
        : `${family} BGP status\n${renderBoxedTable({ headers: header, rows: peers.map(toRow) })}`,
    );
  }
  return `${sections.join('\n\n').replace(/\n{3,}/g, '\n\n')}`;
}
