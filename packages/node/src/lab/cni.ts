// Drives the `caracal` CNI plugin as a container runtime does: the executable from `<repo>/bin` (with
// `caracal-ipam` found on CNI_PATH), run inside the node's network namespace with the CNI_* environment
// and Calico's network configuration on stdin (the one the README and the CNI package document).
import { join } from 'node:path';
import { runInNamespace } from './run.js';

export interface CniInvocation {
  readonly command: 'ADD' | 'DEL' | 'CHECK';
  /** `<repo>/bin`: holds `caracal` and `caracal-ipam`. */
  readonly binDir: string;
  /** Network namespace of the node (the plugin runs there, like a runtime on the node). */
  readonly nodeNamespace: string;
  readonly nodeName: string;
  readonly etcdEndpoint: string;
  /** Network namespace of the pod (CNI_NETNS is `/var/run/netns/<podNamespace>`). */
  readonly podNamespace: string;
  readonly podName: string;
  readonly containerId: string;
  /** `"assign_ipv6": "true"` under `ipam` (caracal-ipam then assigns an IPv6 address too). */
  readonly assignIpv6?: boolean;
  readonly timeoutMs?: number;
}

export interface CniAddResult {
  /** The pod's IPv4 address without `/32`. */
  readonly address: string;
  /** The pod's IPv6 address without `/128`, when the result has one. */
  readonly address6: string | undefined;
  /** The host-side veth (the result's interface without a sandbox). */
  readonly hostInterface: string | undefined;
  readonly elapsedMs: number;
}

/** Thrown when the plugin fails; carries the CNI error code and message. */
export class CniInvocationError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
    this.name = 'CniInvocationError';
  }
}

/** The network configuration of the issue and the README (`k8s-pod-network`, type `caracal`). */
export function labNetworkConfig(
  etcdEndpoint: string,
  nodeName: string,
  options: { readonly assignIpv6?: boolean } = {},
): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'caracal',
    etcd_endpoints: etcdEndpoint,
    nodename: nodeName,
    mtu: 1500,
    ipam: { type: 'caracal-ipam', ...(options.assignIpv6 === true ? { assign_ipv6: 'true' } : {}) },
  };
}

async function invoke(call: CniInvocation) {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: `/var/run/netns/${call.podNamespace}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: call.binDir,
    CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${call.podName}`,
  };
  const result = await runInNamespace(call.nodeNamespace, [join(call.binDir, 'caracal')], {
    env,
    input: JSON.stringify(
      labNetworkConfig(call.etcdEndpoint, call.nodeName, { assignIpv6: call.assignIpv6 === true }),
    ),
    timeoutMs: call.timeoutMs ?? 60_000,
  });
  if (result.code !== 0) {
    let code: number | undefined;
    let message = (result.stdout.trim() || result.stderr.trim()).slice(0, 1000);
    try {
      const error = JSON.parse(result.stdout) as { code?: number; msg?: string; details?: string };
      code = error.code;
      message = `code ${error.code}: ${error.msg}${error.details ? ` (${error.details})` : ''}`;
    } catch {
      // Not a CNI error object: keep the raw output.
    }
    const how = result.timedOut ? 'timed out' : `exited with ${result.code}`;
    throw new CniInvocationError(
      `CNI ${call.command} of pod ${call.podName} on ${call.nodeName} ${how}: ${message}`,
      code,
    );
  }
  return result;
}

/** CNI ADD: wires the pod, returns its address and host veth. */
export async function cniAdd(call: Omit<CniInvocation, 'command'>): Promise<CniAddResult> {
  const result = await invoke({ ...call, command: 'ADD' });
  let parsed: { ips?: { address?: string }[]; interfaces?: { name?: string; sandbox?: string }[] };
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    throw new CniInvocationError(
      `CNI ADD of pod ${call.podName} printed no JSON result: ${result.stdout.slice(0, 300)}`,
      undefined,
    );
  }
  const ipv4 = parsed.ips
    ?.map((ip) => ip.address ?? '')
    .find((address) => /^\d+\.\d+\.\d+\.\d+\//.test(address));
  if (ipv4 === undefined) {
    throw new CniInvocationError(
      `CNI ADD of pod ${call.podName} returned no IPv4 address: ${result.stdout.slice(0, 300)}`,
      undefined,
    );
  }
  const ipv6 = parsed.ips?.map((ip) => ip.address ?? '').find((address) => address.includes(':'));
  const hostInterface = parsed.interfaces?.find((i) => i.sandbox === undefined || i.sandbox === '')?.name;
  return {
    address: ipv4.split('/')[0] as string,
    address6: ipv6?.split('/')[0],
    hostInterface,
    elapsedMs: result.elapsedMs,
  };
}

/** CNI DEL: unwires the pod and releases its address (idempotent in the plugin). */
export async function cniDel(call: Omit<CniInvocation, 'command'>): Promise<void> {
  await invoke({ ...call, command: 'DEL' });
}
