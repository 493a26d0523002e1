// The `caracal-ipam` IPAM plugin's logic over a datastore connection: ADD assigns one IPv4 and/or one IPv6
// address (Calico's `assign_ipv4`/`assign_ipv6`, optionally restricted by `ipv4_pools`/`ipv6_pools`) from
// the IPPools in the datastore under the handle `<network name>.<container id>`, all or nothing; DEL
// releases the handle (idempotent, every family); CHECK verifies the handle holds the prevResult's
// addresses; STATUS needs the datastore and an enabled pool; VERSION.
import { type KeyValueStore, keys } from '@caracal/datastore';
import { allocationsOf, IpamClient, parseBlockDocument, parseHandleDocument } from '@caracal/ipam';
import { nodeMatchesOnlyAll, readIpPools, toCniError } from './datastore-access.js';
import { parseIpamAssignOptions, poolRestriction } from './ipam-options.js';
import { ipamHandle } from './naming.js';
import type { WorkloadIdentity } from './plugin.js';
import { workloadIdentity } from './plugin.js';
import {
  type CniEnvironment,
  CniError,
  CniErrorCode,
  type CniResult,
  type NetworkConfig,
  versionResult,
} from './spec.js';

export interface IpamPluginDeps {
  readonly store: KeyValueStore;
  readonly node: string;
}

/** Pre-1.0 results carry "version" on each IP. */
function ipEntry(cniVersion: string, address: string): CniResult['ips'][number] {
  const legacy = cniVersion.startsWith('0.');
  return legacy ? { address, version: address.includes(':') ? '6' : '4' } : { address };
}

function attrsOf(identity: WorkloadIdentity): Record<string, string> {
  return {
    node: identity.node,
    namespace: identity.namespace,
    ...(identity.pod !== undefined ? { pod: identity.pod } : {}),
    containerId: identity.containerId,
  };
}

/** The addresses currently held by a handle (none when the handle does not exist). */
export async function addressesOfHandle(
  store: KeyValueStore,
  handleId: string,
): Promise<string[] | undefined> {
  const handleKey = keys.handle(handleId);
  const stored = await store.get(handleKey);
  if (stored === undefined) return undefined;
  const handle = parseHandleDocument(stored.value, handleKey);
  const addresses: string[] = [];
  for (const cidr of Object.keys(handle.blocks)) {
    const block = await store.get(keys.block(cidr));
    if (block === undefined) continue;
    for (const allocation of allocationsOf(parseBlockDocument(JSON.parse(block.value)))) {
      if (allocation.handleId === handleId) addresses.push(allocation.ip);
    }
  }
  return addresses;
}

export async function runIpamPlugin(
  config: NetworkConfig,
  env: CniEnvironment,
  deps: IpamPluginDeps,
): Promise<object | undefined> {
  try {
    return await runIpamCommand(config, env, deps);
  } catch (error) {
    throw toCniError(error);
  }
}

async function runIpamCommand(
  config: NetworkConfig,
  env: CniEnvironment,
  deps: IpamPluginDeps,
): Promise<object | undefined> {
  // Read once per invocation: the pool restriction and IPAM's autoAssign see the same pools.
  let poolsRead: ReturnType<typeof readIpPools> | undefined;
  const readPoolsOnce = () => {
    poolsRead ??= readIpPools(deps.store);
    return poolsRead;
  };
  const client = new IpamClient({
    store: deps.store,
    pools: readPoolsOnce,
    nodeMatchesSelector: nodeMatchesOnlyAll,
  });
  const handleId = ipamHandle(config.name, env.containerId);
  switch (env.command) {
    case 'VERSION':
      return versionResult(config.cniVersion);
    case 'ADD': {
      const options = parseIpamAssignOptions(config.ipam);
      const identity = workloadIdentity(config, env, deps.node);
      // A repeated ADD for the same container returns what it already holds.
      const held = await addressesOfHandle(deps.store, handleId);
      let addresses: string[];
      if (held !== undefined && held.length > 0) addresses = held;
      else {
        const pools = await readPoolsOnce();
        const restrict = poolRestriction(options, pools);
        const assigned = await client.autoAssign({
          node: identity.node,
          handleId,
          attrs: attrsOf(identity),
          num4: options.assignIpv4 ? 1 : 0,
          num6: options.assignIpv6 ? 1 : 0,
          ...(restrict !== undefined ? { pools: restrict } : {}),
        });
        addresses = [...assigned.ipv4, ...assigned.ipv6];
      }
      const result: CniResult = {
        cniVersion: config.cniVersion,
        ips: addresses.map((ip) => ipEntry(config.cniVersion, `${ip}/${ip.includes(':') ? 128 : 32}`)),
      };
      return result;
    }
    case 'DEL':
      await client.releaseByHandle(handleId);
      return undefined;
    case 'CHECK': {
      const previous = config.prevResult;
      if (!previous) {
        throw new CniError(
          CniErrorCode.InvalidNetworkConfig,
          'CHECK needs prevResult in the network configuration',
        );
      }
      const held = await addressesOfHandle(deps.store, handleId);
      if (held === undefined) {
        throw new CniError(CniErrorCode.IoFailure, `CHECK failed: IPAM handle ${handleId} does not exist`);
      }
      const missing = previous.ips
        .map((ip) => ip.address.split('/')[0] ?? '')
        .filter((address) => !held.includes(address));
      if (missing.length > 0) {
        throw new CniError(
          CniErrorCode.IoFailure,
          `CHECK failed: IPAM handle ${handleId} does not hold ${missing.join(', ')} (it holds ${held.join(', ') || 'nothing'})`,
        );
      }
      return undefined;
    }
    case 'STATUS': {
      let pools: Awaited<ReturnType<typeof readIpPools>>;
      try {
        pools = await readIpPools(deps.store);
      } catch (error) {
        const cni = toCniError(error);
        throw new CniError(CniErrorCode.PluginNotAvailable, cni.message, cni.details);
      }
      if (!pools.some((pool) => pool.disabled !== true)) {
        throw new CniError(
          CniErrorCode.PluginNotAvailable,
          pools.length === 0
            ? 'no IPPool exists in the datastore'
            : `every IPPool is disabled (${pools.map((p) => p.name).join(', ')})`,
        );
      }
      return undefined;
    }
    case 'GC':
      return undefined;
  }
}
