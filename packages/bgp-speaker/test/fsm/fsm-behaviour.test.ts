// FSM behaviour beyond single table rows: hold time 0, keepalive scaling, oscillation damping backoff
// and its reset after a stable period, ConnectRetryCounter bookkeeping, the send hold default.
import { describe, expect, it } from 'vitest';
import {
  createFsmSession,
  defaultSendHoldTime,
  type FsmEvent,
  type FsmSession,
  keepaliveIntervalFor,
  transition,
} from '../../src/fsm/index.js';

function run(session: FsmSession, events: FsmEvent[]): FsmSession {
  let current = session;
  for (const event of events) current = transition(current, event).session;
  return current;
}

const toOpenSent: FsmEvent[] = [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }];

describe('hold time', () => {
  it('a negotiated hold time of 0 runs neither the HoldTimer nor the KeepaliveTimer', () => {
    const openSent = run(createFsmSession(), toOpenSent);
    const result = transition(openSent, { type: 'BGPOpen', holdTime: 0 });
    expect(result.session.state).toBe('OpenConfirm');
    expect([...result.session.runningTimers]).toEqual([]);
    const established = transition(result.session, { type: 'KeepAliveMsg' });
    expect(established.session.state).toBe('Established');
    expect(established.actions).toEqual([]);
    const update = transition(established.session, { type: 'UpdateMsg' });
    expect(update.actions).toEqual([{ type: 'ProcessUpdate' }]);
  });

  it('keepalive is min(configured, hold/3), at least 1 s', () => {
    expect(keepaliveIntervalFor(90, 30)).toBe(30);
    expect(keepaliveIntervalFor(9, 30)).toBe(3);
    expect(keepaliveIntervalFor(240, 0)).toBe(80);
    expect(keepaliveIntervalFor(3, 0)).toBe(1);
    expect(keepaliveIntervalFor(0, 30)).toBe(0);
  });

  it('the negotiated hold time given with BGPOpen drives the timers', () => {
    const openSent = run(createFsmSession({ keepaliveTime: 60 }), toOpenSent);
    const result = transition(openSent, { type: 'BGPOpen', holdTime: 9 });
    expect(result.actions).toContainEqual({ type: 'StartTimer', timer: 'Keepalive', seconds: 3 });
    expect(result.actions).toContainEqual({ type: 'StartTimer', timer: 'Hold', seconds: 9 });
    expect(result.session.negotiatedHoldTime).toBe(9);
  });

  it('RFC 9687 send hold time defaults to max(8 minutes, 2 × hold)', () => {
    expect(defaultSendHoldTime(90)).toBe(480);
    expect(defaultSendHoldTime(300)).toBe(600);
  });
});

describe('ConnectRetryCounter', () => {
  it('counts failures and is reset by ManualStop and by a new start', () => {
    let session = run(createFsmSession(), toOpenSent);
    session = transition(session, { type: 'HoldTimer_Expires' }).session;
    expect(session.connectRetryCounter).toBe(1);
    session = run(session, [{ type: 'AutomaticStart' }]);
    expect(session.connectRetryCounter).toBe(0);
    session = run(session, [{ type: 'NotifMsg' }]);
    expect(session.connectRetryCounter).toBe(1);
  });
});

describe('peer oscillation damping', () => {
  const established: FsmEvent[] = [
    ...toOpenSent,
    { type: 'BGPOpen', holdTime: 90 },
    { type: 'KeepAliveMsg' },
  ];

  function flap(session: FsmSession): { session: FsmSession; waited: number } {
    const up = run(session, established);
    const down = transition(up, { type: 'HoldTimer_Expires' }).session;
    const restart = transition(down, { type: 'AutomaticStart_with_DampPeerOscillations' });
    const start = restart.actions.find((a) => a.type === 'StartTimer' && a.timer === 'IdleHold');
    if (start?.type !== 'StartTimer') throw new Error('no IdleHold timer started');
    const connect = transition(restart.session, { type: 'IdleHoldTimer_Expires' }).session;
    expect(connect.state).toBe('Connect');
    return { session: run(connect, [{ type: 'ManualStop' }]), waited: start.seconds };
  }

  it('doubles IdleHoldTime on each flap from 5 s up to the 120 s cap', () => {
    let session = createFsmSession({ idleHoldTime: 5, maxIdleHoldTime: 120 });
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const result = flap(session);
      waits.push(result.waited);
      session = result.session;
    }
    expect(waits).toEqual([5, 10, 20, 40, 80, 120, 120, 120]);
  });

  it('forgets the backoff after a stable period in Established', () => {
    let session = createFsmSession({ idleHoldTime: 5, dampingResetTime: 300 });
    for (let i = 0; i < 3; i++) session = flap(session).session;
    expect(session.currentIdleHoldTime).toBe(20);
    const up = transition(run(session, [...toOpenSent, { type: 'BGPOpen', holdTime: 90 }]), {
      type: 'KeepAliveMsg',
    });
    expect(up.actions).toContainEqual({ type: 'StartTimer', timer: 'DampingReset', seconds: 300 });
    const stable = transition(up.session, { type: 'DampingResetTimer_Expires' }).session;
    expect(stable.currentIdleHoldTime).toBe(5);
    expect(stable.dampedFlaps).toBe(0);
    expect(flap(run(stable, [{ type: 'ManualStop' }])).waited).toBe(5);
  });

  it('without damping, the damped start events are ignored', () => {
    const session = createFsmSession({ dampPeerOscillations: false });
    const result = transition(session, { type: 'AutomaticStart_with_DampPeerOscillations' });
    expect(result.session.state).toBe('Idle');
    expect(result.actions).toEqual([]);
    const failed = transition(run(session, toOpenSent), { type: 'HoldTimer_Expires' });
    expect(failed.actions.map((a) => a.type)).not.toContain('DampPeerOscillations');
  });

  it('a passive session starts in Active after the IdleHoldTimer', () => {
    const session = createFsmSession({ passiveTcpEstablishment: true });
    const waiting = transition(session, {
      type: 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment',
    }).session;
    expect(transition(waiting, { type: 'IdleHoldTimer_Expires' }).session.state).toBe('Active');
  });
});
