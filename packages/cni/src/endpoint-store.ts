// WorkloadEndpoints in etcd: on ADD the `caracal` plugin stores the pod's endpoint (Calico's naming and
// spec fields) so Felix and the BGP speaker see it; DEL removes it (missing is fine).
import { AlreadyExistsError, type KeyValueStore, ResourceStore } from '@caracal/datastore';
import type { EndpointRecord, EndpointStore, WorkloadIdentity } from './plugin.js';

export const WORKLOAD_ENDPOINT_API_VERSION = 'caracal.io/v1';

/** Calico's name `<node>-<orchestrator>-<pod or container id>-<endpoint>`, each part's '-' doubled. */
export function workloadEndpointName(identity: WorkloadIdentity): string {
  return [identity.node, identity.orchestrator, identity.pod ?? identity.containerId, identity.endpoint]
    .map((part) => part.replaceAll('-', '--'))
    .join('-');
}

export function workloadEndpointResource(record: EndpointRecord): {
  apiVersion: string;
  kind: 'WorkloadEndpoint';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
} {
  const { identity } = record;
  return {
    apiVersion: WORKLOAD_ENDPOINT_API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: {
      name: workloadEndpointName(identity),
      namespace: identity.namespace,
      labels: {
        'projectcalico.org/namespace': identity.namespace,
        'projectcalico.org/orchestrator': identity.orchestrator,
      },
    },
    spec: {
      orchestrator: identity.orchestrator,
      workload: identity.workload,
      ...(identity.pod !== undefined ? { pod: identity.pod } : {}),
      endpoint: identity.endpoint,
      containerID: identity.containerId,
      node: identity.node,
      interfaceName: record.interfaceName,
      ipNetworks: [...record.ipNetworks],
      mac: record.mac,
      profiles: [`kns.${identity.namespace}`],
    },
  };
}

export class DatastoreEndpointStore implements EndpointStore {
  private readonly resources: ResourceStore;

  constructor(store: KeyValueStore) {
    this.resources = new ResourceStore(store);
  }

  async put(record: EndpointRecord): Promise<void> {
    const resource = workloadEndpointResource(record);
    try {
      await this.resources.create(resource);
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
      await this.resources.replace(resource);
    }
  }

  async remove(identity: WorkloadIdentity): Promise<void> {
    await this.resources.delete('WorkloadEndpoint', workloadEndpointName(identity), identity.namespace);
  }
}
