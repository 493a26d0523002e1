// The Listener's matching of incoming connections to configured peers: addresses compared in canonical
// form (any valid spelling of the configured address, an IPv4-mapped remote address for an IPv4 peer, the
// zone node appends to a link-local remote address), with fake sockets and with real sockets on loopback
// through a dual-stack listener on "::".
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeNotification,
  Listener,
  normalizeAddress,
  type SessionSocket,
} from '../../src/session/index.js';

/** A socket that records what the listener does with it. */
class RecordingSocket extends EventEmitter implements SessionSocket {
  written: Uint8Array[] = [];
  ended = false;
  writableLength = 0;
  write(data: Uint8Array): boolean {
    this.written.push(data);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {}
  resume(): this {
    return this;
  }
}

/** A listener with peers at `addresses`; `accepted` lists, per handled connection, the peer it went to. */
function listenerWithPeers(addresses: readonly string[]) {
  const accepted: string[] = [];
  const rejected: string[] = [];
  const listener = new Listener({ address: '::', port: 0, onRejected: (remote) => rejected.push(remote) });
  for (const address of addresses)
    listener.addPeer({ remoteAddress: address, acceptIncoming: () => accepted.push(address) });
  return { listener, accepted, rejected };
}

describe('normalizeAddress', () => {
  it.each([
    ['10.0.0.2', '10.0.0.2'],
    ['::ffff:10.0.0.2', '10.0.0.2'],
    ['::FFFF:10.0.0.2', '10.0.0.2'],
    ['::ffff:a00:2', '10.0.0.2'],
    ['0:0:0:0:0:ffff:10.0.0.2', '10.0.0.2'],
    ['FD00:0::2', 'fd00::2'],
    ['fd00:0:0:0:0:0:0:2', 'fd00::2'],
    ['2001:DB8::0:1', '2001:db8::1'],
    ['::1', '::1'],
    // Not IPv4-mapped: an IPv4-compatible (deprecated) address and a NAT64 address stay IPv6.
    ['::10.0.0.2', '::a00:2'],
    ['64:ff9b::10.0.0.2', '64:ff9b::a00:2'],
  ])('%s → %s', (input, canonical) => {
    expect(normalizeAddress(input)).toBe(canonical);
  });

  it('returns text that is no address as it is (it can match no configured peer, which is validated)', () => {
    expect(normalizeAddress('')).toBe('');
    expect(normalizeAddress('010.0.0.2')).toBe('010.0.0.2');
    expect(normalizeAddress('peer-a')).toBe('peer-a');
  });
});

describe('Listener matching with fake sockets', () => {
  it('matches a peer configured in upper case, uncompressed, to the socket address node reports', () => {
    const { listener, accepted, rejected } = listenerWithPeers(['FD00:0::2', '2001:DB8:0:0:0:0:0:5']);
    listener.handle(new RecordingSocket(), 'fd00::2');
    listener.handle(new RecordingSocket(), '2001:db8::5');
    expect(accepted).toEqual(['FD00:0::2', '2001:DB8:0:0:0:0:0:5']);
    expect(rejected).toEqual([]);
  });

  it('matches an IPv4-mapped remote address (dual-stack listener) to the IPv4 peer, in any spelling', () => {
    const { listener, accepted } = listenerWithPeers(['10.0.0.2']);
    listener.handle(new RecordingSocket(), '::ffff:10.0.0.2');
    listener.handle(new RecordingSocket(), '::FFFF:10.0.0.2');
    listener.handle(new RecordingSocket(), '::ffff:a00:2');
    listener.handle(new RecordingSocket(), '10.0.0.2');
    expect(accepted).toEqual(['10.0.0.2', '10.0.0.2', '10.0.0.2', '10.0.0.2']);
  });

  it('matches a peer configured IPv4-mapped to the IPv4 remote address', () => {
    const { listener, accepted } = listenerWithPeers(['::ffff:10.0.0.7']);
    listener.handle(new RecordingSocket(), '10.0.0.7');
    expect(accepted).toEqual(['::ffff:10.0.0.7']);
  });

  it('matches a link-local remote address with the zone node appends ("fe80::2%eth0") to the peer fe80::2', () => {
    const { listener, accepted } = listenerWithPeers(['FE80::2']);
    listener.handle(new RecordingSocket(), 'fe80::2%eth0');
    expect(accepted).toEqual(['FE80::2']);
  });

  it('rejects other addresses with Cease/5, naming the remote address as the socket gave it', () => {
    const { listener, accepted, rejected } = listenerWithPeers(['fd00::2', '10.0.0.2']);
    const strangers = ['fd00::3', '::ffff:10.0.0.3', '::a00:2', ''].map((remote) => {
      const socket = new RecordingSocket();
      listener.handle(socket, remote);
      return socket;
    });
    expect(accepted).toEqual([]);
    expect(rejected).toEqual(['fd00::3', '::ffff:10.0.0.3', '::a00:2', '']);
    for (const socket of strangers) {
      expect(socket.ended).toBe(true);
      expect(decodeNotification(socket.written[0]!)).toMatchObject({ code: 6, subcode: 5 });
    }
  });

  it('removes a peer by its canonical address, only when it is the registered one', () => {
    const { listener, accepted, rejected } = listenerWithPeers([]);
    const peer = { remoteAddress: 'FD00::9', acceptIncoming: () => accepted.push('peer') };
    const other = { remoteAddress: 'fd00:0::9', acceptIncoming: () => accepted.push('other') };
    listener.addPeer(peer);
    listener.removePeer(other); // not the registered one: no effect
    listener.handle(new RecordingSocket(), 'fd00::9');
    listener.removePeer({ ...peer }); // equal fields, another object: no effect either
    listener.handle(new RecordingSocket(), 'fd00::9');
    listener.removePeer(peer);
    listener.handle(new RecordingSocket(), 'fd00::9');
    expect(accepted).toEqual(['peer', 'peer']);
    expect(rejected).toEqual(['fd00::9']);
  });
});

describe('Listener matching over real sockets on a dual-stack "::" listener', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Connects from loopback to the listener; resolves once the listener has handled the connection. */
  function connectFrom(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket: Socket = connect({ host, port });
      cleanups.push(() => void socket.destroy());
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
  }

  it('hands IPv4 loopback (seen as ::ffff:127.0.0.1) to the peer 127.0.0.1 and ::1 to a peer spelled 0:0::1', async () => {
    const handed: string[] = [];
    let settle = (): void => {};
    const bothHandled = new Promise<void>((resolve) => {
      settle = () => {
        if (handed.length === 2) resolve();
      };
    });
    const listener = new Listener({
      address: '::',
      port: 0,
      onRejected: (remote) => {
        handed.push(`rejected ${remote}`);
        settle();
      },
    });
    cleanups.push(() => listener.close());
    for (const address of ['127.0.0.1', '0:0:0:0::0:1'])
      listener.addPeer({
        remoteAddress: address,
        acceptIncoming: (socket) => {
          cleanups.push(() => socket.destroy());
          handed.push(`${address} got ${socket.remoteAddress}`);
          settle();
        },
      });
    const port = await listener.listen();
    await connectFrom('127.0.0.1', port);
    await connectFrom('::1', port);
    await bothHandled;
    expect(handed.sort()).toEqual(['0:0:0:0::0:1 got ::1', '127.0.0.1 got ::ffff:127.0.0.1']);
  });
});

