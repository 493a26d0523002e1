// caracalctl's datastore side on @caracal/datastore: resources through its typed ResourceStore (JSON
// under the shared key layout, metadata.resourceVersion = etcd modRevision, updates are compare-and-swap
// on it), and the local etcd launcher and status.

import { join } from 'node:path';
import {
  AlreadyExistsError,
  connectDatastore,
  ResourceStore as DatastoreResources,
  DatastoreUnavailableError,
  datastoreStatus,
  type EtcdKeyValueStore,
  InvalidResourceError,
  NotFoundError,
  type Resource,
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

/** The datastore's resource form; the manifest reader has already checked the envelope. */
function asResource(resource: PlainResource): Resource {
  return resource as unknown as Resource;
}

function asPlain(resource: Resource): PlainResource {
  return resource as unknown as PlainResource;
}

/** Drops what the store assigns (resourceVersion, uid, creationTimestamp) from a manifest object. */
function withoutStoreFields(resource: PlainResource): PlainResource {
  const {
    resourceVersion: _version,
    uid: _uid,
    creationTimestamp: _created,
    ...metadata
  } = metadataOf(resource);
  return { ...resource, metadata };
}

/** Turns the datastore's typed errors into the conflicts result lines name. */
function conflictFrom(error: unknown): unknown {
  if (error instanceof AlreadyExistsError) return new StoreConflict(error.message, 'exists');
  if (error instanceof NotFoundError) return new StoreConflict(error.message, 'not-found');
  if (error instanceof RevisionConflictError) {
    if (error.currentRevision === 0) return new StoreConflict(error.message, 'not-found');
    return new StoreConflict(
      `resourceVersion ${error.expectedRevision} is not the current one (${error.currentRevision})`,
      'version-mismatch',
    );
  }
  if (error instanceof InvalidResourceError) return new StoreConflict(error.message, 'invalid');
  return error;
}

/** caracalctl's ResourceStore on the datastore's typed ResourceStore; unavailability becomes advice. */
export class DatastoreResourceStore implements ResourceStore {
  private readonly resources: DatastoreResources;

  constructor(
    private readonly kv: EtcdKeyValueStore,
    private readonly settings: ConnectionSettings,
  ) {
    this.resources = new DatastoreResources(kv);
  }

  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof DatastoreUnavailableError) {
        throw new CommandFailure(unreachableDatastoreMessage(this.settings, error.causeMessage));
      }
      throw conflictFrom(error);
    }
  }

  async get(key: ResourceKey): Promise<PlainResource | undefined> {
    const found = await this.guard(() => this.resources.get(key.kind, key.name, key.namespace));
    return found === undefined ? undefined : asPlain(found);
  }

  async list(kind: string, namespace?: string): Promise<PlainResource[]> {
    const listed = await this.guard(() => this.resources.list(kind, namespace));
    return listed.items.map(asPlain);
  }

  async create(resource: PlainResource): Promise<PlainResource> {
    return asPlain(await this.guard(() => this.resources.create(asResource(withoutStoreFields(resource)))));
  }

  /** CAS on metadata.resourceVersion when given; without it, overwrites the current object. */
  async update(resource: PlainResource): Promise<PlainResource> {
    const version = metadataOf(resource).resourceVersion;
    const { uid: _uid, creationTimestamp: _created, ...metadata } = metadataOf(resource);
    const body = asResource({ ...resource, metadata });
    if (version === undefined || version === '') {
      return asPlain(await this.guard(() => this.resources.replace(body)));
    }
    return asPlain(await this.guard(() => this.resources.update(body)));
  }

  async delete(key: ResourceKey): Promise<PlainResource> {
    const current = await this.get(key);
    if (current === undefined) throw new StoreConflict(`${key.kind} ${key.name} does not exist`, 'not-found');
    const version = String(metadataOf(current).resourceVersion);
    await this.guard(() => this.resources.delete(key.kind, key.name, key.namespace, version));
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
  return new DatastoreResourceStore(await connectKeyValueStore(settings), settings);
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
      // Foreground: Ctrl-C or SIGTERM to caracalctl stops etcd cleanly (SIGTERM), then caracalctl
      // reports and exits; the PID file is removed.
      const exited =
        child === undefined
          ? undefined
          : new Promise<number | null>((resolve) => {
              const forward = (): void => {
                child.kill('SIGTERM');
              };
              process.on('SIGINT', forward);
              process.on('SIGTERM', forward);
              const finish = (code: number | null): void => {
                process.off('SIGINT', forward);
                process.off('SIGTERM', forward);
                etcd.stop().then(
                  () => resolve(code),
                  () => resolve(code),
                );
              };
              if (child.exitCode !== null) finish(child.exitCode);
              else child.once('exit', (code) => finish(code));
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
