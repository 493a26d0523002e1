// Two of our session drivers over real TCP on 127.0.0.x (free ports): OPEN → Established →
// keepalives flow → ManualStop sends NOTIFICATION Cease/2 and both sides leave Established; two active
// speakers started at the same moment (a §6.8 collision every time) or 10 s apart (one idling after
// refused connects) reach Established.
import { afterEach, describe, expect, it } from 'vitest';
import type {
  LocalOpenSettings,
  NegotiatedSessionOptions,
  NotificationError,
  SessionState,
} from '../../src/fsm/index.js';
import { type Clock, Listener, Peer } from '../../src/session/index.js';
import { ManualClock } from './manual-clock.js';

const families = [{ afi: 1, safi: 1 }];
const settings = (asNumber: number, routerId: string): LocalOpenSettings => ({
  asNumber,
  routerId,
  holdTime: 3,
  families,
  routeRefresh: true,
  enhancedRouteRefresh: false,
  extendedMessage: true,
});

function waitFor<T>(register: (resolve: (value: T) => void) => void): Promise<T> {
  return new Promise((resolve) => register(resolve));
}

/** Resolves once `peer` is in `state` (checked on every state change). */
function reach(peer: Peer, state: SessionState): Promise<void> {
  return new Promise((resolve) => {
    if (peer.state === state) return resolve();
    const check = (_from: SessionState, to: SessionState) => {
      if (to !== state) return;
      peer.off('stateChanged', check);
      resolve();
    };
    peer.on('stateChanged', check);
  });
}

