// The `caracal` CNI plugin's logic, independent of how IPAM and the datastore are reached: ADD (address
// from IPAM by handle, veth wiring, WorkloadEndpoint written), DEL (idempotent: unwire, release, forget),
// CHECK (what ADD made is still there), STATUS (IPAM and datastore reachable), VERSION.

import { hostVethName, ipamHandle } from './naming.js';
import type { PodNetworking, PodWiring } from './pod-network.js';
import { HOST_VETH_MAC, POD_GATEWAY } from './pod-network.js';
import {
  type CniEnvironment,
  CniError,
  CniErrorCode,
  type CniResult,
  type NetworkConfig,
  versionResult,
} from './spec.js';

/** IPAM as the main plugin sees it: in production, the delegated `caracal-ipam` executable. */
export interface IpamDelegate {
  add(config: NetworkConfig, env: CniEnvironment): Promise<CniResult>;
  del(config: NetworkConfig, env: CniEnvironment): Promise<void>;
  check(config: NetworkConfig, env: CniEnvironment): Promise<void>;
  status(config: NetworkConfig, env: CniEnvironment): Promise<void>;
}

export interface WorkloadIdentity {
  readonly node: string;
  readonly orchestrator: 'k8s' | 'cni';
  /** `<namespace>/<pod>` for Kubernetes, the container id otherwise. */
  readonly workload: string;
  readonly namespace: string;
  readonly pod: string | undefined;
  readonly containerId: string;
  readonly endpoint: string;
}

export interface EndpointRecord {
  readonly identity: WorkloadIdentity;
  readonly interfaceName: string;
  readonly ipNetworks: readonly string[];
  readonly mac: string;
}

/** Where WorkloadEndpoints live (the datastore in production). */
export interface EndpointStore {
  put(record: EndpointRecord): Promise<void>;
  remove(identity: WorkloadIdentity): Promise<void>;
}

export interface PluginDeps {
  readonly networking: PodNetworking;
  readonly ipam: IpamDelegate;
  readonly endpoints: EndpointStore;
  /** The node name when the config has no `nodename` (caracal-node's --name, or the hostname). */
  readonly defaultNodeName: string;
}

export function workloadIdentity(
  config: NetworkConfig,
  env: CniEnvironment,
  defaultNode: string,
): WorkloadIdentity {
  const namespace = env.args.get('K8S_POD_NAMESPACE');
  const pod = env.args.get('K8S_POD_NAME');
  const k8s = namespace !== undefined && pod !== undefined && namespace !== '' && pod !== '';
  return {
    node: config.nodename ?? defaultNode,
    orchestrator: k8s ? 'k8s' : 'cni',
    workload: k8s ? `${namespace}/${pod}` : env.containerId,
    namespace: k8s ? namespace : 'default',
    pod: k8s ? pod : undefined,
    containerId: env.containerId,
    endpoint: env.ifName,
  };
}

function wiringFor(
  config: NetworkConfig,
  env: CniEnvironment,
  identity: WorkloadIdentity,
  addresses: readonly string[],
): PodWiring {
  return {
    netns: env.netns,
    podIfName: env.ifName,
    hostIfName: hostVethName({
      containerId: env.containerId,
      ...(identity.pod ? { namespace: identity.namespace, pod: identity.pod } : {}),
    }),
    mtu: config.mtu,
    addresses,
  };
}

export async function runPlugin(
  config: NetworkConfig,
  env: CniEnvironment,
  deps: PluginDeps,
): Promise<object | undefined> {
  switch (env.command) {
    case 'VERSION':
      return versionResult(config.cniVersion);
    case 'ADD':
      return add(config, env, deps);
    case 'DEL':
      await del(config, env, deps);
      return undefined;
    case 'CHECK':
      await check(config, env, deps);
      return undefined;
    case 'STATUS':
      await deps.ipam.status(config, env);
      return undefined;
    case 'GC':
      return undefined;
  }
}

