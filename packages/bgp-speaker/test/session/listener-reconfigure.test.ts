// Listener.reconfigure with real sockets on loopback addresses (127.x.y.z, random per run): added addresses
// accept, removed ones refuse while the connections they accepted carry on, a changed port moves every
// socket, and a bind that fails (an address not on this host, a port in use) is reported with the address,
// the port and why, closes what the attempt bound and leaves the running sockets listening.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ListenChange, ListenError, Listener, type SessionSocket } from '../../src/session/index.js';
import { tryConnect } from './try-connect.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Distinct loopback addresses for this run (127.0.0.0/8 is all on lo). */
function loopbackAddresses(count: number): string[] {
  const second = 100 + Math.floor(Math.random() * 150);
  const third = Math.floor(Math.random() * 250);
  return Array.from({ length: count }, (_, index) => `127.${second}.${third}.${10 + index}`);
}

/**
 * A listener whose one peer (at `peerAddress`) echoes what it receives; `open(host, port)` connects from
 * the peer's address and resolves with a client socket whose `echo(text)` round-trips through the
 * accepted connection, proving it is still up.
 */
function echoingListener(peerAddress: string, options: { addresses: string[]; port: number }) {
  const listener = new Listener({ address: 'unused', ...options });
  const accepted: SessionSocket[] = [];
  listener.addPeer({
    remoteAddress: peerAddress,
    acceptIncoming: (socket) => {
      accepted.push(socket);
      socket.on('data', (data: Uint8Array) => socket.write(data));
    },
  });
  cleanups.push(async () => {
    for (const socket of accepted) socket.destroy();
    await listener.close();
  });
  const open = (host: string, port: number) =>
    new Promise<{ echo(text: string): Promise<string> }>((resolve, reject) => {
      const socket: Socket = connect({ host, port, localAddress: peerAddress });
      cleanups.push(() => void socket.destroy());
      socket.once('error', reject);
      socket.once('connect', () =>
        resolve({
          echo: (text) =>
            new Promise<string>((answered, failed) => {
              socket.once('data', (data) => answered(data.toString()));
              socket.once('close', () => failed(new Error(`the connection to ${host} closed`)));
              socket.write(text);
            }),
        }),
      );
    });
  return { listener, accepted, open };
}

function endpointsOf(change: ListenChange) {
  return { opened: change.opened, closed: change.closed, kept: change.kept, port: change.port };
}

