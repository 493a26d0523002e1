// The RFC 4271 §8.2.2 finite state machine as a pure transition function (state, event) → {state,
// actions}: no I/O, no clocks. The driver performs the actions (timers, socket, messages) and feeds the
// resulting events back. Paragraph references below are to RFC 4271 §8.2.2 unless said otherwise.
import type {
  FsmAction,
  FsmEvent,
  FsmResult,
  FsmSession,
  FsmTimerName,
  NotificationError,
  SessionAttributes,
  SessionState,
} from './types.js';

/** NOTIFICATION error codes used by the FSM (RFC 4271 §4.5, RFC 9687). */
export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FiniteStateMachine: 5,
  Cease: 6,
  RouteRefresh: 7,
  SendHoldTimerExpired: 8,
} as const;

/** RFC 6608 FSM error subcodes. */
export const FsmErrorSubcode = {
  Unspecified: 0,
  UnexpectedMessageInOpenSent: 1,
  UnexpectedMessageInOpenConfirm: 2,
  UnexpectedMessageInEstablished: 3,
} as const;

/** RFC 4486 Cease subcodes. */
export const CeaseSubcode = {
  MaximumPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeConfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
} as const;

/** Defaults: RFC 4271 §10 suggested values where it has them, Caracal choices otherwise. */
export const DEFAULT_SESSION_ATTRIBUTES: SessionAttributes = {
  connectRetryTime: 5,
  holdTime: 90,
  keepaliveTime: 30,
  openSentHoldTime: 240,
  delayOpen: false,
  delayOpenTime: 5,
  passiveTcpEstablishment: false,
  dampPeerOscillations: true,
  idleHoldTime: 5,
  maxIdleHoldTime: 120,
  dampingResetTime: 300,
  sendNotificationWithoutOpen: true,
};

/** A fresh session in Idle. */
export function createFsmSession(attributes: Partial<SessionAttributes> = {}): FsmSession {
  const merged = { ...DEFAULT_SESSION_ATTRIBUTES, ...attributes };
  return {
    state: 'Idle',
    attributes: merged,
    connectRetryCounter: 0,
    runningTimers: new Set(),
    negotiatedHoldTime: null,
    currentIdleHoldTime: merged.idleHoldTime,
    dampedFlaps: 0,
  };
}

/** The effective keepalive interval for a negotiated hold time: min(configured, hold/3), 0 if hold is 0. */
export function keepaliveIntervalFor(negotiatedHoldTime: number, configuredKeepalive: number): number {
  if (negotiatedHoldTime === 0) return 0;
  const third = Math.floor(negotiatedHoldTime / 3);
  return Math.max(1, configuredKeepalive > 0 ? Math.min(configuredKeepalive, third) : third);
}

/** RFC 9687 default SendHoldTime: max(8 minutes, 2 × HoldTime). */
export function defaultSendHoldTime(holdTime: number): number {
  return Math.max(480, 2 * holdTime);
}

/** The order in which a teardown stops timers (deterministic for the driver and the tests). */
const TIMER_ORDER: readonly FsmTimerName[] = [
  'ConnectRetry',
  'DelayOpen',
  'Hold',
  'Keepalive',
  'IdleHold',
  'SendHold',
  'DampingReset',
];

/** Accumulates actions and session changes for one transition. */
class Step {
  readonly actions: FsmAction[] = [];
  private timers: Set<FsmTimerName>;
  private next: {
    state: SessionState;
    connectRetryCounter: number;
    negotiatedHoldTime: number | null;
    currentIdleHoldTime: number;
    dampedFlaps: number;
  };

  constructor(private readonly session: FsmSession) {
    this.timers = new Set(session.runningTimers);
    this.next = {
      state: session.state,
      connectRetryCounter: session.connectRetryCounter,
      negotiatedHoldTime: session.negotiatedHoldTime,
      currentIdleHoldTime: session.currentIdleHoldTime,
      dampedFlaps: session.dampedFlaps,
    };
  }

  get attributes(): SessionAttributes {
    return this.session.attributes;
  }

  isRunning(timer: FsmTimerName): boolean {
    return this.timers.has(timer);
  }

  /** Was the timer running before this event (an expiring timer was)? */
  wasRunning(timer: FsmTimerName): boolean {
    return this.session.runningTimers.has(timer);
  }

  push(action: FsmAction): this {
    this.actions.push(action);
    return this;
  }

  start(timer: FsmTimerName, seconds: number): this {
    this.timers.add(timer);
    return this.push({ type: 'StartTimer', timer, seconds });
  }

