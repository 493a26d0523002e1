// The etcd endpoints a plugin connects to: config `etcd_endpoints`, else ETCD_ENDPOINTS, else the default.
// Kept apart from datastore-access.ts (which re-exports it) so `caracal` can connect without loading the
// IPAM package.
import { DatastoreConfigError, resolveEndpoints } from '@caracal/datastore';
import { CniError, CniErrorCode, type NetworkConfig } from './spec.js';

/** Endpoints in the order of precedence; a malformed one is a configuration error (code 7). */
export function etcdEndpointsFor(config: NetworkConfig, env: NodeJS.ProcessEnv): string[] {
  try {
    return resolveEndpoints(config.etcdEndpoints, env);
  } catch (error) {
    if (error instanceof DatastoreConfigError) {
      throw new CniError(
        CniErrorCode.InvalidNetworkConfig,
        `etcd endpoints: ${error.message.replace('--etcd-endpoints', 'etcd_endpoints')}`,
      );
    }
    throw error;
  }
}
