// Data types of the BGP finite state machine (RFC 4271 §8, RFC 9687): states, the numbered events,
// the actions the FSM asks its driver to perform, and the per-session attributes it carries.

/** The six session states of RFC 4271 §8.2.2. */
export type SessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export const SESSION_STATES: readonly SessionState[] = [
  'Idle',
  'Connect',
  'Active',
  'OpenSent',
  'OpenConfirm',
  'Established',
];

/** Timers the FSM starts and stops; the driver owns the real clocks. */
export type FsmTimerName =
  | 'ConnectRetry'
  | 'Hold'
  | 'Keepalive'
  | 'DelayOpen'
  | 'IdleHold'
  | 'SendHold'
  /** Caracal extension: after this long in Established the oscillation damping backoff is forgotten. */
  | 'DampingReset';

/** A NOTIFICATION error to send or that was detected while checking a message (RFC 4271 §4.5). */
export interface NotificationError {
  readonly code: number;
  readonly subcode: number;
  readonly data?: Uint8Array;
}

/**
 * The events of RFC 4271 §8.1 (numbered as there), RFC 9687's SendHoldTimer_Expires (event 29), and one
 * Caracal extension: DampingResetTimer_Expires. Events that carry information (OPEN, message errors) do
 * so as payload; message checking happens before the event is generated (§8.2.1.x "message checking").
 */
