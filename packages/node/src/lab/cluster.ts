// A whole Caracal cluster on one machine, for demonstrations (`caracalctl lab up`), lab tests and
// benchmarks: an etcd and N node namespaces on one L2 segment (built by @caracal/lab, which records
// and tears down every namespace, link and process), an IPPool, caracal-node in each node namespace
// (which runs caracal-felix and caracal-bgpd), and pods created through the `caracal` CNI plugin, each
// with a TCP listener. Its state file lets another process probe it and take it down.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { connectDatastore, DEFAULT_ETCD_BINARY, datastoreStatus, ResourceStore } from '@caracal/datastore';
import {
  type CidrOptions,
  cidrsOverlap,
  formatCidr,
  formatIp,
  formatIpv4,
  type IpCidr,
  IpParseError,
  ipParseResult,
  parseCidr,
  parseIp,
  parseIpv4Cidr,
} from '@caracal/ip';
import {
  cleanupStale,
  downRun,
  Lab,
  labAvailable,
  listStates,
  namespaceName,
  newRunId,
  repositoryRoot,
  type Topology,
} from '@caracal/lab';
import type { IPPoolResource } from '@caracal/model';
import { type LabBgpStatus, queryLabBgpStatus } from './bgp-status.js';
import { cniAdd, cniDel } from './cni.js';
import {
  type ConnectivityMatrix,
  describeUnreachable,
  LAB_POD_TCP_PORT,
  type MatrixOptions,
  pingFrom,
  probeConnectivity,
  startPodListener,
} from './probes.js';
import { isAlive, removeNamespace, runChecked, runCommand } from './run.js';
import {
  LAB_CLUSTER_STATE_VERSION,
  type LabClusterNode,
  type LabClusterPod,
  type LabClusterState,
  labClusterDirectory,
  labClusterStatePath,
  listLabClusterNames,
  readLabClusterState,
  writeLabClusterState,
} from './state.js';

export const DEFAULT_LAB_CLUSTER_NAME = 'caracal';
export const DEFAULT_LAB_POOL_CIDR = '10.244.0.0/16';
/** caracal-node's health port inside every node namespace. */
export const LAB_NODE_HEALTH_PORT = 9098;

export interface LabClusterOptions {
  /** Cluster name: state in `<lab state dir>/<name>/`; lower-case letters, digits, '-' (default `caracal`). */
  readonly name?: string;
  /** Number of nodes, 1-9 (default 4): `node1` … `nodeN`. */
  readonly nodes?: number;
  /** Pods created on each node once the nodes are ready, 0-60 (default 2). */
  readonly podsPerNode?: number;
  /** The IPPool's CIDR (default 10.244.0.0/16). */
  readonly poolCidr?: string;
  /** The IPPool's block size, 20-32 (default 26). */
  readonly blockSize?: number;
  /** The nodes' /24 (`A.B.C.0/24`); default: a random 10.x.y.0/24 no route of this machine overlaps. */
  readonly subnet?: string;
  /** Leave everything running when this process exits (`caracalctl lab up`); default false (torn down at exit). */
  readonly detached?: boolean;
  /** Wait until every pod reaches every other (ping and TCP) before resolving (default true). */
  readonly waitForConnectivity?: boolean;
  /** Limit of each wait: etcd, node readiness, connectivity (default 90 000 ms). */
  readonly readyTimeoutMs?: number;
  /** Give each pod a TCP listener (port 7070) for the matrix's TCP column (default true). */
  readonly podTcpListeners?: boolean;
  /**
   * An IPv6 /64 for the cluster segment (e.g. a per-run ULA): node N gets `<prefix>::<10+N>/64` on its
   * segment interface (no DAD) before its caracal-node starts, and `--ip6 <that address>/64` unless
   * `nodeIp6` says otherwise. Without it the segment is IPv4 only and caracal-node gets no `--ip6`.
   */
  readonly ipv6Subnet?: string;
  /** `--ip6` of caracal-node per node name (`autodetect`, `none`, an address/length); needs `ipv6Subnet`. */
  readonly nodeIp6?: Readonly<Record<string, string>>;
  /** One line per step as it starts and ends, with timings. */
  readonly progress?: (line: string) => void;
}

