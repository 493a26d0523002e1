// The session driver: owns one peer's TCP connection(s) and timers and drives the pure FSM
// (src/fsm) — performing its actions, turning socket bytes, timer expiries and operator calls into FSM
// events, resolving connection collisions, and emitting typed events and statistics.
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { BGP_DEFAULT_CONTEXT, BgpFramer, encodeBgpMessage, notificationName } from '../codec/index.js';
import { resolveCollision } from '../fsm/collision.js';
import { createFsmSession, defaultSendHoldTime, transition } from '../fsm/fsm.js';
import {
  checkOpen,
  codecContextOf,
  type LocalOpenSettings,
  localCapabilities,
  type NegotiatedSessionOptions,
  openMyAutonomousSystem,
  type ReceivedOpen,
} from '../fsm/open.js';
import type {
  FsmAction,
  FsmEvent,
  FsmSession,
  FsmTimerName,
  NotificationError,
  SessionAttributes,
  SessionState,
} from '../fsm/types.js';
import {
  BgpDecodeError,
  decodeNotification,
  decodeOpen,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  type MessageTypeName,
  messageTypeName,
  notificationOf,
  OpenRejectedError,
} from './codec-adapter.js';

/** Clock and timers, injected so unit tests can drive time. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, milliseconds: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, milliseconds) => setTimeout(callback, milliseconds),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The part of a TCP socket the driver uses (node:net's Socket satisfies it). */
export interface SessionSocket {
  /** `callback` (node:net calls it once the bytes are written or the write failed) is optional to honour. */
  write(data: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  end(): void;
  destroy(): void;
  readonly writableLength: number;
  readonly remoteAddress?: string | undefined;
  /** Our end's address once connected (node:net sets it). */
  readonly localAddress?: string | undefined;
  /** Keeps reading (and discarding) after a rejection so the socket can close. */
  resume?(): this;
  on(event: 'data', listener: (chunk: Uint8Array) => void): this;
  on(event: 'connect' | 'drain' | 'close', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
}

/** Opens outgoing connections; the socket emits 'connect' when established or 'error'. */
export type SocketFactory = (options: ConnectOptions) => SessionSocket;

export const netSocketFactory: SocketFactory = (options) => {
  const socket: Socket = netConnect({
    host: options.host,
    port: options.port,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  socket.setNoDelay(true);
  return socket;
};

export interface PeerOptions {
  /** A name for logs and events. */
  readonly name: string;
  readonly local: LocalOpenSettings;
  readonly remote: { readonly address: string; readonly port: number; readonly asNumber: number };
  readonly localAddress?: string;
  /** FSM attributes (hold time etc. default from `local`). */
  readonly attributes?: Partial<SessionAttributes>;
  /** RFC 9687 SendHoldTime, seconds (default max(480, 2 × hold)). */
  readonly sendHoldTime?: number;
  /** Restart automatically (damped) after the session falls to Idle. Default true. */
  readonly autoRestart?: boolean;
  readonly clock?: Clock;
  readonly socketFactory?: SocketFactory;
}

export type MessageCounts = Record<MessageTypeName, number>;

export interface PeerStats {
  readonly name: string;
  readonly state: SessionState;
  /** Milliseconds since Established, or null. */
  readonly uptime: number | null;
  readonly lastError: string | null;
  readonly messagesIn: MessageCounts;
  readonly messagesOut: MessageCounts;
  /** Times the session fell from Established. */
  readonly flaps: number;
  readonly connectRetryCounter: number;
}

export interface PeerEvents {
  stateChanged: [from: SessionState, to: SessionState];
  established: [options: NegotiatedSessionOptions];
  /** A whole UPDATE message (header included), in Established. */
  update: [message: Uint8Array, options: NegotiatedSessionOptions];
  routeRefresh: [message: Uint8Array];
  /** Routes learned from this peer must be withdrawn (the session left Established). */
  down: [reason: string];
  notificationSent: [notification: NotificationError];
  notificationReceived: [notification: NotificationError];
  error: [error: Error];
}

/** "NOTIFICATION 4/0 (Hold Timer Expired)": the numbers operators grep for and the RFC name people read. */
export function describeNotification(notification: {
  readonly code: number;
  readonly subcode: number;
}): string {
  const name = notificationName(notification.code, notification.subcode).replace(/ \/ Unspecific$/, '');
  return `NOTIFICATION ${notification.code}/${notification.subcode} (${name})`;
}

type Direction = 'outgoing' | 'incoming';

/** The NOTIFICATION an event's teardown sends instead of the FSM's (null inside: none); null: the FSM's. */
type NotificationOverride = { readonly notification: NotificationError | null } | null;

/** What `Peer.stop()` tells the peer: a NOTIFICATION (default Cease/2), or nothing (`false`). */
export interface PeerStopOptions {
  /**
   * The NOTIFICATION sent when a session (OpenSent, OpenConfirm, Established) exists; default Cease/2
   * Administrative Shutdown. `false` closes the TCP connection without a NOTIFICATION: how a speaker that
   * restarts gracefully without the RFC 8538 N bit keeps its routes at the helper (RFC 4724 §4).
   */
  readonly notification?: NotificationError | false;
}

/** RFC 7313 ROUTE-REFRESH subtypes: 0 request, 1 BoRR, 2 EoRR. */
export type RouteRefreshSubtype = 0 | 1 | 2;

class Connection {
  /** Header checks with the session's negotiated maximum length (4096 until extended messages). */
  readonly framer = new BgpFramer({ as4: true });
  connected = false;
  closed = false;
  openSent = false;
  receivedOpen: ReceivedOpen | null = null;
  negotiated: NegotiatedSessionOptions | null = null;

  constructor(
    readonly socket: SessionSocket,
    readonly direction: Direction,
  ) {}
}

const emptyCounts = (): MessageCounts => ({
  open: 0,
  update: 0,
  notification: 0,
  keepalive: 0,
  routeRefresh: 0,
});

const TIMER_EVENTS: Record<FsmTimerName, FsmEvent['type']> = {
  ConnectRetry: 'ConnectRetryTimer_Expires',
  Hold: 'HoldTimer_Expires',
  Keepalive: 'KeepaliveTimer_Expires',
  DelayOpen: 'DelayOpenTimer_Expires',
  IdleHold: 'IdleHoldTimer_Expires',
  SendHold: 'SendHoldTimer_Expires',
  DampingReset: 'DampingResetTimer_Expires',
};

/** One BGP peer: the FSM, its connection(s) and timers. */
export class Peer extends EventEmitter<PeerEvents> {
  readonly name: string;
  private fsm: FsmSession;
  private readonly clock: Clock;
  private readonly socketFactory: SocketFactory;
  private readonly timers = new Map<FsmTimerName, unknown>();
  private connection: Connection | null = null;
  /** A second connection tracked for collision detection (§6.8). */
  private pending: Connection | null = null;
  private negotiated: NegotiatedSessionOptions | null = null;
  private pendingUpdate: Uint8Array | null = null;
  private listening = false;
  private stopped = true;
  private establishedAt: number | null = null;
  private lastError: string | null = null;
  private flaps = 0;
  private readonly messagesIn = emptyCounts();
  private readonly messagesOut = emptyCounts();
  private dispatching = false;
  private currentEvent: FsmEvent['type'] | null = null;
  /** UPDATEs were processed without the FSM since the HoldTimer was last restarted (restartHoldIfDue). */
  private restartHoldDue = false;
  private readonly queue: Array<{ readonly event: FsmEvent; readonly override: NotificationOverride }> = [];
  /**
   * Set by `sendNotification`/`stop()` for the teardown they start: the NOTIFICATION the FSM's
   * SendNotification action sends instead of its own (null: none at all).
   */
  private notificationOverride: NotificationOverride = null;
  /**
   * Idle because an Established session went down (IdleHold damping applies: incoming connections are
   * refused until it expires). Idle after connection failures only does not refuse them.
   */
  private idleAfterFlap = false;

  constructor(private options: PeerOptions) {
    super();
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.socketFactory = options.socketFactory ?? netSocketFactory;
    this.fsm = createFsmSession({ holdTime: options.local.holdTime, ...options.attributes });
  }

  /**
   * Replaces the local OPEN settings for the OPENs sent from now on (e.g. the graceful-restart Restart
   * State bit once our restart is over, RFC 4724 §4.1); the current session, if any, is not touched.
   */
  setLocalOpenSettings(local: LocalOpenSettings): void {
    this.options = { ...this.options, local };
  }

  get state(): SessionState {
    return this.fsm.state;
  }

  /** The negotiated options while OpenConfirm/Established, else null. */
  get negotiatedOptions(): NegotiatedSessionOptions | null {
    return this.negotiated;
  }

  get remoteAddress(): string {
    return this.options.remote.address;
  }

  /** ManualStart (or ManualStart_with_PassiveTcpEstablishment when the peer is passive). */
  start(): void {
    this.stopped = false;
    this.dispatch({
      type: this.fsm.attributes.passiveTcpEstablishment
        ? 'ManualStart_with_PassiveTcpEstablishment'
        : 'ManualStart',
    });
  }

  /**
   * ManualStop: a NOTIFICATION to the peer when a session exists (Cease/2 unless `options.notification`
   * says otherwise; `false`: the TCP connection is closed without one), then Idle with no automatic
   * restart. Incoming connections are refused until `start()`.
   */
  stop(options: PeerStopOptions = {}): void {
    const chosen = options.notification;
    if (chosen !== undefined && chosen !== false) checkNotification(chosen);
    this.stopped = true;
    this.dispatch(
      { type: 'ManualStop' },
      chosen === undefined ? null : { notification: chosen === false ? null : chosen },
    );
    this.cancelTimer('IdleHold');
    if (this.pending) {
      const pending = this.pending;
      this.pending = null;
      const notification =
        chosen === undefined ? { code: 6, subcode: 2 } : chosen === false ? undefined : chosen;
      if (pending.openSent) this.closeConnection(pending, notification);
      else this.abandon(pending);
    }
  }

  /**
   * Sends a NOTIFICATION of our choice and takes the session down (the FSM's AutomaticStop with this
   * NOTIFICATION instead of Cease/4: routes deleted, counter incremented, damped automatic restart unless
   * stopped). For UPDATE errors found by the caller (3/x), Cease/1 maximum prefixes, Cease/3/6 reconfig.
   * False when there is no session to notify (Idle, Connect, Active); nothing is sent then.
   */
  sendNotification(code: number, subcode: number, data?: Uint8Array): boolean {
    const notification: NotificationError = data === undefined ? { code, subcode } : { code, subcode, data };
    checkNotification(notification);
    const state = this.fsm.state;
    if (state !== 'OpenSent' && state !== 'OpenConfirm' && state !== 'Established') return false;
    this.dispatch({ type: 'AutomaticStop' }, { notification });
    return true;
  }

  /**
   * Sends a ROUTE-REFRESH (RFC 2918; subtype 1 BoRR / 2 EoRR: RFC 7313), counted as `routeRefresh` in
   * `messagesOut`. False when not Established. Whether the peer negotiated route refresh is the caller's
   * business (`negotiatedOptions.routeRefresh`).
   */
  sendRouteRefresh(afi: number, safi: number, subtype: RouteRefreshSubtype = 0): boolean {
    if (!Number.isInteger(afi) || afi < 0 || afi > 0xffff)
      throw new RangeError(`sendRouteRefresh: afi ${afi} is not a 16-bit unsigned integer`);
    if (!Number.isInteger(safi) || safi < 0 || safi > 0xff)
      throw new RangeError(`sendRouteRefresh: safi ${safi} is not an 8-bit unsigned integer`);
    if (subtype !== 0 && subtype !== 1 && subtype !== 2)
      throw new RangeError(`sendRouteRefresh: subtype ${String(subtype)} is not 0, 1 or 2`);
    if (this.fsm.state !== 'Established' || !this.connection) return false;
    const message = encodeBgpMessage({ type: 'route-refresh', afi, safi, subtype }, BGP_DEFAULT_CONTEXT);
    this.write(this.connection, message, 'routeRefresh');
    return true;
  }

  /** Our address on the connection the FSM runs on (after connect), e.g. for next hop self. */
  get localSocketAddress(): string | undefined {
    const address = this.connection?.connected ? this.connection.socket.localAddress : undefined;
    return address === undefined || address === '' ? undefined : address;
  }

  /** Sends an UPDATE (a whole message, header included). False when not Established. */
  sendUpdate(message: Uint8Array): boolean {
    return this.writeUpdates(message, 1, undefined);
  }

  /**
   * Sends `messageCount` whole UPDATEs written back to back in `batch` (one socket write), counted one by
   * one in `messagesOut.update`. False when not Established (nothing sent, `onWritten` never called).
   * Otherwise `onWritten` is called once the socket is done with the bytes — written, or dropped because
   * the connection failed or closed — so the caller may then reuse the buffer; a socket that does not
   * report writes (a test double) never calls it.
   */
  sendUpdates(batch: Uint8Array, messageCount: number, onWritten?: (error?: Error | null) => void): boolean {
    if (!Number.isInteger(messageCount) || messageCount < 1 || messageCount * 19 > batch.length)
      throw new RangeError(
        `sendUpdates: messageCount ${messageCount} is not a positive integer of whole messages in ${batch.length} octets`,
      );
    return this.writeUpdates(batch, messageCount, onWritten);
  }

  private writeUpdates(
    bytes: Uint8Array,
    messageCount: number,
    onWritten: ((error?: Error | null) => void) | undefined,
  ): boolean {
    if (this.fsm.state !== 'Established' || !this.connection) return false;
    this.write(this.connection, bytes, 'update', messageCount, onWritten);
    // §8.2.2: "Each time the local system sends a KEEPALIVE or UPDATE message, it restarts its
    // KeepaliveTimer, unless the negotiated HoldTime value is zero."
    if (this.timers.has('Keepalive') && this.negotiated && this.negotiated.keepaliveTime > 0) {
      this.armTimer('Keepalive', this.negotiated.keepaliveTime);
    }
    return true;
  }

  /** Bytes queued in the socket but not yet accepted by the kernel (backpressure). */
  get pendingOutputBytes(): number {
    return this.connection?.socket.writableLength ?? 0;
  }

  stats(): PeerStats {
    return {
      name: this.name,
      state: this.fsm.state,
      uptime: this.establishedAt === null ? null : this.clock.now() - this.establishedAt,
      lastError: this.lastError,
      messagesIn: { ...this.messagesIn },
      messagesOut: { ...this.messagesOut },
      flaps: this.flaps,
      connectRetryCounter: this.fsm.connectRetryCounter,
    };
  }

  /** An incoming TCP connection from this peer's address (handed over by the Listener). */
  acceptIncoming(socket: SessionSocket): void {
    if (this.fsm.state === 'Idle' && this.mayStartForIncoming()) {
      // Idle after connection failures only (a refused connect, the peer not up yet): waiting out the
      // IdleHold time would make two speakers started at different moments refuse each other. Start at
      // once, passively, to take this connection (as BIRD accepts while it waits to connect again).
      this.cancelTimer('IdleHold');
      this.forgetFsmTimer('IdleHold');
      this.dispatch({ type: 'AutomaticStart_with_PassiveTcpEstablishment' });
    }
    const state = this.fsm.state;
    if (state === 'Idle' || !this.listening) {
      // Idle refuses connections (§8.2.2 Idle: "refuses all incoming BGP connections"): stopped, or
      // damped after an Established session flapped.
      this.rejectSocket(socket, { code: 6, subcode: 5 });
      return;
    }
    const incoming = new Connection(socket, 'incoming');
    incoming.connected = true;
    const current = this.connection;
    if ((state === 'Connect' || state === 'Active') && !current?.connected) {
      // No usable connection yet: the peer's drives the FSM. Our own attempt, if any, is kept as the
      // second connection (§6.8: both are kept until OPENs are exchanged, then the BGP Identifiers
      // decide); dropping it would make two speakers connecting at once reset each other forever.
      if (current) {
        if (this.pending) this.abandon(current);
        else this.pending = current;
      }
      this.connection = incoming;
      this.wire(incoming);
      this.dispatch({ type: 'TcpConnection_Valid' });
      this.dispatch({ type: 'TcpConnectionConfirmed' });
      return;
    }
    if (this.pending) {
      this.rejectSocket(socket, { code: 6, subcode: 7 });
      return;
    }
    // A second connection: track it until its OPEN arrives, then resolve the collision.
    this.pending = incoming;
    this.wire(incoming);
    this.dispatch({ type: 'TcpConnection_Valid' });
    if (state !== 'Established') this.sendOpenOn(incoming);
  }

  /** Idle, not stopped, restarting automatically, and not damped after an Established session flapped. */
  private mayStartForIncoming(): boolean {
    return !this.stopped && this.options.autoRestart !== false && !this.idleAfterFlap;
  }

  /** Removes a timer the driver cancelled on its own from the FSM's running set. */
  private forgetFsmTimer(timer: FsmTimerName): void {
    if (!this.fsm.runningTimers.has(timer)) return;
    const running = new Set(this.fsm.runningTimers);
    running.delete(timer);
    this.fsm = { ...this.fsm, runningTimers: running };
  }

  private rejectSocket(socket: SessionSocket, notification: NotificationError): void {
    socket.on('error', () => {});
    socket.write(encodeNotification(notification.code, notification.subcode));
    socket.end();
    // Drain (and discard) whatever the peer still sends, so the socket can reach 'close'.
    socket.resume?.();
  }

  // ---- FSM plumbing -------------------------------------------------------------------------------

  /** Runs an event now, or after the one being processed (events raised by our own listeners). */
  private dispatch(event: FsmEvent, override: NotificationOverride = null): void {
    this.queue.push({ event, override });
    if (!this.dispatching) this.drainQueue();
  }

  /** Runs the queued events in order (the caller is not inside a dispatch). */
  private drainQueue(): void {
    this.dispatching = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        this.notificationOverride = next.override;
        try {
          this.step(next.event);
        } finally {
          this.notificationOverride = null;
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  private step(event: FsmEvent): void {
    const from = this.fsm.state;
    const result = transition(this.fsm, event);
    this.fsm = result.session;
    this.currentEvent = event.type;
    for (const action of result.actions) this.perform(action);
    this.currentEvent = null;
    const to = this.fsm.state;
    if (from === to) return;
    this.emit('stateChanged', from, to);
    if (to === 'Established' && this.negotiated) {
      this.establishedAt = this.clock.now();
      this.emit('established', this.negotiated);
    }
    if (from === 'Established') {
      this.flaps += 1;
      this.establishedAt = null;
    }
    if (to === 'Idle') this.idleAfterFlap = from === 'Established';
    else if (from === 'Idle') this.idleAfterFlap = false;
    if (to === 'Idle' && !this.stopped && this.options.autoRestart !== false) {
      this.queue.push({
        event: {
          type: this.fsm.attributes.passiveTcpEstablishment
            ? 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment'
            : 'AutomaticStart_with_DampPeerOscillations',
        },
        override: null,
      });
    }
  }

  private perform(action: FsmAction): void {
    switch (action.type) {
      case 'StartTimer':
        this.armTimer(action.timer, action.seconds);
        return;
      case 'StopTimer':
        this.cancelTimer(action.timer);
        return;
      case 'Connect':
        this.connectOut();
        return;
      case 'Listen':
        this.listening = true;
        return;
      case 'DropConnection':
        // After the send hold timer the peer is not reading: destroy rather than wait for a flush.
        if (this.connection)
          this.closeConnection(this.connection, undefined, this.currentEvent === 'SendHoldTimer_Expires');
        this.connection = null;
        return;
      case 'SendOpen':
        if (this.connection && !this.connection.openSent) this.sendOpenOn(this.connection);
        return;
      case 'SendKeepalive':
        if (this.connection) this.write(this.connection, encodeKeepalive(), 'keepalive');
        return;
      case 'SendNotification': {
        const override = this.notificationOverride;
        const notification: NotificationError | null =
          override !== null
            ? override.notification
            : action.data === undefined
              ? { code: action.code, subcode: action.subcode }
              : { code: action.code, subcode: action.subcode, data: action.data };
        if (notification === null) {
          this.lastError = 'closed without NOTIFICATION';
          return;
        }
        this.lastError = `sent ${describeNotification(notification)}`;
        if (this.connection?.connected && !this.connection.closed) {
          this.write(
            this.connection,
            encodeNotification(notification.code, notification.subcode, notification.data),
            'notification',
          );
        }
        this.emit('notificationSent', notification);
        return;
      }
      case 'ProcessUpdate':
        if (this.pendingUpdate && this.negotiated) this.emit('update', this.pendingUpdate, this.negotiated);
        return;
      case 'DeleteRoutes':
        this.emit('down', this.lastError ?? 'session closed');
        return;
      case 'ReleaseResources':
        this.negotiated = null;
        this.listening = false;
        this.cancelTimer('SendHold');
        return;
      case 'InitializeResources':
      case 'AcceptConnection':
      case 'RejectConnection':
      case 'IncrementConnectRetryCounter':
      case 'ResetConnectRetryCounter':
      case 'DampPeerOscillations':
        return;
    }
  }

  private armTimer(timer: FsmTimerName, seconds: number): void {
    this.cancelTimer(timer);
    const handle = this.clock.setTimeout(() => {
      if (this.timers.get(timer) !== handle) return;
      this.timers.delete(timer);
      this.dispatch({ type: TIMER_EVENTS[timer] } as FsmEvent);
    }, seconds * 1000);
    this.timers.set(timer, handle);
  }

  private cancelTimer(timer: FsmTimerName): void {
    const handle = this.timers.get(timer);
    if (handle === undefined) return;
    this.clock.clearTimeout(handle);
    this.timers.delete(timer);
  }

  // ---- connections -------------------------------------------------------------------------------

  private connectOut(): void {
    if (this.connection) this.abandon(this.connection);
    const socket = this.socketFactory({
      host: this.options.remote.address,
      port: this.options.remote.port,
      ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
    });
    const connection = new Connection(socket, 'outgoing');
    this.connection = connection;
    socket.on('connect', () => {
      if (connection.closed) return;
      if (connection === this.pending) {
        // Our attempt connected while the peer's connection drives the FSM: send OPEN on it and track
        // it until the peer's OPEN arrives (§6.8); a session already Established keeps its connection.
        connection.connected = true;
        if (this.fsm.state === 'Established') {
          this.pending = null;
          this.closeConnection(connection, { code: 6, subcode: 7 });
        } else this.sendOpenOn(connection);
        return;
      }
      if (this.connection !== connection) return;
      connection.connected = true;
      this.dispatch({ type: 'Tcp_CR_Acked' });
    });
    this.wire(connection);
  }

  private wire(connection: Connection): void {
    const { socket } = connection;
    socket.on('data', (chunk) => this.onData(connection, chunk));
    socket.on('drain', () => {
      if (connection === this.connection) this.cancelTimer('SendHold');
    });
    socket.on('error', (error) => {
      if (connection.closed) return;
      this.lastError = error.message;
      // Connection errors are expected (refused, reset) and also reach the FSM through 'close'; only
      // report them to listeners that asked, since an unheard 'error' event would throw.
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    socket.on('close', () => this.onClose(connection));
  }

  private onClose(connection: Connection): void {
    if (connection.closed) return;
    connection.closed = true;
    if (connection === this.pending) {
      this.pending = null;
      return;
    }
    if (connection === this.connection) {
      this.lastError ??= 'connection closed';
      if (this.pending?.connected && this.fsm.state !== 'Established') {
        // The other connection of a collision lives on: continue the session on it.
        this.adoptPending();
        return;
      }
      this.dispatch({ type: 'TcpConnectionFails' });
    }
  }

  /** Drops a connection without telling the FSM (it was replaced). */
  private abandon(connection: Connection): void {
    connection.closed = true;
    connection.socket.destroy();
  }

  private closeConnection(connection: Connection, notification?: NotificationError, force = false): void {
    if (connection.closed) return;
    if (notification && connection.connected) {
      this.write(
        connection,
        encodeNotification(notification.code, notification.subcode, notification.data),
        'notification',
      );
      this.emit('notificationSent', notification);
    }
    connection.closed = true;
    // A socket the peer stopped reading cannot flush: destroy it instead of waiting.
    if (force) connection.socket.destroy();
    else connection.socket.end();
  }

  private write(
    connection: Connection,
    message: Uint8Array,
    kind: MessageTypeName,
    messageCount = 1,
    onWritten?: (error?: Error | null) => void,
  ): void {
    if (connection.closed) {
      onWritten?.(new Error('connection closed'));
      return;
    }
    this.messagesOut[kind] += messageCount;
    const flushed =
      onWritten === undefined
        ? connection.socket.write(message)
        : connection.socket.write(message, onWritten);
    if (!flushed && connection === this.connection && !this.timers.has('SendHold')) {
      // RFC 9687: the peer is not reading; give it SendHoldTime to make progress.
      const hold = this.negotiated?.holdTime ?? this.fsm.attributes.holdTime;
      this.armTimer('SendHold', this.options.sendHoldTime ?? defaultSendHoldTime(hold));
    }
  }

  private sendOpenOn(connection: Connection): void {
    const local = this.options.local;
    connection.openSent = true;
    this.write(
      connection,
      encodeOpen({
        myAutonomousSystem: openMyAutonomousSystem(local.asNumber),
        holdTime: local.holdTime,
        bgpIdentifier: local.routerId,
        capabilities: localCapabilities(local),
      }),
      'open',
    );
  }

  // ---- received messages -------------------------------------------------------------------------

  private onData(connection: Connection, chunk: Uint8Array): void {
    if (connection.closed) return;
    let messages: Uint8Array[];
    try {
      messages = connection.framer.push(chunk);
    } catch (error) {
      if (!(error instanceof BgpDecodeError)) throw error;
      this.lastError = error.message;
      if (connection === this.connection)
        this.dispatch({ type: 'BGPHeaderErr', error: notificationOf(error) });
      else this.closeConnection(connection, notificationOf(error));
      return;
    }
    try {
      for (const message of messages) {
        if (connection.closed) return;
        const type = message[18]!;
        this.messagesIn[messageTypeName(type)] += 1;
        if (connection === this.pending) this.onPendingMessage(connection, type, message);
        else if (connection === this.connection) this.onMessage(connection, type, message);
      }
    } finally {
      // Once per chunk for the UPDATEs processEstablishedUpdate handled.
      this.restartHoldIfDue();
    }
  }

  private checkOpenMessage(
    message: Uint8Array,
  ): { open: ReceivedOpen; options: NegotiatedSessionOptions } | NotificationError {
    let open: ReceivedOpen;
    try {
      open = decodeOpen(message);
    } catch (error) {
      if (error instanceof BgpDecodeError) {
        this.lastError = error.message;
        return notificationOf(error);
      }
      if (error instanceof OpenRejectedError) {
        this.lastError = error.message;
        return error.notification;
      }
      throw error;
    }
    const result = checkOpen(open, this.options.local, { asNumber: this.options.remote.asNumber });
    if (!result.ok) {
      this.lastError = result.reason;
      return result.error;
    }
    return { open, options: result.options };
  }

  /**
   * An UPDATE in Established without a transition per message: what the FSM does for UpdateMsg there
   * (§8.2.2: process it, restart the HoldTimer if the negotiated HoldTime is non-zero, stay Established;
   * nothing else changes), in that order, with events our listeners raise meanwhile run after it as
   * dispatch() would. The HoldTimer restart is left to the end of the received chunk (`restartHoldDue`)
   * when nothing else happened: every UPDATE of one chunk is handled at the same moment, so restarting it
   * once gives the same deadline without a timer per UPDATE.
   */
  private processEstablishedUpdate(message: Uint8Array, negotiated: NegotiatedSessionOptions): void {
    this.dispatching = true;
    this.currentEvent = 'UpdateMsg';
    try {
      this.emit('update', message, negotiated);
    } finally {
      this.currentEvent = null;
      this.dispatching = false;
    }
    this.restartHoldDue = true;
    if (this.queue.length === 0) return;
    this.restartHoldIfDue();
    this.drainQueue();
  }

  /** Restarts the HoldTimer owed to UPDATEs handled by processEstablishedUpdate (if still Established). */
  private restartHoldIfDue(): void {
    if (!this.restartHoldDue) return;
    this.restartHoldDue = false;
    const hold = this.fsm.negotiatedHoldTime;
    if (this.fsm.state === 'Established' && hold !== null && hold > 0) this.armTimer('Hold', hold);
  }

  private onMessage(connection: Connection, type: number, message: Uint8Array): void {
    switch (type) {
      case 1: {
        const checked = this.checkOpenMessage(message);
        if (!('open' in checked)) {
          this.dispatch({ type: 'BGPOpenMsgErr', error: checked });
          return;
        }
        connection.receivedOpen = checked.open;
        connection.negotiated = checked.options;
        if (this.fsm.state === 'OpenSent' || this.fsm.runningTimers.has('DelayOpen')) {
          this.negotiated = checked.options;
          connection.framer.setContext(codecContextOf(checked.options, 'receive'));
        }
        if (this.pending?.receivedOpen && this.resolvePendingCollision(this.pending)) return;
        const delayed = this.fsm.runningTimers.has('DelayOpen');
        if (delayed && !connection.openSent) {
          this.dispatch({ type: 'BGPOpen_with_DelayOpenTimer_running', holdTime: checked.options.holdTime });
        } else {
          this.dispatch({ type: 'BGPOpen', holdTime: checked.options.holdTime });
        }
        return;
      }
      case 4:
        this.dispatch({ type: 'KeepAliveMsg' });
        return;
      case 3: {
        const notification = decodeNotification(message);
        this.lastError = `received ${describeNotification(notification)}`;
        this.emit('notificationReceived', notification);
        if (
          notification.code === 6 &&
          notification.subcode === 7 &&
          this.pending?.connected &&
          this.fsm.state !== 'Established'
        ) {
          // The peer resolved the collision for the other connection before we did: continue on it.
          this.abandon(connection);
          this.adoptPending();
          return;
        }
        this.dispatch({
          type: notification.code === 2 && notification.subcode === 1 ? 'NotifMsgVerErr' : 'NotifMsg',
        });
        return;
      }
      case 2:
        if (this.fsm.state === 'Established' && !this.dispatching && this.negotiated) {
          this.processEstablishedUpdate(message, this.negotiated);
          return;
        }
        this.pendingUpdate = message;
        this.dispatch({ type: 'UpdateMsg' });
        this.pendingUpdate = null;
        return;
      default:
        if (this.fsm.state === 'Established') this.emit('routeRefresh', message);
        return;
    }
  }

  private onPendingMessage(connection: Connection, type: number, message: Uint8Array): void {
    if (type === 1) {
      const checked = this.checkOpenMessage(message);
      if (!('open' in checked)) {
        this.closeConnection(connection, checked);
        this.pending = null;
        return;
      }
      connection.receivedOpen = checked.open;
      connection.negotiated = checked.options;
      this.resolvePendingCollision(connection);
      return;
    }
    if (type === 3) {
      this.emit('notificationReceived', decodeNotification(message));
      this.abandon(connection);
      this.pending = null;
      return;
    }
    // Anything before its OPEN is an FSM error on that connection only.
    this.closeConnection(connection, { code: 5, subcode: 1 });
    this.pending = null;
  }

  /** §6.8 on the tracked second connection; true when the existing connection was replaced. */
  private resolvePendingCollision(pending: Connection): boolean {
    const existing = this.connection;
    const open = pending.receivedOpen;
    if (!open || !pending.negotiated) return false;
    const verdict = existing
      ? resolveCollision({
          localRouterId: this.options.local.routerId,
          remoteRouterId: open.bgpIdentifier,
          localAs: this.options.local.asNumber,
          remoteAs: pending.negotiated.peerAs,
          existing: { direction: existing.direction, state: this.fsm.state },
          incoming: { direction: pending.direction },
        })
      : 'closeExisting';
    if (verdict === 'closeNew') {
      this.closeConnection(pending, { code: 6, subcode: 7 });
      this.pending = null;
      return false;
    }
    if (verdict === 'noCollision') return false;
    // The new connection wins: Cease/7 on the old one, and the session continues on the new one.
    if (existing) this.closeConnection(existing, { code: 6, subcode: 7 });
    this.adoptPending();
    return true;
  }

  /**
   * Makes the tracked second connection the session's, rebuilding the FSM on it by replaying its
   * history: passive start, connection confirmed (our OPEN was already sent on it), its OPEN if received.
   * The previous connection is already closed (or being closed) by the caller.
   */
  private adoptPending(): void {
    const pending = this.pending;
    if (pending === null) return;
    for (const timer of [...this.timers.keys()]) this.cancelTimer(timer);
    const previous = this.fsm;
    this.fsm = {
      ...createFsmSession(previous.attributes),
      connectRetryCounter: previous.connectRetryCounter,
      currentIdleHoldTime: previous.currentIdleHoldTime,
      dampedFlaps: previous.dampedFlaps,
    };
    const from = previous.state;
    this.connection = pending;
    this.pending = null;
    this.negotiated = null;
    const quiet = (event: FsmEvent): void => {
      const result = transition(this.fsm, event);
      this.fsm = result.session;
      for (const action of result.actions) this.perform(action);
    };
    quiet({ type: 'ManualStart_with_PassiveTcpEstablishment' });
    if (pending.connected) {
      if (!pending.openSent) this.sendOpenOn(pending);
      quiet({ type: 'TcpConnectionConfirmed' });
      if (pending.negotiated) {
        this.negotiated = pending.negotiated;
        pending.framer.setContext(codecContextOf(pending.negotiated, 'receive'));
        quiet({ type: 'BGPOpen', holdTime: pending.negotiated.holdTime });
      }
    }
    if (from !== this.fsm.state) this.emit('stateChanged', from, this.fsm.state);
  }

  /** For tests and diagnostics: the FSM's view. */
  get fsmSession(): FsmSession {
    return this.fsm;
  }
}

/** Checks a NOTIFICATION we are asked to send: code and subcode are octets (RFC 4271 §4.5). */
function checkNotification(notification: NotificationError): void {
  const { code, subcode } = notification;
  if (!Number.isInteger(code) || code < 1 || code > 255)
    throw new RangeError(`NOTIFICATION error code ${code} is not an integer from 1 to 255`);
  if (!Number.isInteger(subcode) || subcode < 0 || subcode > 255)
    throw new RangeError(`NOTIFICATION error subcode ${subcode} is not an integer from 0 to 255`);
}
