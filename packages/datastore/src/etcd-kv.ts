// The etcd implementation of KeyValueStore on the etcd3 client's raw gRPC KV API: every method is one
// round trip (one unary request), counted for the benchmarks; CAS uses etcd transactions on modRevision.
import { Etcd3, type IOptions } from 'etcd3';
import type { Observable } from 'rxjs';
import {
  type DatastoreConfig,
  type DatastoreOptions,
  loadTlsMaterial,
  resolveDatastoreConfig,
} from './config.js';
import {
  AlreadyExistsError,
  DatastoreRequestError,
  DatastoreTlsError,
  DatastoreUnavailableError,
  InvalidKeyError,
  RevisionConflictError,
  TransactionConflictError,
} from './errors.js';
import type {
  KeyValue,
  KeyValueStore,
  ListResult,
  RequestCounts,
  TxnCondition,
  TxnResult,
  TxnWrite,
  WatchEvent,
  WatchOptions,
} from './kv.js';
import { prefixRangeEnd, watchPrefixOnEtcd } from './watch.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 3000;

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * A pass-through fault policy: no hidden retries (a retried create or CAS could report a conflict with
 * its own first attempt) and no circuit breaker (it would keep failing for seconds after etcd is back).
 */
function passThroughPolicy(): Policy {
  const noSubscription = () => ({ dispose: () => undefined });
  const policy = {
    onSuccess: noSubscription,
    onFailure: noSubscription,
    execute: async <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal) =>
      fn({ signal: signal ?? new AbortController().signal }),
  };
  return policy as unknown as Policy;
}

/** How long an endpoint that failed to answer is skipped when other endpoints are configured. */
const ENDPOINT_HOLD_DOWN_MS = 1000;

/**
 * Per-endpoint policy for multi-endpoint configurations: an endpoint that failed with an
 * unavailability error is skipped for a moment (the etcd3 pool then tries the next endpoint without
 * calling this one). With a single endpoint nothing is ever skipped (see passThroughPolicy).
 */
function holdDownPolicy(endpoint: string): Policy {
  let downUntil = 0;
  const noSubscription = () => ({ dispose: () => undefined });
  const policy = {
    onSuccess: noSubscription,
    onFailure: noSubscription,
    execute: async <T>(
      fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T,
      signal?: AbortSignal,
    ) => {
      if (Date.now() < downUntil) {
        throw new Error(
          `14 UNAVAILABLE: No connection established to ${endpoint} (it failed recently; skipped)`,
        );
      }
      try {
        return await fn({ signal: signal ?? new AbortController().signal });
      } catch (error) {
        if (isUnavailable(error)) downUntil = Date.now() + ENDPOINT_HOLD_DOWN_MS;
        throw error;
      }
    },
  };
  return policy as unknown as Policy;
}

/** Operations that may be repeated after an ambiguous failure without changing their outcome. */
const IDEMPOTENT_OPERATIONS = new Set(['get', 'list', 'revision', 'put', 'delete']);

/** The request surely never reached etcd (connection not established), so repeating it is safe. */
function neverSent(error: unknown): boolean {
  return /No connection established|ECONNREFUSED|Failed to connect|skipped\)/.test(
    (error as Error)?.message ?? '',
  );
}

/** Raw etcd KeyValue as the etcd3 RPC layer returns it. */
interface RawKeyValue {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
  create_revision: string;
}

export function toKeyValue(raw: RawKeyValue): KeyValue {
  return {
    key: raw.key.toString(),
    value: raw.value.toString(),
    revision: Number(raw.mod_revision),
    createRevision: Number(raw.create_revision),
  };
}

function checkKey(key: unknown, what = 'key'): string {
  if (typeof key !== 'string' || key === '') {
    throw new InvalidKeyError(`${what} must be a non-empty string, got ${JSON.stringify(key)}`);
  }
  return key;
}

function checkRevision(revision: unknown, what: string): number {
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision <= 0) {
    throw new InvalidKeyError(
      `${what} must be a positive integer etcd revision, got ${JSON.stringify(revision)}`,
    );
  }
  return revision;
}

function isUnavailable(error: unknown): boolean {
  const text = `${(error as { name?: string })?.name ?? ''} ${(error as Error)?.message ?? String(error)}`;
  return /Unavailable|DeadlineExceeded|UNAVAILABLE|DEADLINE_EXCEEDED|No connection established|ECONNREFUSED|Failed to connect|Deadline exceeded/i.test(
    text,
  );
}

/** etcd over gRPC. Construct with connectDatastore(); close() when done. */
export class EtcdKeyValueStore implements KeyValueStore {
  /** The underlying etcd3 client, for the status command and for watch internals. */
  readonly client: Etcd3;
  readonly config: DatastoreConfig;
  private readonly counts: RequestCounts = { total: 0, byOperation: {} };
  private closed = false;
  private readonly closeListeners = new Set<() => void>();

