// The full RFC 4271 §8.2.2 FSM table (plus RFC 9687 event 29): one row per state × event, asserting the
// next state and the ordered actions. Actions are written compactly ("Stop Hold", "Notify 6/2", ...).
import { describe, expect, it } from 'vitest';
import {
  createFsmSession,
  type FsmAction,
  type FsmEvent,
  type FsmEventType,
  type FsmSession,
  SESSION_STATES,
  type SessionAttributes,
  type SessionState,
  transition,
} from '../../src/fsm/index.js';

function show(action: FsmAction): string {
  switch (action.type) {
    case 'StartTimer':
      return `Start ${action.timer} ${action.seconds}`;
    case 'StopTimer':
      return `Stop ${action.timer}`;
    case 'SendNotification':
      return `Notify ${action.code}/${action.subcode}`;
    case 'InitializeResources':
      return 'Init';
    case 'ReleaseResources':
      return 'Release';
    case 'DropConnection':
      return 'Drop';
    case 'IncrementConnectRetryCounter':
      return 'Inc';
    case 'ResetConnectRetryCounter':
      return 'ResetCounter';
    case 'AcceptConnection':
      return 'Accept';
    case 'RejectConnection':
      return 'Reject';
    case 'DampPeerOscillations':
      return `Damp ${action.idleHoldTime}`;
    default:
      return action.type;
  }
}

const EVENTS: Record<FsmEventType, FsmEvent> = {
  ManualStart: { type: 'ManualStart' },
  ManualStop: { type: 'ManualStop' },
  AutomaticStart: { type: 'AutomaticStart' },
  ManualStart_with_PassiveTcpEstablishment: { type: 'ManualStart_with_PassiveTcpEstablishment' },
  AutomaticStart_with_PassiveTcpEstablishment: { type: 'AutomaticStart_with_PassiveTcpEstablishment' },
  AutomaticStart_with_DampPeerOscillations: { type: 'AutomaticStart_with_DampPeerOscillations' },
  AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment: {
    type: 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment',
  },
  AutomaticStop: { type: 'AutomaticStop' },
  ConnectRetryTimer_Expires: { type: 'ConnectRetryTimer_Expires' },
  HoldTimer_Expires: { type: 'HoldTimer_Expires' },
  KeepaliveTimer_Expires: { type: 'KeepaliveTimer_Expires' },
  DelayOpenTimer_Expires: { type: 'DelayOpenTimer_Expires' },
  IdleHoldTimer_Expires: { type: 'IdleHoldTimer_Expires' },
  TcpConnection_Valid: { type: 'TcpConnection_Valid' },
  Tcp_CR_Invalid: { type: 'Tcp_CR_Invalid' },
  Tcp_CR_Acked: { type: 'Tcp_CR_Acked' },
  TcpConnectionConfirmed: { type: 'TcpConnectionConfirmed' },
  TcpConnectionFails: { type: 'TcpConnectionFails' },
  BGPOpen: { type: 'BGPOpen', holdTime: 90 },
  BGPOpen_with_DelayOpenTimer_running: { type: 'BGPOpen_with_DelayOpenTimer_running', holdTime: 90 },
  BGPHeaderErr: { type: 'BGPHeaderErr', error: { code: 1, subcode: 2 } },
  BGPOpenMsgErr: { type: 'BGPOpenMsgErr', error: { code: 2, subcode: 2 } },
  OpenCollisionDump: { type: 'OpenCollisionDump' },
  NotifMsgVerErr: { type: 'NotifMsgVerErr' },
  NotifMsg: { type: 'NotifMsg' },
  KeepAliveMsg: { type: 'KeepAliveMsg' },
  UpdateMsg: { type: 'UpdateMsg' },
  UpdateMsgErr: { type: 'UpdateMsgErr', error: { code: 3, subcode: 1 } },
  SendHoldTimer_Expires: { type: 'SendHoldTimer_Expires' },
  DampingResetTimer_Expires: { type: 'DampingResetTimer_Expires' },
};

