// The views caracalctl has of IPAM and of datastore administration (start/stop a local etcd, status,
// version). `caracal-backend.ts` implements them on @caracal/ipam and @caracal/datastore; the ipam and
// datastore commands render what these return.

import type { ConnectionSettings } from './connection.js';

export interface PoolUsage {
  readonly cidr: string;
  readonly name?: string;
  readonly capacity: number;
  readonly inUse: number;
}

export interface BlockUsage {
  readonly cidr: string;
  /** The node the block is affine to; undefined for a block without affinity. */
  readonly node?: string;
  readonly capacity: number;
  readonly inUse: number;
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

export interface LocalEtcdOptions {
  readonly dataDir: string;
  readonly listenClient: string;
  readonly listenPeer: string;
  readonly foreground: boolean;
  readonly runDir: string;
}

export interface LocalEtcdStarted {
  readonly pid: number;
  readonly clientUrl: string;
  readonly dataDir: string;
  readonly logFile?: string;
  /** False when an etcd started earlier from the same data dir was already running. */
  readonly newlyStarted: boolean;
  /** Resolves when a foreground etcd exits (with its exit code). */
  readonly exited?: Promise<number | null>;
}

export interface DatastoreMember {
  readonly id: string;
  readonly name: string;
  readonly clientUrls: readonly string[];
  readonly peerUrls: readonly string[];
  readonly isLeader: boolean;
}

export interface DatastoreStatusInfo {
  readonly endpoint: string;
  readonly healthy: boolean;
  readonly version?: string;
  readonly revision?: string;
  readonly dbSizeBytes?: number;
  readonly leader?: string;
  readonly members: readonly DatastoreMember[];
  readonly error?: string;
}

export interface DatastoreAdmin {
  start(options: LocalEtcdOptions): Promise<LocalEtcdStarted>;
  /** Stops the local etcd of this data dir; undefined when none was running. */
  stop(dataDir: string): Promise<{ pid: number } | undefined>;
  status(settings: ConnectionSettings): Promise<DatastoreStatusInfo[]>;
  /** The datastore's version string (e.g. `etcd 3.4.23, cluster 3.4.0`); throws when unreachable. */
  version(settings: ConnectionSettings): Promise<string>;
}