  constructor(config: DatastoreConfig) {
    this.config = config;
    const timeout = config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const credentials = loadTlsMaterial(config);
    const options: IOptions = {
      hosts: config.endpoints,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
      faultHandling: {
        host: (endpoint) => (config.endpoints.length > 1 ? holdDownPolicy(endpoint) : passThroughPolicy()),
        global: passThroughPolicy(),
      },
      grpcOptions: {
        // Reconnect quickly after an etcd restart (defaults back off up to 120 s).
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        // Detect a peer that vanished without closing the connection (host down, network black hole)
        // while a watch stream is open, so the watch resyncs instead of hanging. etcd refuses pings
        // more often than every 5 s and pings without an open stream.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 0,
      },
    };
    if (credentials !== undefined) options.credentials = credentials;
    this.client = new Etcd3(options);
  }

  /** Counts one request to etcd under the operation name. */
  countRequest(operation: string): void {
    this.counts.total += 1;
    this.counts.byOperation[operation] = (this.counts.byOperation[operation] ?? 0) + 1;
  }

  requestCounts(): RequestCounts {
    return { total: this.counts.total, byOperation: { ...this.counts.byOperation } };
  }

  /** Runs one request, counting it and mapping transport failures to DatastoreUnavailableError. */
  /**
   * Runs one request, counting it and mapping transport failures to DatastoreUnavailableError. With
   * several endpoints, an unavailability is retried on the others (each attempt counted) when that is
   * safe: the request never left, or repeating it cannot change its outcome (`delete` without a revision
   * reports false on its repeat). CAS writes, creates and transactions are not repeated otherwise: a
   * repeat could report a conflict with its own first attempt.
   */
  private async request<T>(operation: string, key: string, call: () => Promise<T>): Promise<T> {
    const attempts = this.config.endpoints.length;
    for (let attempt = 1; ; attempt++) {
      this.countRequest(operation);
      try {
        return await call();
      } catch (error) {
        const retry =
          attempt < attempts &&
          isUnavailable(error) &&
          (neverSent(error) || IDEMPOTENT_OPERATIONS.has(operation));
        if (!retry) throw this.mapError(operation, key, error);
      }
    }
  }

  mapError(operation: string, key: string, error: unknown): Error {
    const cause = ((error as Error)?.message ?? String(error)).replace(/\s+/g, ' ').trim();
    if (/SSL routines|certificate|handshake|alert/i.test(cause)) {
      return new DatastoreTlsError(this.config.endpoints, cause);
    }
    if (isUnavailable(error)) return new DatastoreUnavailableError(this.config.endpoints, cause);
    return new DatastoreRequestError(operation, key, (error as Error)?.message ?? String(error));
  }

