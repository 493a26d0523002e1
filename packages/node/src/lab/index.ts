// The lab cluster builder: a whole Caracal cluster in network namespaces on this machine (etcd, an
// IPPool, caracal-node per node, pods through the CNI plugin), its probes, its BGP status and teardown.
export { type LabBgpPeer, type LabBgpStatus, queryLabBgpStatus } from './bgp-status.js';
export {
  type AddPodOptions,
  attachLabCluster,
  DEFAULT_LAB_CLUSTER_NAME,
  DEFAULT_LAB_POOL_CIDR,
  downLabCluster,
  LAB_NODE_HEALTH_PORT,
  LabCluster,
  type LabClusterOptions,
  LabClusterOptionsError,
  type LabClusterTeardown,
  LabUnreachableError,
  labIpPool,
  listLabClusters,
  type NodeReadiness,
  resolveLabClusterOptions,
  startLabCluster,
} from './cluster.js';
export { CniInvocationError, labNetworkConfig } from './cni.js';
export {
  type ConnectivityCell,
  type ConnectivityMatrix,
  describeUnreachable,
  LAB_POD_TCP_PORT,
  type MatrixOptions,
  type ProbeResult,
  podGreeting,
  renderConnectivityMatrix,
} from './probes.js';
export {
  type LabClusterNode,
  type LabClusterPod,
  type LabClusterState,
  labClusterDirectory,
  labClusterStatePath,
} from './state.js';