  /** Stops a timer ("sets it to zero"); emits nothing if it was not running. */
  stop(timer: FsmTimerName): this {
    if (!this.timers.delete(timer)) return this;
    return this.push({ type: 'StopTimer', timer });
  }

  notify(code: number, subcode: number, data?: Uint8Array): this {
    return this.push(
      data === undefined
        ? { type: 'SendNotification', code, subcode }
        : { type: 'SendNotification', code, subcode, data },
    );
  }

  notifyError(error: NotificationError): this {
    return this.notify(error.code, error.subcode, error.data);
  }

  incrementCounter(): this {
    this.next.connectRetryCounter += 1;
    return this.push({ type: 'IncrementConnectRetryCounter' });
  }

  resetCounter(): this {
    this.next.connectRetryCounter = 0;
    return this.push({ type: 'ResetConnectRetryCounter' });
  }

  /** "performs peer oscillation damping if the DampPeerOscillations attribute is set to TRUE" */
  damp(): this {
    if (!this.attributes.dampPeerOscillations) return this;
    const { idleHoldTime, maxIdleHoldTime } = this.attributes;
    this.next.currentIdleHoldTime =
      this.next.dampedFlaps === 0
        ? idleHoldTime
        : Math.min(this.next.currentIdleHoldTime * 2, maxIdleHoldTime);
    this.next.dampedFlaps += 1;
    return this.push({ type: 'DampPeerOscillations', idleHoldTime: this.next.currentIdleHoldTime });
  }

  resetDamping(): void {
    this.next.currentIdleHoldTime = this.attributes.idleHoldTime;
    this.next.dampedFlaps = 0;
  }

  negotiated(holdTime: number | null): this {
    this.next.negotiatedHoldTime = holdTime;
    return this;
  }

  get negotiatedHoldTime(): number | null {
    return this.next.negotiatedHoldTime;
  }

  get currentIdleHoldTime(): number {
    return this.next.currentIdleHoldTime;
  }

  get dampedFlaps(): number {
    return this.next.dampedFlaps;
  }

  /** A timer fired: it is no longer running unless the transition restarts it. */
  expired(timer: FsmTimerName): void {
    this.timers.delete(timer);
  }

  /** Stops every running timer. */
  stopAllTimers(): this {
    for (const timer of TIMER_ORDER) this.stop(timer);
    return this;
  }

  to(state: SessionState): FsmResult {
    this.next.state = state;
    if (state === 'Idle') this.next.negotiatedHoldTime = null;
    return {
      session: { ...this.session, ...this.next, runningTimers: this.timers },
      actions: this.actions,
    };
  }
}

type TeardownCounter = 'increment' | 'reset' | 'keep';

/**
 * The common "go to Idle" sequence: optional NOTIFICATION, stop timers (ConnectRetryTimer "set to zero",
 * DelayOpenTimer, HoldTimer, KeepaliveTimer), delete routes when leaving Established, release
 * resources, drop the TCP connection, then the ConnectRetryCounter and damping steps.
 */
function teardown(
  step: Step,
  options: {
    notification?: NotificationError;
    counter: TeardownCounter;
    deleteRoutes?: boolean;
    drop?: boolean;
  },
): FsmResult {
  if (options.notification) step.notifyError(options.notification);
  step.stopAllTimers();
  if (options.deleteRoutes) step.push({ type: 'DeleteRoutes' });
  step.push({ type: 'ReleaseResources' });
  if (options.drop !== false) step.push({ type: 'DropConnection' });
  if (options.counter === 'increment') step.incrementCounter().damp();
  else if (options.counter === 'reset') step.resetCounter();
  return step.to('Idle');
}

const cease = (subcode: number): NotificationError => ({ code: ErrorCode.Cease, subcode });
const holdTimerExpired: NotificationError = { code: ErrorCode.HoldTimerExpired, subcode: 0 };
const sendHoldTimerExpired: NotificationError = { code: ErrorCode.SendHoldTimerExpired, subcode: 0 };

/** Is this one of the start events 1, 3–7 (ignored outside Idle)? */
function isStartEvent(event: FsmEvent): boolean {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_DampPeerOscillations':
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment':
      return true;
    default:
      return false;
  }
}

/** Idle → Connect (events 1, 3) or Active (events 4, 5): initialise, counter 0, start ConnectRetryTimer. */
function startSession(step: Step, passive: boolean): FsmResult {
  step.push({ type: 'InitializeResources' }).resetCounter();
  step.start('ConnectRetry', step.attributes.connectRetryTime);
  if (passive) return step.push({ type: 'Listen' }).to('Active');
  return step.push({ type: 'Connect' }).push({ type: 'Listen' }).to('Connect');
}

