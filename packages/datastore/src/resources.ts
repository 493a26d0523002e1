// Typed resource layer over the key-value store: Kubernetes-style objects ({apiVersion, kind, metadata,
// spec}) stored as JSON under /caracal/v1/resources/<plural>/<namespace or _cluster>/<name>, with
// resourceVersion = etcd modRevision (never stored in the value), uid and creationTimestamp set on create.
// Generic over the object shape; a validate hook lets @caracal/model check objects before each write.
import { randomUUID } from 'node:crypto';
import { map, type Observable } from 'rxjs';
import { NotFoundError, RevisionConflictError } from './errors.js';
import { CLUSTER_SCOPE, keys } from './keys.js';
import type { KeyValue, KeyValueStore, WatchEvent } from './kv.js';

export interface ResourceMetadata {
  name: string;
  /** Absent for cluster-scoped resources. */
  namespace?: string;
  /** Set on create; preserved by update/replace. */
  uid?: string;
  /** etcd modRevision of the stored object, as a decimal string; the CAS token of update/delete. */
  resourceVersion?: string;
  /** RFC 3339 time of creation, set on create. */
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The shape every stored resource has; @caracal/model's types are assignable to it. */
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: ResourceMetadata;
  spec?: unknown;
  status?: unknown;
}

/** An object given to the store lacks or has a malformed envelope field; the message names the field. */
export class InvalidResourceError extends Error {
  override readonly name = 'InvalidResourceError';
  readonly code = 'InvalidResource' as const;
}

/** A stored value that is not a resource (bad JSON, missing fields, or key/body mismatch). */
export class CorruptResourceError extends Error {
  override readonly name = 'CorruptResourceError';
  readonly code = 'CorruptResource' as const;
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`stored value at ${key} is not a valid resource: ${reason}`);
  }
}

/** Resource watch events: same protocol as the key-value watch, with parsed objects. */
export type ResourceWatchEvent<T extends Resource = Resource> =
  | { type: 'snapshot'; items: T[]; revision: number; resync: boolean }
  | { type: 'in-sync'; revision: number }
  | { type: 'put'; resource: T; revision: number }
  | { type: 'delete'; kind: string; name: string; namespace: string | undefined; revision: number };

export interface ResourceList<T extends Resource = Resource> {
  items: T[];
  /** Store revision of the listing (decimal string). */
  resourceVersion: string;
}

export interface ResourceStoreOptions {
  /**
   * Called before every write with the object to be stored; throw to refuse it (e.g. @caracal/model's
   * validation). The store itself only checks the envelope (apiVersion, kind, metadata.name/namespace).
   */
  validate?: (resource: Resource) => void;
  /** Clock for creationTimestamp (tests). */
  now?: () => Date;
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Checks the envelope fields the store depends on; errors name the field path and the value. */
export function checkEnvelope(resource: unknown): asserts resource is Resource {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    throw new InvalidResourceError(`resource must be an object, got ${describe(resource)}`);
  }
  const candidate = resource as Partial<Resource>;
  if (typeof candidate.apiVersion !== 'string' || candidate.apiVersion === '') {
    throw new InvalidResourceError(
      `apiVersion must be a non-empty string, got ${describe(candidate.apiVersion)}`,
    );
  }
  if (typeof candidate.kind !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(candidate.kind)) {
    throw new InvalidResourceError(
      `kind must be an alphanumeric name like "IPPool", got ${describe(candidate.kind)}`,
    );
  }
  const metadata = candidate.metadata;
  if (typeof metadata !== 'object' || metadata === null) {
    throw new InvalidResourceError(`metadata must be an object, got ${describe(metadata)}`);
  }
  if (typeof metadata.name !== 'string' || metadata.name === '' || metadata.name.includes('/')) {
    throw new InvalidResourceError(
      `metadata.name must be a non-empty string without "/", got ${describe(metadata.name)}`,
    );
  }
  if (
    metadata.namespace !== undefined &&
    (typeof metadata.namespace !== 'string' ||
      metadata.namespace === '' ||
      metadata.namespace.includes('/') ||
      metadata.namespace === CLUSTER_SCOPE)
  ) {
    throw new InvalidResourceError(
      `metadata.namespace must be a non-empty string without "/" (and not "${CLUSTER_SCOPE}"), got ${describe(metadata.namespace)}`,
    );
  }
  if (metadata.resourceVersion !== undefined && !/^[1-9][0-9]*$/.test(String(metadata.resourceVersion))) {
    throw new InvalidResourceError(
      `metadata.resourceVersion must be a positive decimal revision, got ${describe(metadata.resourceVersion)}`,
    );
  }
}

