// caracalctl's datastore side on @caracal/datastore: resources stored as JSON under the shared key
// layout (`keys.resource(kind, name, namespace)`), with metadata.resourceVersion being the etcd
// modRevision (every update is a compare-and-swap on it); and the local etcd launcher and status.

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  AlreadyExistsError,
  connectDatastore,
  DatastoreUnavailableError,
  datastoreStatus,
  type EtcdKeyValueStore,
  type KeyValueStore,
  keys,
  RevisionConflictError,
  startLocalEtcd,
  stopLocalEtcd,
} from '@caracal/datastore';
import type { DatastoreAdmin, DatastoreHealth, LocalEtcdRequest, LocalEtcdStarted } from './admin.js';
import { type ResourceKey, type ResourceStore, StoreConflict } from './backend.js';
import { parseListenUrl } from './commands/datastore.js';
import { type ConnectionSettings, unreachableDatastoreMessage } from './connection.js';
import { CommandFailure, errorMessage } from './errors.js';
import type { PlainResource } from './format/resource-table.js';

function metadataOf(resource: PlainResource): Record<string, unknown> {
  const metadata = resource.metadata;
  return metadata !== null && typeof metadata === 'object' ? (metadata as Record<string, unknown>) : {};
}

function keyOf(resource: PlainResource): ResourceKey {
  const metadata = metadataOf(resource);
  const namespace =
    typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : undefined;
  return {
    kind: String(resource.kind),
    name: String(metadata.name ?? ''),
    ...(namespace === undefined ? {} : { namespace }),
  };
}

function storageKey(key: ResourceKey): string {
  return keys.resource(key.kind, key.name, key.namespace);
}

/** The stored JSON: the resource without resourceVersion (that is the etcd revision, not data). */
function toStoredValue(resource: PlainResource): string {
  const { resourceVersion: _ignored, ...metadata } = metadataOf(resource);
  return JSON.stringify({ ...resource, metadata });
}

function fromStoredValue(value: string, revision: number): PlainResource {
  const resource = JSON.parse(value) as PlainResource;
  return { ...resource, metadata: { ...metadataOf(resource), resourceVersion: String(revision) } };
}

function parseResourceVersion(resource: PlainResource): number | undefined {
  const version = metadataOf(resource).resourceVersion;
  if (version === undefined || version === null || version === '') return undefined;
  const revision = Number(version);
  if (!Number.isSafeInteger(revision) || revision <= 0) {
    throw new StoreConflict(
      `metadata.resourceVersion "${String(version)}" is not a datastore revision`,
      'version-mismatch',
    );
  }
  return revision;
}

/** A ResourceStore on a KeyValueStore; unavailability becomes the "cannot reach" advice. */
export class KeyValueResourceStore implements ResourceStore {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly settings: ConnectionSettings,
  ) {}

  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof DatastoreUnavailableError) {
        throw new CommandFailure(unreachableDatastoreMessage(this.settings, error.causeMessage));
      }
      throw error;
    }
  }

  async get(key: ResourceKey): Promise<PlainResource | undefined> {
    const found = await this.guard(() => this.kv.get(storageKey(key)));
    return found === undefined ? undefined : fromStoredValue(found.value, found.revision);
  }

  async list(kind: string, namespace?: string): Promise<PlainResource[]> {
    const prefix =
      namespace === undefined ? keys.resourceKindPrefix(kind) : keys.resourceNamespacePrefix(kind, namespace);
    const listed = await this.guard(() => this.kv.list(prefix));
    return listed.items.map((item) => fromStoredValue(item.value, item.revision));
  }

  async create(resource: PlainResource): Promise<PlainResource> {
    const metadata = {
      ...metadataOf(resource),
      uid: metadataOf(resource).uid ?? randomUUID(),
      creationTimestamp: metadataOf(resource).creationTimestamp ?? new Date().toISOString(),
    };
    const stored = { ...resource, metadata };
    try {
      const revision = await this.guard(() =>
        this.kv.create(storageKey(keyOf(resource)), toStoredValue(stored)),
      );
      return fromStoredValue(toStoredValue(stored), revision);
    } catch (error) {
      if (error instanceof AlreadyExistsError) throw new StoreConflict(error.message, 'exists');
      throw error;
    }
  }

  async update(resource: PlainResource): Promise<PlainResource> {
    const key = keyOf(resource);
    const current = await this.get(key);
    if (current === undefined) throw new StoreConflict(`${key.kind} ${key.name} does not exist`, 'not-found');
    const expected = parseResourceVersion(resource) ?? Number(metadataOf(current).resourceVersion);
    // uid and creationTimestamp belong to the stored object, not to the manifest.
    const currentMetadata = metadataOf(current);
    const metadata = {
      ...metadataOf(resource),
      ...(currentMetadata.uid === undefined ? {} : { uid: currentMetadata.uid }),
      ...(currentMetadata.creationTimestamp === undefined
        ? {}
        : { creationTimestamp: currentMetadata.creationTimestamp }),
    };
    const value = toStoredValue({ ...resource, metadata });
    try {
      const revision = await this.guard(() => this.kv.update(storageKey(key), value, expected));
      return fromStoredValue(value, revision);
    } catch (error) {
      if (error instanceof RevisionConflictError) {
        if (error.currentRevision === 0)
          throw new StoreConflict(`${key.kind} ${key.name} was deleted`, 'not-found');
        throw new StoreConflict(
          `resourceVersion ${error.expectedRevision} is not the current one (${error.currentRevision})`,
          'version-mismatch',
        );
      }
      throw error;
    }
  }

  async delete(key: ResourceKey): Promise<PlainResource> {
    const current = await this.get(key);
    if (current === undefined) throw new StoreConflict(`${key.kind} ${key.name} does not exist`, 'not-found');
    try {
      await this.guard(() => this.kv.delete(storageKey(key), Number(metadataOf(current).resourceVersion)));
    } catch (error) {
      if (error instanceof RevisionConflictError) {
        throw new StoreConflict(
          `changed while being deleted (revision ${error.currentRevision})`,
          'version-mismatch',
        );
      }
      throw error;
    }
    return current;
  }

  close(): Promise<void> {
    return this.kv.close();
  }
}