/** Send OPEN after the TCP connection is up (or the DelayOpenTimer fired): HoldTimer to the large value. */
function sendOpen(step: Step): FsmResult {
  step.stop('ConnectRetry').stop('DelayOpen');
  step.push({ type: 'SendOpen' });
  step.start('Hold', step.attributes.openSentHoldTime);
  return step.to('OpenSent');
}

/** A valid OPEN was received: send KEEPALIVE, run KeepaliveTimer and HoldTimer on the negotiated hold. */
function acceptOpen(step: Step, holdTime: number): FsmResult {
  step.stop('ConnectRetry').stop('DelayOpen');
  step.negotiated(holdTime);
  step.push({ type: 'SendKeepalive' });
  if (holdTime > 0) {
    step.start('Keepalive', keepaliveIntervalFor(holdTime, step.attributes.keepaliveTime));
    step.start('Hold', holdTime);
  } else {
    step.stop('Keepalive').stop('Hold');
  }
  return step.to('OpenConfirm');
}

/** Restart the HoldTimer on a received KEEPALIVE/UPDATE (only when the negotiated hold time is non-zero). */
function restartHold(step: Step): void {
  const hold = step.negotiatedHoldTime;
  if (hold !== null && hold > 0) step.start('Hold', hold);
}

function idle(step: Step, event: FsmEvent): FsmResult {
  const a = step.attributes;
  switch (event.type) {
    // "Upon a ManualStart event (Event 1) … changes its state to Connect." Same for AutomaticStart (3).
    case 'ManualStart':
    case 'AutomaticStart':
      return startSession(step, a.passiveTcpEstablishment);
    // "ManualStart_with_PassiveTcpEstablishment (Event 4) … changes its state to Active." Same for 5.
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      return startSession(step, true);
    // Events 6, 7 "will use these events to prevent peer oscillations. The method … is outside the scope":
    // Caracal waits the current IdleHoldTime (exponential backoff) before starting.
    case 'AutomaticStart_with_DampPeerOscillations':
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment':
      if (!a.dampPeerOscillations) return step.to('Idle');
      if (!step.isRunning('IdleHold')) step.start('IdleHold', step.currentIdleHoldTime);
      return step.to('Idle');
    // Event 13: the damped start proceeds like an automatic start.
    case 'IdleHoldTimer_Expires':
      if (!step.wasRunning('IdleHold')) return step.to('Idle');
      return startSession(step, a.passiveTcpEstablishment);
    // "The ManualStop event (Event 2) and AutomaticStop (Event 8) event are ignored in the Idle state."
    // "Any other event (Events 9-12, 15-28) received in the Idle state does not cause change in the state".
    default:
      return step.to('Idle');
  }
}