async function add(config: NetworkConfig, env: CniEnvironment, deps: PluginDeps): Promise<CniResult> {
  if (!(await deps.networking.netnsExists(env.netns))) {
    throw new CniError(CniErrorCode.UnknownContainer, `network namespace ${env.netns} does not exist`);
  }
  const identity = workloadIdentity(config, env, deps.defaultNodeName);
  const ipamResult = await deps.ipam.add(config, env);
  const addresses = ipamResult.ips.map((ip) => ip.address);
  if (addresses.length === 0) {
    throw new CniError(CniErrorCode.PoolExhausted, 'the IPAM plugin returned no address');
  }
  const wiring = wiringFor(config, env, identity, addresses);
  try {
    const { podMac } = await deps.networking.wire(wiring);
    await deps.endpoints.put({
      identity,
      interfaceName: wiring.hostIfName,
      ipNetworks: addresses,
      mac: podMac,
    });
    return {
      cniVersion: config.cniVersion,
      interfaces: [
        { name: wiring.hostIfName, mac: HOST_VETH_MAC },
        { name: env.ifName, mac: podMac, sandbox: env.netns },
      ],
      ips: addresses.map((address) => ({
        ...(config.cniVersion.startsWith('0.')
          ? { version: address.includes(':') ? ('6' as const) : ('4' as const) }
          : {}),
        address,
        interface: 1,
        ...(address.includes(':') ? {} : { gateway: POD_GATEWAY }),
      })),
      routes: [
        ...(addresses.some((a) => !a.includes(':')) ? [{ dst: '0.0.0.0/0', gw: POD_GATEWAY }] : []),
        ...(addresses.some((a) => a.includes(':')) ? [{ dst: '::/0' }] : []),
      ],
      dns: {},
    };
  } catch (error) {
    // Nothing half-made stays behind: the address goes back and the veth goes away.
    await deps.networking.unwire(wiring.hostIfName).catch(() => undefined);
    await deps.ipam.del(config, env).catch(() => undefined);
    throw error;
  }
}

async function del(config: NetworkConfig, env: CniEnvironment, deps: PluginDeps): Promise<void> {
  const identity = workloadIdentity(config, env, deps.defaultNodeName);
  const wiring = wiringFor(config, env, identity, []);
  await deps.networking.unwire(wiring.hostIfName);
  await deps.ipam.del(config, env);
  await deps.endpoints.remove(identity);
}

async function check(config: NetworkConfig, env: CniEnvironment, deps: PluginDeps): Promise<void> {
  const previous = config.prevResult;
  if (!previous)
    throw new CniError(
      CniErrorCode.InvalidNetworkConfig,
      'CHECK needs prevResult in the network configuration',
    );
  const identity = workloadIdentity(config, env, deps.defaultNodeName);
  const addresses = previous.ips.map((ip) => ip.address);
  const wiring = wiringFor(config, env, identity, addresses);
  const state = await deps.networking.inspect(wiring);
  const problems: string[] = [];
  if (!state.hostIfExists) problems.push(`host interface ${wiring.hostIfName} is missing`);
  else if (state.hostMac !== HOST_VETH_MAC)
    problems.push(`host interface ${wiring.hostIfName} has MAC ${state.hostMac}, not ${HOST_VETH_MAC}`);
  if (!state.podIfExists) problems.push(`pod interface ${env.ifName} is missing in ${env.netns}`);
  for (const address of addresses) {
    if (state.podIfExists && !state.podAddresses.includes(address))
      problems.push(`pod interface lacks address ${address}`);
    if (state.hostIfExists && !state.hostRoutes.includes(address))
      problems.push(`host has no route to ${address} via ${wiring.hostIfName}`);
  }
  if (state.podIfExists && addresses.some((a) => !a.includes(':')) && !state.podHasDefaultRoute) {
    problems.push(`pod has no default route via ${POD_GATEWAY}`);
  }
  if (state.podIfExists && addresses.some((a) => a.includes(':')) && !state.podHasIpv6DefaultRoute) {
    problems.push(`pod has no IPv6 default route via the host veth's link-local address`);
  }
  if (problems.length > 0) throw new CniError(CniErrorCode.IoFailure, `CHECK failed: ${problems.join('; ')}`);
  await deps.ipam.check(config, env);
}

export { ipamHandle };