/** Connects and checks that etcd answers, so an unreachable datastore is one clear failure up front. */
export async function connectKeyValueStore(settings: ConnectionSettings): Promise<EtcdKeyValueStore> {
  let kv: EtcdKeyValueStore;
  try {
    kv = connectDatastore({
      endpoints: [...settings.endpoints],
      caCertFile: settings.caCertFile,
      certFile: settings.certFile,
      keyFile: settings.keyFile,
    });
  } catch (error) {
    throw new CommandFailure(`datastore settings: ${errorMessage(error)}`);
  }
  try {
    await kv.currentRevision();
  } catch (error) {
    await kv.close().catch(() => undefined);
    const cause = error instanceof DatastoreUnavailableError ? error.causeMessage : errorMessage(error);
    throw new CommandFailure(unreachableDatastoreMessage(settings, cause));
  }
  return kv;
}

export async function openResourceStore(settings: ConnectionSettings): Promise<ResourceStore> {
  return new KeyValueResourceStore(await connectKeyValueStore(settings), settings);
}

/** `datastore start|stop|status` on the datastore package's local etcd launcher. */
export const localDatastoreAdmin: DatastoreAdmin = {
  async start(request: LocalEtcdRequest): Promise<LocalEtcdStarted> {
    const client = parseListenUrl(request.listenClient, '--listen-client');
    const peer = parseListenUrl(request.listenPeer, '--listen-peer');
    if (client.host !== peer.host) {
      throw new CommandFailure(
        `--listen-client (${client.host}) and --listen-peer (${peer.host}) must use the same host for a local etcd`,
      );
    }
    try {
      const etcd = await startLocalEtcd({
        dataDir: request.dataDir,
        host: client.host,
        clientPort: client.port,
        peerPort: peer.port,
        foreground: request.foreground,
      });
      const child = etcd.process;
      const exited =
        child === undefined
          ? undefined
          : new Promise<number | null>((resolve) => {
              if (child.exitCode !== null) resolve(child.exitCode);
              else child.once('exit', (code) => resolve(code));
            });
      return {
        pid: etcd.pid,
        clientUrls: etcd.endpoints,
        dataDir: etcd.dataDir,
        ...(etcd.logFile === undefined ? {} : { logFile: etcd.logFile }),
        ...(exited === undefined ? {} : { exited }),
      };
    } catch (error) {
      throw new CommandFailure(`cannot start etcd: ${errorMessage(error)}`);
    }
  },

  async stop(dataDir: string): Promise<boolean> {
    return stopLocalEtcd(join(dataDir, 'etcd.pid'));
  },

  async status(settings: ConnectionSettings): Promise<DatastoreHealth> {
    const status = await datastoreStatus({
      endpoints: [...settings.endpoints],
      caCertFile: settings.caCertFile,
      certFile: settings.certFile,
      keyFile: settings.keyFile,
    });
    return {
      endpoints: status.endpoints.map((endpoint) => ({
        endpoint: endpoint.endpoint,
        healthy: endpoint.healthy,
        ...(endpoint.version === undefined ? {} : { version: endpoint.version }),
        ...(endpoint.revision === undefined ? {} : { revision: endpoint.revision }),
        ...(endpoint.dbSizeBytes === undefined ? {} : { dbSizeBytes: endpoint.dbSizeBytes }),
        ...(endpoint.isLeader === undefined ? {} : { isLeader: endpoint.isLeader }),
        ...(endpoint.error === undefined ? {} : { error: endpoint.error }),
      })),
      members: status.members,
    };
  },
};
