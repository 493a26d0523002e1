// Two of our session drivers over real TCP on 127.0.0.1 (free port): OPEN → Established →
// keepalives flow → ManualStop sends NOTIFICATION Cease/2 and both sides leave Established.
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalOpenSettings, NegotiatedSessionOptions, NotificationError } from '../../src/fsm/index.js';
import { Listener, Peer } from '../../src/session/index.js';

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
});
