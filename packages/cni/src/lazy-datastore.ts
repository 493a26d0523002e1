// The `caracal` executable's datastore connection, loaded on first use: @caracal/datastore pulls etcd3 and
// gRPC, whose loading is most of a Node.js plugin's start-up. `prefetch()` starts loading and connecting
// without waiting (the executable calls it once the IPAM plugin's process is running, so both load on
// separate cores); `load()` waits for it. A failure (e.g. malformed etcd endpoints, code 7) surfaces on
// `load()` and on every use, never from `prefetch()`. It loads only the datastore package (not the IPAM
// package, which `caracal` never uses).
import type { EtcdKeyValueStore } from '@caracal/datastore';
import type { DatastoreEndpointStore } from './endpoint-store.js';
import type { EndpointRecord, EndpointStore, WorkloadIdentity } from './plugin.js';
import type { NetworkConfig } from './spec.js';

interface LoadedDatastore {
  readonly store: EtcdKeyValueStore;
  readonly endpoints: DatastoreEndpointStore;
}

export class LazyDatastoreEndpointStore implements EndpointStore {
  private loading: Promise<LoadedDatastore> | undefined;

  constructor(
    private readonly config: NetworkConfig,
    private readonly processEnv: NodeJS.ProcessEnv,
  ) {}

  /** Connects (imports the datastore modules, resolves the endpoints) once; later calls share the result. */
  load(): Promise<LoadedDatastore> {
    this.loading ??= (async () => {
      const [{ connectDatastore }, { etcdEndpointsFor }, { DatastoreEndpointStore }] = await Promise.all([
        import('@caracal/datastore'),
        import('./etcd-endpoints.js'),
        import('./endpoint-store.js'),
      ]);
      const store = connectDatastore({ endpoints: etcdEndpointsFor(this.config, this.processEnv) });
      return { store, endpoints: new DatastoreEndpointStore(store) };
    })();
    return this.loading;
  }

  /** Starts `load()` in the background; its failure is reported by the next use. */
  prefetch(): void {
    this.load().catch(() => undefined);
  }

  async put(record: EndpointRecord): Promise<void> {
    await (await this.load()).endpoints.put(record);
  }

  async remove(identity: WorkloadIdentity): Promise<void> {
    await (await this.load()).endpoints.remove(identity);
  }

  /** Closes the connection if one was made. */
  async close(): Promise<void> {
    if (this.loading === undefined) return;
    const loaded = await this.loading.catch(() => undefined);
    await loaded?.store.close().catch(() => undefined);
  }
}
