// The agent's client of caracal-bgpd's control socket (`<run-dir>/bgpd.sock`): one request line
// `{"op":"status"}`, one JSON answer line (the daemon's SpeakerStatus, or `{"error": …}`), and the pure
// check of that status against the sessions this node planned, for /readiness.
import { connect } from 'node:net';
import type { BgpdPeerDocument } from '../bgpd-config.js';

/** The part of caracal-bgpd's status (SpeakerStatus in @caracal/bgp-speaker) the agent reads. */
export interface BgpdStatusAnswer {
  readonly routerId?: string;
  readonly restarting?: boolean;
  readonly peers: readonly {
    readonly name?: string;
    readonly peerAddress: string;
    readonly state: string;
    readonly info?: string;
  }[];
}

/** Asks caracal-bgpd for its status; rejects naming the socket and what went wrong. */
export function queryBgpdStatus(socketPath: string, timeoutMs = 2000): Promise<BgpdStatusAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffer = '';
    let done = false;
    const finish = (outcome: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no answer on ${socketPath} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const answer = (line: string) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        finish(() => reject(new Error(`answer on ${socketPath} is not JSON: ${line.slice(0, 200)}`)));
        return;
      }
      const body = parsed as { error?: unknown; peers?: unknown };
      if (typeof body.error === 'string') finish(() => reject(new Error(`caracal-bgpd: ${body.error}`)));
      else if (!Array.isArray(body.peers))
        finish(() => reject(new Error(`answer on ${socketPath} has no peers list: ${line.slice(0, 200)}`)));
      else finish(() => resolve(parsed as BgpdStatusAnswer));
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('{"op":"status"}\n'));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline >= 0) answer(buffer.slice(0, newline));
    });
    socket.on('end', () => {
      if (buffer.trim() !== '') answer(buffer.trim());
      else finish(() => reject(new Error(`${socketPath} closed without an answer`)));
    });
    socket.on('error', (error) => finish(() => reject(new Error(`${socketPath}: ${error.message}`))));
  });
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