const ATTRS: Partial<SessionAttributes> = {
  connectRetryTime: 5,
  holdTime: 90,
  keepaliveTime: 30,
  openSentHoldTime: 240,
  idleHoldTime: 5,
  dampPeerOscillations: true,
  sendNotificationWithoutOpen: true,
};

function drive(attributes: Partial<SessionAttributes>, events: FsmEventType[]): FsmSession {
  let session = createFsmSession({ ...ATTRS, ...attributes });
  for (const type of events) session = transition(session, EVENTS[type]).session;
  return session;
}

/** Sessions in each state, reached through the FSM itself. */
const BASE: Record<SessionState, FsmSession> = {
  Idle: drive({}, []),
  Connect: drive({}, ['ManualStart']), // ConnectRetryTimer running
  Active: drive({}, ['ManualStart_with_PassiveTcpEstablishment']), // ConnectRetryTimer running
  OpenSent: drive({}, ['ManualStart', 'Tcp_CR_Acked']), // HoldTimer (large value) running
  OpenConfirm: drive({}, ['ManualStart', 'Tcp_CR_Acked', 'BGPOpen']), // Hold 90, Keepalive 30
  Established: drive({}, ['ManualStart', 'Tcp_CR_Acked', 'BGPOpen', 'KeepAliveMsg']),
};

type Row = readonly [FsmEventType, SessionState, readonly string[]];

const FAIL_CR = ['Stop ConnectRetry', 'Release', 'Drop', 'Inc', 'Damp 5'];
const TO_OPENSENT = ['Stop ConnectRetry', 'SendOpen', 'Start Hold 240'];
const osFail = (notify: string) => [`Notify ${notify}`, 'Stop Hold', 'Release', 'Drop', 'Inc', 'Damp 5'];
const ocFail = (notify: string) => [
  `Notify ${notify}`,
  'Stop Hold',
  'Stop Keepalive',
  'Release',
  'Drop',
  'Inc',
  'Damp 5',
];
const esFail = (notify: string) => [
  `Notify ${notify}`,
  'Stop Hold',
  'Stop Keepalive',
  'DeleteRoutes',
  'Release',
  'Drop',
  'Inc',
  'Damp 5',
];
const START_ACTIVE = ['Init', 'ResetCounter', 'Start ConnectRetry 5', 'Listen'];
const START_CONNECT = ['Init', 'ResetCounter', 'Start ConnectRetry 5', 'Connect', 'Listen'];