/** Bad options: every problem, each naming the option, the value and the reason. */
export class LabClusterOptionsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid lab cluster options:\n  ${problems.join('\n  ')}`);
    this.name = 'LabClusterOptionsError';
  }
}

/** Pods that do not reach each other in time; `matrix` is the last probe. */
export class LabUnreachableError extends Error {
  constructor(
    message: string,
    readonly matrix: ConnectivityMatrix,
  ) {
    super(message);
    this.name = 'LabUnreachableError';
  }
}

export interface LabClusterTeardown {
  readonly name: string;
  readonly runId: string;
  readonly namespaces: readonly string[];
  readonly processes: readonly number[];
  readonly rootLinks: readonly string[];
}

export interface NodeReadiness {
  readonly node: string;
  readonly healthy: boolean;
  readonly reasons: readonly string[];
}

export interface AddPodOptions {
  /** Pod name (default `<node>-p<n>`); lower-case letters, digits and '-'. */
  readonly name?: string;
  /** Start the pod's TCP listener (default: the cluster's `podTcpListeners`, true). */
  readonly tcpListener?: boolean;
  /** Ask caracal-ipam for an IPv6 address too (`"assign_ipv6": "true"` under `ipam`; needs an IPv6 pool). */
  readonly assignIpv6?: boolean;
}

const NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;
const POD_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

interface ResolvedOptions {
  name: string;
  nodes: number;
  podsPerNode: number;
  poolCidr: string;
  blockSize: number;
  subnet: string | undefined;
  detached: boolean;
  waitForConnectivity: boolean;
  readyTimeoutMs: number;
  podTcpListeners: boolean;
  /** Canonical network text of the segment's IPv6 /64 (`fd12:3456:789a::`), or undefined. */
  ipv6Prefix: string | undefined;
  nodeIp6: Readonly<Record<string, string>>;
  progress: (line: string) => void;
}

/** The IPv4 CIDR in `text` (@caracal/ip's grammar), or the IpParseError saying why it is not one. */
function ipv4Cidr(text: string, options?: CidrOptions): IpCidr | IpParseError {
  const parsed = ipParseResult(() => parseIpv4Cidr(text, options));
  if (parsed instanceof IpParseError) return parsed;
  return { version: 4, network: BigInt(parsed.address), length: parsed.length };
}

/** Address number `host` of a cluster subnet (validated A.B.C.0/24): 1 → "A.B.C.1". */
function addressInSubnet(subnet: string, host: number): string {
  return formatIpv4(parseIpv4Cidr(subnet).address + host);
}

/** Node `index` (0 for node1)'s IPv6 address on the segment: `<prefix>::11`, `::12`, … (like its IPv4 .11, .12). */
export function nodeIpv6Address(ipv6Prefix: string, index: number): string {
  return formatIp(parseIp(`${ipv6Prefix.replace(/::$/, '')}::${11 + index}`));
}

/** Validates options and applies defaults; throws LabClusterOptionsError listing every problem. */
export function resolveLabClusterOptions(options: LabClusterOptions): ResolvedOptions {
  const problems: string[] = [];
  const name = options.name ?? DEFAULT_LAB_CLUSTER_NAME;
  if (!NAME_PATTERN.test(name)) {
    problems.push(
      `name: ${JSON.stringify(name)} must start with a lower-case letter and hold only lower-case letters, digits and '-' (at most 31 characters)`,
    );
  }
  const integer = (field: string, value: number | undefined, fallback: number, min: number, max: number) => {
    const resolved = value ?? fallback;
    if (!Number.isInteger(resolved) || resolved < min || resolved > max) {
      problems.push(`${field}: ${JSON.stringify(resolved)} must be a whole number from ${min} to ${max}`);
    }
    return resolved;
  };
  const nodes = integer('nodes', options.nodes, 4, 1, 9);
  const podsPerNode = integer('podsPerNode', options.podsPerNode, 2, 0, 60);
  const blockSize = integer('blockSize', options.blockSize, 26, 20, 32);
  const readyTimeoutMs = integer('readyTimeoutMs', options.readyTimeoutMs, 90_000, 1000, 3_600_000);
  const poolCidr = options.poolCidr ?? DEFAULT_LAB_POOL_CIDR;
  const poolNetwork = ipv4Cidr(poolCidr, { hostBits: 'clear' });
  const pool = ipv4Cidr(poolCidr);
  if (poolNetwork instanceof IpParseError)
    problems.push(
      `poolCidr: ${JSON.stringify(poolCidr)} is not an IPv4 CIDR (A.B.C.D/N): ${poolNetwork.reason}`,
    );
  else if (pool instanceof IpParseError)
    problems.push(
      `poolCidr: ${poolCidr} has host bits set (the network is ${formatIpv4(Number(poolNetwork.network))}/${poolNetwork.length})`,
    );
  else if (pool.length > blockSize)
    problems.push(`poolCidr: ${poolCidr} is smaller than one block (blockSize ${blockSize})`);
  if (options.subnet !== undefined) {
    const subnet = ipv4Cidr(options.subnet);
    if (subnet instanceof IpParseError || subnet.length !== 24) {
      const reason = subnet instanceof IpParseError ? subnet.reason : `a /${subnet.length}`;
      problems.push(`subnet: ${JSON.stringify(options.subnet)} must be an IPv4 /24 (A.B.C.0/24): ${reason}`);
    } else if (!(pool instanceof IpParseError) && cidrsOverlap(subnet, pool)) {
      problems.push(`subnet: ${options.subnet} overlaps the pool ${poolCidr}`);
    }
  }
  let ipv6Prefix: string | undefined;
  if (options.ipv6Subnet !== undefined) {
    const v6 = ipParseResult(() => parseCidr(options.ipv6Subnet as string));
    if (v6 instanceof IpParseError || v6.version !== 6 || v6.length !== 64) {
      const reason = v6 instanceof IpParseError ? v6.reason : `an IPv${v6.version} /${v6.length}`;
      problems.push(`ipv6Subnet: ${JSON.stringify(options.ipv6Subnet)} must be an IPv6 /64: ${reason}`);
    } else {
      ipv6Prefix = formatCidr(v6).replace(/\/64$/, '');
    }
  }
  const nodeIp6 = options.nodeIp6 ?? {};
  for (const nodeName of Object.keys(nodeIp6)) {
    if (options.ipv6Subnet === undefined)
      problems.push(`nodeIp6.${nodeName}: needs ipv6Subnet (the segment has no IPv6 addresses without it)`);
    else if (!/^node[1-9]$/.test(nodeName) || Number(nodeName.slice(4)) > nodes)
      problems.push(`nodeIp6.${nodeName}: no such node (node1 … node${nodes})`);
  }
  if (problems.length > 0) throw new LabClusterOptionsError(problems);
  return {
    name,
    nodes,
    podsPerNode,
    poolCidr,
    blockSize,
    subnet: options.subnet,
    detached: options.detached ?? false,
    waitForConnectivity: options.waitForConnectivity ?? true,
    readyTimeoutMs,
    podTcpListeners: options.podTcpListeners ?? true,
    ipv6Prefix,
    nodeIp6,
    progress: options.progress ?? (() => {}),
  };
}

/** The IPv4 routes of this machine's root namespace (every table), as prefixes; `default` left out. */
async function rootRoutes(): Promise<{ text: string; cidr: IpCidr }[]> {
  const routes = await runCommand(['ip', '-4', '-j', 'route', 'show', 'table', 'all'], { timeoutMs: 10_000 });
  const found: { text: string; cidr: IpCidr }[] = [];
  for (const route of JSON.parse(routes.stdout || '[]') as { dst?: string }[]) {
    if (route.dst === undefined || route.dst === 'default') continue;
    const cidr = ipv4Cidr(route.dst, { allowBareAddress: true, hostBits: 'clear' });
    if (!(cidr instanceof IpParseError) && cidr.length >= 8) found.push({ text: route.dst, cidr });
  }
  return found;
}

/** Throws when a given cluster subnet overlaps a route of this machine (the root namespace joins the segment). */
async function checkSubnetFree(subnet: string): Promise<void> {
  const wanted = ipv4Cidr(subnet);
  if (wanted instanceof IpParseError) throw new LabClusterOptionsError([`subnet: ${wanted.message}`]);
  const clash = (await rootRoutes()).find((route) => cidrsOverlap(route.cidr, wanted));
  if (clash) {
    throw new LabClusterOptionsError([
      `subnet: ${subnet} overlaps the route ${clash.text} of this machine; choose another /24 or leave it out`,
    ]);
  }
}

/** A random 10.x.y.0/24 that overlaps no IPv4 route or address of this machine's root namespace, nor the pool. */
async function pickFreeSubnet(poolCidr: string): Promise<string> {
  const used: IpCidr[] = (await rootRoutes()).map((route) => route.cidr);
  const pool = ipv4Cidr(poolCidr);
  if (!(pool instanceof IpParseError)) used.push(pool);
  for (let attempt = 0; attempt < 200; attempt++) {
    const candidate = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 256)}.0/24`;
    const parsed = ipv4Cidr(candidate) as IpCidr;
    if (!used.some((u) => cidrsOverlap(u, parsed))) return candidate;
  }
  throw new Error('no free 10.x.y.0/24 for the cluster segment; give one with the subnet option');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Runs one build step, reporting its start and its duration. */