export type FsmEvent =
  | { readonly type: 'ManualStart' } // 1
  | { readonly type: 'ManualStop' } // 2
  | { readonly type: 'AutomaticStart' } // 3
  | { readonly type: 'ManualStart_with_PassiveTcpEstablishment' } // 4
  | { readonly type: 'AutomaticStart_with_PassiveTcpEstablishment' } // 5
  | { readonly type: 'AutomaticStart_with_DampPeerOscillations' } // 6
  | { readonly type: 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment' } // 7
  | { readonly type: 'AutomaticStop' } // 8
  | { readonly type: 'ConnectRetryTimer_Expires' } // 9
  | { readonly type: 'HoldTimer_Expires' } // 10
  | { readonly type: 'KeepaliveTimer_Expires' } // 11
  | { readonly type: 'DelayOpenTimer_Expires' } // 12
  | { readonly type: 'IdleHoldTimer_Expires' } // 13
  | { readonly type: 'TcpConnection_Valid' } // 14
  | { readonly type: 'Tcp_CR_Invalid' } // 15
  | { readonly type: 'Tcp_CR_Acked' } // 16
  | { readonly type: 'TcpConnectionConfirmed' } // 17
  | { readonly type: 'TcpConnectionFails' } // 18
  /** 19: a valid OPEN; `holdTime` is the negotiated hold time in seconds (0 = no keepalives). */
  | { readonly type: 'BGPOpen'; readonly holdTime: number } // 19
  | { readonly type: 'BGPOpen_with_DelayOpenTimer_running'; readonly holdTime: number } // 20
  | { readonly type: 'BGPHeaderErr'; readonly error: NotificationError } // 21
  | { readonly type: 'BGPOpenMsgErr'; readonly error: NotificationError } // 22
  | { readonly type: 'OpenCollisionDump' } // 23
  | { readonly type: 'NotifMsgVerErr' } // 24
  | { readonly type: 'NotifMsg' } // 25
  | { readonly type: 'KeepAliveMsg' } // 26
  | { readonly type: 'UpdateMsg' } // 27
  | { readonly type: 'UpdateMsgErr'; readonly error: NotificationError } // 28
  | { readonly type: 'SendHoldTimer_Expires' } // RFC 9687 event 29
  | { readonly type: 'DampingResetTimer_Expires' }; // Caracal extension

export type FsmEventType = FsmEvent['type'];

/** RFC 4271 §8.1 event numbers (29 from RFC 9687); the Caracal extension has none. */
export const FSM_EVENT_NUMBERS: Readonly<Record<FsmEventType, number | null>> = {
  ManualStart: 1,
  ManualStop: 2,
  AutomaticStart: 3,
  ManualStart_with_PassiveTcpEstablishment: 4,
  AutomaticStart_with_PassiveTcpEstablishment: 5,
  AutomaticStart_with_DampPeerOscillations: 6,
  AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment: 7,
  AutomaticStop: 8,
  ConnectRetryTimer_Expires: 9,
  HoldTimer_Expires: 10,
  KeepaliveTimer_Expires: 11,
  DelayOpenTimer_Expires: 12,
  IdleHoldTimer_Expires: 13,
  TcpConnection_Valid: 14,
  Tcp_CR_Invalid: 15,
  Tcp_CR_Acked: 16,
  TcpConnectionConfirmed: 17,
  TcpConnectionFails: 18,
  BGPOpen: 19,
  BGPOpen_with_DelayOpenTimer_running: 20,
  BGPHeaderErr: 21,
  BGPOpenMsgErr: 22,
  OpenCollisionDump: 23,
  NotifMsgVerErr: 24,
  NotifMsg: 25,
  KeepAliveMsg: 26,
  UpdateMsg: 27,
  UpdateMsgErr: 28,
  SendHoldTimer_Expires: 29,
  DampingResetTimer_Expires: null,
};

/** What the FSM asks its driver to do, in order. */
export type FsmAction =
  | { readonly type: 'InitializeResources' }
  | { readonly type: 'StartTimer'; readonly timer: FsmTimerName; readonly seconds: number }
  | { readonly type: 'StopTimer'; readonly timer: FsmTimerName }
  /** Initiate the outgoing TCP connection. */
  | { readonly type: 'Connect' }
  /** Accept incoming TCP connections from this peer. */
  | { readonly type: 'Listen' }
  /** Event 14: the incoming connection is accepted (and tracked for collision detection when busy). */
  | { readonly type: 'AcceptConnection' }
  /** Event 15: the incoming connection is refused. */
  | { readonly type: 'RejectConnection' }
  | { readonly type: 'DropConnection' }
  | { readonly type: 'SendOpen' }
  | { readonly type: 'SendKeepalive' }
  | {
      readonly type: 'SendNotification';
      readonly code: number;
      readonly subcode: number;
      readonly data?: Uint8Array;
    }
  | { readonly type: 'ProcessUpdate' }
  /** Withdraw every route learned from this peer (leaving Established). */
  | { readonly type: 'DeleteRoutes' }
  | { readonly type: 'ReleaseResources' }
  | { readonly type: 'IncrementConnectRetryCounter' }
  | { readonly type: 'ResetConnectRetryCounter' }
  /** RFC 4271 §8.1.1 DampPeerOscillations: the next automatic restart waits `idleHoldTime` seconds. */
  | { readonly type: 'DampPeerOscillations'; readonly idleHoldTime: number };

/** Configurable session attributes (RFC 4271 §8.1.1 mandatory and optional attributes). */
export interface SessionAttributes {
  /** ConnectRetryTime, seconds. */
  readonly connectRetryTime: number;
  /** Configured (proposed) HoldTime, seconds: 0 or >= 3. */
  readonly holdTime: number;
  /** Configured KeepaliveTime, seconds; the effective value is min(this, negotiated hold / 3). */
  readonly keepaliveTime: number;
  /** The "large value" the HoldTimer is set to in OpenSent (RFC suggests 4 minutes). */
  readonly openSentHoldTime: number;
  readonly delayOpen: boolean;
  readonly delayOpenTime: number;
  readonly passiveTcpEstablishment: boolean;
  readonly dampPeerOscillations: boolean;
  /** First IdleHoldTime, seconds (doubled on each flap up to `maxIdleHoldTime`). */
  readonly idleHoldTime: number;
  readonly maxIdleHoldTime: number;
  /** Time in Established after which the damping backoff is reset, seconds. */
  readonly dampingResetTime: number;
  readonly sendNotificationWithoutOpen: boolean;
}

/** The dynamic state of one session's FSM. Treat as immutable: `transition` returns a new one. */
export interface FsmSession {
  readonly state: SessionState;
  readonly attributes: SessionAttributes;
  readonly connectRetryCounter: number;
  /** Timers the FSM believes are running (the driver must only deliver expiries of these). */
  readonly runningTimers: ReadonlySet<FsmTimerName>;
  /** Negotiated hold time once an OPEN was accepted, else null. */
  readonly negotiatedHoldTime: number | null;
  /** IdleHoldTime the next damped automatic start waits. */
  readonly currentIdleHoldTime: number;
  /** Flaps counted for damping since the last reset. */
  readonly dampedFlaps: number;
}

export interface FsmResult {
  readonly session: FsmSession;
  readonly actions: readonly FsmAction[];
}
