// The low-level key-value contract the rest of Caracal builds on (IPAM, caracalctl, the resource layer).
// Keys and values are strings (values are JSON by convention); revisions are etcd revisions as numbers.
import type { Observable } from 'rxjs';

/** One stored key with its etcd revisions. */
export interface KeyValue {
  key: string;
  value: string;
  /** modRevision: the store revision of the last write of this key; the CAS token for update/delete. */
  revision: number;
  /** createRevision: the store revision at which the key was (last) created. */
  createRevision: number;
}

/** A prefix listing, consistent at one store revision. Items are sorted by key. */
export interface ListResult {
  items: KeyValue[];
  /** Store revision at which the listing was taken. */
  revision: number;
}

/** A condition of a multi-key transaction (all must hold for the writes to be applied). */
export type TxnCondition =
  /** The key does not exist. */
  | { key: string; absent: true }
  /** The key exists with exactly this modRevision. */
  | { key: string; revision: number };

/** A write of a multi-key transaction. */
export type TxnWrite = { type: 'put'; key: string; value: string } | { type: 'delete'; key: string };

/** Result of a successful commitAll: new store revision (= modRevision of every key it put). */
export interface TxnResult {
  revision: number;
}

/** Watch stream events: a snapshot, an in-sync marker, then deltas; after any gap a new snapshot. */
export type WatchEvent =
  | {
      type: 'snapshot';
      items: KeyValue[];
      revision: number;
      /** false for the first snapshot, true when re-listed after a gap (reconnect, compaction). */
      resync: boolean;
    }
  | { type: 'in-sync'; revision: number }
  | { type: 'put'; key: string; value: string; revision: number; createRevision: number }
  | { type: 'delete'; key: string; value: undefined; revision: number };

/** Options of watchPrefix. */
export interface WatchOptions {
  /**
   * The consumer already holds the prefix's state as of this revision: skip the first snapshot and emit
   * deltas after it (still preceded by in-sync). If that history was compacted, a resync snapshot comes
   * first instead.
   */
  afterRevision?: number;
}

/** Counts of requests sent to etcd (one per round trip), for the benchmarks and status output. */
export interface RequestCounts {
  total: number;
  byOperation: Record<string, number>;
}

export interface KeyValueStore {
  /** Creates the key; fails with AlreadyExistsError if present. Returns the new modRevision. */
  create(key: string, value: string): Promise<number>;
  /** The key's value and revisions, or undefined when absent. */
  get(key: string): Promise<KeyValue | undefined>;
  /**
   * Compare-and-swap on modRevision: writes only if the key's modRevision is expectedRevision. Fails with
   * RevisionConflictError (carrying the current revision, 0 if the key is gone). Returns the new modRevision.
   */
  update(key: string, value: string, expectedRevision: number): Promise<number>;
  /** Unconditional write (create or overwrite). Returns the new modRevision. */
  put(key: string, value: string): Promise<number>;
  /**
   * Deletes the key. With expectedRevision, only if its modRevision matches (else RevisionConflictError).
   * Returns true if a key was deleted; false when it was already absent (without expectedRevision).
   * With expectedRevision and an absent key: RevisionConflictError with currentRevision 0.
   */
  delete(key: string, expectedRevision?: number): Promise<boolean>;
  /** All keys starting with prefix, consistent at one store revision. */
  list(prefix: string): Promise<ListResult>;
  /** Applies all writes atomically if all conditions hold; otherwise TransactionConflictError. */
  commitAll(conditions: TxnCondition[], writes: TxnWrite[]): Promise<TxnResult>;
  /** Snapshot + deltas of a prefix, resynchronising (new snapshot) after any gap. */
  watchPrefix(prefix: string, options?: WatchOptions): Observable<WatchEvent>;
  /** The current store revision. */
  currentRevision(): Promise<number>;
  /** Requests sent so far (each unary request = one round trip; a watch creation counts as one). */
  requestCounts(): RequestCounts;
  /** Closes connections; pending watches complete. */
  close(): Promise<void>;
}