function resourceKey(resource: Resource): string {
  return keys.resource(resource.kind, resource.metadata.name, resource.metadata.namespace);
}

/** The JSON stored in etcd: the object without resourceVersion (etcd's modRevision is the truth). */
function encode(resource: Resource): string {
  const { resourceVersion: _dropped, ...metadata } = resource.metadata;
  return JSON.stringify({ ...resource, metadata });
}

/** Parses a stored value and stamps resourceVersion; checks that the body matches its key. */
export function decodeResource<T extends Resource = Resource>(stored: KeyValue): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored.value);
  } catch (error) {
    throw new CorruptResourceError(stored.key, `not JSON (${(error as Error).message})`);
  }
  try {
    checkEnvelope(parsed);
  } catch (error) {
    throw new CorruptResourceError(stored.key, (error as Error).message);
  }
  if (resourceKey(parsed) !== stored.key) {
    throw new CorruptResourceError(stored.key, `its kind/namespace/name belong at ${resourceKey(parsed)}`);
  }
  parsed.metadata.resourceVersion = String(stored.revision);
  return parsed as T;
}

/** Splits a resource key into its namespace (undefined for cluster scope) and name. */
function parseResourceKey(key: string, kindPrefix: string): { namespace: string | undefined; name: string } {
  const [scope = '', name = ''] = key.slice(kindPrefix.length).split('/');
  return { namespace: scope === CLUSTER_SCOPE ? undefined : scope, name };
}

export class ResourceStore {
  constructor(
    readonly kv: KeyValueStore,
    private readonly options: ResourceStoreOptions = {},
  ) {}

  private prepare(resource: Resource): void {
    checkEnvelope(resource);
    this.options.validate?.(resource);
  }

  /** Stores a new object; fails with AlreadyExistsError. Returns it with uid, creationTimestamp, resourceVersion. */
  async create<T extends Resource>(resource: T): Promise<T> {
    this.prepare(resource);
    if (resource.metadata.resourceVersion !== undefined) {
      throw new InvalidResourceError(
        `metadata.resourceVersion must not be set on create (got ${resource.metadata.resourceVersion})`,
      );
    }
    const created: T = {
      ...resource,
      metadata: {
        ...resource.metadata,
        uid: randomUUID(),
        creationTimestamp: (this.options.now?.() ?? new Date()).toISOString(),
      },
    };
    const revision = await this.kv.create(resourceKey(created), encode(created));
    created.metadata.resourceVersion = String(revision);
    return created;
  }

  async get<T extends Resource = Resource>(
    kind: string,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    const stored = await this.kv.get(keys.resource(kind, name, namespace));
    return stored === undefined ? undefined : decodeResource<T>(stored);
  }

  /**
   * Compare-and-swap on metadata.resourceVersion (required): RevisionConflictError if the object changed
   * since it was read, NotFoundError if it is gone. uid and creationTimestamp are kept from the stored object.
   */
  async update<T extends Resource>(resource: T): Promise<T> {
    this.prepare(resource);
    const key = resourceKey(resource);
    const expected = resource.metadata.resourceVersion;
    if (expected === undefined) {
      throw new InvalidResourceError(
        `update ${key}: metadata.resourceVersion is required (use replace to overwrite)`,
      );
    }
    let { uid, creationTimestamp } = resource.metadata;
    if (uid === undefined || creationTimestamp === undefined) {
      const stored = await this.kv.get(key);
      if (stored === undefined) throw new NotFoundError(key);
      const current = decodeResource(stored);
      if (current.metadata.resourceVersion !== expected) {
        throw new RevisionConflictError(key, Number(expected), stored.revision);
      }
      uid ??= current.metadata.uid;
      creationTimestamp ??= current.metadata.creationTimestamp;
    }
    const updated: T = { ...resource, metadata: { ...resource.metadata } };
    if (uid !== undefined) updated.metadata.uid = uid;
    if (creationTimestamp !== undefined) updated.metadata.creationTimestamp = creationTimestamp;
    try {
      const revision = await this.kv.update(key, encode(updated), Number(expected));
      updated.metadata.resourceVersion = String(revision);
      return updated;
    } catch (error) {
      if (error instanceof RevisionConflictError && error.currentRevision === 0) throw new NotFoundError(key);
      throw error;
    }
  }