function connect(step: Step, event: FsmEvent): FsmResult {
  const a = step.attributes;
  if (isStartEvent(event)) return step.to('Connect'); // "Events 1, 3-7 are ignored in the Connect state."
  switch (event.type) {
    // "In response to a ManualStop event (Event 2), the local system: drops the TCP connection, releases
    // all BGP resources, sets ConnectRetryCounter to zero, stops the ConnectRetryTimer … changes … Idle"
    case 'ManualStop':
      return teardown(step, { counter: 'reset' });
    // "In response to the ConnectRetryTimer_Expires event (Event 9): drops the TCP connection, restarts
    // the ConnectRetryTimer, stops the DelayOpenTimer …, initiates a TCP connection …, stays in Connect"
    case 'ConnectRetryTimer_Expires':
      step.push({ type: 'DropConnection' });
      step.start('ConnectRetry', a.connectRetryTime);
      step.stop('DelayOpen');
      step.push({ type: 'Connect' });
      return step.to('Connect');
    // "If the DelayOpenTimer_Expires event (Event 12) occurs: sends an OPEN message …, sets the HoldTimer
    // to a large value, and changes its state to OpenSent."
    case 'DelayOpenTimer_Expires':
      return sendOpen(step);
    // "If the BGP FSM receives a TcpConnection_Valid event (Event 14), the TCP connection is processed"
    case 'TcpConnection_Valid':
      step.push({ type: 'AcceptConnection' });
      return step.to('Connect');
    // "If the BGP FSM receives a Tcp_CR_Invalid event (Event 15), the local system rejects the TCP
    // connection, and the local system remains in the Connect state."
    case 'Tcp_CR_Invalid':
      step.push({ type: 'RejectConnection' });
      return step.to('Connect');
    // Events 16/17: with DelayOpen, stop ConnectRetryTimer and start the DelayOpenTimer; otherwise
    // stop ConnectRetryTimer, send OPEN, HoldTimer to a large value, → OpenSent.
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      if (a.delayOpen) {
        step.stop('ConnectRetry');
        step.start('DelayOpen', a.delayOpenTime);
        return step.to('Connect');
      }
      return sendOpen(step);
    // "If the TCP connection fails (Event 18), the local system checks the DelayOpenTimer. If the
    // DelayOpenTimer is running: restarts the ConnectRetryTimer…, stops the DelayOpenTimer…, continues
    // to listen…, changes its state to Active. If the DelayOpenTimer is not running: stops the
    // ConnectRetryTimer to zero, drops the TCP connection, releases all BGP resources, → Idle."
    case 'TcpConnectionFails':
      if (step.isRunning('DelayOpen')) {
        step.start('ConnectRetry', a.connectRetryTime);
        step.stop('DelayOpen');
        step.push({ type: 'Listen' });
        return step.to('Active');
      }
      step.stopAllTimers();
      step.push({ type: 'DropConnection' }).push({ type: 'ReleaseResources' });
      return step.to('Idle');
    // Event 20: "stops the ConnectRetryTimer, completes the BGP initialization, stops and clears the
    // DelayOpenTimer, sends an OPEN message, sends a KEEPALIVE message, … → OpenConfirm"
    case 'BGPOpen_with_DelayOpenTimer_running':
      if (!step.isRunning('DelayOpen')) break;
      step.push({ type: 'SendOpen' });
      return acceptOpen(step, event.holdTime);
    // Events 21/22: "(optionally) If the SendNOTIFICATIONwithoutOPEN attribute is set to TRUE, then the
    // local system first sends a NOTIFICATION … stops the ConnectRetryTimer, releases all BGP resources,
    // drops the TCP connection, increments the ConnectRetryCounter by 1, (optionally) performs peer
    // oscillation damping …, changes its state to Idle."
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return teardown(step, {
        ...(a.sendNotificationWithoutOpen ? { notification: event.error } : {}),
        counter: 'increment',
      });
    // Event 24: with DelayOpenTimer running: stop timers, release, drop, → Idle; otherwise also
    // increment the ConnectRetryCounter and damp.
    case 'NotifMsgVerErr':
      return teardown(step, { counter: step.isRunning('DelayOpen') ? 'keep' : 'increment' });
    default:
      break;
  }
  // "In response to any other events (Events 8, 10-11, 13, 19, 23, 25-28), the local system: if the
  // ConnectRetryTimer is running, stops and resets the ConnectRetryTimer (sets to zero), if the
  // DelayOpenTimer is running, stops and resets the DelayOpenTimer (sets to zero), releases all BGP
  // resources, drops the TCP connection, increments the ConnectRetryCounter by 1, performs peer
  // oscillation damping if the DampPeerOscillations attribute is set to True, and changes its state
  // to Idle."
  return teardown(step, { counter: 'increment' });
}

