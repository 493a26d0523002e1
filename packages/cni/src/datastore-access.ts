// How the executables reach the cluster: etcd endpoints (config `etcd_endpoints`, else ETCD_ENDPOINTS, else
// the default), the node name (config `nodename`, else NODENAME, else /run/caracal/nodename, else the
// hostname), IPPool resources read defensively from the datastore, and the mapping of datastore and IPAM
// failures to CNI error codes.
import {
  DatastoreConfigError,
  DatastoreUnavailableError,
  type KeyValueStore,
  keys,
} from '@caracal/datastore';
import { IpamExhaustedError, type IpamPool } from '@caracal/ipam';
import { CniError, CniErrorCode } from './spec.js';

export { etcdEndpointsFor } from './etcd-endpoints.js';
export { NODENAME_FILE, nodeNameFor } from './node-name.js';

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** One stored IPPool resource (Calico field names) as an IPAM pool; errors name the key and the field. */
export function parseIpPoolResource(key: string, text: string): IpamPool {
  const where = `IPPool at ${key}`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CniError(
      CniErrorCode.IoFailure,
      `${where} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const fail = (reason: string): never => {
    throw new CniError(CniErrorCode.IoFailure, `${where}: ${reason}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must be a JSON object');
  const resource = raw as Record<string, unknown>;
  if (resource.kind !== 'IPPool') fail(`kind must be "IPPool", got ${describe(resource.kind)}`);
  const metadata = resource.metadata as Record<string, unknown> | undefined;
  if (
    typeof metadata !== 'object' ||
    metadata === null ||
    typeof metadata.name !== 'string' ||
    metadata.name === ''
  )
    fail('metadata.name must be a non-empty string');
  const spec = resource.spec as Record<string, unknown> | undefined;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) fail('spec must be an object');
  const s = spec as Record<string, unknown>;
  if (typeof s.cidr !== 'string' || s.cidr === '')
    fail(`spec.cidr must be a CIDR string, got ${describe(s.cidr)}`);
  if (s.blockSize !== undefined && (typeof s.blockSize !== 'number' || !Number.isInteger(s.blockSize)))
    fail(`spec.blockSize must be an integer, got ${describe(s.blockSize)}`);
  if (s.disabled !== undefined && typeof s.disabled !== 'boolean')
    fail(`spec.disabled must be a boolean, got ${describe(s.disabled)}`);
  if (s.nodeSelector !== undefined && typeof s.nodeSelector !== 'string')
    fail(`spec.nodeSelector must be a string, got ${describe(s.nodeSelector)}`);
  return {
    name: (metadata as { name: string }).name,
    cidr: s.cidr as string,
    ...(s.blockSize !== undefined ? { blockSize: s.blockSize as number } : {}),
    ...(s.nodeSelector !== undefined ? { nodeSelector: s.nodeSelector as string } : {}),
    ...(s.disabled !== undefined ? { disabled: s.disabled as boolean } : {}),
  };
}

/** Every IPPool resource in the datastore. */
export async function readIpPools(store: KeyValueStore): Promise<IpamPool[]> {
  const listed = await store.list(keys.resourceKindPrefix('IPPool'));
  return listed.items.map((item) => parseIpPoolResource(item.key, item.value));
}

/** Node selectors other than all() need node labels, which this plugin does not read: such pools do not match. */
export function nodeMatchesOnlyAll(_node: string, selector: string): boolean {
  const trimmed = selector.trim();
  return trimmed === '' || trimmed === 'all()';
}

/** Datastore down → 11 (try again later) naming the endpoints; exhausted pools → 100 naming them. */
export function toCniError(error: unknown): CniError {
  if (error instanceof CniError) return error;
  if (error instanceof DatastoreUnavailableError) {
    return new CniError(
      CniErrorCode.TryAgainLater,
      `the datastore is unavailable at ${error.endpoints.join(', ')}`,
      error.causeMessage,
    );
  }
  if (error instanceof IpamExhaustedError && error.poolsTried.length === 0) {
    // Not exhaustion but no candidate at all (e.g. assign_ipv6 without an enabled IPv6 pool): say so.
    return new CniError(CniErrorCode.PoolExhausted, error.message);
  }
  if (error instanceof IpamExhaustedError) {
    return new CniError(
      CniErrorCode.PoolExhausted,
      `no free address in pool(s) [${error.poolsTried.join(', ')}]`,
      error.message,
    );
  }
  if (error instanceof DatastoreConfigError) {
    return new CniError(CniErrorCode.InvalidNetworkConfig, error.message);
  }
  return new CniError(
    CniErrorCode.Internal,
    error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  );
}