  /**
   * Overwrites an existing object whatever its resourceVersion (last writer wins), keeping its uid and
   * creationTimestamp. NotFoundError if it does not exist.
   */
  async replace<T extends Resource>(resource: T): Promise<T> {
    this.prepare(resource);
    const key = resourceKey(resource);
    for (;;) {
      const stored = await this.kv.get(key);
      if (stored === undefined) throw new NotFoundError(key);
      const current = decodeResource(stored);
      const replacement: T = {
        ...resource,
        metadata: { ...resource.metadata, resourceVersion: current.metadata.resourceVersion as string },
      };
      if (current.metadata.uid !== undefined) replacement.metadata.uid = current.metadata.uid;
      if (current.metadata.creationTimestamp !== undefined) {
        replacement.metadata.creationTimestamp = current.metadata.creationTimestamp;
      }
      try {
        return await this.update(replacement);
      } catch (error) {
        if (!(error instanceof RevisionConflictError)) throw error;
        // Someone wrote in between: read again and overwrite their version.
      }
    }
  }

  /**
   * Deletes the object; with resourceVersion only if unchanged (RevisionConflictError otherwise).
   * Returns false when it did not exist (without resourceVersion).
   */
  async delete(kind: string, name: string, namespace?: string, resourceVersion?: string): Promise<boolean> {
    const key = keys.resource(kind, name, namespace);
    if (resourceVersion === undefined) return this.kv.delete(key);
    if (!/^[1-9][0-9]*$/.test(resourceVersion)) {
      throw new InvalidResourceError(
        `delete ${key}: resourceVersion must be a positive decimal, got "${resourceVersion}"`,
      );
    }
    return this.kv.delete(key, Number(resourceVersion));
  }

  /** All objects of a kind (in one namespace, or all namespaces and cluster scope when omitted). */
  async list<T extends Resource = Resource>(kind: string, namespace?: string): Promise<ResourceList<T>> {
    const prefix =
      namespace === undefined ? keys.resourceKindPrefix(kind) : keys.resourceNamespacePrefix(kind, namespace);
    const listed = await this.kv.list(prefix);
    return {
      items: listed.items.map((item) => decodeResource<T>(item)),
      resourceVersion: String(listed.revision),
    };
  }

  /**
   * Snapshot, in-sync, then put/delete of one kind (optionally one namespace), with the key-value watch's
   * guarantees (resync snapshot after any gap). A stored value that is not a resource errors the stream
   * with CorruptResourceError.
   */
  watch<T extends Resource = Resource>(kind: string, namespace?: string): Observable<ResourceWatchEvent<T>> {
    const kindPrefix = keys.resourceKindPrefix(kind);
    const prefix = namespace === undefined ? kindPrefix : keys.resourceNamespacePrefix(kind, namespace);
    return this.kv.watchPrefix(prefix).pipe(
      map((event: WatchEvent): ResourceWatchEvent<T> => {
        switch (event.type) {
          case 'snapshot':
            return {
              type: 'snapshot',
              items: event.items.map((item) => decodeResource<T>(item)),
              revision: event.revision,
              resync: event.resync,
            };
          case 'in-sync':
            return event;
          case 'put':
            return {
              type: 'put',
              resource: decodeResource<T>({
                key: event.key,
                value: event.value,
                revision: event.revision,
                createRevision: event.createRevision,
              }),
              revision: event.revision,
            };
          case 'delete':
            return {
              type: 'delete',
              kind,
              ...parseResourceKey(event.key, kindPrefix),
              revision: event.revision,
            };
        }
      }),
    );
  }
}