/** A port free on `address` right now (bound, then released). */
async function freePort(address: string): Promise<number> {
  const probe = new Listener({ address, port: 0 });
  const port = await probe.listen();
  await probe.close();
  return port;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('Peer over real sockets', () => {
  it('establishes, exchanges keepalives and tears down with Cease on stop', async () => {
    const passive = new Peer({
      name: 'b',
      local: settings(65002, '10.255.0.2'),
      remote: { address: '127.0.0.1', port: 179, asNumber: 65001 },
      attributes: { passiveTcpEstablishment: true },
    });
    const listener = new Listener({ address: '127.0.0.1', port: 0 });
    listener.addPeer(passive);
    const port = await listener.listen();
    cleanups.push(() => listener.close());
    cleanups.push(() => passive.stop());
    const active = new Peer({
      name: 'a',
      local: settings(65001, '10.255.0.1'),
      remote: { address: '127.0.0.1', port, asNumber: 65002 },
    });
    cleanups.push(() => active.stop());

    const aUp = waitFor<NegotiatedSessionOptions>((r) => active.once('established', r));
    const bUp = waitFor<NegotiatedSessionOptions>((r) => passive.once('established', r));
    passive.start();
    active.start();
    const [aOptions, bOptions] = await Promise.all([aUp, bUp]);
    expect(aOptions).toMatchObject({
      peerAs: 65002,
      peerRouterId: '10.255.0.2',
      holdTime: 3,
      keepaliveTime: 1,
    });
    expect(bOptions).toMatchObject({ peerAs: 65001, ibgp: false, fourOctetAs: true, extendedMessage: true });
    expect(bOptions.families).toEqual(families);

    // Keepalives keep arriving every second (hold 3 s): wait for three more on each side.
    const before = active.stats().messagesIn.keepalive;
    await waitFor<void>((r) => {
      const check = () => {
        if (active.stats().messagesIn.keepalive >= before + 3) r();
        else setTimeout(check, 100);
      };
      check();
    });
    expect(active.state).toBe('Established');
    expect(passive.state).toBe('Established');
    expect(active.stats().uptime).toBeGreaterThan(0);

    const received = waitFor<NotificationError>((r) => passive.once('notificationReceived', r));
    const bDown = waitFor<string>((r) => passive.once('down', r));
    active.stop();
    expect(active.state).toBe('Idle');
    const notification = await received;
    expect([notification.code, notification.subcode]).toEqual([6, 2]);
    await bDown;
    expect(passive.state).not.toBe('Established');
    expect(passive.stats().flaps).toBe(1);
    expect(active.stats().messagesOut.notification).toBe(1);
  });

  it('rejects a connection from an unknown address with Cease/5', async () => {
    const listener = new Listener({ address: '127.0.0.1', port: 0 });
    const port = await listener.listen();
    cleanups.push(() => listener.close());
    const stranger = new Peer({
      name: 'stranger',
      local: settings(65009, '10.255.0.9'),
      remote: { address: '127.0.0.1', port, asNumber: 65002 },
      autoRestart: false,
    });
    cleanups.push(() => stranger.stop());
    const notification = waitFor<NotificationError>((r) => stranger.once('notificationReceived', r));
    stranger.start();
    expect(await notification).toMatchObject({ code: 6, subcode: 5 });
  });

  /** Two active speakers on 127.0.0.2 and 127.0.0.3, each with its listener; not started. */
  async function activePair(clocks: { a?: Clock; b?: Clock } = {}, portB?: number) {
    const a = { address: '127.0.0.2', listener: new Listener({ address: '127.0.0.2', port: 0 }) };
    const b = { address: '127.0.0.3', listener: new Listener({ address: '127.0.0.3', port: portB ?? 0 }) };
    const portA = await a.listener.listen();
    cleanups.push(() => a.listener.close());
    const boundB = portB ?? (await b.listener.listen());
    if (portB === undefined) cleanups.push(() => b.listener.close());
    const peerA = new Peer({
      name: 'b-from-a',
      local: settings(65001, '10.255.0.1'),
      remote: { address: b.address, port: boundB, asNumber: 65002 },
      localAddress: a.address,
      ...(clocks.a ? { clock: clocks.a } : {}),
    });
    const peerB = new Peer({
      name: 'a-from-b',
      local: settings(65002, '10.255.0.2'),
      remote: { address: a.address, port: portA, asNumber: 65001 },
      localAddress: b.address,
      ...(clocks.b ? { clock: clocks.b } : {}),
    });
    a.listener.addPeer(peerA);
    b.listener.addPeer(peerB);
    cleanups.push(() => peerA.stop());
    cleanups.push(() => peerB.stop());
    return { peerA, peerB, listenerB: b.listener };
  }

  it('two speakers started at the same moment reach Established (20 times)', async () => {
    for (let round = 0; round < 20; round++) {
      const { peerA, peerB } = await activePair();
      const up = Promise.all([reach(peerA, 'Established'), reach(peerB, 'Established')]);
      peerA.start();
      peerB.start();
      await up;
      expect(peerA.stats().flaps).toBe(0);
      expect(peerB.stats().flaps).toBe(0);
      // One connection survived: each side sent at most one OPEN per connection (two at most in all).
      expect(peerA.stats().messagesOut.open).toBeLessThanOrEqual(2);
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    }
  }, 60_000);

  it('a speaker started 10 s after the other connects at once, though the first idles after refusals', async () => {
    const clockA = new ManualClock();
    const clockB = new ManualClock();
    const portB = await freePort('127.0.0.3');
    const { peerA, peerB, listenerB } = await activePair({ a: clockA, b: clockB }, portB);
    peerA.start();
    await reach(peerA, 'Idle'); // connection refused: nobody listens on B's port yet
    clockA.advance(10); // IdleHold (5 s) → another attempt, refused again
    await reach(peerA, 'Connect');
    await reach(peerA, 'Idle');
    expect(peerA.stats().lastError).toMatch(/ECONNREFUSED/);
    await listenerB.listen();
    cleanups.push(() => listenerB.close());
    const up = Promise.all([reach(peerA, 'Established'), reach(peerB, 'Established')]);
    peerB.start(); // neither clock moves again: only B's first attempt can bring the session up
    await up;
    expect(peerB.stats().messagesIn.notification).toBe(0);
  }, 20_000);
});
