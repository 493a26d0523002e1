// `caracalctl node status`: a small client of the local BGP daemon's control socket and the
// calicoctl-style rendering of what it answers.
//
// Protocol (caracal-bgpd implements the server side): a unix stream socket at `<run-dir>/bgpd.sock`
// (default run dir /run/caracal). The client sends one line `{"op":"status"}\n`; the daemon answers
// with one JSON line and may close the connection:
//   {"peers":[{"peerAddress":"10.0.0.2","peerType":"node-to-node mesh","state":"Established",
//              "since":"2026-11-21T18:00:00Z","info":"Established"}, ...],
//    "routerId":"10.0.0.1", "asNumber":64512, "version":"0.1.0"}          (routerId/asNumber/version optional)
// or, when the daemon cannot answer: {"error":"reason"}.

import { connect } from 'node:net';
import { join } from 'node:path';
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

/** Checks the daemon's answer and turns it into a BgpdStatus; throws naming the first bad field. */
export function parseBgpdStatus(line: string): BgpdStatus {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new Error(
      `invalid status from caracal-bgpd: not JSON (${(error as Error).message}): ${line.slice(0, 200)}`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`invalid status from caracal-bgpd: expected a JSON object, got ${line.slice(0, 200)}`);
  }
  const object = parsed as Record<string, unknown>;
  if (typeof object.error === 'string') throw new Error(`caracal-bgpd reported an error: ${object.error}`);
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

/** Asks the daemon at `<runDir>/bgpd.sock` for its status (one request line, one answer line). */
export function queryBgpdStatus(runDir: string, timeoutMs = 5000): Promise<BgpdStatus> {
  const socketPath = bgpdSocketPath(runDir);
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffer = '';
    let settled = false;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(() => {
      finish(() =>
        reject(
          new BgpdUnreachableError(
            `caracal-bgpd did not answer within ${timeoutMs} ms on ${socketPath}`,
            false,
          ),
        ),
      );
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('{"op":"status"}\n'));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline >= 0) {
        const line = buffer.slice(0, newline);
        finish(() => {
          try {
            resolve(parseBgpdStatus(line));
          } catch (error) {
            reject(error);
          }
        });
      }
    });
    socket.on('end', () => {
      finish(() => {
        if (buffer.trim() === '') {
          reject(new BgpdUnreachableError(`caracal-bgpd closed ${socketPath} without answering`, false));
          return;
        }
        try {
          resolve(parseBgpdStatus(buffer));
        } catch (error) {
          reject(error);
        }
      });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      finish(() => reject(describeSocketError(error, socketPath)));
    });
  });
}

function describeSocketError(error: NodeJS.ErrnoException, socketPath: string): BgpdUnreachableError {
  switch (error.code) {
    case 'ENOENT':
      return new BgpdUnreachableError(
        `caracal-node does not appear to be running on this host: no control socket at ${socketPath}`,
        true,
      );
    case 'ECONNREFUSED':
      return new BgpdUnreachableError(
        `caracal-node does not appear to be running on this host: ${socketPath} exists but nothing listens on it (stale socket)`,
        true,
      );
    case 'EACCES':
    case 'EPERM':
      return new BgpdUnreachableError(
        `permission denied on ${socketPath}: run caracalctl node status as root (or as the user caracal-node runs as)`,
        false,
      );
    default:
      return new BgpdUnreachableError(`cannot reach caracal-bgpd on ${socketPath}: ${error.message}`, false);
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
