// Integration tests of the key-value API against a real etcd started by the test: create/get, CAS
// conflicts between concurrent writers, list consistency, multi-key transactions, request counting
// and the "nothing answers" error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  connectDatastore,
  DatastoreUnavailableError,
  type EtcdKeyValueStore,
  etcdUnavailableReason,
  findFreePort,
  RevisionConflictError,
  TestEtcd,
  TransactionConflictError,
} from '../src/index.js';

const skipReason = etcdUnavailableReason();
if (skipReason !== undefined) console.log(`SKIP datastore kv etcd tests: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('etcd key-value store', () => {
  let etcd: TestEtcd;
  let store: EtcdKeyValueStore;
  const prefix = `/test-${process.pid}-${Date.now()}/`;

  beforeAll(async () => {
    etcd = await TestEtcd.start();
    store = etcd.connect();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('creates, gets, and refuses a second create with the existing revision', async () => {
    const key = `${prefix}create/a`;
    const revision = await store.create(key, '{"n":1}');
    expect(await store.get(key)).toEqual({ key, value: '{"n":1}', revision, createRevision: revision });
    const error = await store.create(key, '{"n":2}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlreadyExistsError);
    expect((error as AlreadyExistsError).currentRevision).toBe(revision);
    expect((await store.get(key))?.value).toBe('{"n":1}');
    expect(await store.get(`${prefix}create/missing`)).toBeUndefined();
  });

  it('lets exactly one of two concurrent CAS writers win; the loser learns the current revision', async () => {
    const key = `${prefix}cas/contended`;
    const base = await store.create(key, 'v0');
    const writerA = etcd.connect();
    const writerB = etcd.connect();
    const outcomes = await Promise.allSettled([
      writerA.update(key, 'from-a', base),
      writerB.update(key, 'from-b', base),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winnerRevision = (won[0] as PromiseFulfilledResult<number>).value;
    const loserError = (lost[0] as PromiseRejectedResult).reason as RevisionConflictError;
    expect(loserError).toBeInstanceOf(RevisionConflictError);
    expect(loserError.expectedRevision).toBe(base);
    expect(loserError.currentRevision).toBe(winnerRevision);
    const stored = await store.get(key);
    expect(stored?.revision).toBe(winnerRevision);
    expect(stored?.createRevision).toBe(base);
    expect(stored?.value).toBe(outcomes[0]?.status === 'fulfilled' ? 'from-a' : 'from-b');
    // The loser retries with the revision it was told and succeeds.
    const retried = await store.update(key, 'retried', loserError.currentRevision);
    expect(retried).toBeGreaterThan(winnerRevision);
  });

  it('keeps many concurrent read-modify-write increments exact (no lost update)', async () => {
    const key = `${prefix}cas/counter`;
    await store.create(key, '0');
    const writers = Array.from({ length: 4 }, () => etcd.connect());
    await Promise.all(
      writers.map(async (writer) => {
        for (let done = 0; done < 10; ) {
          const current = await writer.get(key);
          if (current === undefined) throw new Error('counter vanished');
          try {
            await writer.update(key, String(Number(current.value) + 1), current.revision);
            done += 1;
          } catch (error) {
            if (!(error instanceof RevisionConflictError)) throw error;
          }
        }
      }),
    );
    expect((await store.get(key))?.value).toBe('40');
  });

  it('reports a conflict with revision 0 when updating or CAS-deleting a key that is gone', async () => {
    const key = `${prefix}cas/gone`;
    const revision = await store.create(key, 'x');
    expect(await store.delete(key)).toBe(true);
    expect(await store.delete(key)).toBe(false);
    const updateError = await store.update(key, 'y', revision).catch((e: unknown) => e);
    expect(updateError).toBeInstanceOf(RevisionConflictError);
    expect((updateError as RevisionConflictError).currentRevision).toBe(0);
    const deleteError = await store.delete(key, revision).catch((e: unknown) => e);
    expect((deleteError as RevisionConflictError).currentRevision).toBe(0);
  });

  it('CAS-deletes only at the expected revision', async () => {
    const key = `${prefix}cas/delete`;
    const first = await store.create(key, '1');
    const second = await store.update(key, '2', first);
    const error = await store.delete(key, first).catch((e: unknown) => e);
    expect((error as RevisionConflictError).currentRevision).toBe(second);
    expect(await store.delete(key, second)).toBe(true);
    expect(await store.get(key)).toBeUndefined();
  });

  it('lists a prefix sorted, excluding neighbours, at one revision', async () => {
    const listPrefix = `${prefix}list/`;
    await store.put(`${listPrefix}b`, 'B');
    await store.put(`${listPrefix}a`, 'A');
    await store.put(`${prefix}list-not/a`, 'neighbour');
    const listed = await store.list(listPrefix);
    expect(listed.items.map((item) => [item.key, item.value])).toEqual([
      [`${listPrefix}a`, 'A'],
      [`${listPrefix}b`, 'B'],
    ]);
    expect(listed.revision).toBe(await store.currentRevision());
  });

  it('never shows a list torn between two keys written together', async () => {
    const listPrefix = `${prefix}pair/`;
    const writer = etcd.connect();
    const reader = etcd.connect();
    let stop = false;
    const writing = (async () => {
      for (let round = 0; !stop; round++) {
        await writer.commitAll(
          [],
          [
            { type: 'put', key: `${listPrefix}left`, value: String(round) },
            { type: 'put', key: `${listPrefix}right`, value: String(round) },
          ],
        );
      }
    })();
    const seenRevisions = new Set<number>();
    for (let read = 0; read < 60; read++) {
      const listed = await reader.list(listPrefix);
      seenRevisions.add(listed.revision);
      if (listed.items.length === 0) continue;
      expect(listed.items).toHaveLength(2);
      expect(listed.items[0]?.value).toBe(listed.items[1]?.value);
      expect(listed.items[0]?.revision).toBe(listed.items[1]?.revision);
      for (const item of listed.items) expect(item.revision).toBeLessThanOrEqual(listed.revision);
    }
    stop = true;
    await writing;
    expect(seenRevisions.size).toBeGreaterThan(1); // the reads really interleaved with writes
  });

  it('commits multi-key writes atomically under conditions, or nothing', async () => {
    const block = `${prefix}txn/block`;
    const affinity = `${prefix}txn/affinity`;
    const result = await store.commitAll(
      [
        { key: block, absent: true },
        { key: affinity, absent: true },
      ],
      [
        { type: 'put', key: block, value: 'b1' },
        { type: 'put', key: affinity, value: 'a1' },
      ],
    );
    expect((await store.get(block))?.revision).toBe(result.revision);
    expect((await store.get(affinity))?.revision).toBe(result.revision);
    const other = `${prefix}txn/other`;
    const error = await store
      .commitAll(
        [
          { key: other, absent: true },
          { key: block, absent: true },
        ],
        [
          { type: 'put', key: other, value: 'o' },
          { type: 'put', key: block, value: 'b2' },
        ],
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionConflictError);
    expect((error as TransactionConflictError).failedKeys).toEqual([
      { key: block, condition: 'must be absent', currentRevision: result.revision },
    ]);
    expect(await store.get(other)).toBeUndefined();
    // Revision conditions and deletes.
    const moved = await store.commitAll(
      [{ key: block, revision: result.revision }],
      [
        { type: 'put', key: block, value: 'b3' },
        { type: 'delete', key: affinity },
      ],
    );
    expect((await store.get(block))?.revision).toBe(moved.revision);
    expect(await store.get(affinity)).toBeUndefined();
  });

  it('rejects bad arguments with precise errors', async () => {
    await expect(store.create('', 'x')).rejects.toThrow(/key must be a non-empty string/);
    await expect(store.update(`${prefix}x`, 'x', 0)).rejects.toThrow(
      /expectedRevision must be a positive integer/,
    );
    await expect(
      store.commitAll(
        [],
        [
          { type: 'put', key: `${prefix}dup`, value: '1' },
          { type: 'delete', key: `${prefix}dup` },
        ],
      ),
    ).rejects.toThrow(/written twice/);
  });

  it('counts one request per operation', async () => {
    const counted = etcd.connect();
    const key = `${prefix}count/k`;
    const revision = await counted.create(key, '1');
    await counted.get(key);
    await counted.update(key, '2', revision);
    await counted.list(`${prefix}count/`);
    await counted.delete(key);
    await counted.update(key, '3', revision).catch(() => undefined);
    expect(counted.requestCounts()).toEqual({
      total: 6,
      byOperation: { create: 1, get: 1, update: 2, list: 1, delete: 1 },
    });
  });
});

describe.skipIf(skipReason !== undefined)('with several endpoints, one of them dead', () => {
  it('keeps answering every operation through the live endpoint', async () => {
    const etcd = await TestEtcd.start();
    const dead = `http://127.0.0.1:${await findFreePort()}`;
    const store = connectDatastore({ endpoints: [dead, ...etcd.endpoints], requestTimeoutMs: 1500 });
    try {
      for (let i = 0; i < 15; i++) {
        const key = `/multi/${i}`;
        const revision = await store.create(key, String(i));
        expect((await store.get(key))?.revision).toBe(revision);
        await store.update(key, 'next', revision);
        expect((await store.list('/multi/')).items).toHaveLength(i + 1);
      }
      expect(store.requestCounts().total).toBeGreaterThanOrEqual(60);
    } finally {
      await store.close();
      await etcd.stop();
    }
  });
});

describe('when no etcd answers', () => {
  it('fails fast with the endpoints tried and how to start or point to one', async () => {
    const port = await findFreePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const store = connectDatastore({ endpoints: endpoint, requestTimeoutMs: 1500 });
    try {
      const error = await store.get('/caracal/v1/anything').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatastoreUnavailableError);
      const message = (error as Error).message;
      expect(message).toContain(endpoint);
      expect(message).toContain('caracalctl datastore start');
      expect(message).toContain('--etcd-endpoints');
      expect(message).toContain('ETCD_ENDPOINTS');
    } finally {
      await store.close();
    }
  });
});
