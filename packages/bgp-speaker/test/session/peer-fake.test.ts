// The session driver with a fake clock and fake sockets: message exchange, hold timer expiry, the
// RFC 9687 send hold timer under backpressure, OPEN errors, header errors, collisions, listener routing.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BgpFramer } from '../../src/codec/index.js';
import { type LocalOpenSettings, localCapabilities } from '../../src/fsm/index.js';
import {
  decodeNotification,
  decodeOpen,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  Listener,
  Peer,
  type PeerOptions,
  type SessionSocket,
} from '../../src/session/index.js';
import { ManualClock } from './manual-clock.js';

class FakeSocket extends EventEmitter implements SessionSocket {
  written: Uint8Array[] = [];
  ended = false;
  destroyed = false;
  /** When true, writes report a full buffer (the peer stopped reading). */
  blocked = false;
  writableLength = 0;
  remoteAddress = '10.0.0.2';
  /** Write callbacks not yet called (node:net calls them once the bytes are written). */
  pendingCallbacks: Array<(error?: Error | null) => void> = [];
  write(data: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    this.written.push(data);
    if (callback !== undefined) this.pendingCallbacks.push(callback);
    if (this.blocked) this.writableLength += data.length;
    return !this.blocked;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  resume(): this {
    return this;
  }
  /** Every message we sent, as [type, message]. */
  sent(): Array<[number, Uint8Array]> {
    const framer = new BgpFramer({ as4: true, extendedMessage: true });
    return this.written.flatMap((chunk) => framer.push(chunk)).map((m) => [m[18]!, m]);
  }
  sentTypes(): number[] {
    return this.sent().map(([type]) => type);
  }
  receive(message: Uint8Array): void {
    this.emit('data', message);
  }
}

const local: LocalOpenSettings = {
  asNumber: 64512,
  routerId: '10.0.0.1',
  holdTime: 90,
  families: [{ afi: 1, safi: 1 }],
  routeRefresh: true,
  enhancedRouteRefresh: false,
  extendedMessage: false,
};

function peerOpen(overrides: { holdTime?: number; as?: number; routerId?: string } = {}): Uint8Array {
  return encodeOpen({
    myAutonomousSystem: overrides.as ?? 64513,
    holdTime: overrides.holdTime ?? 90,
    bgpIdentifier: overrides.routerId ?? '10.0.0.2',
    capabilities: localCapabilities({ ...local, asNumber: overrides.as ?? 64513 }),
  });
}

function setup(options: Partial<PeerOptions> = {}) {
  const clock = new ManualClock();
  const sockets: FakeSocket[] = [];
  const peer = new Peer({
    name: 'upstream',
    local,
    remote: { address: '10.0.0.2', port: 179, asNumber: 64513 },
    clock,
    socketFactory: () => {
      const socket = new FakeSocket();
      sockets.push(socket);
      return socket;
    },
    ...options,
  });
  const states: string[] = [];
  peer.on('stateChanged', (_from, to) => states.push(to));
  return { clock, sockets, peer, states };
}

function establish(ctx: ReturnType<typeof setup>, holdTime = 90): FakeSocket {
  ctx.peer.start();
  const socket = ctx.sockets.at(-1)!;
  socket.emit('connect');
  socket.receive(peerOpen({ holdTime }));
  socket.receive(encodeKeepalive());
  return socket;
}

describe('Peer with fakes', () => {
  it('connects, sends OPEN, answers the peer OPEN with KEEPALIVE and reaches Established', () => {
    const ctx = setup();
    let negotiatedHold = -1;
    ctx.peer.on('established', (options) => {
      negotiatedHold = options.holdTime;
    });
    const socket = establish(ctx, 30);
    expect(ctx.states).toEqual(['Connect', 'OpenSent', 'OpenConfirm', 'Established']);
    expect(socket.sentTypes()).toEqual([1, 4]);
    const open = decodeOpen(socket.sent()[0]![1]);
    expect(open).toMatchObject({
      version: 4,
      myAutonomousSystem: 64512,
      holdTime: 90,
      bgpIdentifier: '10.0.0.1',
    });
    expect(negotiatedHold).toBe(30);
    // Keepalives every 10 s (hold 30 / 3).
    ctx.clock.advance(10);
    expect(socket.sentTypes()).toEqual([1, 4, 4]);
    expect(ctx.peer.stats()).toMatchObject({ state: 'Established', messagesIn: { open: 1, keepalive: 1 } });
  });

  it('emits received UPDATEs and sends ours in Established only', () => {
    const ctx = setup();
    const update = Uint8Array.from([...new Uint8Array(16).fill(0xff), 0, 23, 2, 0, 0, 0, 0]);
    expect(ctx.peer.sendUpdate(update)).toBe(false);
    const socket = establish(ctx);
    const received: Uint8Array[] = [];
    ctx.peer.on('update', (message) => received.push(message));
    socket.receive(update);
    expect(received).toEqual([update]);
    expect(ctx.peer.sendUpdate(update)).toBe(true);
    expect(socket.sentTypes().at(-1)).toBe(2);
    expect(ctx.peer.stats().messagesOut.update).toBe(1);
  });

  it('received UPDATEs restart the hold timer (once per chunk of several) and keep the session up', () => {
    const ctx = setup();
    const update = Uint8Array.from([...new Uint8Array(16).fill(0xff), 0, 23, 2, 0, 0, 0, 0]);
    const socket = establish(ctx, 9);
    const received: Uint8Array[] = [];
    ctx.peer.on('update', (message) => received.push(message));
    for (let i = 0; i < 4; i++) {
      ctx.clock.advance(6); // keepalives go out every 3 s; the peer sends UPDATEs only
      socket.receive(Uint8Array.from([...update, ...update, ...update])); // three UPDATEs in one chunk
    }
    expect(received).toHaveLength(12);
    expect(ctx.peer.state).toBe('Established');
    expect(ctx.peer.stats().messagesIn.update).toBe(12);
    // 9 s after the last chunk without anything from the peer: Hold Timer Expired.
    ctx.clock.advance(8.9);
    expect(ctx.peer.state).toBe('Established');
    ctx.clock.advance(0.1);
    expect(ctx.peer.state).toBe('Idle');
    expect(decodeNotification(socket.sent().at(-1)![1])).toMatchObject({ code: 4, subcode: 0 });
  });

  it('an UPDATE listener that takes the session down stops the rest of the chunk; no hold timer is left', () => {
    const ctx = setup();
    const update = Uint8Array.from([...new Uint8Array(16).fill(0xff), 0, 23, 2, 0, 0, 0, 0]);
    const socket = establish(ctx, 9);
    let count = 0;
    const downs: string[] = [];
    ctx.peer.on('down', (reason) => downs.push(reason));
    ctx.peer.on('update', () => {
      count++;
      if (count === 2) ctx.peer.sendNotification(3, 1);
    });
    socket.receive(Uint8Array.from([...update, ...update, ...update]));
    expect(count).toBe(2);
    expect(ctx.peer.state).toBe('Idle');
    expect(downs).toEqual(['sent NOTIFICATION 3/1 (UPDATE Message Error / Malformed Attribute List)']);
    const notifications = socket.sentTypes().filter((type) => type === 3);
    expect(notifications).toHaveLength(1);
    // No hold timer survives the teardown: a later expiry would send a second NOTIFICATION.
    ctx.clock.advance(20);
    expect(socket.sentTypes().filter((type) => type === 3)).toHaveLength(1);
  });

  it('sends a batch of UPDATEs in one write: counted one by one, Keepalive restarted, callback passed on', () => {
    const ctx = setup();
    const update = (length: number) =>
      Uint8Array.from([
        ...new Uint8Array(16).fill(0xff),
        0,
        length,
        2,
        0,
        0,
        0,
        0,
        ...new Array(length - 23).fill(0),
      ]);
    const batch = Uint8Array.from([...update(23), ...update(27), ...update(23)]);
    const written: Array<Error | null | undefined> = [];
    expect(ctx.peer.sendUpdates(batch, 3, (error) => written.push(error))).toBe(false);
    const socket = establish(ctx, 30); // Keepalive every 10 s
    const writesBefore = socket.written.length;
    ctx.clock.advance(6);
    expect(ctx.peer.sendUpdates(batch, 3, (error) => written.push(error))).toBe(true);
    expect(socket.written.length).toBe(writesBefore + 1);
    expect(socket.written.at(-1)).toBe(batch);
    expect(socket.sentTypes()).toEqual([1, 4, 2, 2, 2]);
    expect(ctx.peer.stats().messagesOut.update).toBe(3);
    // §8.2.2: sending UPDATEs restarts the KeepaliveTimer: nothing at 10 s, a KEEPALIVE at 16 s.
    ctx.clock.advance(9);
    expect(socket.sentTypes().filter((type) => type === 4)).toHaveLength(1);
    ctx.clock.advance(1);
    expect(socket.sentTypes().filter((type) => type === 4)).toHaveLength(2);
    // The socket's write callback is the caller's: called when the socket reports the write done.
    expect(written).toEqual([]);
    for (const callback of socket.pendingCallbacks.splice(0)) callback(null);
    expect(written).toEqual([null]);
    ctx.peer.sendUpdate(update(23));
    expect(ctx.peer.stats().messagesOut.update).toBe(4);
  });

  it('refuses a message count that cannot be whole messages of the batch, naming it', () => {
    const ctx = setup();
    establish(ctx);
    const batch = new Uint8Array(40);
    expect(() => ctx.peer.sendUpdates(batch, 0)).toThrow(/messageCount 0 is not a positive integer/);
    expect(() => ctx.peer.sendUpdates(batch, 3)).toThrow(/messageCount 3 .* in 40 octets/);
    expect(() => ctx.peer.sendUpdates(batch, 1.5)).toThrow(/messageCount 1.5/);
    expect(ctx.peer.stats().messagesOut.update).toBe(0);
  });

  it('RFC 9687 with batches: a blocked batch counts in pendingOutputBytes and arms the send hold timer', () => {
    const ctx = setup({ sendHoldTime: 20 });
    const socket = establish(ctx);
    socket.blocked = true;
    const one = [...new Uint8Array(16).fill(0xff), 0, 23, 2, 0, 0, 0, 0];
    ctx.peer.sendUpdates(Uint8Array.from([...one, ...one]), 2);
    expect(ctx.peer.pendingOutputBytes).toBe(46);
    for (let i = 0; i < 3; i++) {
      ctx.clock.advance(6);
      socket.receive(encodeKeepalive());
    }
    expect(ctx.peer.state).toBe('Established');
    ctx.clock.advance(2);
    expect(ctx.peer.state).toBe('Idle');
    expect(decodeNotification(socket.sent().at(-1)![1])).toMatchObject({ code: 8, subcode: 0 });
  });

  it('sends NOTIFICATION 4/0 when the hold timer expires and restarts after the idle hold time', () => {
    const ctx = setup({ attributes: { idleHoldTime: 5 } });
    const socket = establish(ctx, 9);
    const downs: string[] = [];
    ctx.peer.on('down', (reason) => downs.push(reason));
    ctx.clock.advance(9);
    const last = socket.sent().at(-1)!;
    expect(last[0]).toBe(3);
    expect(decodeNotification(last[1])).toMatchObject({ code: 4, subcode: 0 });
    expect(socket.ended).toBe(true);
    expect(ctx.peer.state).toBe('Idle');
    expect(downs).toEqual(['sent NOTIFICATION 4/0 (Hold Timer Expired)']);
    expect(ctx.peer.stats().flaps).toBe(1);
    // Damped automatic restart: nothing before 5 s, a new connection attempt after.
    ctx.clock.advance(4);
    expect(ctx.sockets).toHaveLength(1);
    ctx.clock.advance(1);
    expect(ctx.sockets).toHaveLength(2);
    expect(ctx.peer.state).toBe('Connect');
  });

  it('RFC 9687: tears down with NOTIFICATION 8 and destroys the socket when the peer stops reading', () => {
    const ctx = setup({ sendHoldTime: 20 });
    const socket = establish(ctx);
    socket.blocked = true;
    ctx.peer.sendUpdate(Uint8Array.from([...new Uint8Array(16).fill(0xff), 0, 23, 2, 0, 0, 0, 0]));
    expect(ctx.peer.pendingOutputBytes).toBe(23);
    // Peer keeps sending keepalives (its side is fine), but never reads ours.
    for (let i = 0; i < 3; i++) {
      ctx.clock.advance(6);
      socket.receive(encodeKeepalive());
    }
    expect(ctx.peer.state).toBe('Established');
    ctx.clock.advance(2);
    expect(ctx.peer.state).toBe('Idle');
    const last = socket.sent().at(-1)!;
    expect(decodeNotification(last[1])).toMatchObject({ code: 8, subcode: 0 });
    expect(socket.destroyed).toBe(true);
  });

  it('the send hold timer stops when the socket drains', () => {
    const ctx = setup({ sendHoldTime: 20 });
    const socket = establish(ctx);
    socket.blocked = true;
    ctx.peer.sendUpdate(Uint8Array.from([...new Uint8Array(16).fill(0xff), 0, 23, 2, 0, 0, 0, 0]));
    ctx.clock.advance(10);
    socket.blocked = false;
    socket.writableLength = 0;
    socket.emit('drain');
    for (let i = 0; i < 5; i++) {
      ctx.clock.advance(10);
      socket.receive(encodeKeepalive());
    }
    expect(ctx.peer.state).toBe('Established');
  });

  it('DelayOpen: waits for the peer OPEN, then answers with OPEN and KEEPALIVE', () => {
    const ctx = setup({ attributes: { delayOpen: true, delayOpenTime: 5 } });
    ctx.peer.start();
    const socket = ctx.sockets[0]!;
    socket.emit('connect');
    expect(socket.sentTypes()).toEqual([]);
    ctx.clock.advance(2);
    socket.receive(peerOpen());
    expect(socket.sentTypes()).toEqual([1, 4]);
    expect(ctx.peer.state).toBe('OpenConfirm');
  });

  it('DelayOpen: sends OPEN when the DelayOpenTimer expires', () => {
    const ctx = setup({ attributes: { delayOpen: true, delayOpenTime: 5 } });
    ctx.peer.start();
    const socket = ctx.sockets[0]!;
    socket.emit('connect');
    ctx.clock.advance(5);
    expect(socket.sentTypes()).toEqual([1]);
    expect(ctx.peer.state).toBe('OpenSent');
  });

  it('rejects a bad peer AS with NOTIFICATION 2/2 and records why', () => {
    const ctx = setup();
    ctx.peer.start();
    const socket = ctx.sockets[0]!;
    socket.emit('connect');
    socket.receive(peerOpen({ as: 65000 }));
    const last = socket.sent().at(-1)!;
    expect(decodeNotification(last[1])).toMatchObject({ code: 2, subcode: 2 });
    expect(ctx.peer.state).toBe('Idle');
    expect(ctx.peer.stats().lastError).toBe('sent NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS)');
  });

  it('rejects a hold time of 2 with 2/6', () => {
    const ctx = setup();
    ctx.peer.start();
    const socket = ctx.sockets[0]!;
    socket.emit('connect');
    socket.receive(peerOpen({ holdTime: 2 }));
    expect(decodeNotification(socket.sent().at(-1)![1])).toMatchObject({ code: 2, subcode: 6 });
  });

  it('answers a bad marker with 1/1', () => {
    const ctx = setup();
    const socket = establish(ctx);
    socket.receive(new Uint8Array(19));
    expect(decodeNotification(socket.sent().at(-1)![1])).toMatchObject({ code: 1, subcode: 1 });
    expect(ctx.peer.state).toBe('Idle');
  });

  it('a received NOTIFICATION takes the session down and is reported', () => {
    const ctx = setup();
    const socket = establish(ctx);
    const received: number[][] = [];
    ctx.peer.on('notificationReceived', (n) => received.push([n.code, n.subcode]));
    socket.receive(encodeNotification(6, 4));
    expect(received).toEqual([[6, 4]]);
    expect(ctx.peer.state).toBe('Idle');
  });

  it('a refused connection goes Idle and retries after the idle hold time', () => {
    const ctx = setup({ attributes: { idleHoldTime: 5 } });
    ctx.peer.start();
    ctx.sockets[0]!.emit('error', new Error('connect ECONNREFUSED'));
    ctx.sockets[0]!.emit('close');
    expect(ctx.peer.state).toBe('Idle');
    expect(ctx.peer.stats().lastError).toBe('connect ECONNREFUSED');
    ctx.clock.advance(5);
    expect(ctx.sockets).toHaveLength(2);
  });

  it('stop() sends Cease/2 and does not restart', () => {
    const ctx = setup();
    const socket = establish(ctx);
    ctx.peer.stop();
    expect(decodeNotification(socket.sent().at(-1)![1])).toMatchObject({ code: 6, subcode: 2 });
    ctx.clock.advance(600);
    expect(ctx.sockets).toHaveLength(1);
    expect(ctx.peer.state).toBe('Idle');
  });

  describe('collisions (§6.8)', () => {
    it('local id lower: the incoming connection wins, the outgoing one gets Cease/7', () => {
      const ctx = setup();
      ctx.peer.start();
      const outgoing = ctx.sockets[0]!;
      outgoing.emit('connect'); // OpenSent on the outgoing connection
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      expect(incoming.sentTypes()).toEqual([1]); // our OPEN on the second connection
      incoming.receive(peerOpen({ routerId: '10.0.0.2' })); // 10.0.0.2 > 10.0.0.1
      expect(decodeNotification(outgoing.sent().at(-1)![1])).toMatchObject({ code: 6, subcode: 7 });
      expect(ctx.peer.state).toBe('OpenConfirm');
      incoming.receive(encodeKeepalive());
      expect(ctx.peer.state).toBe('Established');
      expect(incoming.sentTypes()).toEqual([1, 4]);
    });

    it('local id higher: the incoming connection gets Cease/7 and ours continues', () => {
      const ctx = setup({ local: { ...local, routerId: '10.0.0.9' } });
      ctx.peer.start();
      const outgoing = ctx.sockets[0]!;
      outgoing.emit('connect');
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      incoming.receive(peerOpen({ routerId: '10.0.0.2' }));
      expect(decodeNotification(incoming.sent().at(-1)![1])).toMatchObject({ code: 6, subcode: 7 });
      expect(incoming.ended).toBe(true);
      outgoing.receive(peerOpen());
      outgoing.receive(encodeKeepalive());
      expect(ctx.peer.state).toBe('Established');
    });

    it('a second connection while Established is closed with Cease/7 once its OPEN arrives', () => {
      const ctx = setup();
      const established = establish(ctx);
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      expect(incoming.sentTypes()).toEqual([]);
      incoming.receive(peerOpen());
      expect(decodeNotification(incoming.sent().at(-1)![1])).toMatchObject({ code: 6, subcode: 7 });
      expect(ctx.peer.state).toBe('Established');
      expect(established.ended).toBe(false);
    });

    it('an incoming connection while Idle is refused with Cease/5', () => {
      const ctx = setup();
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      expect(decodeNotification(incoming.sent()[0]![1])).toMatchObject({ code: 6, subcode: 5 });
    });

    it('simultaneous connects, local id lower: both kept until the OPENs, the peer-initiated one survives', () => {
      const ctx = setup();
      ctx.peer.start();
      const outgoing = ctx.sockets[0]!; // still connecting
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      expect(ctx.peer.state).toBe('OpenSent');
      expect(outgoing.destroyed).toBe(false);
      outgoing.emit('connect');
      expect(outgoing.sentTypes()).toEqual([1]); // our OPEN on our own attempt too
      outgoing.receive(peerOpen({ routerId: '10.0.0.2' })); // 10.0.0.2 > 10.0.0.1: its connection wins
      expect(decodeNotification(outgoing.sent().at(-1)![1])).toMatchObject({ code: 6, subcode: 7 });
      incoming.receive(peerOpen({ routerId: '10.0.0.2' }));
      incoming.receive(encodeKeepalive());
      expect(ctx.peer.state).toBe('Established');
      expect(incoming.sentTypes()).toEqual([1, 4]);
    });

    it('simultaneous connects, local id higher: the session moves to our connection, theirs gets Cease/7', () => {
      const ctx = setup({ local: { ...local, routerId: '10.0.0.9' } });
      ctx.peer.start();
      const outgoing = ctx.sockets[0]!;
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      outgoing.emit('connect');
      outgoing.receive(peerOpen({ routerId: '10.0.0.2' }));
      expect(decodeNotification(incoming.sent().at(-1)![1])).toMatchObject({ code: 6, subcode: 7 });
      expect(ctx.peer.state).toBe('OpenConfirm');
      outgoing.receive(encodeKeepalive());
      expect(ctx.peer.state).toBe('Established');
      expect(outgoing.sentTypes()).toEqual([1, 4]);
    });

    it('a Cease/7 on the first connection while the second is tracked continues on the second', () => {
      const ctx = setup({ local: { ...local, routerId: '10.0.0.9' } });
      ctx.peer.start();
      const outgoing = ctx.sockets[0]!;
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      outgoing.emit('connect');
      incoming.receive(encodeNotification(6, 7)); // the peer resolved first
      expect(ctx.peer.state).toBe('OpenSent');
      outgoing.receive(peerOpen({ routerId: '10.0.0.2' }));
      outgoing.receive(encodeKeepalive());
      expect(ctx.peer.state).toBe('Established');
      expect(ctx.peer.stats().flaps).toBe(0);
    });

    it('Idle after a refused connect takes an incoming connection at once', () => {
      const ctx = setup({ attributes: { idleHoldTime: 5 } });
      ctx.peer.start();
      ctx.sockets[0]!.emit('error', new Error('connect ECONNREFUSED'));
      ctx.sockets[0]!.emit('close');
      expect(ctx.peer.state).toBe('Idle');
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      expect(ctx.peer.state).toBe('OpenSent');
      incoming.receive(peerOpen());
      incoming.receive(encodeKeepalive());
      expect(ctx.peer.state).toBe('Established');
      ctx.clock.advance(60); // the cancelled IdleHold does not start another attempt
      expect(ctx.sockets).toHaveLength(1);
      expect(ctx.peer.state).toBe('Established');
    });

    it('Idle after an Established session flapped refuses incoming connections until IdleHold expires', () => {
      const ctx = setup({ attributes: { idleHoldTime: 5 } });
      const socket = establish(ctx);
      socket.emit('close');
      expect(ctx.peer.state).toBe('Idle');
      const refused = new FakeSocket();
      ctx.peer.acceptIncoming(refused);
      expect(decodeNotification(refused.sent()[0]![1])).toMatchObject({ code: 6, subcode: 5 });
      ctx.clock.advance(5);
      expect(ctx.peer.state).toBe('Connect');
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      expect(ctx.peer.state).toBe('OpenSent');
    });

    it('a stopped peer refuses incoming connections', () => {
      const ctx = setup();
      ctx.peer.start();
      ctx.peer.stop();
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      expect(decodeNotification(incoming.sent()[0]![1])).toMatchObject({ code: 6, subcode: 5 });
      expect(ctx.peer.state).toBe('Idle');
    });

    it('a passive peer adopts the incoming connection', () => {
      const ctx = setup({ attributes: { passiveTcpEstablishment: true } });
      ctx.peer.start();
      expect(ctx.peer.state).toBe('Active');
      const incoming = new FakeSocket();
      ctx.peer.acceptIncoming(incoming);
      expect(ctx.peer.state).toBe('OpenSent');
      incoming.receive(peerOpen());
      incoming.receive(encodeKeepalive());
      expect(ctx.peer.state).toBe('Established');
      expect(ctx.sockets).toHaveLength(0);
    });
  });
});

describe('NOTIFICATION, ROUTE-REFRESH and stop options', () => {
  it('sendNotification sends the chosen NOTIFICATION with its data and goes Idle, then restarts damped', () => {
    const ctx = setup({ attributes: { idleHoldTime: 5 } });
    const socket = establish(ctx);
    const down: string[] = [];
    const sent: Array<[number, number]> = [];
    ctx.peer.on('down', (reason) => down.push(reason));
    ctx.peer.on('notificationSent', (n) => sent.push([n.code, n.subcode]));
    expect(ctx.peer.sendNotification(6, 1, Uint8Array.of(0, 1, 1, 0, 0, 0, 10))).toBe(true);
    const notification = decodeNotification(socket.sent().at(-1)![1]);
    expect(notification).toMatchObject({ code: 6, subcode: 1 });
    expect([...notification.data!]).toEqual([0, 1, 1, 0, 0, 0, 10]);
    expect(sent).toEqual([[6, 1]]);
    expect(down).toEqual(['sent NOTIFICATION 6/1 (Cease / Maximum Number of Prefixes Reached)']);
    expect(ctx.peer.state).toBe('Idle');
    expect(ctx.peer.stats().messagesOut.notification).toBe(1);
    ctx.clock.advance(5);
    expect(ctx.sockets).toHaveLength(2);
  });

  it('sendNotification from an update listener (during the driver’s own event) sends the chosen one', () => {
    const ctx = setup();
    const socket = establish(ctx);
    ctx.peer.on('update', () => ctx.peer.sendNotification(3, 1));
    socket.receive(Uint8Array.of(...new Array(16).fill(0xff), 0, 23, 2, 0, 0, 0, 0));
    expect(decodeNotification(socket.sent().at(-1)![1])).toMatchObject({ code: 3, subcode: 1 });
    expect(ctx.peer.stats().messagesOut.notification).toBe(1);
    expect(ctx.peer.state).toBe('Idle');
  });

  it('sendNotification refuses bad codes and does nothing without a session', () => {
    const ctx = setup();
    expect(() => ctx.peer.sendNotification(0, 1)).toThrow(/error code 0/);
    expect(() => ctx.peer.sendNotification(6, 256)).toThrow(/subcode 256/);
    ctx.peer.start();
    expect(ctx.peer.sendNotification(6, 2)).toBe(false);
    expect(ctx.peer.state).toBe('Connect');
  });

  it('sendRouteRefresh writes a ROUTE-REFRESH counted as routeRefresh, only when Established', () => {
    const ctx = setup();
    expect(ctx.peer.sendRouteRefresh(1, 1)).toBe(false);
    const socket = establish(ctx);
    expect(ctx.peer.sendRouteRefresh(2, 1, 1)).toBe(true);
    const [type, message] = socket.sent().at(-1)!;
    expect(type).toBe(5);
    expect([...message.subarray(19)]).toEqual([0, 2, 1, 1]);
    expect(ctx.peer.stats().messagesOut).toMatchObject({ routeRefresh: 1, update: 0 });
    expect(() => ctx.peer.sendRouteRefresh(1, 1, 3 as 0)).toThrow(/subtype 3/);
    expect(() => ctx.peer.sendRouteRefresh(70000, 1)).toThrow(/afi 70000/);
  });

  it('stop({ notification: false }) closes without a NOTIFICATION', () => {
    const ctx = setup();
    const socket = establish(ctx);
    const down: string[] = [];
    ctx.peer.on('down', (reason) => down.push(reason));
    ctx.peer.stop({ notification: false });
    expect(socket.sentTypes()).toEqual([1, 4]);
    expect(socket.ended).toBe(true);
    expect(down).toHaveLength(1);
    expect(ctx.peer.state).toBe('Idle');
    expect(ctx.peer.stats().messagesOut.notification).toBe(0);
  });

  it('stop({ notification }) sends that NOTIFICATION instead of Cease/2', () => {
    const ctx = setup();
    const socket = establish(ctx);
    ctx.peer.stop({ notification: { code: 6, subcode: 9, data: Uint8Array.of(6, 2) } });
    const notification = decodeNotification(socket.sent().at(-1)![1]);
    expect(notification).toMatchObject({ code: 6, subcode: 9 });
    expect([...notification.data!]).toEqual([6, 2]);
    expect(ctx.peer.state).toBe('Idle');
  });
});

describe('Listener routing', () => {
  it('hands connections to the peer with that address (IPv4-mapped too) and rejects others with Cease/5', () => {
    const accepted: string[] = [];
    const rejected: string[] = [];
    const listener = new Listener({ address: '127.0.0.1', port: 0, onRejected: (a) => rejected.push(a) });
    listener.addPeer({ remoteAddress: '10.0.0.2', acceptIncoming: () => accepted.push('10.0.0.2') });
    listener.handle(new FakeSocket(), '::ffff:10.0.0.2');
    const stranger = new FakeSocket();
    listener.handle(stranger, '10.0.0.3');
    expect(accepted).toEqual(['10.0.0.2']);
    expect(rejected).toEqual(['10.0.0.3']);
    expect(decodeNotification(stranger.sent()[0]![1])).toMatchObject({ code: 6, subcode: 5 });
    expect(stranger.ended).toBe(true);
  });
});
