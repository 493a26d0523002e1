// The passive side: a TCP listener that hands each incoming connection to the configured peer with
// that remote address, and turns away unknown addresses with NOTIFICATION Cease/5 (Connection Rejected).
import { createServer, type Server, type Socket } from 'node:net';
import { encodeNotification } from './codec-adapter.js';
import type { SessionSocket } from './peer.js';

/** What the listener needs of a peer. */
export interface AcceptingPeer {
  readonly remoteAddress: string;
  acceptIncoming(socket: SessionSocket): void;
}

/** "::ffff:10.0.0.1" → "10.0.0.1"; other addresses unchanged. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export interface ListenerOptions {
  readonly address: string;
  readonly port: number;
  /** Called for rejected connections (unknown address), for logs and metrics. */
  readonly onRejected?: (remoteAddress: string) => void;
}

export class Listener {
  private readonly peers = new Map<string, AcceptingPeer>();
  private server: Server | null = null;

  constructor(private readonly options: ListenerOptions) {}

  addPeer(peer: AcceptingPeer): void {
    this.peers.set(normalizeAddress(peer.remoteAddress), peer);
  }

  removePeer(peer: AcceptingPeer): void {
    const key = normalizeAddress(peer.remoteAddress);
    if (this.peers.get(key) === peer) this.peers.delete(key);
  }

  /** Hands one accepted socket to its peer or rejects it (exposed for tests with fake sockets). */
  handle(socket: SessionSocket, remoteAddress: string): void {
    const peer = this.peers.get(normalizeAddress(remoteAddress));
    if (peer) {
      peer.acceptIncoming(socket);
      return;
    }
    this.options.onRejected?.(remoteAddress);
    socket.on('error', () => {});
    socket.write(encodeNotification(6, 5));
    socket.end();
    // Drain (and discard) whatever the peer still sends, so the socket can reach 'close'.
    socket.resume?.();
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  async listen(): Promise<number> {
    const server = createServer((socket: Socket) => {
      socket.setNoDelay(true);
      this.handle(socket, socket.remoteAddress ?? '');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    return typeof address === 'object' && address ? address.port : this.options.port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