function active(step: Step, event: FsmEvent): FsmResult {
  const a = step.attributes;
  if (isStartEvent(event)) return step.to('Active'); // "Events 1, 3-7 are ignored in the Active state."
  switch (event.type) {
    // "In response to a ManualStop event (Event 2), the local system: If the DelayOpenTimer is running and
    // the SendNOTIFICATIONwithoutOPEN session attribute is set, the local system sends a NOTIFICATION with
    // a Cease, releases all BGP resources including stopping the DelayOpenTimer, drops the TCP
    // connection, sets ConnectRetryCounter to zero, stops the ConnectRetryTimer …, → Idle."
    case 'ManualStop':
      return teardown(step, {
        ...(step.isRunning('DelayOpen') && a.sendNotificationWithoutOpen
          ? { notification: cease(CeaseSubcode.AdministrativeShutdown) }
          : {}),
        counter: 'reset',
      });
    // "In response to a ConnectRetryTimer_Expires event (Event 9), the local system: restarts the
    // ConnectRetryTimer, initiates a TCP connection, continues to listen, and changes its state to Connect."
    case 'ConnectRetryTimer_Expires':
      step.start('ConnectRetry', a.connectRetryTime);
      step.push({ type: 'Connect' });
      return step.to('Connect');
    // Event 12: "sets the ConnectRetryTimer to zero, stops and clears the DelayOpenTimer, completes the BGP
    // initialization, sends the OPEN message, sets its hold timer to a large value, → OpenSent."
    case 'DelayOpenTimer_Expires':
      return sendOpen(step);
    case 'TcpConnection_Valid':
      step.push({ type: 'AcceptConnection' });
      return step.to('Active');
    case 'Tcp_CR_Invalid':
      step.push({ type: 'RejectConnection' });
      return step.to('Active');
    // Events 16/17: with DelayOpen "sets the ConnectRetryTimer to zero, sets the DelayOpenTimer to the
    // initial value"; otherwise "sets the ConnectRetryTimer to zero, completes the BGP initialization,
    // sends the OPEN message, sets its HoldTimer to a large value, → OpenSent".
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      if (a.delayOpen) {
        step.stop('ConnectRetry');
        step.start('DelayOpen', a.delayOpenTime);
        return step.to('Active');
      }
      return sendOpen(step);
    // "If the local system receives a TcpConnectionFails event (Event 18), the local system: restarts the
    // ConnectRetryTimer (with the initial value), stops and clears the DelayOpenTimer (sets the value to
    // zero), releases all BGP resource, increments the ConnectRetryCounter by 1, optionally performs peer
    // oscillation damping …, and changes its state to Idle."
    case 'TcpConnectionFails':
      step.stopAllTimers();
      step.push({ type: 'ReleaseResources' }).push({ type: 'DropConnection' });
      step.incrementCounter().damp();
      return step.to('Idle');
    // Event 20 in Active: as in Connect, → OpenConfirm.
    case 'BGPOpen_with_DelayOpenTimer_running':
      if (!step.isRunning('DelayOpen')) break;
      step.push({ type: 'SendOpen' });
      return acceptOpen(step, event.holdTime);
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return teardown(step, {
        ...(a.sendNotificationWithoutOpen ? { notification: event.error } : {}),
        counter: 'increment',
      });
    case 'NotifMsgVerErr':
      return teardown(step, { counter: step.isRunning('DelayOpen') ? 'keep' : 'increment' });
    default:
      break;
  }
  // "In response to any other event (Events 8, 10-11, 13, 19, 23, 25-28), the local system: sets the
  // ConnectRetryTimer to zero, releases all BGP resources, drops the TCP connection, increments the
  // ConnectRetryCounter by one, (optionally) performs peer oscillation damping …, → Idle."
  return teardown(step, { counter: 'increment' });
}

function openSent(step: Step, event: FsmEvent): FsmResult {
  if (isStartEvent(event)) return step.to('OpenSent'); // "Events 1, 3-7 are ignored in the OpenSent state."
  switch (event.type) {
    // "If a ManualStop event (Event 2) is issued in the OpenSent state, the local system: sends the
    // NOTIFICATION with a Cease, sets the ConnectRetryTimer to zero, releases all BGP resources, drops the
    // TCP connection, sets the ConnectRetryCounter to zero, and changes its state to Idle."
    case 'ManualStop':
      return teardown(step, { notification: cease(CeaseSubcode.AdministrativeShutdown), counter: 'reset' });
    // "If an AutomaticStop event (Event 8) is issued … sends the NOTIFICATION with a Cease, … increments
    // the ConnectRetryCounter by 1, (optionally) performs peer oscillation damping …, → Idle."
    case 'AutomaticStop':
      return teardown(step, { notification: cease(CeaseSubcode.AdministrativeReset), counter: 'increment' });
    // "If the HoldTimer_Expires (Event 10), the local system: sends a NOTIFICATION message with the error
    // code Hold Timer Expired, … increments the ConnectRetryCounter, … → Idle."
    case 'HoldTimer_Expires':
      return teardown(step, { notification: holdTimerExpired, counter: 'increment' });
    // "A TcpConnection_Valid (Event 14), Tcp_CR_Acked (Event 16), or a TcpConnectionConfirmed event
    // (Event 17) followed by a TcpConnection_Valid … collision processing": a second connection is
    // tracked (the driver runs §6.8 collision detection on it). "A Tcp_CR_Invalid (Event 15) is ignored."
    case 'TcpConnection_Valid':
      step.push({ type: 'AcceptConnection' });
      return step.to('OpenSent');
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
      return step.to('OpenSent');
    // "If a TcpConnectionFails event (Event 18) is received, the local system: closes the BGP connection,
    // restarts the ConnectRetryTimer, continues to listen for a connection …, → Active."
    case 'TcpConnectionFails':
      step.stop('Hold');
      step.push({ type: 'DropConnection' });
      step.start('ConnectRetry', step.attributes.connectRetryTime);
      step.push({ type: 'Listen' });
      return step.to('Active');
    // "When an OPEN message is received, all fields are checked for correctness. If there are no errors
    // in the OPEN message (Event 19), the local system: resets the DelayOpenTimer to zero, sets the BGP
    // ConnectRetryTimer to zero, sends a KEEPALIVE message, and sets a KeepaliveTimer …, sets the
    // HoldTimer according to the negotiated value …, → OpenConfirm." (hold 0: neither timer runs)
    case 'BGPOpen':
      return acceptOpen(step, event.holdTime);
    // "If the BGP message header checking or OPEN message checking detects an error (see Section 6.2)
    // (Events 21 or 22), the local system: sends a NOTIFICATION message with the appropriate error code,
    // … increments the ConnectRetryCounter by 1, …, → Idle."
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return teardown(step, { notification: event.error, counter: 'increment' });
    // "If a connection in the OpenSent state is determined to be the connection that must be closed, an
    // OpenCollisionDump (Event 23) is signaled … sends a NOTIFICATION with a Cease, … → Idle."
    case 'OpenCollisionDump':
      return teardown(step, {
        notification: cease(CeaseSubcode.ConnectionCollisionResolution),
        counter: 'increment',
      });
    // "If a NOTIFICATION message is received with a version error (Event 24), the local system: sets the
    // ConnectRetryTimer to zero, releases all BGP resources, drops the TCP connection, → Idle."
    case 'NotifMsgVerErr':
      return teardown(step, { counter: 'keep' });
    // RFC 9687 §4: "sends a NOTIFICATION message with the error code Send Hold Timer Expired (if
    // possible), … increments the ConnectRetryCounter, … changes its state to Idle."
    case 'SendHoldTimer_Expires':
      return teardown(step, { notification: sendHoldTimerExpired, counter: 'increment' });
    default:
      break;
  }
  // "In response to any other event (Events 9, 11-13, 20, 25-28), the local system: sends the
  // NOTIFICATION with the Error Code Finite State Machine Error, sets the ConnectRetryTimer to zero,
  // releases all BGP resources, drops the TCP connection, increments the ConnectRetryCounter by 1,
  // (optionally) performs peer oscillation damping …, → Idle." Subcode per RFC 6608 for messages.
  return teardown(step, {
    notification: fsmError(event, FsmErrorSubcode.UnexpectedMessageInOpenSent),
    counter: 'increment',
  });
}

