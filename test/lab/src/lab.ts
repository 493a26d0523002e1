// A running lab: brings a validated topology up (recording every object in its state file first),
// runs commands and long-lived processes inside its namespaces, probes reachability, captures
// packets, changes it while it runs (add hosts/pods, cut links) and tears it all down — also when the
// process exits or gets SIGINT/SIGTERM/SIGHUP.
import { type ChildProcess, spawn as spawnChild } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { type CapturedPacket, parseTcpdumpOutput } from './capture.js';
import {
  type CommandResult,
  type CommandRunner,
  LabCommandError,
  processStartTime,
  systemRunner,
} from './kernel.js';
import { namespaceName, newRunId, RUN_ID_PATTERN } from './naming.js';
import { NameAllocator, nodeSteps, planTopology, podSteps, routeSteps, type Step } from './plan.js';
import { type LabState, removeState, writeState } from './state.js';
import { type TeardownReport, teardownState, teardownStateSync } from './teardown.js';
import {
  type HostSpec,
  type PodSpec,
  type ResolvedAddress,
  type Topology,
  type ValidTopology,
  validateTopology,
} from './topology.js';
import { WaitAbortedError, waitUntil } from './wait.js';

export interface LabOptions {
  /** Use this run id instead of a fresh random one (must match `crl` + 4 base36 characters). */
  runId?: string;
  /** Parent of the run's log folder; default `<repo>/.lab-runs`. */
  runsDir?: string;
  /** Called with one line per bring-up step group (the CLI prints them). */
  progress?: (message: string) => void;
  /** Give up bringing the topology up after this long (default 120 000 ms); what was made is removed. */
  timeoutMs?: number;
  /** Leave the lab running when this process exits (CLI `up`/`demo`); only `down` removes it. */
  detached?: boolean;
  runner?: CommandRunner;
}

export interface ExecOptions {
  timeoutMs?: number;
  input?: string;
  /** Throw a LabCommandError when the command does not exit with 0. */
  check?: boolean;
}

export interface ExecResult extends CommandResult {}

export interface SpawnOptions {
  /** Log file base name inside `<runDir>/<node>/` (default: the program's name). */
  name?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PingResult {
  ok: boolean;
  /** Round-trip time of the first reply, in milliseconds. */
  rttMs?: number;
  output: string;
}

export interface TcpResult {
  ok: boolean;
  /** What the listener sent (the harness's listener sends `caracal-lab <node>`). */
  received?: string;
  /** Why it failed: ECONNREFUSED, EHOSTUNREACH, timeout, ... */
  error?: string;
}

export interface HttpResult {
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
}

export interface ServerOptions {
  /** Port to listen on; default 0 (a free one, reported by the returned server). */
  port?: number;
  /** Address to bind; default `::` (all IPv6 and IPv4 addresses). */
  address?: string;
}

/** A long-lived process started by `lab.spawn` inside a lab namespace. */
export class LabProcess {
  readonly exited: Promise<ProcessExit>;
  private exitValue: ProcessExit | undefined;

  constructor(
    readonly node: string,
    readonly pid: number,
    readonly command: readonly string[],
    /** stdout and stderr of the process (for captures: tcpdump's stderr). */
    readonly logPath: string,
    child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitValue = { code, signal };
        resolve(this.exitValue);
      });
    });
  }

  get running(): boolean {
    return this.exitValue === undefined;
  }

  /** The log so far. */
  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** Waits until a log line matches `pattern` and returns that line; fails if the process exits first. */
  async waitForLog(pattern: RegExp, options: { timeoutMs?: number } = {}): Promise<string> {
    return waitUntil(
      `${this.node}: ${this.command.join(' ')} to log ${pattern}`,
      () => {
        const line = this.log()
          .split('\n')
          .find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (this.exitValue) {
          throw new WaitAbortedError(
            `process exited (${JSON.stringify(this.exitValue)}); log tail: ${this.log().slice(-500)}`,
          );
        }
        return undefined;
      },
      { timeoutMs: options.timeoutMs ?? 10_000, intervalMs: 50 },
    );
  }

  /** Sends `signal` (default SIGTERM) to the process group; SIGKILL after `graceMs` (default 3000). */
  async stop(options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<ProcessExit> {
    if (this.exitValue) return this.exitValue;
    signalGroup(this.pid, options.signal ?? 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), options.graceMs ?? 3000);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone.
    }
  }
}

