// The BGP status of one lab node, asked of its caracal-bgpd over the control socket
// `<run-dir>/bgpd.sock` (protocol of packages/ctl/src/node-status.ts: one line `{"op":"status"}`, one
// JSON line back). A small client of its own, because @caracal/ctl depends on this package.
import { connect } from 'node:net';
import { join } from 'node:path';

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

/** Sends `{"op":"status"}` to `<runDir>/bgpd.sock` and returns what caracal-bgpd answered (never throws). */
export function queryLabBgpStatus(node: string, runDir: string, timeoutMs = 3000): Promise<LabBgpStatus> {
  const socketPath = join(runDir, 'bgpd.sock');
  return new Promise((resolve) => {
    let buffer = '';
    let settled = false;
    const finish = (status: Omit<LabBgpStatus, 'node' | 'socketPath'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ node, socketPath, ...status });
    };
    const socket = connect(socketPath);
    const timer = setTimeout(() => finish({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.on('connect', () => socket.write('{"op":"status"}\n'));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish({
        error:
          error.code === 'ENOENT'
            ? `no control socket at ${socketPath} (caracal-bgpd not running)`
            : `${error.code ?? error.message} on ${socketPath}`,
      }),
    );
    const parse = () => {
      const line = buffer.split('\n')[0] ?? '';
      try {
        const answer = JSON.parse(line) as Record<string, unknown>;
        if (typeof answer.error === 'string') return finish({ error: `caracal-bgpd: ${answer.error}` });
        if (!Array.isArray(answer.peers))
          return finish({ error: `answer without "peers": ${line.slice(0, 200)}` });
        const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));
        const peers = answer.peers.map((raw: unknown) => {
          const peer = (raw ?? {}) as Record<string, unknown>;
          return {
            peerAddress: text(peer.peerAddress),
            peerType: text(peer.peerType),
            state: text(peer.state),
            since: text(peer.since),
            info: text(peer.info),
          };
        });
        return finish({
          peers,
          ...(typeof answer.routerId === 'string' ? { routerId: answer.routerId } : {}),
          ...(typeof answer.asNumber === 'number' ? { asNumber: answer.asNumber } : {}),
        });
      } catch {
        return finish({ error: `answer is not JSON: ${line.slice(0, 200)}` });
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      if (buffer.includes('\n')) parse();
    });
    socket.on('end', () =>
      buffer.trim() ? parse() : finish({ error: 'connection closed without an answer' }),
    );
  });
}