function openConfirm(step: Step, event: FsmEvent): FsmResult {
  if (isStartEvent(event)) return step.to('OpenConfirm'); // "Events 1, 3-7 are ignored"
  switch (event.type) {
    // "In response to a ManualStop event (Event 2) initiated by the operator, the local system: sends the
    // NOTIFICATION message with a Cease, releases all BGP resources, drops the TCP connection, sets the
    // ConnectRetryCounter to zero, sets the ConnectRetryTimer to zero, → Idle."
    case 'ManualStop':
      return teardown(step, { notification: cease(CeaseSubcode.AdministrativeShutdown), counter: 'reset' });
    case 'AutomaticStop':
      return teardown(step, { notification: cease(CeaseSubcode.AdministrativeReset), counter: 'increment' });
    case 'HoldTimer_Expires':
      return teardown(step, { notification: holdTimerExpired, counter: 'increment' });
    // "If the local system receives a KeepaliveTimer_Expires event (Event 11), the local system: sends a
    // KEEPALIVE message, restarts the KeepaliveTimer, and remains in the OpenConfirmed state."
    case 'KeepaliveTimer_Expires':
      return keepaliveTick(step, 'OpenConfirm');
    // "In the event of a TcpConnection_Valid event (Event 14), or the success of a TCP connection
    // (Event 16 or Event 17) while in OpenConfirm, the local system needs to track the second
    // connection." "If a Tcp_CR_Invalid (Event 15) is received, the local system will ignore the event."
    case 'TcpConnection_Valid':
      step.push({ type: 'AcceptConnection' });
      return step.to('OpenConfirm');
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
      return step.to('OpenConfirm');
    // "If the local system receives a TcpConnectionFails event (Event 18) from the underlying TCP or a
    // NOTIFICATION message (Event 25), the local system: sets the ConnectRetryTimer to zero, releases all
    // BGP resources, drops the TCP connection, increments the ConnectRetryCounter by 1, (optionally)
    // performs peer oscillation damping …, → Idle."
    case 'TcpConnectionFails':
    case 'NotifMsg':
      return teardown(step, { counter: 'increment' });
    // "If the local system receives a NOTIFICATION message with a version error (NotifMsgVerErr
    // (Event 24)), the local system: sets the ConnectRetryTimer to zero, releases all BGP resources,
    // drops the TCP connection, → Idle."
    case 'NotifMsgVerErr':
      return teardown(step, { counter: 'keep' });
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return teardown(step, { notification: event.error, counter: 'increment' });
    // "If, during the processing of another OPEN message, the BGP implementation determines … that this
    // connection is to be dropped due to connection collision, … OpenCollisionDump (Event 23) … sends a
    // NOTIFICATION with a Cease, … → Idle."
    case 'OpenCollisionDump':
      return teardown(step, {
        notification: cease(CeaseSubcode.ConnectionCollisionResolution),
        counter: 'increment',
      });
    // "If the local system receives a KEEPALIVE message (KeepAliveMsg (Event 26)), the local system:
    // restarts the HoldTimer and changes its state to Established."
    case 'KeepAliveMsg': {
      restartHold(step);
      const a = step.attributes;
      if (a.dampPeerOscillations && step.dampedFlaps > 0) {
        step.start('DampingReset', a.dampingResetTime);
      }
      return step.to('Established');
    }
    case 'SendHoldTimer_Expires':
      return teardown(step, { notification: sendHoldTimerExpired, counter: 'increment' });
    default:
      break;
  }
  // Event 19 here: collisions between two connections are resolved by the driver (§6.8), which signals
  // OpenCollisionDump to the losing connection; a second OPEN on this same connection is unexpected.
  // "In response to any other event (Events 9, 12-13, 20, 27-28), the local system: sends a
  // NOTIFICATION with a code of Finite State Machine Error, … → Idle."
  return teardown(step, {
    notification: fsmError(event, FsmErrorSubcode.UnexpectedMessageInOpenConfirm),
    counter: 'increment',
  });
}