describe('Listener on several addresses (a node IPv4 and IPv6 address)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Resolves 'connected' or the connection error's code. */
  function tryConnect(host: string, port: number): Promise<string> {
    return new Promise((resolve) => {
      const socket: Socket = connect({ host, port });
      cleanups.push(() => void socket.destroy());
      socket.once('connect', () => resolve('connected'));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
  }

  it('binds each address on one port (port 0: the first one picked) and hands both families to their peers', async () => {
    const handed: string[] = [];
    let settle = (): void => {};
    const bothHandled = new Promise<void>((resolve) => {
      settle = () => {
        if (handed.length === 2) resolve();
      };
    });
    const listener = new Listener({ address: 'unused', addresses: ['127.0.0.1', '::1'], port: 0 });
    cleanups.push(() => listener.close());
    const accepted: SessionSocket[] = [];
    for (const address of ['127.0.0.1', '::1'])
      listener.addPeer({
        remoteAddress: address,
        acceptIncoming: (socket) => {
          accepted.push(socket);
          handed.push(`${address} got ${socket.remoteAddress}`);
          settle();
        },
      });
    const port = await listener.listen();
    expect(listener.addresses).toEqual(['127.0.0.1', '::1']);
    expect(await tryConnect('127.0.0.1', port)).toBe('connected');
    expect(await tryConnect('::1', port)).toBe('connected');
    await bothHandled;
    expect(handed.sort()).toEqual(['127.0.0.1 got 127.0.0.1', '::1 got ::1']);
    // Only the listed addresses: another loopback address of the same port has no listener.
    expect(await tryConnect('127.0.0.2', port)).toBe('ECONNREFUSED');
    // close() waits for open connections (the speaker closes its peers' first): end them, then close.
    for (const socket of accepted) socket.destroy();
    await listener.close();
    expect(await tryConnect('::1', port)).toBe('ECONNREFUSED');
    expect(await tryConnect('127.0.0.1', port)).toBe('ECONNREFUSED');
  });

  it('fails naming the address it cannot bind, and closes the ones already bound', async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface of this machine: EADDRNOTAVAIL.
    const listener = new Listener({ address: 'unused', addresses: ['127.0.0.1', '192.0.2.1'], port: 0 });
    cleanups.push(() => listener.close());
    const error = await listener.listen().then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).toMatch(/^cannot listen on 192\.0\.2\.1 port \d+: .*EADDRNOTAVAIL/);
    const port = Number(/port (\d+)/.exec(error?.message ?? '')?.[1]);
    expect(await tryConnect('127.0.0.1', port)).toBe('ECONNREFUSED');
  });

  it('without addresses listens on address alone', async () => {
    const listener = new Listener({ address: '127.0.0.1', port: 0 });
    cleanups.push(() => listener.close());
    const port = await listener.listen();
    expect(listener.addresses).toEqual(['127.0.0.1']);
    expect(await tryConnect('127.0.0.1', port)).toBe('connected');
    expect(await tryConnect('::1', port)).toBe('ECONNREFUSED');
  });
});
