// Public entry point of @caracal/ctl: the program (for embedding and tests), the node-status client of
// the bgpd control socket (over @caracal/bgp-speaker's client), kind aliases and output formatting.
export type { BlockUsage, DatastoreAdmin, IpamOperations, IpamUsage, PoolUsage } from './admin.js';
export type { ManifestDocument, ResourceModel, ResourceStore, ValidationProblem } from './backend.js';
export { StoreConflict } from './backend.js';
export { buildProgram, type CliDependencies, runCli } from './cli.js';
export { type ConnectionSettings, defaultEtcdEndpoint, resolveConnection } from './connection.js';
export { CommandFailure, ExitCode, UsageError } from './errors.js';
export { renderBoxedTable, renderTable, type Table } from './format/table.js';
export type { CliIo } from './io.js';
export { findKind, type KindInfo, knownKinds, resolveKind, suggestKind } from './kinds.js';
export {
  type BgpdStatus,
  BgpdUnreachableError,
  type BgpPeerStatus,
  bgpdSocketPath,
  defaultRunDir,
  parseBgpdStatus,
  queryBgpdStatus,
  renderNodeStatus,
} from './node-status.js';