function keepaliveTick(step: Step, state: SessionState): FsmResult {
  step.push({ type: 'SendKeepalive' });
  const hold = step.negotiatedHoldTime;
  if (hold !== null && hold > 0)
    step.start('Keepalive', keepaliveIntervalFor(hold, step.attributes.keepaliveTime));
  return step.to(state);
}

function established(step: Step, event: FsmEvent): FsmResult {
  if (isStartEvent(event)) return step.to('Established'); // "Events 1, 3-7 are ignored"
  switch (event.type) {
    // "In response to a ManualStop event (initiated by an operator) (Event 2), the local system: sends
    // the NOTIFICATION message with a Cease, sets the ConnectRetryTimer to zero, deletes all routes
    // associated with this connection, releases BGP resources, drops the TCP connection, sets the
    // ConnectRetryCounter to zero, and changes its state to Idle."
    case 'ManualStop':
      return teardown(step, {
        notification: cease(CeaseSubcode.AdministrativeShutdown),
        counter: 'reset',
        deleteRoutes: true,
      });
    // "In response to an AutomaticStop event (Event 8), the local system: sends a NOTIFICATION with a
    // Cease, … deletes all routes …, increments the ConnectRetryCounter by 1, … → Idle."
    case 'AutomaticStop':
      return teardown(step, {
        notification: cease(CeaseSubcode.AdministrativeReset),
        counter: 'increment',
        deleteRoutes: true,
      });
    // "If the HoldTimer_Expires event occurs (Event 10), the local system: sends a NOTIFICATION message
    // with the Error Code Hold Timer Expired, … increments the ConnectRetryCounter by 1, … → Idle."
    case 'HoldTimer_Expires':
      return teardown(step, { notification: holdTimerExpired, counter: 'increment', deleteRoutes: true });
    // "If the KeepaliveTimer_Expires event occurs (Event 11), the local system: sends a KEEPALIVE message,
    // and restarts its KeepaliveTimer, unless the negotiated HoldTime value is zero."
    case 'KeepaliveTimer_Expires':
      return keepaliveTick(step, 'Established');
    // "A TcpConnection_Valid (Event 14), received for a valid port, will cause the second connection to be
    // tracked." "In response to an indication that the TCP connection is successfully established
    // (Event 16 or Event 17), the second connection SHALL be tracked until it sends an OPEN message."
    // "A Tcp_CR_Invalid event (Event 15) will be ignored."
    case 'TcpConnection_Valid':
      step.push({ type: 'AcceptConnection' });
      return step.to('Established');
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
      return step.to('Established');
    // "If the local system receives a NOTIFICATION message (Event 24 or Event 25) or a TcpConnectionFails
    // (Event 18) from the underlying TCP, the local system: sets the ConnectRetryTimer to zero, deletes
    // all routes …, releases all the BGP resources, drops the TCP connection, increments the
    // ConnectRetryCounter by 1, and changes its state to Idle."
    case 'NotifMsgVerErr':
    case 'NotifMsg':
    case 'TcpConnectionFails':
      return teardown(step, { counter: 'increment', deleteRoutes: true });
    // "If the local system receives a KEEPALIVE message (Event 26), the local system: restarts its
    // HoldTimer, if the negotiated HoldTime value is non-zero, and remains in the Established state."
    case 'KeepAliveMsg':
      restartHold(step);
      return step.to('Established');
    // "If the local system receives an UPDATE message (Event 27), the local system: processes the message,
    // restarts its HoldTimer, if the negotiated HoldTime value is non-zero, and remains in the
    // Established state."
    case 'UpdateMsg':
      step.push({ type: 'ProcessUpdate' });
      restartHold(step);
      return step.to('Established');
    // "If the local system receives an UPDATE message, and the UPDATE message error handling procedure
    // (see Section 6.3) detects an error (Event 28), the local system: sends a NOTIFICATION message with an
    // Update error, … deletes all routes …, increments the ConnectRetryCounter by 1, … → Idle."
    case 'UpdateMsgErr':
      return teardown(step, { notification: event.error, counter: 'increment', deleteRoutes: true });
    // "If the local system receives a valid OPEN … CollisionDetectEstablishedState … OpenCollisionDump
    // (Event 23) … sends a NOTIFICATION with a Cease, … deletes all routes …, → Idle."
    case 'OpenCollisionDump':
      return teardown(step, {
        notification: cease(CeaseSubcode.ConnectionCollisionResolution),
        counter: 'increment',
        deleteRoutes: true,
      });
    // Caracal: a header error found by the framer is reported with its own code per §6.1 (the §8.2.2
    // catch-all below would send an FSM error, which hides the cause).
    case 'BGPHeaderErr':
      return teardown(step, { notification: event.error, counter: 'increment', deleteRoutes: true });
    // RFC 9687 §4: as in OpenSent, with routes deleted.
    case 'SendHoldTimer_Expires':
      return teardown(step, { notification: sendHoldTimerExpired, counter: 'increment', deleteRoutes: true });
    // Caracal extension: the session stayed up long enough, forget the damping backoff.
    case 'DampingResetTimer_Expires':
      if (step.wasRunning('DampingReset')) step.resetDamping();
      return step.to('Established');
    default:
      break;
  }
  // "In response to any other event (Events 9, 12-13, 20-22), the local system: deletes all routes …,
  // sends a NOTIFICATION message with the Error Code Finite State Machine Error, sets the
  // ConnectRetryTimer to zero, releases all BGP resources, drops the TCP connection, increments the
  // ConnectRetryCounter by 1, (optionally) performs peer oscillation damping …, → Idle."
  return teardown(step, {
    notification: fsmError(event, FsmErrorSubcode.UnexpectedMessageInEstablished),
    counter: 'increment',
    deleteRoutes: true,
  });
}