/** A TCP or HTTP server started by `lab.tcpListen` / `lab.httpServe`. */
export interface LabServer {
  node: string;
  port: number;
  process: LabProcess;
  stop(): Promise<ProcessExit>;
}

/** A running packet capture (`tcpdump -l -nn -tt`) on one interface of one node. */
export class Capture {
  constructor(
    readonly node: string,
    readonly iface: string,
    readonly process: LabProcess,
    /** tcpdump's decoded lines, one per packet. */
    readonly outputPath: string,
  ) {}

  /** The packets captured so far. */
  packets(): CapturedPacket[] {
    try {
      return parseTcpdumpOutput(readFileSync(this.outputPath, 'utf8'));
    } catch {
      return [];
    }
  }

  /** Waits until a captured packet satisfies `predicate` and returns it. */
  waitFor(
    description: string,
    predicate: (packet: CapturedPacket) => boolean,
    options: { timeoutMs?: number } = {},
  ): Promise<CapturedPacket> {
    return waitUntil(
      `a packet on ${this.node}/${this.iface}: ${description}`,
      () => this.packets().find(predicate),
      {
        timeoutMs: options.timeoutMs ?? 10_000,
        intervalMs: 50,
      },
    );
  }

  /** Stops tcpdump and returns every packet it decoded. */
  async stop(): Promise<CapturedPacket[]> {
    await this.process.stop({ signal: 'SIGINT', graceMs: 2000 });
    return this.packets();
  }
}

const TCP_LISTENER = `
const net = require('node:net');
const [node, port, address] = process.argv.slice(1);
const server = net.createServer((socket) => { socket.on('error', () => {}); socket.end('caracal-lab ' + node + '\\n'); });
server.listen({ port: Number(port), host: address }, () => console.log('listening on port ' + server.address().port));
`;

const TCP_CONNECT = `
const net = require('node:net');
const [address, port, timeoutMs] = process.argv.slice(1);
let data = '';
const timer = setTimeout(() => { console.error('timeout'); process.exit(3); }, Number(timeoutMs));
const socket = net.connect({ host: address, port: Number(port) });
socket.on('data', (chunk) => { data += chunk; });
socket.on('end', () => { clearTimeout(timer); process.stdout.write(data); process.exit(0); });
socket.on('error', (error) => { console.error(error.code || error.message); process.exit(2); });
`;

const HTTP_SERVER = `
const http = require('node:http');
const [node, port, address] = process.argv.slice(1);
const server = http.createServer((request, response) => {
  response.setHeader('content-type', 'text/plain');
  response.end('caracal-lab ' + node + ' ' + request.method + ' ' + request.url + '\\n');
});
server.listen({ port: Number(port), host: address }, () => console.log('listening on port ' + server.address().port));
`;

const HTTP_GET = `
const [url, timeoutMs] = process.argv.slice(1);
fetch(url, { signal: AbortSignal.timeout(Number(timeoutMs)) })
  .then(async (response) => { console.log(JSON.stringify({ status: response.status, body: await response.text() })); })
  .catch((error) => { console.error((error.cause && error.cause.code) || error.name || error.message); process.exit(2); });
`;

/** The repository root (the folder holding pnpm-workspace.yaml), or the working directory. */
export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** Labs of this process that are up and not detached: removed on exit and on fatal signals. */
const activeLabs = new Set<Lab>();
const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let handlersInstalled = false;

function onExit(): void {
  for (const lab of activeLabs) lab.teardownNowSync();
}

