// Names of a workload on the host: the host-side veth (`cara` + 11 hex chars of a SHA-1, as Calico's
// `cali` + 11) and the IPAM handle (`<network name>.<container id>`, as Calico's `k8s-pod-network.<id>`).

import { createHash } from 'node:crypto';

export const HOST_VETH_PREFIX = 'cara';

/** Kubernetes pods hash `<namespace>.<pod>`; other workloads hash their container id. */
export function hostVethName(workload: {
  readonly namespace?: string;
  readonly pod?: string;
  readonly containerId: string;
}): string {
  const source =
    workload.namespace && workload.pod ? `${workload.namespace}.${workload.pod}` : workload.containerId;
  return HOST_VETH_PREFIX + createHash('sha1').update(source).digest('hex').slice(0, 11);
}

export function ipamHandle(networkName: string, containerId: string): string {
  return `${networkName}.${containerId}`;
}
