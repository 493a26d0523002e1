// Connection collision resolution (RFC 4271 §6.8, RFC 6286 §2.3).
import { describe, expect, it } from 'vitest';
import { type CollisionInput, resolveCollision, survivingDirection } from '../../src/fsm/index.js';

const base: CollisionInput = {
  localRouterId: '10.0.0.1',
  remoteRouterId: '10.0.0.2',
  localAs: 64512,
  remoteAs: 64513,
  existing: { direction: 'outgoing', state: 'OpenConfirm' },
  incoming: { direction: 'incoming' },
};

describe('resolveCollision', () => {
  it.each([
    // §6.8: local id lower → close the existing connection (ours) and keep the one the remote initiated.
    ['10.0.0.1', '10.0.0.2', 'outgoing', 'incoming', 'closeExisting'],
    // local id higher → keep the connection we initiated.
    ['10.0.0.9', '10.0.0.2', 'outgoing', 'incoming', 'closeNew'],
    ['10.0.0.9', '10.0.0.2', 'incoming', 'outgoing', 'closeExisting'],
    ['10.0.0.1', '10.0.0.2', 'incoming', 'outgoing', 'closeNew'],
    // numeric, not string, comparison of identifiers
    ['9.0.0.1', '10.0.0.2', 'incoming', 'outgoing', 'closeNew'],
  ] as const)(
    'local %s remote %s, existing %s, new %s → %s',
    (localId, remoteId, existing, incoming, verdict) => {
      expect(
        resolveCollision({
          ...base,
          localRouterId: localId,
          remoteRouterId: remoteId,
          existing: { direction: existing, state: 'OpenConfirm' },
          incoming: { direction: incoming },
        }),
      ).toBe(verdict);
    },
  );

  it('no collision while the existing connection has not sent its OPEN', () => {
    for (const state of ['Idle', 'Connect', 'Active'] as const) {
      expect(resolveCollision({ ...base, existing: { direction: 'outgoing', state } })).toBe('noCollision');
    }
  });

  it('OpenSent connections are examined too', () => {
    expect(resolveCollision({ ...base, existing: { direction: 'outgoing', state: 'OpenSent' } })).toBe(
      'closeExisting',
    );
  });

  it('an Established connection always wins unless CollisionDetectEstablishedState', () => {
    const established = { ...base, existing: { direction: 'outgoing', state: 'Established' } } as const;
    expect(resolveCollision(established)).toBe('closeNew');
    expect(resolveCollision({ ...established, collisionDetectEstablishedState: true })).toBe('closeExisting');
  });

  it('equal identifiers (eBGP): the larger AS keeps its connection (RFC 6286 §2.3)', () => {
    expect(survivingDirection('10.0.0.1', '10.0.0.1', 65000, 64000)).toBe('outgoing');
    expect(survivingDirection('10.0.0.1', '10.0.0.1', 64000, 65000)).toBe('incoming');
  });
});