const TABLE: Record<SessionState, readonly Row[]> = {
  // §8.2.2 Idle state.
  Idle: [
    ['ManualStart', 'Connect', START_CONNECT], // "initializes all BGP resources … sets ConnectRetryCounter to zero, starts the ConnectRetryTimer … initiates a TCP connection … listens … changes its state to Connect"
    ['ManualStop', 'Idle', []], // "The ManualStop event (Event 2) and AutomaticStop (Event 8) event are ignored in the Idle state."
    ['AutomaticStart', 'Connect', START_CONNECT], // "The actions taken … are the same as for ManualStart"
    ['ManualStart_with_PassiveTcpEstablishment', 'Active', START_ACTIVE], // "… listens for a connection … changes its state to Active"
    ['AutomaticStart_with_PassiveTcpEstablishment', 'Active', START_ACTIVE],
    ['AutomaticStart_with_DampPeerOscillations', 'Idle', ['Start IdleHold 5']], // damping: "outside the scope"; Caracal waits IdleHoldTime
    ['AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment', 'Idle', ['Start IdleHold 5']],
    ['AutomaticStop', 'Idle', []], // ignored in Idle
    ['ConnectRetryTimer_Expires', 'Idle', []], // "Any other event (Events 9-12, 15-28) … does not cause change in the state"
    ['HoldTimer_Expires', 'Idle', []],
    ['KeepaliveTimer_Expires', 'Idle', []],
    ['DelayOpenTimer_Expires', 'Idle', []],
    ['IdleHoldTimer_Expires', 'Idle', []], // no IdleHoldTimer running: nothing to start
    ['TcpConnection_Valid', 'Idle', []],
    ['Tcp_CR_Invalid', 'Idle', []],
    ['Tcp_CR_Acked', 'Idle', []],
    ['TcpConnectionConfirmed', 'Idle', []],
    ['TcpConnectionFails', 'Idle', []],
    ['BGPOpen', 'Idle', []],
    ['BGPOpen_with_DelayOpenTimer_running', 'Idle', []],
    ['BGPHeaderErr', 'Idle', []],
    ['BGPOpenMsgErr', 'Idle', []],
    ['OpenCollisionDump', 'Idle', []],
    ['NotifMsgVerErr', 'Idle', []],
    ['NotifMsg', 'Idle', []],
    ['KeepAliveMsg', 'Idle', []],
    ['UpdateMsg', 'Idle', []],
    ['UpdateMsgErr', 'Idle', []],
    ['SendHoldTimer_Expires', 'Idle', []],
    ['DampingResetTimer_Expires', 'Idle', []],
  ],
  // §8.2.2 Connect state (ConnectRetryTimer running, DelayOpen FALSE).
  Connect: [
    ['ManualStart', 'Connect', []], // "Events 1, 3-7 are ignored in the Connect state."
    ['ManualStop', 'Idle', ['Stop ConnectRetry', 'Release', 'Drop', 'ResetCounter']], // "drops the TCP connection, releases all BGP resources, sets ConnectRetryCounter to zero, stops the ConnectRetryTimer"
    ['AutomaticStart', 'Connect', []],
    ['ManualStart_with_PassiveTcpEstablishment', 'Connect', []],
    ['AutomaticStart_with_PassiveTcpEstablishment', 'Connect', []],
    ['AutomaticStart_with_DampPeerOscillations', 'Connect', []],
    ['AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment', 'Connect', []],
    ['AutomaticStop', 'Idle', FAIL_CR], // "any other events (Events 8, 10-11, 13, 19, 23, 25-28)"
    ['ConnectRetryTimer_Expires', 'Connect', ['Drop', 'Start ConnectRetry 5', 'Connect']], // "drops the TCP connection, restarts the ConnectRetryTimer, … initiates a TCP connection"
    ['HoldTimer_Expires', 'Idle', FAIL_CR],
    ['KeepaliveTimer_Expires', 'Idle', FAIL_CR],
    ['DelayOpenTimer_Expires', 'OpenSent', TO_OPENSENT], // "sends an OPEN message …, sets the HoldTimer to a large value, … OpenSent"
    ['IdleHoldTimer_Expires', 'Idle', FAIL_CR],
    ['TcpConnection_Valid', 'Connect', ['Accept']], // "the TCP connection is processed, and the connection remains in the Connect state"
    ['Tcp_CR_Invalid', 'Connect', ['Reject']], // "rejects the TCP connection, and … remains in the Connect state"
    ['Tcp_CR_Acked', 'OpenSent', TO_OPENSENT], // "If the DelayOpen attribute is set to FALSE … stops the ConnectRetryTimer …, sends an OPEN …, → OpenSent"
    ['TcpConnectionConfirmed', 'OpenSent', TO_OPENSENT],
    ['TcpConnectionFails', 'Idle', ['Stop ConnectRetry', 'Drop', 'Release']], // "If the DelayOpenTimer is not running: stops the ConnectRetryTimer to zero, drops the TCP connection, releases all BGP resources, → Idle"
    ['BGPOpen', 'Idle', FAIL_CR],
    ['BGPOpen_with_DelayOpenTimer_running', 'Idle', FAIL_CR], // DelayOpenTimer not running here
    ['BGPHeaderErr', 'Idle', ['Notify 1/2', ...FAIL_CR]], // "(optionally) … SendNOTIFICATIONwithoutOPEN … sends a NOTIFICATION …, increments the ConnectRetryCounter by 1"
    ['BGPOpenMsgErr', 'Idle', ['Notify 2/2', ...FAIL_CR]],
    ['OpenCollisionDump', 'Idle', FAIL_CR],
    ['NotifMsgVerErr', 'Idle', FAIL_CR], // "If the DelayOpenTimer is not running … increments the ConnectRetryCounter by 1"
    ['NotifMsg', 'Idle', FAIL_CR],
    ['KeepAliveMsg', 'Idle', FAIL_CR],
    ['UpdateMsg', 'Idle', FAIL_CR],
    ['UpdateMsgErr', 'Idle', FAIL_CR],
    ['SendHoldTimer_Expires', 'Idle', FAIL_CR], // RFC 9687 defines no Connect behaviour: the catch-all applies
    ['DampingResetTimer_Expires', 'Connect', []], // Caracal extension, only meaningful in Established
  ],
  // §8.2.2 Active state (ConnectRetryTimer running, DelayOpen FALSE).
  Active: [
    ['ManualStart', 'Active', []], // "Events 1, 3-7 are ignored in the Active state."
    ['ManualStop', 'Idle', ['Stop ConnectRetry', 'Release', 'Drop', 'ResetCounter']], // "releases all BGP resources …, drops the TCP connection, sets ConnectRetryCounter to zero, stops the ConnectRetryTimer"
    ['AutomaticStart', 'Active', []],
    ['ManualStart_with_PassiveTcpEstablishment', 'Active', []],
    ['AutomaticStart_with_PassiveTcpEstablishment', 'Active', []],
    ['AutomaticStart_with_DampPeerOscillations', 'Active', []],
    ['AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment', 'Active', []],
    ['AutomaticStop', 'Idle', FAIL_CR], // "any other event (Events 8, 10-11, 13, 19, 23, 25-28)"
    ['ConnectRetryTimer_Expires', 'Connect', ['Start ConnectRetry 5', 'Connect']], // "restarts the ConnectRetryTimer, initiates a TCP connection, continues to listen, … Connect"
    ['HoldTimer_Expires', 'Idle', FAIL_CR],
    ['KeepaliveTimer_Expires', 'Idle', FAIL_CR],
    ['DelayOpenTimer_Expires', 'OpenSent', TO_OPENSENT], // "sets the ConnectRetryTimer to zero, … sends the OPEN message, sets its hold timer to a large value, → OpenSent"
    ['IdleHoldTimer_Expires', 'Idle', FAIL_CR],
    ['TcpConnection_Valid', 'Active', ['Accept']],
    ['Tcp_CR_Invalid', 'Active', ['Reject']],
    ['Tcp_CR_Acked', 'OpenSent', TO_OPENSENT], // "If the DelayOpen attribute is set to FALSE … sends the OPEN message, sets its HoldTimer to a large value, → OpenSent"
    ['TcpConnectionFails', 'Idle', FAIL_CR], // "restarts the ConnectRetryTimer …, releases all BGP resource, increments the ConnectRetryCounter by 1, … → Idle" (Caracal stops the timer: Idle restarts are driven by IdleHold)
    ['TcpConnectionConfirmed', 'OpenSent', TO_OPENSENT],
    ['BGPOpen', 'Idle', FAIL_CR],
    ['BGPOpen_with_DelayOpenTimer_running', 'Idle', FAIL_CR],
    ['BGPHeaderErr', 'Idle', ['Notify 1/2', ...FAIL_CR]],
    ['BGPOpenMsgErr', 'Idle', ['Notify 2/2', ...FAIL_CR]],
    ['OpenCollisionDump', 'Idle', FAIL_CR],
    ['NotifMsgVerErr', 'Idle', FAIL_CR],
    ['NotifMsg', 'Idle', FAIL_CR],
    ['KeepAliveMsg', 'Idle', FAIL_CR],
    ['UpdateMsg', 'Idle', FAIL_CR],
    ['UpdateMsgErr', 'Idle', FAIL_CR],
    ['SendHoldTimer_Expires', 'Idle', FAIL_CR],
    ['DampingResetTimer_Expires', 'Active', []],
  ],
  // §8.2.2 OpenSent state (HoldTimer running with the large value).
  OpenSent: [
    ['ManualStart', 'OpenSent', []], // "Events 1, 3-7 are ignored in the OpenSent state."
    ['ManualStop', 'Idle', ['Notify 6/2', 'Stop Hold', 'Release', 'Drop', 'ResetCounter']], // "sends the NOTIFICATION with a Cease, … sets the ConnectRetryCounter to zero"
    ['AutomaticStart', 'OpenSent', []],
    ['ManualStart_with_PassiveTcpEstablishment', 'OpenSent', []],
    ['AutomaticStart_with_PassiveTcpEstablishment', 'OpenSent', []],
    ['AutomaticStart_with_DampPeerOscillations', 'OpenSent', []],
    ['AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment', 'OpenSent', []],
    ['AutomaticStop', 'Idle', osFail('6/4')], // "sends the NOTIFICATION with a Cease, … increments the ConnectRetryCounter by 1"
    ['ConnectRetryTimer_Expires', 'Idle', osFail('5/0')], // "any other event (Events 9, 11-13, 20, 25-28) … Finite State Machine Error"
    ['HoldTimer_Expires', 'Idle', ['Notify 4/0', 'Release', 'Drop', 'Inc', 'Damp 5']], // "sends a NOTIFICATION message with the error code Hold Timer Expired"
    ['KeepaliveTimer_Expires', 'Idle', osFail('5/0')],
    ['DelayOpenTimer_Expires', 'Idle', osFail('5/0')],
    ['IdleHoldTimer_Expires', 'Idle', osFail('5/0')],
    ['TcpConnection_Valid', 'OpenSent', ['Accept']], // second connection tracked for collision detection
    ['Tcp_CR_Invalid', 'OpenSent', []], // "A Tcp_CR_Invalid (Event 15) is ignored"
    ['Tcp_CR_Acked', 'OpenSent', []],
    ['TcpConnectionConfirmed', 'OpenSent', []],
    ['TcpConnectionFails', 'Active', ['Stop Hold', 'Drop', 'Start ConnectRetry 5', 'Listen']], // "closes the BGP connection, restarts the ConnectRetryTimer, continues to listen …, → Active"
    ['BGPOpen', 'OpenConfirm', ['SendKeepalive', 'Start Keepalive 30', 'Start Hold 90']], // "sends a KEEPALIVE message, and sets a KeepaliveTimer …, sets the HoldTimer according to the negotiated value"
    ['BGPOpen_with_DelayOpenTimer_running', 'Idle', osFail('5/1')],
    ['BGPHeaderErr', 'Idle', osFail('1/2')], // "sends a NOTIFICATION message with the appropriate error code"
    ['BGPOpenMsgErr', 'Idle', osFail('2/2')],
    ['OpenCollisionDump', 'Idle', osFail('6/7')], // "sends a NOTIFICATION with a Cease"
    ['NotifMsgVerErr', 'Idle', ['Stop Hold', 'Release', 'Drop']], // "sets the ConnectRetryTimer to zero, releases all BGP resources, drops the TCP connection"
    ['NotifMsg', 'Idle', osFail('5/1')], // RFC 6608: unexpected message in OpenSent
    ['KeepAliveMsg', 'Idle', osFail('5/1')],
    ['UpdateMsg', 'Idle', osFail('5/1')],
    ['UpdateMsgErr', 'Idle', osFail('5/1')],
    ['SendHoldTimer_Expires', 'Idle', osFail('8/0')], // RFC 9687 §4
    ['DampingResetTimer_Expires', 'OpenSent', []],
  ],
  // §8.2.2 OpenConfirm state (HoldTimer 90, KeepaliveTimer 30 running).
  OpenConfirm: [
    ['ManualStart', 'OpenConfirm', []], // "Any start event (Events 1, 3-7) is ignored in the OpenConfirm state."
    ['ManualStop', 'Idle', ['Notify 6/2', 'Stop Hold', 'Stop Keepalive', 'Release', 'Drop', 'ResetCounter']],
    ['AutomaticStart', 'OpenConfirm', []],
    ['ManualStart_with_PassiveTcpEstablishment', 'OpenConfirm', []],
    ['AutomaticStart_with_PassiveTcpEstablishment', 'OpenConfirm', []],
    ['AutomaticStart_with_DampPeerOscillations', 'OpenConfirm', []],
    ['AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment', 'OpenConfirm', []],
    ['AutomaticStop', 'Idle', ocFail('6/4')], // "sends the NOTIFICATION message with a Cease"
    ['ConnectRetryTimer_Expires', 'Idle', ocFail('5/0')], // "any other event (Events 9, 12-13, 20, 27-28)"
    ['HoldTimer_Expires', 'Idle', ['Notify 4/0', 'Stop Keepalive', 'Release', 'Drop', 'Inc', 'Damp 5']],
    ['KeepaliveTimer_Expires', 'OpenConfirm', ['SendKeepalive', 'Start Keepalive 30']], // "sends a KEEPALIVE message, restarts the KeepaliveTimer"
    ['DelayOpenTimer_Expires', 'Idle', ocFail('5/0')],
    ['IdleHoldTimer_Expires', 'Idle', ocFail('5/0')],
    ['TcpConnection_Valid', 'OpenConfirm', ['Accept']], // "the local system needs to track the second connection"
    ['Tcp_CR_Invalid', 'OpenConfirm', []], // "will ignore the event"
    ['Tcp_CR_Acked', 'OpenConfirm', []],
    ['TcpConnectionConfirmed', 'OpenConfirm', []],
    ['TcpConnectionFails', 'Idle', ['Stop Hold', 'Stop Keepalive', 'Release', 'Drop', 'Inc', 'Damp 5']], // "sets the ConnectRetryTimer to zero, releases …, drops …, increments the ConnectRetryCounter by 1"
    ['BGPOpen', 'Idle', ocFail('5/2')], // collisions are resolved by the driver (OpenCollisionDump); a second OPEN on this connection is unexpected
    ['BGPOpen_with_DelayOpenTimer_running', 'Idle', ocFail('5/2')],
    ['BGPHeaderErr', 'Idle', ocFail('1/2')], // "sends a NOTIFICATION message with the appropriate error code"
    ['BGPOpenMsgErr', 'Idle', ocFail('2/2')],
    ['OpenCollisionDump', 'Idle', ocFail('6/7')], // "sends a NOTIFICATION with a Cease"
    ['NotifMsgVerErr', 'Idle', ['Stop Hold', 'Stop Keepalive', 'Release', 'Drop']],
    ['NotifMsg', 'Idle', ['Stop Hold', 'Stop Keepalive', 'Release', 'Drop', 'Inc', 'Damp 5']], // "receives … a NOTIFICATION message (Event 25)"
    ['KeepAliveMsg', 'Established', ['Start Hold 90']], // "restarts the HoldTimer and changes its state to Established"
    ['UpdateMsg', 'Idle', ocFail('5/2')],
    ['UpdateMsgErr', 'Idle', ocFail('5/2')],
    ['SendHoldTimer_Expires', 'Idle', ocFail('8/0')], // RFC 9687 §4
    ['DampingResetTimer_Expires', 'OpenConfirm', []],
  ],
  // §8.2.2 Established state (HoldTimer 90, KeepaliveTimer 30 running).
  Established: [
    ['ManualStart', 'Established', []], // "Any Start event (Events 1, 3-7) is ignored in the Established state."
    [
      'ManualStop',
      'Idle',
      ['Notify 6/2', 'Stop Hold', 'Stop Keepalive', 'DeleteRoutes', 'Release', 'Drop', 'ResetCounter'],
    ], // "sends the NOTIFICATION message with a Cease, … deletes all routes …, sets the ConnectRetryCounter to zero"
    ['AutomaticStart', 'Established', []],
    ['ManualStart_with_PassiveTcpEstablishment', 'Established', []],
    ['AutomaticStart_with_PassiveTcpEstablishment', 'Established', []],
    ['AutomaticStart_with_DampPeerOscillations', 'Established', []],
    ['AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment', 'Established', []],
    ['AutomaticStop', 'Idle', esFail('6/4')], // "sends a NOTIFICATION with a Cease, … deletes all routes"
    ['ConnectRetryTimer_Expires', 'Idle', esFail('5/0')], // "any other event (Events 9, 12-13, 20-22) … Finite State Machine Error"
    [
      'HoldTimer_Expires',
      'Idle',
      ['Notify 4/0', 'Stop Keepalive', 'DeleteRoutes', 'Release', 'Drop', 'Inc', 'Damp 5'],
    ], // "sends a NOTIFICATION message with the Error Code Hold Timer Expired"
    ['KeepaliveTimer_Expires', 'Established', ['SendKeepalive', 'Start Keepalive 30']], // "sends a KEEPALIVE message, and restarts its KeepaliveTimer"
    ['DelayOpenTimer_Expires', 'Idle', esFail('5/0')],
    ['IdleHoldTimer_Expires', 'Idle', esFail('5/0')],
    ['TcpConnection_Valid', 'Established', ['Accept']], // "will cause the second connection to be tracked"
    ['Tcp_CR_Invalid', 'Established', []], // "will be ignored"
    ['Tcp_CR_Acked', 'Established', []], // "the second connection SHALL be tracked until it sends an OPEN message"
    ['TcpConnectionConfirmed', 'Established', []],
    [
      'TcpConnectionFails',
      'Idle',
      ['Stop Hold', 'Stop Keepalive', 'DeleteRoutes', 'Release', 'Drop', 'Inc', 'Damp 5'],
    ], // "sets the ConnectRetryTimer to zero, deletes all routes …, releases …, drops …, increments the ConnectRetryCounter by 1"
    ['BGPOpen', 'Idle', esFail('5/3')], // CollisionDetectEstablishedState FALSE: an OPEN is unexpected
    ['BGPOpen_with_DelayOpenTimer_running', 'Idle', esFail('5/3')],
    ['BGPHeaderErr', 'Idle', esFail('1/2')], // Caracal: the §6.1 header error code, not the catch-all FSM error
    ['BGPOpenMsgErr', 'Idle', esFail('5/3')],
    ['OpenCollisionDump', 'Idle', esFail('6/7')],
    [
      'NotifMsgVerErr',
      'Idle',
      ['Stop Hold', 'Stop Keepalive', 'DeleteRoutes', 'Release', 'Drop', 'Inc', 'Damp 5'],
    ],
    ['NotifMsg', 'Idle', ['Stop Hold', 'Stop Keepalive', 'DeleteRoutes', 'Release', 'Drop', 'Inc', 'Damp 5']],
    ['KeepAliveMsg', 'Established', ['Start Hold 90']], // "restarts its HoldTimer, if the negotiated HoldTime value is non-zero"
    ['UpdateMsg', 'Established', ['ProcessUpdate', 'Start Hold 90']], // "processes the message, restarts its HoldTimer"
    ['UpdateMsgErr', 'Idle', esFail('3/1')], // "sends a NOTIFICATION message with an Update error"
    ['SendHoldTimer_Expires', 'Idle', esFail('8/0')], // RFC 9687 §4
    ['DampingResetTimer_Expires', 'Established', []], // not running (no flap yet): nothing to reset
  ],
};

