// The passive side: a TCP listener that hands each incoming connection to the configured peer with
// that remote address, and turns away unknown addresses with NOTIFICATION Cease/5 (Connection Rejected).
// Addresses are compared in canonical form (@caracal/ip), not as written: a peer configured as
// "FD00:0::2" is the socket's "fd00::2", and an IPv4-mapped "::ffff:10.0.0.2" (dual-stack listener on
// "::") is the IPv4 peer 10.0.0.2. It may listen on several addresses at once (a node's IPv4 and IPv6
// address), one server each on the same port, all handing connections to the same peers, and change that
// set while running (`reconfigure`, behind bgpd's reload): added addresses are bound before anything is
// closed, a failure undoes what the attempt bound and leaves the running sockets alone, removed addresses
// stop accepting while the sessions they accepted carry on.
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

/** One listening socket: an address and the port it is bound to. */
export interface ListenEndpoint {
  readonly address: string;
  readonly port: number;
}

/** What `reconfigure` did. Addresses as configured (the new configuration's spelling for opened/kept). */
export interface ListenChange {
  readonly opened: readonly ListenEndpoint[];
  readonly closed: readonly ListenEndpoint[];
  readonly kept: readonly ListenEndpoint[];
  /** The port every socket is bound to now, or null when nothing listens. */
  readonly port: number | null;
}

/** Why a socket could not be bound, in words, after the system's message (by error code). */
const BIND_FAILURE_HINTS: Readonly<Record<string, string>> = {
  EADDRNOTAVAIL: 'the address is not on this host',
  EADDRINUSE: 'the port is already in use on this address',
  EACCES: 'ports below 1024 need root or CAP_NET_BIND_SERVICE',
  EAFNOSUPPORT: 'this host has no such address family',
};

/** A socket that could not be bound: names the address and port, and says why. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    readonly address: string,
    readonly port: number,
    /** The system's error code (EADDRNOTAVAIL, EADDRINUSE, …) when there is one. */
    readonly code: string | undefined,
    reason: string,
  ) {
    const hint = code === undefined ? undefined : BIND_FAILURE_HINTS[code];
    super(`cannot listen on ${address} port ${port}: ${reason}${hint === undefined ? '' : ` (${hint})`}`);
  }
}

/** The wildcard addresses: a socket on one of them covers every address of the port. */
function isWildcard(address: string): boolean {
  const key = normalizeAddress(address);
  return key === '0.0.0.0' || key === '::';
}

interface BoundServer {
  readonly address: string;
  readonly key: string;
  readonly port: number;
  readonly server: Server;
}

export class Listener {
  private readonly peers = new Map<string, AcceptingPeer>();
  /** The bound sockets, in configured order. */
  private bound: BoundServer[] = [];
  /** Sockets closed by reconfigure: no longer accepting, but 'close' waits for their sessions to end. */
  private readonly retired = new Set<Promise<void>>();
  /** What was asked last (listen/reconfigure): the addresses and the port as configured (0: any). */
  private wanted: { readonly addresses: readonly string[]; readonly port: number };
  /** reconfigure/listen calls run one after another. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: ListenerOptions) {
    const { addresses } = options;
    this.wanted = {
      addresses: addresses !== undefined && addresses.length > 0 ? addresses : [options.address],
      port: options.port,
    };
  }

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

  /** The addresses this listener binds (or was last asked to bind), in order. */
  get addresses(): readonly string[] {
    return this.wanted.addresses;
  }

  /** The sockets listening now, in configured order. */
  get endpoints(): readonly ListenEndpoint[] {
    return this.bound.map(({ address, port }) => ({ address, port }));
  }

  /** The port the sockets are bound to, or null when nothing listens. */
  get port(): number | null {
    return this.bound[0]?.port ?? null;
  }

