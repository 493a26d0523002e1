// The views caracalctl has of IPAM and of datastore administration (start/stop a local etcd, status,
// version). `caracal-backend.ts` implements them on @caracal/ipam and @caracal/datastore; the ipam and
// datastore commands render what these return.

import type { ConnectionSettings } from './connection.js';

export interface PoolUsage {
  readonly cidr: string;
  readonly name?: string;
  /** Addresses in the pool (decimal text: IPv6 pools exceed JS numbers). */
  readonly total: string;
  readonly inUse: number;
  /** Free addresses (decimal text). */
  readonly free: string;
}

export interface BlockUsage {
  readonly cidr: string;
  /** The node the block is affine to; undefined for a block without affinity. */
  readonly node?: string;
  readonly inUse: number;
  readonly free: number;
}

export interface IpamUsage {
  readonly pools: readonly PoolUsage[];
  readonly blocks: readonly BlockUsage[];
}

export interface IpamCheckResult {
  /** The report as written by `ipam check -o FILE`; `ipam release --from-report` reads it back. */
  readonly report: unknown;
  /** Human summary lines (counts and one line per problem found). */
  readonly summary: readonly string[];
  /** Number of leaked addresses (0 = consistent). */
  readonly leakCount: number;
}

export interface ReleaseResult {
  readonly ip: string;
  readonly released: boolean;
  /** Why it was not released (not allocated, not in any pool, changed since the report...). */
  readonly reason?: string;
}

export interface IpamOperations {
  usage(settings: ConnectionSettings): Promise<IpamUsage>;
  check(settings: ConnectionSettings): Promise<IpamCheckResult>;
  releaseIps(settings: ConnectionSettings, ips: readonly string[]): Promise<ReleaseResult[]>;
  releaseFromReport(settings: ConnectionSettings, report: unknown): Promise<ReleaseResult[]>;
}

export interface LocalEtcdRequest {
  readonly dataDir: string;
  /** Client URL to listen on, e.g. http://127.0.0.1:2379. */
  readonly listenClient: string;
  /** Peer URL to listen on, e.g. http://127.0.0.1:2380. */
  readonly listenPeer: string;
  readonly foreground: boolean;
}

export interface LocalEtcdStarted {
  readonly pid: number;
  readonly clientUrls: readonly string[];
  readonly dataDir: string;
  readonly logFile?: string;
  /** For a foreground etcd: resolves with its exit code when it ends. */
  readonly exited?: Promise<number | null>;
}

export interface DatastoreMember {
  readonly id: string;
  readonly name: string;
  readonly clientUrls: readonly string[];
  readonly peerUrls: readonly string[];
}

export interface EndpointHealth {
  readonly endpoint: string;
  readonly healthy: boolean;
  readonly version?: string;
  readonly revision?: number;
  readonly dbSizeBytes?: number;
  readonly isLeader?: boolean;
  readonly error?: string;
}

export interface DatastoreHealth {
  readonly endpoints: readonly EndpointHealth[];
  readonly members: readonly DatastoreMember[];
}

export interface DatastoreAdmin {
  start(request: LocalEtcdRequest): Promise<LocalEtcdStarted>;
  /** Stops the local etcd of this data dir; false when none was running. */
  stop(dataDir: string): Promise<boolean>;
  status(settings: ConnectionSettings): Promise<DatastoreHealth>;
}
