// Public entry point of @caracal/lab: topologies as data, the running lab, probes, captures,
// cleanup of crashed runs, the availability check, and the build of what a test spawns. Vitest
// helpers live in `@caracal/lab/vitest`.
export { type IpFamily, parseAddress, parsePrefix, prefixContains, prefixesOverlap } from './address.js';
export { type LabAvailability, labAvailable } from './availability.js';
export { type BuildForLabOptions, buildPackagesForLab, withLabBuildLock } from './build.js';
export { type CapturedPacket, type PacketProtocol, parseTcpdumpLine, parseTcpdumpOutput } from './capture.js';
export { type CleanupOptions, type CleanupReport, cleanupStale, downRun, isStale } from './cleanup.js';
export {
  type CommandResult,
  type CommandRunner,
  LabCommandError,
  type RunOptions,
  systemRunner,
} from './kernel.js';
export {
  Capture,
  type ExecOptions,
  type ExecResult,
  type HttpResult,
  Lab,
  type LabOptions,
  LabProcess,
  type LabServer,
  type PingResult,
  type ProcessExit,
  repositoryRoot,
  type ServerOptions,
  type SpawnOptions,
  type TcpResult,
} from './lab.js';
export {
  FABRIC_NODE_NAME,
  interfaceNameProblem,
  LAB_NAMESPACE_PATTERN,
  LAB_ROOT_LINK_PATTERN,
  MAX_INTERFACE_NAME_LENGTH,
  namespaceName,
  newRunId,
  podHostInterfaceName,
  RUN_ID_PATTERN,
  runIdOfNamespace,
  runIdOfRootLink,
} from './naming.js';
export {
  NameAllocator,
  POD_GATEWAY_IPV4,
  POD_GATEWAY_IPV6,
  POD_HOST_SIDE_MAC,
  planTopology,
  type Step,
} from './plan.js';
export { freeTcpPort } from './ports.js';
export { type LabState, listStates, stateDirectory } from './state.js';
export type { TeardownReport } from './teardown.js';
export {
  type HostSpec,
  type InterfaceSpec,
  type LinkEndSpec,
  type LinkSpec,
  type NodeSpec,
  type PodSpec,
  type ResolvedAddress,
  type ResolvedLink,
  type ResolvedNode,
  type ResolvedPod,
  type ResolvedRoute,
  type ResolvedSegment,
  type ResolvedSubnet,
  type RouterSpec,
  type RouteSpec,
  type SegmentSpec,
  type SubnetSpec,
  type Topology,
  TopologyError,
  type TopologyProblem,
  type ValidTopology,
  validateTopology,
} from './topology.js';
export { perRunUla48 } from './ula.js';
export { WaitAbortedError, type WaitOptions, WaitTimeoutError, waitUntil } from './wait.js';