  /**
   * Starts listening on every address; resolves with the bound port (useful with port 0: the first address
   * gets a free port, the others that same port). If one address cannot be bound, the ones already bound
   * are closed and the ListenError names that address.
   */
  async listen(): Promise<number> {
    try {
      const change = await this.reconfigure(this.wanted);
      return change.port ?? this.wanted.port;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * Makes the listening sockets those of `target`: binds the addresses not bound yet (all of them when the
   * port changed), then closes those no longer wanted; a socket on an address and port that stay is not
   * touched, and neither is any session (closing a listening socket leaves the connections it accepted).
   * Port 0 keeps the bound port when it was 0 before (else the first new socket gets a free one).
   * All or nothing: when an address cannot be bound, every socket this call bound is closed, the sockets
   * that were listening before still listen, and the ListenError names the address, the port and why.
   * A bind that fails with EADDRINUSE because a socket being removed covers it (a wildcard on the same
   * port, e.g. 0.0.0.0 replaced by 10.0.0.5) is retried after closing that socket, which is reopened when
   * the retry fails too.
   */
  reconfigure(target: {
    readonly addresses: readonly string[];
    readonly port: number;
  }): Promise<ListenChange> {
    const run = this.queue.then(() => this.apply(target));
    this.queue = run.catch(() => {});
    return run;
  }

  private async apply(target: {
    readonly addresses: readonly string[];
    readonly port: number;
  }): Promise<ListenChange> {
    if (this.closed) throw new Error('the listener is closed');
    const samePortAsked = target.port === this.wanted.port;
    let port = samePortAsked ? (this.port ?? target.port) : target.port;
    const wantedKeys = new Set(target.addresses.map(normalizeAddress));
    const current = new Map(this.bound.map((entry) => [entry.key, entry]));
    const stays = (entry: BoundServer) => wantedKeys.has(entry.key) && entry.port === port;
    const leaving = this.bound.filter((entry) => !stays(entry));
    const opened: BoundServer[] = [];
    /** Removed sockets closed early to make room; reopened when the attempt fails. */
    const closedEarly: BoundServer[] = [];
    const next: BoundServer[] = [];
    try {
      for (const address of target.addresses) {
        const key = normalizeAddress(address);
        const existing = current.get(key);
        if (existing !== undefined && stays(existing)) {
          next.push(existing);
          continue;
        }
        let entry: BoundServer;
        try {
          entry = await this.bind(address, port);
        } catch (error) {
          const covering = leaving.filter(
            (old) =>
              !closedEarly.includes(old) &&
              old.port === port &&
              (isWildcard(old.address) || isWildcard(address) || old.key === key),
          );
          if (!(error instanceof ListenError) || error.code !== 'EADDRINUSE' || covering.length === 0)
            throw error;
          for (const old of covering) {
            this.retire(old);
            closedEarly.push(old);
          }
          entry = await this.bind(address, port);
        }
        opened.push(entry);
        next.push(entry);
        port = entry.port;
      }
    } catch (error) {
      for (const entry of opened) this.retire(entry);
      const reopenFailures: string[] = [];
      for (const old of closedEarly) {
        try {
          const reopened = await this.bind(old.address, old.port);
          this.bound = this.bound.map((entry) => (entry === old ? reopened : entry));
        } catch (reopenError) {
          this.bound = this.bound.filter((entry) => entry !== old);
          reopenFailures.push((reopenError as Error).message);
        }
      }
      if (reopenFailures.length > 0 && error instanceof Error)
        error.message += `; and the socket closed to make room could not be reopened: ${reopenFailures.join('; ')}`;
      throw error;
    }
    for (const old of leaving) if (!closedEarly.includes(old)) this.retire(old);
    this.bound = next;
    this.wanted = { addresses: [...target.addresses], port: target.port };
    const endpoint = ({ address, port: bound }: BoundServer): ListenEndpoint => ({ address, port: bound });
    return {
      opened: opened.map(endpoint),
      closed: leaving.map(endpoint),
      kept: next.filter((entry) => !opened.includes(entry)).map(endpoint),
      port: this.port,
    };
  }

  /** Binds one socket; rejects with a ListenError naming the address and port. */
  private async bind(address: string, port: number): Promise<BoundServer> {
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
      const failure = error as NodeJS.ErrnoException;
      throw new ListenError(address, port, failure.code, failure.message);
    }
    const bound = server.address();
    const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
    return { address, key: normalizeAddress(address), port: boundPort, server };
  }

  /**
   * Stops a socket accepting (its port is free at once); the connections it accepted go on, and
   * close() still waits for them.
   */
  private retire(entry: BoundServer): void {
    const done = new Promise<void>((resolve) => entry.server.close(() => resolve()));
    this.retired.add(done);
    void done.then(() => this.retired.delete(done));
  }

  /** Closes every socket; resolves once they and the connections they accepted are closed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const entries = this.bound;
    this.bound = [];
    for (const entry of entries) this.retire(entry);
    await Promise.all([...this.retired]);
  }
}
