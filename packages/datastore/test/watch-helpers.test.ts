// The stream checker used by the watch tests must itself catch the faults it is meant to catch.
import { describe, expect, it } from 'vitest';
import type { WatchEvent } from '../src/index.js';
import { replay } from './watch-helpers.js';

const snapshot: WatchEvent[] = [
  {
    type: 'snapshot',
    items: [{ key: 'a', value: '1', revision: 5, createRevision: 5 }],
    revision: 7,
    resync: false,
  },
  { type: 'in-sync', revision: 7 },
];

describe('replay (watch stream checker)', () => {
  it('applies a snapshot and deltas', () => {
    const replayed = replay([
      ...snapshot,
      { type: 'put', key: 'b', value: '2', revision: 8, createRevision: 8 },
      { type: 'delete', key: 'a', value: undefined, revision: 9 },
    ]);
    expect([...replayed.state]).toEqual([['b', { value: '2', revision: 8 }]]);
  });
  it('rejects a duplicated delta', () => {
    const put: WatchEvent = { type: 'put', key: 'b', value: '2', revision: 8, createRevision: 8 };
    expect(() => replay([...snapshot, put, put])).toThrow(/duplicated delta b@8/);
  });
  it('rejects a delta already contained in the snapshot', () => {
    expect(() => replay([...snapshot, { type: 'delete', key: 'a', value: undefined, revision: 7 }])).toThrow(
      /at\/below snapshot 7/,
    );
  });
  it('rejects a second snapshot not marked as resync and a snapshot without in-sync', () => {
    expect(() => replay([...snapshot, ...snapshot])).toThrow(/not marked resync/);
    expect(() => replay([snapshot[0] as WatchEvent])).toThrow(/not followed by in-sync/);
  });
});