function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`caracal-lab: ${signal} received, tearing down ${activeLabs.size} lab(s)\n`);
  onExit();
  uninstallHandlers();
  // Re-raise so the process ends as the signal intends, unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  if (isMainThread) for (const signal of FATAL_SIGNALS) process.on(signal, onSignal);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off('exit', onExit);
  for (const signal of FATAL_SIGNALS) process.off(signal, onSignal);
}

export class Lab {
  private readonly names: NameAllocator;
  private readonly processes = new Set<LabProcess>();
  private closed = false;

  private constructor(
    public topology: ValidTopology,
    private readonly state: LabState,
    private readonly runner: CommandRunner,
    private readonly progress: (message: string) => void,
  ) {
    this.names = NameAllocator.restore(state.runId, state.nextFabricPort, state.nextRootLink);
  }

  /** This run's id, the prefix of every namespace and root link it makes (e.g. `crl7x2a`). */
  get runId(): string {
    return this.state.runId;
  }

  /** Folder of this run's logs: `<runDir>/<node>/<process>.log`. */
  get runDir(): string {
    return this.state.runDir;
  }

  /**
   * Validates `topology` (throwing a TopologyError before touching the kernel), then builds it. On
   * any failure or timeout, removes what was made, keeps the logs and rethrows.
   */
  static async up(topology: Topology, options: LabOptions = {}): Promise<Lab> {
    const valid = validateTopology(topology);
    const runId = options.runId ?? newRunId();
    if (!RUN_ID_PATTERN.test(runId)) throw new Error(`run id '${runId}' must match ${RUN_ID_PATTERN}`);
    const runDir = join(options.runsDir ?? join(repositoryRoot(), '.lab-runs'), runId);
    const progress = options.progress ?? (() => {});
    const runner = options.runner ?? systemRunner;
    const names = new NameAllocator(runId);
    const { steps, objects } = planTopology(valid, names);
    const ownerStartTime = processStartTime(process.pid);
    const state: LabState = {
      version: 1,
      runId,
      name: valid.name,
      createdAt: new Date().toISOString(),
      ownerPid: process.pid,
      ...(ownerStartTime === undefined ? {} : { ownerStartTime }),
      // Detached only once fully up: a crash during bring-up must leave it to `cleanup`.
      detached: false,
      runDir,
      // Recorded before anything exists, so a crash at any point leaves a complete list for cleanup.
      namespaces: objects.namespaces,
      rootLinks: objects.rootLinks,
      processes: [],
      topology: valid.source,
      nextFabricPort: names.counters.nextPort,
      nextRootLink: names.counters.nextRootLink,
    };
    mkdirSync(runDir, { recursive: true });
    writeState(state);
    const lab = new Lab(valid, state, runner, progress);
    activeLabs.add(lab);
    installHandlers();
    progress(
      `lab ${runId} (${valid.name}): building ${objects.namespaces.length} namespaces, ${steps.length} steps; logs in ${runDir}`,
    );
    try {
      await lab.runSteps(steps, Date.now() + (options.timeoutMs ?? 120_000));
    } catch (error) {
      progress(`lab ${runId}: bring-up failed, tearing down`);
      await lab.down({ keepLogs: true }).catch(() => {});
      throw error;
    }
    progress(`lab ${runId}: up`);
    if (options.detached) lab.detach();
    return lab;
  }

  private async runSteps(steps: readonly Step[], deadline = Date.now() + 120_000): Promise<void> {
    let lastGroup = '';
    for (const step of steps) {
      if (Date.now() > deadline) throw new Error(`bring-up timed out before step: ${step.description}`);
      const group = step.description.split(' ').slice(0, 2).join(' ');
      if (group !== lastGroup && step.argv[1] === 'netns' && step.argv[2] === 'add')
        this.progress(`  ${step.description}`);
      lastGroup = group;
      const result = await this.runner.run(step.argv, { timeoutMs: 30_000 });
      if (result.code !== 0) throw new LabCommandError(step.description, step.argv, result);
    }
  }