describe('Listener.reconfigure', () => {
  it('opens an added address and keeps the one that stays, with its connection', async () => {
    const [first, second, peer] = loopbackAddresses(3) as [string, string, string];
    const { listener, open } = echoingListener(peer, { addresses: [first], port: 0 });
    const port = await listener.listen();
    const session = await open(first, port);
    expect(await tryConnect(second, port)).toBe('ECONNREFUSED');

    const change = await listener.reconfigure({ addresses: [first, second], port: 0 });
    expect(endpointsOf(change)).toEqual({
      opened: [{ address: second, port }],
      closed: [],
      kept: [{ address: first, port }],
      port,
    });
    expect(listener.endpoints).toEqual([
      { address: first, port },
      { address: second, port },
    ]);
    expect(await session.echo('still up')).toBe('still up');
    const onSecond = await open(second, port);
    expect(await onSecond.echo('new address')).toBe('new address');
    expect(await tryConnect(first, port)).toBe('connected');
  });

  it('closes a removed address: new connections are refused, the one it accepted carries on', async () => {
    const [first, second, peer] = loopbackAddresses(3) as [string, string, string];
    const { listener, open } = echoingListener(peer, { addresses: [first, second], port: 0 });
    const port = await listener.listen();
    const session = await open(first, port);

    const change = await listener.reconfigure({ addresses: [second], port: 0 });
    expect(endpointsOf(change)).toEqual({
      opened: [],
      closed: [{ address: first, port }],
      kept: [{ address: second, port }],
      port,
    });
    expect(await tryConnect(first, port)).toBe('ECONNREFUSED');
    expect(await tryConnect(second, port)).toBe('connected');
    expect(await session.echo('through the closed listener')).toBe('through the closed listener');
    expect(listener.addresses).toEqual([second]);
  });

  it('moves every address to a changed port; the old port refuses, the connection stays', async () => {
    const [first, second, peer] = loopbackAddresses(3) as [string, string, string];
    const { listener, open } = echoingListener(peer, { addresses: [first, second], port: 0 });
    const oldPort = await listener.listen();
    const session = await open(second, oldPort);

    const change = await listener.reconfigure({ addresses: [first, second], port: 0 });
    // The same port asked again (0): nothing changes.
    expect(endpointsOf(change)).toMatchObject({ opened: [], closed: [], port: oldPort });

    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, first, resolve));
    const newPort = (blocker.address() as { port: number }).port;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    const moved = await listener.reconfigure({ addresses: [first, second], port: newPort });
    expect(endpointsOf(moved)).toEqual({
      opened: [
        { address: first, port: newPort },
        { address: second, port: newPort },
      ],
      closed: [
        { address: first, port: oldPort },
        { address: second, port: oldPort },
      ],
      kept: [],
      port: newPort,
    });
    expect(await tryConnect(first, oldPort)).toBe('ECONNREFUSED');
    expect(await tryConnect(second, oldPort)).toBe('ECONNREFUSED');
    expect(await tryConnect(first, newPort)).toBe('connected');
    expect(await tryConnect(second, newPort)).toBe('connected');
    expect(await session.echo('old port session')).toBe('old port session');
  });

  it('refuses an address not on this host, naming it, and undoes the rest of the attempt', async () => {
    const [first, second, peer] = loopbackAddresses(3) as [string, string, string];
    const { listener, open } = echoingListener(peer, { addresses: [first], port: 0 });
    const port = await listener.listen();
    const session = await open(first, port);

    // second is bound by the attempt before 192.0.2.1 (TEST-NET-1, on no interface) fails; first goes away.
    const failure = await listener.reconfigure({ addresses: [second, '192.0.2.1'], port: 0 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ListenError);
    const error = failure as ListenError;
    expect(error).toMatchObject({ address: '192.0.2.1', port, code: 'EADDRNOTAVAIL' });
    expect(error.message).toBe(
      `cannot listen on 192.0.2.1 port ${port}: listen EADDRNOTAVAIL: address not available 192.0.2.1:${port} (the address is not on this host)`,
    );
    // Nothing changed: first still listens, second was closed again, the session is up.
    expect(listener.endpoints).toEqual([{ address: first, port }]);
    expect(listener.addresses).toEqual([first]);
    expect(await tryConnect(first, port)).toBe('connected');
    expect(await tryConnect(second, port)).toBe('ECONNREFUSED');
    expect(await session.echo('unchanged')).toBe('unchanged');
    // The listener still works afterwards.
    const change = await listener.reconfigure({ addresses: [first, second], port: 0 });
    expect(change.opened).toEqual([{ address: second, port }]);
  });

  it('refuses a port in use on an added address, naming address and port, and keeps the old socket', async () => {
    const [first, second, peer] = loopbackAddresses(3) as [string, string, string];
    const { listener } = echoingListener(peer, { addresses: [first], port: 0 });
    const port = await listener.listen();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, second, resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

    const error = await listener.reconfigure({ addresses: [first, second], port: 0 }).then(
      () => undefined,
      (caught: unknown) => caught as ListenError,
    );
    expect(error).toMatchObject({ address: second, port, code: 'EADDRINUSE' });
    expect(error?.message).toMatch(
      new RegExp(`^cannot listen on ${second.replaceAll('.', '\\.')} port ${port}: .*EADDRINUSE.*in use`),
    );
    expect(listener.endpoints).toEqual([{ address: first, port }]);
    expect(await tryConnect(first, port)).toBe('connected');
  });

  it('hands a port over from a specific address to the wildcard on the same port (close, then bind)', async () => {
    const [first, peer] = loopbackAddresses(2) as [string, string];
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '0.0.0.0', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { listener, open } = echoingListener(peer, { addresses: [first], port });
    await listener.listen();
    const session = await open(first, port);

    const change = await listener.reconfigure({ addresses: ['0.0.0.0'], port });
    expect(endpointsOf(change)).toEqual({
      opened: [{ address: '0.0.0.0', port }],
      closed: [{ address: first, port }],
      kept: [],
      port,
    });
    // The wildcard now accepts on any loopback address, the session accepted before is up.
    expect(await tryConnect(peer, port)).toBe('connected');
    expect(await session.echo('handed over')).toBe('handed over');
  });

  it('closes everything for no address (listening disabled) and opens again', async () => {
    const [first, peer] = loopbackAddresses(2) as [string, string];
    const { listener } = echoingListener(peer, { addresses: [first], port: 0 });
    const port = await listener.listen();
    const off = await listener.reconfigure({ addresses: [], port: 0 });
    expect(endpointsOf(off)).toEqual({
      opened: [],
      closed: [{ address: first, port }],
      kept: [],
      port: null,
    });
    expect(listener.port).toBeNull();
    expect(await tryConnect(first, port)).toBe('ECONNREFUSED');
    const on = await listener.reconfigure({ addresses: [first], port });
    expect(on.opened).toEqual([{ address: first, port }]);
    expect(await tryConnect(first, port)).toBe('connected');
  });

  it('refuses to reconfigure a closed listener', async () => {
    const [first, peer] = loopbackAddresses(2) as [string, string];
    const { listener } = echoingListener(peer, { addresses: [first], port: 0 });
    await listener.listen();
    await listener.close();
    await expect(listener.reconfigure({ addresses: [first], port: 0 })).rejects.toThrow(
      'the listener is closed',
    );
  });
});