async function step<T>(
  progress: (line: string) => void,
  description: string,
  work: () => Promise<T>,
): Promise<T> {
  progress(`• ${description}`);
  const started = performance.now();
  const result = await work();
  progress(`  ✓ ${description} (${seconds(performance.now() - started)})`);
  return result;
}

/** Checks that what the cluster runs has been built; throws naming what is missing and how to build it. */
function checkBuilt(root: string): void {
  const needed = [
    'packages/node/dist/src/main.js',
    'packages/felix/dist/src/main.js',
    'packages/cni/dist/src/main.js',
    'packages/cni/dist/src/ipam-main.js',
    'bin/caracal-node',
    'bin/caracal',
    'bin/caracal-ipam',
  ];
  const missing = needed.filter((path) => !existsSync(join(root, path)));
  if (missing.length > 0) {
    throw new Error(`not built: ${missing.join(', ')} missing under ${root}; run \`pnpm -s build\` first`);
  }
  if (!existsSync(DEFAULT_ETCD_BINARY)) {
    throw new Error(`etcd not found at ${DEFAULT_ETCD_BINARY}; install it (Debian package etcd-server)`);
  }
}

/** The lab topology: a fabric bridge with the root namespace at .1, etcd at .2 and nodes at .11, .12, … */
export function clusterTopology(name: string, subnet: string, nodes: number, ipv6Prefix?: string): Topology {
  const rootAddress = addressInSubnet(subnet, 1);
  return {
    name: `caracal cluster ${name}`,
    segments: [{ name: 'cluster', rootAddresses: [rootAddress] }],
    subnets: [{ name: 'cluster', cidr: subnet }],
    hosts: [
      { name: 'etcd', interfaces: [{ segment: 'cluster', addresses: [addressInSubnet(subnet, 2)] }] },
      ...Array.from({ length: nodes }, (_, index) => ({
        name: `node${index + 1}`,
        interfaces: [
          {
            segment: 'cluster',
            addresses: [
              addressInSubnet(subnet, 11 + index),
              ...(ipv6Prefix === undefined ? [] : [`${nodeIpv6Address(ipv6Prefix, index)}/64`]),
            ],
          },
        ],
        // Felix's proxy ARP answers the pods' 169.254.1.1 only with a route to it: a default route, as
        // on a real node (via the machine, which never sees pod traffic: see the unreachable route).
        routes: [{ to: 'default' as const, via: rootAddress }],
      })),
    ],
  };
}