  private save(): void {
    const counters = this.names.counters;
    this.state.nextFabricPort = counters.nextPort;
    this.state.nextRootLink = counters.nextRootLink;
    writeState(this.state);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`lab ${this.runId} has been torn down`);
  }

  /** The namespace of a host, router, pod (or `fabric`); throws for a name the lab does not have. */
  nsName(node: string): string {
    const known =
      this.topology.nodes.some((n) => n.name === node) ||
      this.topology.pods.some((p) => p.name === node) ||
      (node === 'fabric' && this.topology.segments.length > 0);
    if (!known) {
      const all = [...this.topology.nodes.map((n) => n.name), ...this.topology.pods.map((p) => p.name)];
      throw new Error(`lab ${this.runId} has no host, router or pod '${node}' (it has: ${all.join(', ')})`);
    }
    return namespaceName(this.runId, node);
  }

  /** The first address of `family` of a host/router (its segment interfaces, then links) or pod. */
  addressOf(node: string, family: 4 | 6 = 4): string {
    this.nsName(node);
    const candidates: ResolvedAddress[] = [
      ...(this.topology.nodes.find((n) => n.name === node)?.interfaces.flatMap((i) => i.addresses) ?? []),
      ...this.topology.links.flatMap((l) =>
        [l.a, l.b].filter((e) => e.host === node).flatMap((e) => e.addresses),
      ),
      ...(this.topology.pods.find((p) => p.name === node)?.addresses ?? []),
    ];
    const found = candidates.find((a) => a.family === family);
    if (!found) throw new Error(`'${node}' has no IPv${family} address in lab ${this.runId}`);
    return found.address;
  }

  /** Runs `argv` inside `node`'s namespace and returns its output and exit status. */
  async exec(node: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.assertOpen();
    const full = ['ip', 'netns', 'exec', this.nsName(node), ...argv];
    const result = await this.runner.run(full, {
      timeoutMs: options.timeoutMs ?? 30_000,
      ...(options.input === undefined ? {} : { input: options.input }),
    });
    if (options.check && result.code !== 0) throw new LabCommandError(`in ${node}`, argv, result);
    return result;
  }

  /** Starts a long-lived process inside `node`; its stdout and stderr go to `<runDir>/<node>/<name>.log`. */
  async spawn(node: string, argv: readonly string[], options: SpawnOptions = {}): Promise<LabProcess> {
    return this.startProcess(node, argv, options, false);
  }

  private async startProcess(
    node: string,
    argv: readonly string[],
    options: SpawnOptions,
    separateStdout: boolean,
  ): Promise<LabProcess> {
    this.assertOpen();
    const ns = this.nsName(node);
    const dir = join(this.runDir, node);
    mkdirSync(dir, { recursive: true });
    const base = (options.name ?? argv[0]?.split('/').pop() ?? 'process').replace(/[^A-Za-z0-9._-]/g, '_');
    let name = base;
    for (let i = 2; existsSync(join(dir, `${name}.log`)); i++) name = `${base}-${i}`;
    const logPath = join(dir, `${name}.log`);
    const outputPath = join(dir, `${name}.txt`);
    const logFd = openSync(logPath, 'a');
    const outFd = separateStdout ? openSync(outputPath, 'a') : logFd;
    const child = spawnChild('ip', ['netns', 'exec', ns, ...argv], {
      detached: true,
      stdio: ['ignore', outFd, logFd],
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    closeSync(logFd);
    if (separateStdout) closeSync(outFd);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) =>
        reject(new Error(`cannot start ${argv.join(' ')} in ${node}: ${error.message}`)),
      );
    });
    child.unref();
    const pid = child.pid as number;
    const handle = new LabProcess(node, pid, argv, logPath, child);
    const startTime = processStartTime(pid);
    this.state.processes.push({
      pid,
      ...(startTime === undefined ? {} : { startTime }),
      host: node,
      command: argv.join(' '),
    });
    this.save();
    this.processes.add(handle);
    void handle.exited.then(() => {
      this.processes.delete(handle);
      if (this.closed) return;
      this.state.processes = this.state.processes.filter((p) => p.pid !== pid);
      this.save();
    });
    return handle;
  }

  /** Pings `address` from `from` (IPv4 or IPv6): one echo request, waiting up to `timeoutMs`. */
  async ping(
    from: string,
    address: string,
    options: { timeoutMs?: number; count?: number } = {},
  ): Promise<PingResult> {
    const timeoutMs = options.timeoutMs ?? 2000;
    const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    const count = String(options.count ?? 1);
    const result = await this.exec(from, ['ping', '-n', '-c', count, '-W', seconds, '-w', seconds, address], {
      timeoutMs: timeoutMs + 2000,
    });
    const output = `${result.stdout}${result.stderr}`;
    const rtt = /time=([\d.]+) ms/.exec(output);
    return { ok: result.code === 0, ...(rtt?.[1] ? { rttMs: Number(rtt[1]) } : {}), output };
  }

  private async startServer(
    node: string,
    script: string,
    kind: string,
    options: ServerOptions,
  ): Promise<LabServer> {
    const argv = [process.execPath, '-e', script, node, String(options.port ?? 0), options.address ?? '::'];
    const handle = await this.startProcess(node, argv, { name: kind }, false);
    const line = await handle.waitForLog(/^listening on port \d+/, { timeoutMs: 10_000 });
    const port = Number(/(\d+)$/.exec(line)?.[1]);
    return { node, port, process: handle, stop: () => handle.stop() };
  }

  /** Starts a TCP listener in `node` that answers every connection with `caracal-lab <node>`. */
  tcpListen(node: string, options: ServerOptions = {}): Promise<LabServer> {
    return this.startServer(node, TCP_LISTENER, 'tcp-listener', options);
  }

  /** Connects from `from` to `address`:`port` and reads until the peer closes. */
  async tcpConnect(
    from: string,
    address: string,
    port: number,
    options: { timeoutMs?: number } = {},
  ): Promise<TcpResult> {
    const timeoutMs = options.timeoutMs ?? 3000;
    const result = await this.exec(
      from,
      [process.execPath, '-e', TCP_CONNECT, address, String(port), String(timeoutMs)],
      {
        timeoutMs: timeoutMs + 5000,
      },
    );
    if (result.code === 0) return { ok: true, received: result.stdout.trim() };
    return { ok: false, error: result.stderr.trim() || `exit ${result.code}` };
  }

  /** Starts an HTTP server in `node` answering `caracal-lab <node> <METHOD> <path>`. */
  httpServe(node: string, options: ServerOptions = {}): Promise<LabServer> {
    return this.startServer(node, HTTP_SERVER, 'http-server', options);
  }

  /** HTTP GET `url` from inside `from`. */
  async httpGet(from: string, url: string, options: { timeoutMs?: number } = {}): Promise<HttpResult> {
    const timeoutMs = options.timeoutMs ?? 3000;
    const result = await this.exec(from, [process.execPath, '-e', HTTP_GET, url, String(timeoutMs)], {
      timeoutMs: timeoutMs + 5000,
    });
    if (result.code !== 0) return { ok: false, error: result.stderr.trim() || `exit ${result.code}` };
    const parsed = JSON.parse(result.stdout) as { status: number; body: string };
    return { ok: parsed.status >= 200 && parsed.status < 300, status: parsed.status, body: parsed.body };
  }

  /**
   * Starts `tcpdump -l -nn -tt -i <iface> <filter>` inside `node` and returns once it listens. Read
   * packets with `capture.packets()` / `waitFor()`, end it with `stop()`.
   */
  async capture(node: string, iface: string, filter = ''): Promise<Capture> {
    const argv = ['tcpdump', '-l', '-nn', '-tt', '-i', iface, ...(filter ? filter.split(/\s+/) : [])];
    const handle = await this.startProcess(node, argv, { name: `capture-${iface}` }, true);
    await handle.waitForLog(/listening on/, { timeoutMs: 10_000 });
    return new Capture(node, iface, handle, handle.logPath.replace(/\.log$/, '.txt'));
  }

  /** Sets an interface of a node administratively up or down (e.g. to cut a BGP session's link). */
  async setLinkState(node: string, iface: string, state: 'up' | 'down'): Promise<void> {
    this.assertOpen();
    const argv = ['ip', '-n', this.nsName(node), 'link', 'set', iface, state];
    const result = await this.runner.run(argv, { timeoutMs: 10_000 });
    if (result.code !== 0) throw new LabCommandError(`set ${node}/${iface} ${state}`, argv, result);
  }

  /** Adds a host to the running lab (validated together with the existing topology). */
  async addHost(host: HostSpec): Promise<void> {
    this.assertOpen();
    const source: Topology = {
      ...this.topology.source,
      hosts: [...(this.topology.source.hosts ?? []), host],
    };
    const next = validateTopology(source);
    const node = next.nodes.find((n) => n.name === host.name);
    if (!node) throw new Error(`host '${host.name}' missing after validation`);
    const steps = [...nodeSteps(next, node, this.names), ...routeSteps(this.runId, node)];
    this.state.namespaces.push(namespaceName(this.runId, node.name));
    this.state.topology = source;
    this.save();
    this.topology = next;
    await this.runSteps(steps);
  }

  /** Adds a pod (static: wired like Calico does; bare: only its namespace) to the running lab. */
  async addPod(pod: PodSpec): Promise<void> {
    this.assertOpen();
    const source: Topology = { ...this.topology.source, pods: [...(this.topology.source.pods ?? []), pod] };
    const next = validateTopology(source);
    const resolved = next.pods.find((p) => p.name === pod.name);
    const host = next.nodes.find((n) => n.name === pod.host);
    if (!resolved || !host) throw new Error(`pod '${pod.name}' missing after validation`);
    const steps = podSteps(this.runId, resolved);
    if (resolved.mode === 'static') {
      const settings = [
        'net.ipv4.ip_forward=1',
        ...(host.forwardIPv6 ? ['net.ipv6.conf.all.forwarding=1'] : []),
      ];
      steps.push({
        description: `turn on forwarding in ${host.name}`,
        argv: ['ip', 'netns', 'exec', this.nsName(host.name), 'sysctl', '-qw', ...settings],
      });
    }
    this.state.namespaces.push(namespaceName(this.runId, pod.name));
    this.state.topology = source;
    this.save();
    this.topology = next;
    await this.runSteps(steps);
  }

  /** Leaves the lab running after this process exits (only `caracal-lab down` removes it then). */
  detach(): void {
    this.state.detached = true;
    this.save();
    activeLabs.delete(this);
    if (activeLabs.size === 0) uninstallHandlers();
  }

  /**
   * Stops every process, deletes every namespace and root link of this run and its state file. The
   * log folder is deleted unless `keepLogs` (then its path is printed to stderr).
   */
  async down(options: { keepLogs?: boolean } = {}): Promise<TeardownReport> {
    if (this.closed) return { processes: [], namespaces: [], rootLinks: [] };
    this.closed = true;
    activeLabs.delete(this);
    if (activeLabs.size === 0) uninstallHandlers();
    await Promise.all([...this.processes].map((p) => p.stop({ graceMs: 2000 })));
    const report = await teardownState(this.runner, this.state);
    removeState(this.runId);
    if (options.keepLogs)
      process.stderr.write(`caracal-lab: logs of lab ${this.runId} kept in ${this.runDir}\n`);
    else rmSync(this.runDir, { recursive: true, force: true });
    return report;
  }

  /** Synchronous, best-effort teardown for exit and signal handlers; keeps the logs. */
  teardownNowSync(): void {
    if (this.closed) return;
    this.closed = true;
    activeLabs.delete(this);
    teardownStateSync(this.state);
    removeState(this.runId);
    process.stderr.write(`caracal-lab: lab ${this.runId} torn down at exit; logs kept in ${this.runDir}\n`);
  }
}