describe('RFC 4271 §8.2.2 FSM table', () => {
  it('covers every state × event exactly once', () => {
    for (const state of SESSION_STATES) {
      const events = TABLE[state].map(([event]) => event).sort();
      expect(events, state).toEqual(Object.keys(EVENTS).sort());
    }
  });

  for (const state of SESSION_STATES) {
    describe(state, () => {
      it.each(TABLE[state])('%s → %s', (event, nextState, actions) => {
        const result = transition(BASE[state], EVENTS[event]);
        expect(result.session.state).toBe(nextState);
        expect(result.actions.map(show)).toEqual(actions);
      });
    });
  }
});

describe('DelayOpen paths (DelayOpenTimer running)', () => {
  const delayed = { delayOpen: true, delayOpenTime: 5 };
  const connectDelayed = drive(delayed, ['ManualStart', 'Tcp_CR_Acked']);
  const activeDelayed = drive(delayed, [
    'ManualStart_with_PassiveTcpEstablishment',
    'TcpConnectionConfirmed',
  ]);
  const rows: ReadonlyArray<readonly [string, FsmSession, FsmEventType, SessionState, readonly string[]]> = [
    // Connect, Events 16/17 with DelayOpen TRUE: "stops the ConnectRetryTimer to zero, sets the DelayOpenTimer to the initial value"
    [
      'Connect',
      drive(delayed, ['ManualStart']),
      'Tcp_CR_Acked',
      'Connect',
      ['Stop ConnectRetry', 'Start DelayOpen 5'],
    ],
    // Connect, Event 12: "sends an OPEN message, sets the HoldTimer to a large value, → OpenSent"
    ['Connect', connectDelayed, 'DelayOpenTimer_Expires', 'OpenSent', ['SendOpen', 'Start Hold 240']],
    // Connect, Event 18 with DelayOpenTimer running: "restarts the ConnectRetryTimer, stops the DelayOpenTimer, continues to listen, → Active"
    [
      'Connect',
      connectDelayed,
      'TcpConnectionFails',
      'Active',
      ['Start ConnectRetry 5', 'Stop DelayOpen', 'Listen'],
    ],
    // Connect, Event 20: "… sends an OPEN message, sends a KEEPALIVE message, … → OpenConfirm"
    [
      'Connect',
      connectDelayed,
      'BGPOpen_with_DelayOpenTimer_running',
      'OpenConfirm',
      ['SendOpen', 'Stop DelayOpen', 'SendKeepalive', 'Start Keepalive 30', 'Start Hold 90'],
    ],
    // Connect, Event 24 with DelayOpenTimer running: no ConnectRetryCounter increment
    ['Connect', connectDelayed, 'NotifMsgVerErr', 'Idle', ['Stop DelayOpen', 'Release', 'Drop']],
    // Active, Event 2 with DelayOpenTimer running and SendNOTIFICATIONwithoutOPEN: "sends a NOTIFICATION with a Cease"
    [
      'Active',
      activeDelayed,
      'ManualStop',
      'Idle',
      ['Notify 6/2', 'Stop DelayOpen', 'Release', 'Drop', 'ResetCounter'],
    ],
    [
      'Active',
      activeDelayed,
      'TcpConnectionFails',
      'Idle',
      ['Stop DelayOpen', 'Release', 'Drop', 'Inc', 'Damp 5'],
    ],
    [
      'Active',
      activeDelayed,
      'BGPOpen_with_DelayOpenTimer_running',
      'OpenConfirm',
      ['SendOpen', 'Stop DelayOpen', 'SendKeepalive', 'Start Keepalive 30', 'Start Hold 90'],
    ],
    ['Active', activeDelayed, 'NotifMsgVerErr', 'Idle', ['Stop DelayOpen', 'Release', 'Drop']],
  ];
  it.each(rows)('%s + %s', (_state, session, event, nextState, actions) => {
    const result = transition(session, EVENTS[event]);
    expect(result.session.state).toBe(nextState);
    expect(result.actions.map(show)).toEqual(actions);
  });
});