/** FSM error NOTIFICATION: RFC 6608 subcode for unexpected messages, 0 for unexpected timer events. */
function fsmError(event: FsmEvent, messageSubcode: number): NotificationError {
  const isMessage =
    event.type === 'BGPOpen' ||
    event.type === 'BGPOpen_with_DelayOpenTimer_running' ||
    event.type === 'BGPOpenMsgErr' ||
    event.type === 'NotifMsg' ||
    event.type === 'NotifMsgVerErr' ||
    event.type === 'KeepAliveMsg' ||
    event.type === 'UpdateMsg' ||
    event.type === 'UpdateMsgErr';
  return {
    code: ErrorCode.FiniteStateMachine,
    subcode: isMessage ? messageSubcode : FsmErrorSubcode.Unspecified,
  };
}

/**
 * The pure FSM transition: given the current session and one event, the next session and the ordered
 * actions the driver must perform. Never throws, never performs I/O.
 */
export function transition(session: FsmSession, event: FsmEvent): FsmResult {
  const timerOf: Partial<Record<FsmEvent['type'], FsmTimerName>> = {
    ConnectRetryTimer_Expires: 'ConnectRetry',
    HoldTimer_Expires: 'Hold',
    KeepaliveTimer_Expires: 'Keepalive',
    DelayOpenTimer_Expires: 'DelayOpen',
    IdleHoldTimer_Expires: 'IdleHold',
    DampingResetTimer_Expires: 'DampingReset',
  };
  // The driver cancels a timer when told StopTimer, so an expiry always belongs to a running timer.
  const step = new Step(session);
  const timer = timerOf[event.type];
  if (timer !== undefined) step.expired(timer);
  // The Caracal damping-reset timer only matters in Established; elsewhere its expiry changes nothing.
  if (event.type === 'DampingResetTimer_Expires' && session.state !== 'Established')
    return step.to(session.state);
  switch (session.state) {
    case 'Idle':
      return idle(step, event);
    case 'Connect':
      return connect(step, event);
    case 'Active':
      return active(step, event);
    case 'OpenSent':
      return openSent(step, event);
    case 'OpenConfirm':
      return openConfirm(step, event);
    case 'Established':
      return established(step, event);
  }
}
