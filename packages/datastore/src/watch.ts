// Gap-free prefix watches as rxjs Observables on the etcd3 watch stream: list (snapshot at revision R),
// watch from R+1, and on any interruption (disconnect, etcd restart, compaction, cancellation) list again
// and emit a resync snapshot. Events at or below the last snapshot/delta revision are dropped, so a
// consumer never sees a duplicated delta and never a silent gap.
import type { Watcher } from 'etcd3';
import { Observable } from 'rxjs';
import type { EtcdKeyValueStore } from './etcd-kv.js';
import type { WatchEvent, WatchOptions } from './kv.js';

/** First retry delay after an interruption; doubles up to MAX_RETRY_DELAY_MS while etcd stays away. */
const FIRST_RETRY_DELAY_MS = 50;
const MAX_RETRY_DELAY_MS = 2000;

/** The smallest key greater than every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let index = end.length - 1; index >= 0; index--) {
    const byte = end[index] as number;
    if (byte < 0xff) {
      end[index] = byte + 1;
      return end.subarray(0, index + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: no upper bound
}

interface RawWatchEvent {
  type: string;
  kv: { key: Buffer; value: Buffer; mod_revision: string; create_revision: string };
}

/** Implementation of EtcdKeyValueStore.watchPrefix (see WatchEvent for the protocol). */
export function watchPrefixOnEtcd(
  store: EtcdKeyValueStore,
  prefix: string,
  options: WatchOptions = {},
): Observable<WatchEvent> {
  return new Observable<WatchEvent>((subscriber) => {
    let stopped = false;
    let watcher: Watcher | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    let retryDelay = FIRST_RETRY_DELAY_MS;
    /** Bumped on every (re)start, so callbacks of a superseded list or watcher are ignored. */
    let generation = 0;
    /** Revision of the last snapshot: events at or below it are already contained in it. */
    let snapshotRevision = 0;
    /** Highest delta revision emitted, and the keys emitted at exactly that revision (one txn = one revision). */
    let lastRevision = 0;
    const keysAtLastRevision = new Set<string>();
    let snapshotsEmitted = 0;

    const dropWatcher = (): void => {
      const old = watcher;
      watcher = undefined;
      if (old === undefined) return;
      old.removeAllListeners();
      old.on('error', () => undefined); // a late error of a cancelled watcher must not throw
      void old.cancel().catch(() => undefined);
    };

    const interrupted = (): void => {
      if (stopped) return;
      generation += 1;
      dropWatcher();
      if (store.isClosed) {
        subscriber.complete();
        return;
      }
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => void resync(), retryDelay);
      retryDelay = Math.min(retryDelay * 2, MAX_RETRY_DELAY_MS);
    };

    const deliver = (event: RawWatchEvent): void => {
      const revision = Number(event.kv.mod_revision);
      const key = event.kv.key.toString();
      if (revision <= snapshotRevision || revision < lastRevision) return;
      if (revision === lastRevision && keysAtLastRevision.has(key)) return;
      if (revision > lastRevision) {
        lastRevision = revision;
        keysAtLastRevision.clear();
      }
      keysAtLastRevision.add(key);
      if (event.type === 'DELETE' || event.type === 'Delete') {
        subscriber.next({ type: 'delete', key, value: undefined, revision });
      } else {
        subscriber.next({
          type: 'put',
          key,
          value: event.kv.value.toString(),
          revision,
          createRevision: Number(event.kv.create_revision),
        });
      }
    };

    const startWatcher = (fromRevision: number): void => {
      const myGeneration = generation;
      store.countRequest('watch');
      const created = store.client
        .watch()
        .prefix(prefix)
        .startRevision(String(fromRevision + 1))
        .watcher();
      watcher = created;
      created.on('connected', () => {
        if (myGeneration === generation) retryDelay = FIRST_RETRY_DELAY_MS;
      });
      created.on('data', (response: { events: RawWatchEvent[] }) => {
        if (myGeneration !== generation || stopped) return;
        for (const event of response.events) deliver(event);
      });
      // 'disconnected': the shared stream broke (etcd down/restarted, network); 'error': etcd cancelled
      // this watch (compacted start revision, permissions). Either way: re-list.
      created.on('disconnected', () => {
        if (myGeneration === generation) interrupted();
      });
      created.on('error', () => {
        if (myGeneration === generation) interrupted();
      });
    };

    const resync = async (): Promise<void> => {
      if (stopped) return;
      generation += 1;
      const myGeneration = generation;
      let snapshot: Awaited<ReturnType<EtcdKeyValueStore['list']>>;
      try {
        snapshot = await store.list(prefix);
      } catch {
        if (myGeneration === generation) interrupted();
        return;
      }
      if (stopped || myGeneration !== generation) return;
      snapshotRevision = snapshot.revision;
      lastRevision = snapshot.revision;
      keysAtLastRevision.clear();
      subscriber.next({
        type: 'snapshot',
        items: snapshot.items,
        revision: snapshot.revision,
        resync: snapshotsEmitted > 0 || options.afterRevision !== undefined,
      });
      snapshotsEmitted += 1;
      subscriber.next({ type: 'in-sync', revision: snapshot.revision });
      startWatcher(snapshot.revision);
    };

    const stop = (): void => {
      stopped = true;
      generation += 1;
      clearTimeout(retryTimer);
      dropWatcher();
    };
    const removeCloseListener = store.onClose(() => {
      stop();
      subscriber.complete();
    });

    if (store.isClosed) {
      subscriber.complete();
    } else if (options.afterRevision === undefined) {
      void resync();
    } else {
      snapshotRevision = options.afterRevision;
      lastRevision = options.afterRevision;
      generation += 1;
      startWatcher(options.afterRevision);
    }

    return () => {
      removeCloseListener();
      stop();
    };
  });
}
