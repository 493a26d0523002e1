// The state file of a lab cluster: `<lab state dir>/<cluster name>/state.json` (default
// /run/caracal-lab/<name>/state.json; CARACAL_LAB_STATE_DIR moves it, as for @caracal/lab). It names
// everything the cluster made — the @caracal/lab run (namespaces, bridge, root link and processes are
// recorded in that run's own state), the nodes with their run directories, the pods with their
// namespaces, container ids and listener PIDs — so another process (`caracalctl lab status|down`) can
// probe it and tear down exactly what was created. Written atomically (temp file + rename).
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDirectory } from '@caracal/lab';

export const LAB_CLUSTER_STATE_VERSION = 1;

/** A node of the cluster: a namespace running caracal-node (which runs caracal-felix and caracal-bgpd). */
export interface LabClusterNode {
  /** Node resource name, also the lab host name (`node1`, `node2`, …). */
  readonly name: string;
  /** Its network namespace (`<runId>-<name>`). */
  readonly namespace: string;
  /** Its address on the cluster segment, without prefix length. */
  readonly address: string;
  /** Its address with prefix length, as given to `caracal-node --ip`. */
  readonly cidr: string;
  /** `caracal-node --run-dir`: node.pid, status.json, peers.json, bgpd.sock, felix/ … */
  readonly runDir: string;
  /** PID of caracal-node (started by the lab, recorded in its state too). */
  readonly pid: number;
  /** Port of caracal-node's /liveness, /readiness and /metrics on `address`. */
  readonly healthPort: number;
  /** Its IPv6 address on the segment (canonical, without `/64`), when the cluster has `ipv6Subnet`. */
  readonly address6?: string;
}

/** A pod: a namespace wired by the `caracal` CNI plugin on its node. */
export interface LabClusterPod {
  /** Pod name (`K8S_POD_NAME`), also the lab name of its namespace (`node1-p1`, …). */
  readonly name: string;
  /** The node it runs on. */
  readonly node: string;
  readonly namespace: string;
  /** `CNI_CONTAINERID` of its ADD (needed for its DEL). */
  readonly containerId: string;
  /** Its IPv4 address (from the CNI result, without `/32`). */
  readonly address: string;
  /** Its IPv6 address (without `/128`) when it was added with `assignIpv6`. */
  readonly address6?: string;
  /** The host-side veth the plugin made (`cara…`). */
  readonly hostInterface: string | undefined;
  /** TCP port where the pod's listener answers `caracal-pod <name>`, or undefined without a listener. */
  readonly tcpPort: number | undefined;
  /** PID of that listener. */
  readonly listenerPid: number | undefined;
  /** Time of the CNI ADD (spawn to result), in milliseconds. */
  readonly cniAddMs: number;
}

export interface LabClusterState {
  readonly version: typeof LAB_CLUSTER_STATE_VERSION;
  readonly name: string;
  /** The @caracal/lab run id (prefix of every namespace and root link of the cluster). */
  readonly runId: string;
  readonly createdAt: string;
  /** The process that built it; a cluster is `detached` once that process leaves it running on purpose. */
  ownerPid: number;
  detached: boolean;
  /** Set once the build finished (nodes ready, first pods created). */
  complete: boolean;
  /** This folder: the state file, the nodes' run directories. */
  readonly clusterDir: string;
  /** The lab run's log folder (`<repo>/.lab-runs/<runId>`): process logs, etcd data. */
  readonly logDir: string;
  /** The cluster segment, e.g. `10.123.45.0/24`; the root namespace holds `.1`, etcd `.2`. */
  readonly subnet: string;
  readonly rootAddress: string;
  readonly etcdEndpoint: string;
  readonly pool: { readonly name: string; readonly cidr: string; readonly blockSize: number };
  nodes: LabClusterNode[];
  pods: LabClusterPod[];
  /** Next pod number per node (pod names are never reused within a cluster). */
  podCounters: Record<string, number>;
}

/** `<lab state dir>/<name>` */
export function labClusterDirectory(name: string): string {
  return join(stateDirectory(), name);
}

export function labClusterStatePath(name: string): string {
  return join(labClusterDirectory(name), 'state.json');
}

export function writeLabClusterState(state: LabClusterState): void {
  mkdirSync(state.clusterDir, { recursive: true });
  const path = join(state.clusterDir, 'state.json');
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temp, path);
}

/** The state of cluster `name`, or undefined when there is none; throws when the file is unreadable JSON. */
export function readLabClusterState(name: string): LabClusterState | undefined {
  let text: string;
  try {
    text = readFileSync(labClusterStatePath(name), 'utf8');
  } catch {
    return undefined;
  }
  let parsed: LabClusterState;
  try {
    parsed = JSON.parse(text) as LabClusterState;
  } catch (error) {
    throw new Error(`state file ${labClusterStatePath(name)} is not JSON: ${(error as Error).message}`);
  }
  if (parsed.version !== LAB_CLUSTER_STATE_VERSION || parsed.name !== name) {
    throw new Error(
      `state file ${labClusterStatePath(name)} is not a lab cluster state of version ${LAB_CLUSTER_STATE_VERSION} named '${name}'`,
    );
  }
  return parsed;
}

/** Names of every cluster with a state file, sorted. */
export function listLabClusterNames(): string[] {
  let entries: string[];
  try {
    entries = readdirSync(stateDirectory(), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
  return entries.filter((name) => {
    try {
      return readLabClusterState(name) !== undefined;
    } catch {
      return false;
    }
  });
}