const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Removes the cluster's state folder when this process ends — at exit, or on SIGINT/SIGTERM/SIGHUP,
 * when @caracal/lab's own handler tears the namespaces down — unless the cluster was detached. The
 * signal listener runs before the lab's (prepended) and takes itself off, so the lab's handler still
 * re-raises the signal. Returns the function that uninstalls it all.
 */
function removeWithProcess(state: LabClusterState): () => void {
  const remove = () => {
    if (!state.detached) rmSync(state.clusterDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    remove();
    uninstall();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const uninstall = () => {
    process.off('exit', remove);
    for (const signal of FATAL_SIGNALS) process.off(signal, onSignal);
  };
  process.once('exit', remove);
  // Signals reach only the main thread (as in @caracal/lab).
  if (isMainThread) for (const signal of FATAL_SIGNALS) process.prependListener(signal, onSignal);
  return uninstall;
}

/** A running (or attached-to) lab cluster. Build one with `startLabCluster`, find one with `attachLabCluster`. */
/**
 * An IPPool resource as the lab creates them: routed by BGP (no IPIP, no VXLAN, no NAT), enabled, for the
 * nodes `nodeSelector` selects (every node by default). Tests make their pools with it too.
 */
export function labIpPool(
  name: string,
  cidr: string,
  blockSize: number,
  nodeSelector = 'all()',
): IPPoolResource {
  return {
    apiVersion: 'caracal.io/v1',
    kind: 'IPPool',
    metadata: { name },
    spec: {
      cidr,
      blockSize,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: false,
      disabled: false,
      disableBGPExport: false,
      nodeSelector,
      allowedUses: ['Workload', 'Tunnel'],
    },
  };
}

export class LabCluster {
  private constructor(
    private readonly state: LabClusterState,
    /** The @caracal/lab run when this process built the cluster; undefined when attached from the state file. */
    private readonly lab: Lab | undefined,
    private readonly root: string,
    private readonly podTcpListeners: boolean,
    /** Stops removing the state folder when this process ends (once detached or down). */
    private readonly keepStateAtExit: () => void = () => {},
  ) {}

  get name(): string {
    return this.state.name;
  }
  /** The @caracal/lab run id: the prefix of every namespace (`<runId>-node1`, …). */
  get runId(): string {
    return this.state.runId;
  }
  get etcdEndpoint(): string {
    return this.state.etcdEndpoint;
  }
  get subnet(): string {
    return this.state.subnet;
  }
  get pool(): { readonly name: string; readonly cidr: string; readonly blockSize: number } {
    return this.state.pool;
  }
  get nodes(): readonly LabClusterNode[] {
    return this.state.nodes;
  }
  /** The pods, by node then by name (`node1-p1`, `node1-p2`, `node2-p1`, …). */
  get pods(): readonly LabClusterPod[] {
    return [...this.state.pods].sort(
      (a, b) =>
        a.node.localeCompare(b.node, 'en', { numeric: true }) ||
        a.name.localeCompare(b.name, 'en', { numeric: true }),
    );
  }
  /** Folder of the state file and the nodes' run directories. */
  get clusterDir(): string {
    return this.state.clusterDir;
  }
  /** Folder of the process logs (caracal-node, felix via caracal-node's run dir, etcd) and etcd's data. */
  get logDir(): string {
    return this.state.logDir;
  }
  get statePath(): string {
    return labClusterStatePath(this.state.name);
  }
  get detached(): boolean {
    return this.state.detached;
  }

  /**
   * Whether the cluster still runs: its @caracal/lab run is recorded and its nodes' namespaces exist
   * (false e.g. after `caracal-lab cleanup --all`, or when its builder died before detaching it).
   */
  isRunning(): boolean {
    if (!listStates().some((s) => s.runId === this.runId)) return false;
    return (
      this.state.nodes.length > 0 && this.state.nodes.every((n) => existsSync(`/run/netns/${n.namespace}`))
    );
  }

  /** The node named `name`; throws naming the nodes there are. */
  node(name: string): LabClusterNode {
    const found = this.state.nodes.find((n) => n.name === name);
    if (!found) {
      throw new Error(
        `lab cluster '${this.name}' has no node '${name}' (nodes: ${this.state.nodes.map((n) => n.name).join(', ')})`,
      );
    }
    return found;
  }

  /** The pod named `name`; throws naming the pods there are. */
  pod(name: string): LabClusterPod {
    const found = this.state.pods.find((p) => p.name === name);
    if (!found) {
      throw new Error(
        `lab cluster '${this.name}' has no pod '${name}' (pods: ${this.state.pods.map((p) => p.name).join(', ') || 'none'})`,
      );
    }
    return found;
  }

  private save(): void {
    writeLabClusterState(this.state);
  }

  /**
   * Creates a pod on `nodeName` through the CNI plugin (CNI ADD run in the node's namespace, IPAM by
   * caracal-ipam), starts its TCP listener, records it and returns it.
   */
  async addPod(nodeName: string, options: AddPodOptions = {}): Promise<LabClusterPod> {
    const node = this.node(nodeName);
    let name = options.name;
    if (name === undefined) {
      const next = (this.state.podCounters[node.name] ?? 0) + 1;
      this.state.podCounters[node.name] = next;
      name = `${node.name}-p${next}`;
    }
    if (!POD_NAME_PATTERN.test(name)) {
      throw new Error(
        `pod name ${JSON.stringify(name)} must be lower-case letters, digits and '-' (at most 40, not starting or ending with '-')`,
      );
    }
    if (
      this.state.pods.some((p) => p.name === name) ||
      this.state.nodes.some((n) => n.name === name) ||
      name === 'etcd'
    ) {
      throw new Error(`lab cluster '${this.name}' already has a pod or node named '${name}'`);
    }
    const namespace = namespaceName(this.runId, name);
    if (this.lab) {
      await this.lab.addPod({ name, host: node.name, mode: 'bare' });
    } else {
      // Named like the lab's namespaces, so `down` (and @caracal/lab's cleanup of the run) removes it.
      await runChecked(`create the namespace of pod ${name}`, ['ip', 'netns', 'add', namespace]);
      await runChecked(`loopback of pod ${name}`, ['ip', '-n', namespace, 'link', 'set', 'lo', 'up']);
    }
    const containerId = `${this.runId}-${name}`;
    let added: Awaited<ReturnType<typeof cniAdd>>;
    try {
      added = await cniAdd({
        binDir: join(this.root, 'bin'),
        nodeNamespace: node.namespace,
        nodeName: node.name,
        etcdEndpoint: this.etcdEndpoint,
        podNamespace: namespace,
        podName: name,
        containerId,
        ...(options.assignIpv6 === true ? { assignIpv6: true } : {}),
      });
    } catch (error) {
      await removeNamespace(namespace).catch(() => {});
      throw error;
    }
    let listenerPid: number | undefined;
    const withListener = options.tcpListener ?? this.podTcpListeners;
    if (withListener) {
      const logDir = join(this.logDir, name);
      mkdirSync(logDir, { recursive: true });
      listenerPid = await startPodListener({ name, namespace }, join(logDir, 'tcp-listener.log'));
    }
    const pod: LabClusterPod = {
      name,
      node: node.name,
      namespace,
      containerId,
      address: added.address,
      ...(added.address6 === undefined ? {} : { address6: added.address6 }),
      hostInterface: added.hostInterface,
      tcpPort: withListener ? LAB_POD_TCP_PORT : undefined,
      listenerPid,
      cniAddMs: Math.round(added.elapsedMs),
    };
    this.state.pods.push(pod);
    this.save();
    return pod;
  }

  /** CNI DEL of the pod (releases its address, removes its veth and WorkloadEndpoint), then its namespace. */
  async deletePod(podName: string): Promise<void> {
    const pod = this.pod(podName);
    const node = this.node(pod.node);
    await cniDel({
      binDir: join(this.root, 'bin'),
      nodeNamespace: node.namespace,
      nodeName: node.name,
      etcdEndpoint: this.etcdEndpoint,
      podNamespace: pod.namespace,
      podName: pod.name,
      containerId: pod.containerId,
    });
    await removeNamespace(pod.namespace);
    this.state.pods = this.state.pods.filter((p) => p.name !== podName);
    this.save();
  }

  /** Pings and TCP-connects from every pod to every other pod (now, once). */
  connectivityMatrix(options: MatrixOptions = {}): Promise<ConnectivityMatrix> {
    return probeConnectivity(this.pods, options);
  }

  /**
   * Probes until every pod reaches every other (ping, then ping and TCP) or `timeoutMs` passes; then
   * throws LabUnreachableError naming each unreachable pair and each node's BGP sessions.
   */
  async waitForConnectivity(
    options: { timeoutMs?: number; progress?: (line: string) => void } = {},
  ): Promise<ConnectivityMatrix> {
    const deadline = Date.now() + (options.timeoutMs ?? 90_000);
    let last: ConnectivityMatrix | undefined;
    for (let round = 1; ; round++) {
      // Ping-only rounds are cheap; the full matrix once every ping answers.
      const pingOnly = await this.connectivityMatrix({ tcp: false });
      if (pingOnly.allReachable) {
        last = await this.connectivityMatrix();
        if (last.allReachable) return last;
      } else {
        last = pingOnly;
      }
      if (Date.now() > deadline) break;
      options.progress?.(
        `  … round ${round}: ${last.cells.length - last.unreachable.length}/${last.cells.length} pairs reachable`,
      );
      await new Promise((r) => setTimeout(r, 1000));
    }
    const bgp = await Promise.all(this.state.nodes.map((n) => this.bgpStatus(n.name)));
    const sessions = bgp.map((status) =>
      status.peers === undefined
        ? `${status.node}: ${status.error}`
        : `${status.node}: ${status.peers.map((p) => `${p.peerAddress} ${p.state}`).join(', ') || 'no peers'}`,
    );
    const lines = describeUnreachable(last);
    throw new LabUnreachableError(
      `${lines.length} of ${last.cells.length} pod pairs still unreachable after ${seconds(options.timeoutMs ?? 90_000)}:\n  ` +
        `${lines.join('\n  ')}\nBGP sessions:\n  ${sessions.join('\n  ')}\nlogs: ${this.logDir}, node run dirs: ${this.clusterDir}`,
      last,
    );
  }

  /** One ping from `fromPod` to `address` (any address), waiting up to `timeoutSeconds`. */
  async ping(fromPod: string, address: string, timeoutSeconds = 1): Promise<boolean> {
    return (await pingFrom(this.pod(fromPod).namespace, address, timeoutSeconds)).ok;
  }

  /** caracal-node's /readiness of one node (reasons say what is missing). */
  async nodeReadiness(nodeName: string): Promise<NodeReadiness> {
    const node = this.node(nodeName);
    try {
      const response = await fetch(`http://${node.address}:${node.healthPort}/readiness`, {
        signal: AbortSignal.timeout(3000),
      });
      const body = (await response.json()) as { healthy?: boolean; reasons?: string[] };
      return { node: node.name, healthy: response.status === 200, reasons: body.reasons ?? [] };
    } catch (error) {
      const alive = isAlive(node.pid) ? '' : ` (caracal-node pid ${node.pid} is not running)`;
      return {
        node: node.name,
        healthy: false,
        reasons: [`readiness unreachable: ${(error as Error).message}${alive}`],
      };
    }
  }

  /** Waits until every node's caracal-node reports ready; throws naming each node's reasons. */
  async waitForNodesReady(timeoutMs = 90_000): Promise<readonly NodeReadiness[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await Promise.all(this.state.nodes.map((n) => this.nodeReadiness(n.name)));
      if (all.every((r) => r.healthy)) return all;
      if (Date.now() > deadline) {
        const waiting = all.filter((r) => !r.healthy).map((r) => `${r.node}: ${r.reasons.join('; ')}`);
        throw new Error(
          `nodes not ready after ${seconds(timeoutMs)}:\n  ${waiting.join('\n  ')}\nlogs: ${this.logDir}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** What caracal-bgpd of `nodeName` says about its sessions (its control socket in the node's run dir). */
  bgpStatus(nodeName: string, timeoutMs = 3000): Promise<LabBgpStatus> {
    const node = this.node(nodeName);
    return queryLabBgpStatus(node.name, node.runDir, timeoutMs);
  }

  /** Leaves the cluster running when this process exits; `downLabCluster(name)` removes it then. */
  detach(): void {
    this.lab?.detach();
    this.state.detached = true;
    this.save();
    this.keepStateAtExit();
  }

  /**
   * Removes everything the cluster made: its pods' namespaces (with their listeners), then the lab run
   * (every process by PID — etcd, caracal-node and what it started, anything else inside the
   * namespaces — the namespaces, the root link, the logs and etcd's data), then its state folder.
   * Safe to call twice.
   */
  async down(): Promise<LabClusterTeardown> {
    const namespaces: string[] = [];
    const processes: number[] = [];
    const rootLinks: string[] = [];
    for (const pod of this.state.pods) {
      if (await removeNamespace(pod.namespace)) namespaces.push(pod.namespace);
      if (pod.listenerPid !== undefined) processes.push(pod.listenerPid);
    }
    if (this.lab) {
      const report = await this.lab.down();
      namespaces.push(...report.namespaces);
      processes.push(...report.processes);
      rootLinks.push(...report.rootLinks);
    } else if (listStates().some((s) => s.runId === this.runId)) {
      const report = await downRun(this.runId);
      namespaces.push(...report.namespaces);
      processes.push(...report.processes);
      rootLinks.push(...report.rootLinks);
    } else {
      // No lab state (lost, or a crash before it was written): whatever carries the run id.
      const report = await cleanupStale({ runId: this.runId, includeDetached: true });
      namespaces.push(...report.namespaces);
      processes.push(...report.processes);
      rootLinks.push(...report.rootLinks);
      rmSync(this.logDir, { recursive: true, force: true });
    }
    rmSync(this.state.clusterDir, { recursive: true, force: true });
    this.keepStateAtExit();
    return { name: this.name, runId: this.runId, namespaces, processes, rootLinks };
  }

  /** @internal Builds a cluster (see `startLabCluster`). */
  static async build(options: LabClusterOptions): Promise<LabCluster> {
    const resolved = resolveLabClusterOptions(options);
    const { progress } = resolved;
    const availability = labAvailable();
    if (!availability.available) throw new Error(`cannot build a lab cluster here: ${availability.reason}`);
    const root = repositoryRoot();
    checkBuilt(root);
    const existing = readLabClusterState(resolved.name);
    if (existing !== undefined) {
      const labAlive = listStates().some((s) => s.runId === existing.runId);
      if (labAlive && (existing.detached || isAlive(existing.ownerPid))) {
        throw new Error(
          `lab cluster '${resolved.name}' is already up (run ${existing.runId}, nodes in namespaces ${existing.runId}-node*); ` +
            `take it down first with \`caracalctl lab down --name ${resolved.name}\``,
        );
      }
      progress(`• removing the leftovers of an earlier '${resolved.name}' (run ${existing.runId})`);
      await downLabCluster(resolved.name);
    }

    const started = performance.now();
    if (resolved.subnet !== undefined) await checkSubnetFree(resolved.subnet);
    const subnet = resolved.subnet ?? (await pickFreeSubnet(resolved.poolCidr));
    const rootAddress = addressInSubnet(subnet, 1);
    const runId = newRunId();
    const clusterDir = labClusterDirectory(resolved.name);
    const logDir = join(root, '.lab-runs', runId);
    const state: LabClusterState = {
      version: LAB_CLUSTER_STATE_VERSION,
      name: resolved.name,
      runId,
      createdAt: new Date().toISOString(),
      ownerPid: process.pid,
      detached: false,
      complete: false,
      clusterDir,
      logDir,
      subnet,
      rootAddress,
      etcdEndpoint: `http://${addressInSubnet(subnet, 2)}:2379`,
      pool: { name: 'default-ipv4-ippool', cidr: resolved.poolCidr, blockSize: resolved.blockSize },
      nodes: [],
      pods: [],
      podCounters: {},
    };
    // Written before anything exists, so `down` finds the run even if this process dies half-way.
    writeLabClusterState(state);
    // A cluster this process did not leave running on purpose goes with it (@caracal/lab removes the
    // namespaces and processes at exit); its state folder goes too.
    const removeStateAtExit = removeWithProcess(state);
    progress(
      `lab cluster '${resolved.name}' (run ${runId}): ${resolved.nodes} nodes on ${subnet}, pool ${resolved.poolCidr}, ` +
        `${resolved.podsPerNode} pods per node; state ${labClusterStatePath(resolved.name)}`,
    );

    let lab: Lab | undefined;
    try {
      lab = await step(
        progress,
        `namespaces: etcd + ${resolved.nodes} nodes on one bridge, root at ${rootAddress}`,
        () =>
          Lab.up(clusterTopology(resolved.name, subnet, resolved.nodes, resolved.ipv6Prefix), {
            runId,
            timeoutMs: resolved.readyTimeoutMs,
          }),
      );
      const running = lab;
      const cluster = new LabCluster(state, running, root, resolved.podTcpListeners, removeStateAtExit);

      await step(progress, `etcd at ${state.etcdEndpoint}`, async () => {
        const dataDir = join(logDir, 'etcd-data');
        const peer = 'http://127.0.0.1:2380';
        const etcd = await running.spawn('etcd', [
          DEFAULT_ETCD_BINARY,
          '--name',
          'lab',
          '--data-dir',
          dataDir,
          '--listen-client-urls',
          `${state.etcdEndpoint},http://127.0.0.1:2379`,
          '--advertise-client-urls',
          state.etcdEndpoint,
          '--listen-peer-urls',
          peer,
          '--initial-advertise-peer-urls',
          peer,
          '--initial-cluster',
          `lab=${peer}`,
        ]);
        const deadline = Date.now() + resolved.readyTimeoutMs;
        for (;;) {
          if (!etcd.running)
            throw new Error(`etcd exited during start-up; log tail:\n${etcd.log().slice(-1500)}`);
          const status = await datastoreStatus({
            endpoints: [state.etcdEndpoint],
            requestTimeoutMs: 1000,
          }).catch(() => undefined);
          if (status?.healthy) break;
          if (Date.now() > deadline)
            throw new Error(`etcd did not answer at ${state.etcdEndpoint}; log: ${etcd.logPath}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      });

      await step(
        progress,
        `IPPool ${state.pool.name} ${state.pool.cidr} (blockSize ${state.pool.blockSize}, ipipMode Never)`,
        async () => {
          const kv = connectDatastore({ endpoints: [state.etcdEndpoint] });
          try {
            const pool = labIpPool(state.pool.name, state.pool.cidr, state.pool.blockSize);
            await new ResourceStore(kv).create(pool);
          } finally {
            await kv.close();
          }
        },
      );

      await step(progress, `caracal-node in ${resolved.nodes} namespaces`, async () => {
        for (let index = 0; index < resolved.nodes; index++) {
          const name = `node${index + 1}`;
          const address = addressInSubnet(subnet, 11 + index);
          const runDir = join(clusterDir, name);
          mkdirSync(runDir, { recursive: true });
          const address6 =
            resolved.ipv6Prefix === undefined ? undefined : nodeIpv6Address(resolved.ipv6Prefix, index);
          const ip6 = resolved.nodeIp6[name] ?? (address6 === undefined ? undefined : `${address6}/64`);
          // Pod traffic to pool addresses no route covers ends here instead of leaving through the machine.
          await running.exec(name, ['ip', 'route', 'add', 'unreachable', state.pool.cidr], { check: true });
          const agent = await running.spawn(name, [
            join(root, 'bin', 'caracal-node'),
            '--name',
            name,
            '--ip',
            `${address}/24`,
            '--etcd-endpoints',
            state.etcdEndpoint,
            '--run-dir',
            runDir,
            '--health-port',
            String(LAB_NODE_HEALTH_PORT),
            ...(ip6 === undefined ? [] : ['--ip6', ip6]),
          ]);
          state.nodes.push({
            name,
            namespace: namespaceName(runId, name),
            address,
            cidr: `${address}/24`,
            runDir,
            pid: agent.pid,
            healthPort: LAB_NODE_HEALTH_PORT,
            ...(address6 === undefined ? {} : { address6 }),
          });
          cluster.save();
        }
      });

      await step(progress, 'nodes ready (registered, block claimed, felix ready)', () =>
        cluster.waitForNodesReady(resolved.readyTimeoutMs),
      );

      if (resolved.podsPerNode > 0) {
        await step(
          progress,
          `${resolved.podsPerNode * resolved.nodes} pods through the CNI plugin`,
          async () => {
            await Promise.all(
              state.nodes.map(async (node) => {
                for (let i = 0; i < resolved.podsPerNode; i++) {
                  const pod = await cluster.addPod(node.name);
                  progress(`    ${pod.name} on ${node.name}: ${pod.address} (CNI ADD ${pod.cniAddMs} ms)`);
                }
              }),
            );
          },
        );
        if (resolved.waitForConnectivity) {
          await step(progress, 'every pod reaches every other pod (ping and TCP)', () =>
            cluster.waitForConnectivity({ timeoutMs: resolved.readyTimeoutMs, progress }),
          );
        }
      }
      state.complete = true;
      cluster.save();
      if (resolved.detached) cluster.detach();
      progress(`lab cluster '${resolved.name}' built in ${seconds(performance.now() - started)}`);
      return cluster;
    } catch (error) {
      removeStateAtExit();
      progress(`lab cluster '${resolved.name}': build failed, tearing down what was made`);
      const keep = `logs kept in ${logDir}`;
      for (const pod of state.pods) await removeNamespace(pod.namespace).catch(() => {});
      if (lab) await lab.down({ keepLogs: true }).catch(() => {});
      rmSync(clusterDir, { recursive: true, force: true });
      if (error instanceof Error) error.message = `${error.message}\n(${keep})`;
      throw error;
    }
  }

  /** @internal Reads a cluster's state (see `attachLabCluster`). */
  static attach(name: string): LabCluster | undefined {
    const state = readLabClusterState(name);
    if (state === undefined) return undefined;
    return new LabCluster(state, undefined, repositoryRoot(), true);
  }
}

/**
 * Builds a cluster: etcd, an IPPool, `nodes` node namespaces running caracal-node on one bridge,
 * `podsPerNode` pods per node through the CNI plugin, and (unless `waitForConnectivity: false`) waits
 * until every pod reaches every other. On failure removes what it made (logs kept) and rethrows.
 * Unless `detached`, everything is also removed when this process exits; call `down()` when done.
 */
export function startLabCluster(options: LabClusterOptions = {}): Promise<LabCluster> {
  return LabCluster.build(options);
}

/** The cluster named `name` from its state file (for status and teardown by another process), or undefined. */
export function attachLabCluster(name: string = DEFAULT_LAB_CLUSTER_NAME): LabCluster | undefined {
  return LabCluster.attach(name);
}

/** Takes cluster `name` down (everything it created, by PID and name); undefined when there was none. */
export async function downLabCluster(
  name: string = DEFAULT_LAB_CLUSTER_NAME,
): Promise<LabClusterTeardown | undefined> {
  const cluster = attachLabCluster(name);
  return cluster === undefined ? undefined : cluster.down();
}

/** Names of the clusters that have a state file. */
export function listLabClusters(): string[] {
  return listLabClusterNames();
}
