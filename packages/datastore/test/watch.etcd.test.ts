// Integration tests of watchPrefix against a real etcd: snapshot then deltas, multi-key transactions,
// and no missed or duplicated event across an etcd restart, a connection cut with compaction behind the
// watcher's back, and a resume from a compacted revision. Every stream is replayed into a map and
// compared with a final list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatastore, type EtcdKeyValueStore, etcdUnavailableReason, TestEtcd } from '../src/index.js';
import { CuttableProxy, record, replay, waitFor } from './watch-helpers.js';

const skipReason = etcdUnavailableReason();
if (skipReason !== undefined) console.log(`SKIP datastore watch etcd tests: ${skipReason}`);

/** Whether the replayed stream equals the store's current content of the prefix. */
async function converged(store: EtcdKeyValueStore, prefix: string, events: Parameters<typeof replay>[0]) {
  const listed = await store.list(prefix);
  const { state } = replay(events);
  if (state.size !== listed.items.length) return false;
  return listed.items.every((item) => {
    const seen = state.get(item.key);
    return seen !== undefined && seen.value === item.value && seen.revision === item.revision;
  });
}

describe.skipIf(skipReason !== undefined)('watchPrefix against a real etcd', () => {
  let etcd: TestEtcd;
  let store: EtcdKeyValueStore;
  const run = `/test-watch-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    etcd = await TestEtcd.start();
    store = etcd.connect();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('emits a snapshot, in-sync, then puts and deletes in order, including multi-key transactions', async () => {
    const prefix = `${run}/basic/`;
    await store.put(`${prefix}existing`, 'e');
    await store.put(`${run}/basic-neighbour`, 'not mine');
    const watcher = etcd.connect();
    const recorder = record(watcher.watchPrefix(prefix));
    await waitFor('in-sync', () => recorder.events.some((event) => event.type === 'in-sync'));
    const first = recorder.events[0];
    expect(first?.type).toBe('snapshot');
    if (first?.type !== 'snapshot') throw new Error('unreachable');
    expect(first.resync).toBe(false);
    expect(first.items.map((item) => item.key)).toEqual([`${prefix}existing`]);

    const a = await store.create(`${prefix}a`, '1');
    await store.update(`${prefix}a`, '2', a);
    const txn = await store.commitAll(
      [],
      [
        { type: 'put', key: `${prefix}x`, value: 'x' },
        { type: 'put', key: `${prefix}y`, value: 'y' },
        { type: 'delete', key: `${prefix}existing` },
      ],
    );
    await store.delete(`${prefix}a`);
    await store.put(`${run}/basic-neighbour`, 'still not mine');
    await waitFor('convergence', () => converged(store, prefix, recorder.events));
    const deltas = recorder.events.filter((event) => event.type === 'put' || event.type === 'delete');
    expect(deltas.map((event) => [event.type, event.key.slice(prefix.length)])).toEqual([
      ['put', 'a'],
      ['put', 'a'],
      ['put', 'x'],
      ['put', 'y'],
      ['delete', 'existing'],
      ['delete', 'a'],
    ]);
    expect(deltas.slice(2, 5).every((event) => event.revision === txn.revision)).toBe(true);
    recorder.subscription.unsubscribe();
  });

  it('delivers every change exactly once under concurrent writers', async () => {
    const prefix = `${run}/busy/`;
    const recorders = [
      record(etcd.connect().watchPrefix(prefix)),
      record(etcd.connect().watchPrefix(prefix)),
    ];
    const writers = [etcd.connect(), etcd.connect(), etcd.connect()];
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < 60; i++) {
          const key = `${prefix}k${(i * 7 + w) % 13}`;
          if (i % 5 === 4) await writer.delete(key);
          else await writer.put(key, `${w}-${i}`);
        }
      }),
    );
    for (const recorder of recorders) {
      await waitFor('convergence', () => converged(store, prefix, recorder.events));
      const replayed = replay(recorder.events);
      expect(replayed.resyncs).toBe(0);
      expect(replayed.deltas).toBeGreaterThan(0);
      recorder.subscription.unsubscribe();
    }
  });

  it('resynchronises across an etcd restart without a missed or duplicated event', async () => {
    const prefix = `${run}/restart/`;
    for (let i = 0; i < 5; i++) await store.put(`${prefix}before-${i}`, String(i));
    const recorder = record(etcd.connect().watchPrefix(prefix));
    await waitFor('in-sync', () => recorder.events.some((event) => event.type === 'in-sync'));
    await store.put(`${prefix}before-0`, 'changed');
    await store.delete(`${prefix}before-1`);
    await waitFor('deltas before the restart', () => converged(store, prefix, recorder.events));

    await etcd.restart();
    const writer = etcd.connect();
    for (let i = 0; i < 5; i++) await writer.put(`${prefix}after-${i}`, String(i));
    await writer.delete(`${prefix}before-2`);
    await waitFor('convergence after restart', () => converged(writer, prefix, recorder.events));
    const replayed = replay(recorder.events);
    expect(replayed.resyncs).toBeGreaterThanOrEqual(1);
    // After the resync, the stream is live again: a later write arrives as a delta.
    const deltasBefore = replayed.deltas;
    await writer.put(`${prefix}late`, 'late');
    await waitFor('late delta', () => converged(writer, prefix, recorder.events));
    expect(replay(recorder.events).deltas).toBe(deltasBefore + 1);
    recorder.subscription.unsubscribe();
  });

  it('resynchronises after a connection cut during which history was compacted', async () => {
    const prefix = `${run}/compact/`;
    const proxy = await CuttableProxy.start(etcd.clientPort);
    const watcherStore = connectDatastore({ endpoints: proxy.endpoint, requestTimeoutMs: 1000 });
    try {
      for (let i = 0; i < 4; i++) await store.put(`${prefix}k${i}`, 'v0');
      const recorder = record(watcherStore.watchPrefix(prefix));
      await waitFor('in-sync', () => recorder.events.some((event) => event.type === 'in-sync'));
      await store.put(`${prefix}k0`, 'v1');
      await waitFor('first delta', () => converged(store, prefix, recorder.events));
      const eventsBeforeCut = recorder.events.length;

      proxy.cut();
      for (let i = 0; i < 4; i++) await store.put(`${prefix}k${i}`, `during-cut-${i}`);
      await store.delete(`${prefix}k3`);
      await store.put(`${prefix}new`, 'created during cut');
      const compactedAt = await store.currentRevision();
      await etcd.compact(compactedAt);
      // History up to compactedAt is gone: a plain watch from the watcher's last revision would fail.
      await expect(
        store
          .list(prefix)
          .then(() => etcd.connect().client.kv.range({ key: Buffer.from(prefix), revision: 2 })),
      ).rejects.toThrow(/compacted/);
      expect(recorder.events.length).toBe(eventsBeforeCut); // nothing leaked through the cut

      proxy.restore();
      await waitFor('convergence after cut', () => converged(store, prefix, recorder.events));
      const replayed = replay(recorder.events);
      expect(replayed.resyncs).toBeGreaterThanOrEqual(1);
      const lastSnapshot = recorder.events.filter((event) => event.type === 'snapshot').at(-1);
      expect(lastSnapshot?.type === 'snapshot' && lastSnapshot.revision >= compactedAt).toBe(true);
      await store.put(`${prefix}after`, 'after');
      await waitFor('delta after resync', () => converged(store, prefix, recorder.events));
      recorder.subscription.unsubscribe();
    } finally {
      await watcherStore.close();
      await proxy.close();
    }
  });

  it('stays exact while writes never stop across repeated cuts and compactions', async () => {
    const prefix = `${run}/chaos/`;
    const proxy = await CuttableProxy.start(etcd.clientPort);
    const watcherStore = connectDatastore({ endpoints: proxy.endpoint, requestTimeoutMs: 1000 });
    const writer = etcd.connect();
    let writing = true;
    let writes = 0;
    const writerLoop = (async () => {
      while (writing) {
        const key = `${prefix}k${writes % 17}`;
        if (writes % 6 === 5) await writer.delete(key);
        else if (writes % 10 === 3) {
          await writer.commitAll(
            [],
            [
              { type: 'put', key, value: `t${writes}` },
              { type: 'put', key: `${prefix}pair-${writes % 3}`, value: `t${writes}` },
            ],
          );
        } else await writer.put(key, `v${writes}`);
        writes += 1;
      }
    })();
    try {
      const recorder = record(watcherStore.watchPrefix(prefix));
      for (let cut = 0; cut < 3; cut++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        proxy.cut();
        await new Promise((resolve) => setTimeout(resolve, 200));
        await etcd.compact(await writer.currentRevision());
        proxy.restore();
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      writing = false;
      await writerLoop;
      await waitFor('convergence after chaos', () => converged(writer, prefix, recorder.events));
      const replayed = replay(recorder.events);
      expect(replayed.resyncs).toBeGreaterThanOrEqual(3);
      expect(replayed.deltas).toBeGreaterThan(0);
      expect(writes).toBeGreaterThan(50);
      recorder.subscription.unsubscribe();
    } finally {
      writing = false;
      await writerLoop;
      await watcherStore.close();
      await proxy.close();
    }
  });

  it('notices a frozen etcd by keepalive and resynchronises once it answers again', async () => {
    const prefix = `${run}/frozen/`;
    const frozen = await TestEtcd.start();
    try {
      const writer = frozen.connect();
      await writer.put(`${prefix}a`, '1');
      const recorder = record(frozen.connect().watchPrefix(prefix));
      await waitFor('in-sync', () => recorder.events.some((event) => event.type === 'in-sync'));
      const pid = frozen.pid as number;
      process.kill(pid, 'SIGSTOP'); // the TCP connection stays open; only keepalive can tell
      try {
        await new Promise((resolve) => setTimeout(resolve, 17_000)); // keepalive: 10 s idle + 5 s timeout
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await writer.put(`${prefix}b`, '2');
      await waitFor('convergence after thaw', () => converged(writer, prefix, recorder.events));
      expect(replay(recorder.events).resyncs).toBeGreaterThanOrEqual(1);
      recorder.subscription.unsubscribe();
    } finally {
      await frozen.stop();
    }
  }, 60_000);

  it('resumes after a known revision, or resyncs when that revision was compacted', async () => {
    const prefix = `${run}/resume/`;
    const start = await store.put(`${prefix}a`, '1');
    await store.put(`${prefix}b`, '1');
    const resumed = record(etcd.connect().watchPrefix(prefix, { afterRevision: start }));
    await waitFor('delta of b', () => resumed.events.some((event) => event.type === 'put'));
    expect(resumed.events.map((event) => [event.type, 'key' in event ? event.key : ''])).toEqual([
      ['put', `${prefix}b`],
    ]);
    resumed.subscription.unsubscribe();

    await store.put(`${prefix}c`, '1');
    await etcd.compact(await store.currentRevision());
    const stale = record(etcd.connect().watchPrefix(prefix, { afterRevision: start }));
    await waitFor('resync snapshot', () => stale.events.some((event) => event.type === 'in-sync'));
    const snapshot = stale.events[0];
    expect(snapshot?.type === 'snapshot' && snapshot.resync).toBe(true);
    expect(snapshot?.type === 'snapshot' && snapshot.items.map((item) => item.key)).toEqual([
      `${prefix}a`,
      `${prefix}b`,
      `${prefix}c`,
    ]);
    stale.subscription.unsubscribe();
  });

  it('completes the stream when its store is closed', async () => {
    const own = etcd.connect();
    const recorder = record(own.watchPrefix(`${run}/close/`));
    await waitFor('in-sync', () => recorder.events.some((event) => event.type === 'in-sync'));
    await own.close();
    await waitFor('completion', () => recorder.completed());
    expect(recorder.errors).toEqual([]);
  });
});