  async create(key: string, value: string): Promise<number> {
    checkKey(key);
    const keyBytes = Buffer.from(key);
    const response = await this.request('create', key, () =>
      this.client.kv.txn({
        compare: [{ key: keyBytes, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: keyBytes, value: Buffer.from(value) } }],
        failure: [{ request_range: { key: keyBytes } }],
      }),
    );
    if (response.succeeded) return Number(response.header.revision);
    const existing = response.responses[0]?.response_range.kvs[0];
    throw new AlreadyExistsError(key, existing === undefined ? 0 : Number(existing.mod_revision));
  }

  async get(key: string): Promise<KeyValue | undefined> {
    checkKey(key);
    const response = await this.request('get', key, () => this.client.kv.range({ key: Buffer.from(key) }));
    const raw = response.kvs[0];
    return raw === undefined ? undefined : toKeyValue(raw);
  }

  async update(key: string, value: string, expectedRevision: number): Promise<number> {
    checkKey(key);
    checkRevision(expectedRevision, `update ${key}: expectedRevision`);
    const keyBytes = Buffer.from(key);
    const response = await this.request('update', key, () =>
      this.client.kv.txn({
        compare: [{ key: keyBytes, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
        success: [{ request_put: { key: keyBytes, value: Buffer.from(value) } }],
        failure: [{ request_range: { key: keyBytes } }],
      }),
    );
    if (response.succeeded) return Number(response.header.revision);
    const current = response.responses[0]?.response_range.kvs[0];
    throw new RevisionConflictError(
      key,
      expectedRevision,
      current === undefined ? 0 : Number(current.mod_revision),
    );
  }

  async put(key: string, value: string): Promise<number> {
    checkKey(key);
    const response = await this.request('put', key, () =>
      this.client.kv.put({ key: Buffer.from(key), value: Buffer.from(value) }),
    );
    return Number(response.header.revision);
  }

  async delete(key: string, expectedRevision?: number): Promise<boolean> {
    checkKey(key);
    const keyBytes = Buffer.from(key);
    if (expectedRevision === undefined) {
      const response = await this.request('delete', key, () => this.client.kv.deleteRange({ key: keyBytes }));
      return Number(response.deleted) > 0;
    }
    checkRevision(expectedRevision, `delete ${key}: expectedRevision`);
    const response = await this.request('casDelete', key, () =>
      this.client.kv.txn({
        compare: [{ key: keyBytes, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
        success: [{ request_delete_range: { key: keyBytes } }],
        failure: [{ request_range: { key: keyBytes } }],
      }),
    );
    if (response.succeeded) return true;
    const current = response.responses[0]?.response_range.kvs[0];
    throw new RevisionConflictError(
      key,
      expectedRevision,
      current === undefined ? 0 : Number(current.mod_revision),
    );
  }

  async list(prefix: string): Promise<ListResult> {
    if (typeof prefix !== 'string')
      throw new InvalidKeyError(`prefix must be a string, got ${JSON.stringify(prefix)}`);
    const { key, rangeEnd } = prefixRange(prefix);
    const response = await this.request('list', prefix, () =>
      this.client.kv.range({ key, range_end: rangeEnd }),
    );
    return { items: response.kvs.map(toKeyValue), revision: Number(response.header.revision) };
  }

  async currentRevision(): Promise<number> {
    // A count-only range of one key returns the store revision in its header without data.
    const response = await this.request('revision', '', () =>
      this.client.kv.range({ key: Buffer.from('\0'), count_only: true }),
    );
    return Number(response.header.revision);
  }

  async commitAll(conditions: TxnCondition[], writes: TxnWrite[]): Promise<TxnResult> {
    if (writes.length === 0) throw new InvalidKeyError('commitAll: no writes given');
    const written = new Set<string>();
    for (const [index, write] of writes.entries()) {
      checkKey(write.key, `commitAll writes[${index}].key`);
      if (written.has(write.key)) {
        throw new InvalidKeyError(
          `commitAll writes[${index}]: key ${write.key} is written twice (etcd forbids it)`,
        );
      }
      written.add(write.key);
    }
    const compare = conditions.map((condition, index) => {
      const key = Buffer.from(checkKey(condition.key, `commitAll conditions[${index}].key`));
      if ('absent' in condition)
        return { key, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 };
      checkRevision(condition.revision, `commitAll conditions[${index}].revision`);
      return { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: condition.revision };
    });
    const success = writes.map((write) =>
      write.type === 'put'
        ? { request_put: { key: Buffer.from(write.key), value: Buffer.from(write.value) } }
        : { request_delete_range: { key: Buffer.from(write.key) } },
    );
    const failure = conditions.map((condition) => ({ request_range: { key: Buffer.from(condition.key) } }));
    const firstKey = writes[0]?.key ?? '';
    const response = await this.request('commitAll', firstKey, () =>
      this.client.kv.txn({ compare, success, failure }),
    );
    if (response.succeeded) return { revision: Number(response.header.revision) };
    const failed: { key: string; condition: string; currentRevision: number }[] = [];
    conditions.forEach((condition, index) => {
      const current = response.responses[index]?.response_range.kvs[0];
      const currentRevision = current === undefined ? 0 : Number(current.mod_revision);
      if ('absent' in condition) {
        if (current !== undefined)
          failed.push({ key: condition.key, condition: 'must be absent', currentRevision });
      } else if (currentRevision !== condition.revision) {
        failed.push({
          key: condition.key,
          condition: `revision must be ${condition.revision}`,
          currentRevision,
        });
      }
    });
    throw new TransactionConflictError(failed);
  }

  watchPrefix(prefix: string, options: WatchOptions = {}): Observable<WatchEvent> {
    checkKey(prefix, 'watch prefix');
    if (options.afterRevision !== undefined) checkRevision(options.afterRevision, 'watch afterRevision');
    return watchPrefixOnEtcd(this, prefix, options);
  }

  /** Compacts the store's history up to revision (tests, maintenance). */
  async compact(revision: number): Promise<void> {
    checkRevision(revision, 'compact revision');
    await this.request('compact', '', () => this.client.kv.compact({ revision, physical: true }));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Registers a callback run by close() (watches complete their streams); returns its remover. */
  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const listener of [...this.closeListeners]) listener();
    this.closeListeners.clear();
    this.client.close();
  }
}

/** The [key, rangeEnd) byte range covering every key with this prefix ('' = every key). */
export function prefixRange(prefix: string): { key: Buffer; rangeEnd: Buffer } {
  if (prefix === '') return { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };
  const key = Buffer.from(prefix);
  return { key, rangeEnd: prefixRangeEnd(key) };
}

/** Resolves options (flags, then ETCD_* env, then the local default) and returns a store. */
export function connectDatastore(options: DatastoreOptions | DatastoreConfig = {}): EtcdKeyValueStore {
  return new EtcdKeyValueStore(resolveDatastoreConfig(options));
}
