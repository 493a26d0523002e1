// The passive side: a TCP listener that hands each incoming connection to the configured peer with
// that remote address, and turns away unknown addresses with NOTIFICATION Cease/5 (Connection Rejected).
// Addresses are compared in canonical form (@caracal/ip), not as written: a peer configured as
// "FD00:0::2" is the socket's "fd00::2", and an IPv4-mapped "::ffff:10.0.0.2" (dual-stack listener on
// "::") is the IPv4 peer 10.0.0.2. It may listen on several addresses at once (a node's IPv4 and IPv6
// address), one server each on the same port, all handing connections to the same peers.
import { createServer, type Server, type Socket } from 'node:net';
import { formatIpBytes, IpParseError, ipParseResult, parseIpBytes } from '@caracal/ip';
import { encodeNotification } from './codec-adapter.js';
import type { SessionSocket } from './peer.js';

/** What the listener needs of a peer. */
export interface AcceptingPeer {
  readonly remoteAddress: string;
  acceptIncoming(socket: SessionSocket): void;
}

/** Whether 16 address bytes are IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2). */
function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let index = 0; index < 10; index++) if (bytes[index] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * A peer's identity as text: the canonical form of the address (a dotted quad, RFC 5952 for IPv6), an
 * IPv4-mapped address as its IPv4 address ("::ffff:10.0.0.1" → "10.0.0.1", "FD00:0::2" → "fd00::2").
 * Text that is no address is returned as it is: configured addresses are validated, so it matches none.
 */
export function normalizeAddress(address: string): string {
  const bytes = ipParseResult(() => parseIpBytes(address));
  if (bytes instanceof IpParseError) return address;
  return formatIpBytes(bytes.length === 16 && isIpv4Mapped(bytes) ? bytes.subarray(12) : bytes);
}

/**
 * The identity of an accepted socket's remote address: normalizeAddress without the zone node appends to
 * a link-local address ("fe80::2%eth0"; configured peer addresses carry none, bgpd's config refuses them).
 */
function remoteAddressKey(remoteAddress: string): string {
  const zone = remoteAddress.indexOf('%');
  return normalizeAddress(zone < 0 ? remoteAddress : remoteAddress.slice(0, zone));
}

export interface ListenerOptions {
  /** The address to listen on when `addresses` is not given. */
  readonly address: string;
  /** Every address to listen on (one socket each, the same port); replaces `address` when given. */
  readonly addresses?: readonly string[];
  readonly port: number;
  /** Called for rejected connections (unknown address), for logs and metrics. */
  readonly onRejected?: (remoteAddress: string) => void;
}

export class Listener {
  private readonly peers = new Map<string, AcceptingPeer>();
  private servers: Server[] = [];

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
    const peer = this.peers.get(remoteAddressKey(remoteAddress));
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

  /** The addresses this listener binds, in order. */
  get addresses(): readonly string[] {
    const { addresses } = this.options;
    return addresses !== undefined && addresses.length > 0 ? addresses : [this.options.address];
  }

  /**
   * Starts listening on every address; resolves with the bound port (useful with port 0: the first address
   * gets a free port, the others that same port). If one address cannot be bound, the ones already bound
   * are closed and the error names that address.
   */
  async listen(): Promise<number> {
    let port = this.options.port;
    for (const address of this.addresses) {
      const server = createServer((socket: Socket) => {
        socket.setNoDelay(true);
        this.handle(socket, socket.remoteAddress ?? '');
      });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, address, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        await this.close();
        throw new Error(`cannot listen on ${address} port ${port}: ${(error as Error).message}`);
      }
      this.servers.push(server);
      const bound = server.address();
      if (typeof bound === 'object' && bound) port = bound.port;
    }
    return port;
  }

  async close(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
