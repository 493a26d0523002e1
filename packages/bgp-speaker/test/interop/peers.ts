// Interop harness: real BIRD 2 and GoBGP daemons, and caracal-bgpd itself, each started with `lab.spawn`
// inside its own lab namespace from a config written into the run's log folder (kept when a test fails),
// plus the queries the interop tests make: BIRD through birdc, GoBGP through its gobgp CLI (gRPC on the
// namespace's own loopback), caracal-bgpd through `caracal-bgp … -o json --socket`, and each namespace's
// kernel routing table through `ip -j route`. Every process is a LabProcess: `lab.down()` kills it by PID,
// also when a test fails.
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  buildPackagesForLab,
  type Lab,
  type LabProcess,
  repositoryRoot,
  WaitAbortedError,
  waitUntil,
} from '@caracal/lab';
import { stringify } from 'yaml';
import type { RouteRow, SpeakerStatus } from '../../src/daemon/index.js';

/** Folder for one node's config and control sockets, inside the run's log folder. */
export function nodeDir(lab: Lab, node: string): string {
  const dir = join(lab.runDir, node);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs a command in a node and returns stdout; a non-zero exit throws with the command and stderr. */
export async function run(
  lab: Lab,
  node: string,
  argv: readonly string[],
  timeoutMs = 30_000,
): Promise<string> {
  const result = await lab.exec(node, argv, { timeoutMs });
  if (result.code !== 0) {
    throw new Error(
      `${node}: ${argv.join(' ')} exited ${result.code}${result.timedOut ? ' (timeout)' : ''}: ${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

// ------------------------------------------------------------------------------------------- kernel

/** One kernel route as `ip -j route` prints it (the fields the tests look at). */
export interface KernelRoute {
  readonly dst: string;
  readonly type?: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly nexthops?: readonly { readonly gateway?: string; readonly dev?: string }[];
}

/** Kernel routes of a node's main table, optionally of one protocol (`201`, `bird`, …). */
export async function kernelRoutes(
  lab: Lab,
  node: string,
  options: { readonly family: 4 | 6; readonly protocol?: string | number },
): Promise<KernelRoute[]> {
  const argv = ['ip', '-j', `-${options.family}`, 'route', 'show', 'table', 'main'];
  if (options.protocol !== undefined) argv.push('proto', String(options.protocol));
  const text = await run(lab, node, argv);
  if (text.trim() === '') return [];
  return (JSON.parse(text) as KernelRoute[]).map((route) => ({
    ...route,
    // `ip -j` prints host routes without the length ("10.1.0.1"); make every dst a prefix.
    dst:
      route.dst === 'default' || route.dst.includes('/')
        ? route.dst
        : `${route.dst}/${options.family === 4 ? 32 : 128}`,
  }));
}

/** How many kernel routes of one protocol a node has (text output: cheap enough for 100k routes). */
export async function kernelRouteCount(
  lab: Lab,
  node: string,
  family: 4 | 6,
  protocol: string | number,
): Promise<number> {
  const text = await run(
    lab,
    node,
    ['ip', `-${family}`, 'route', 'show', 'table', 'main', 'proto', String(protocol)],
    120_000,
  );
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

// --------------------------------------------------------------------------------------------- BIRD

/** The start of every BIRD config of the tests: router id, device scan, kernel export of BGP routes. */
export function birdPreamble(routerId: string, options: { readonly kernelExport?: boolean } = {}): string {
  const kernel =
    options.kernelExport === false
      ? ''
      : `protocol kernel kernel4 { ipv4 { export where source = RTS_BGP; }; }
protocol kernel kernel6 { ipv6 { export where source = RTS_BGP; }; }
`;
  return `router id ${routerId};
log stderr all;
protocol device { scan time 1; }
${kernel}`;
}

/** A BIRD static protocol with blackhole routes (what BIRD announces in the tests). */
export function birdStatics(name: string, family: 'ipv4' | 'ipv6', prefixes: readonly string[]): string {
  return `protocol static ${name} {
  ${family};
${prefixes.map((prefix) => `  route ${prefix} blackhole;`).join('\n')}
}
`;
}

/** One row of `birdc show protocols`. */
export interface BirdProtocol {
  readonly name: string;
  readonly proto: string;
  readonly state: string;
  /** "Established", "Active", "Connect", or BIRD's last error text. */
  readonly info: string;
}

/** One route of `birdc show route all`. */
export interface BirdRoute {
  readonly prefix: string;
  /** unicast, blackhole, unreachable, prohibited. */
  readonly kind: string;
  readonly protocol: string;
  readonly primary: boolean;
  readonly nextHops: readonly string[];
  /** "BGP.as_path" → "65001", "BGP.next_hop" → "10.1.0.2", … */
  readonly attributes: Readonly<Record<string, string>>;
  /** The whole text block, for failure messages. */
  readonly text: string;
}

const BIRD_ROUTE_LINE = /^(\S+)?\s+(unicast|blackhole|unreachable|prohibited)\s+\[(\S+) [^\]]*\](\s[*!])?/;

/** Parses `birdc show route all` (route lines, `via`/`dev` lines, `Attr: value` lines). */
export function parseBirdRoutes(text: string): BirdRoute[] {
  const routes: BirdRoute[] = [];
  let prefix = '';
  let current:
    | {
        prefix: string;
        kind: string;
        protocol: string;
        primary: boolean;
        nextHops: string[];
        attributes: Record<string, string>;
        lines: string[];
      }
    | undefined;
  const flush = () => {
    if (current) routes.push({ ...current, text: current.lines.join('\n') });
    current = undefined;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('BIRD ') || line.startsWith('Table ') || line.trim() === '') continue;
    const head = BIRD_ROUTE_LINE.exec(line);
    if (head && !line.startsWith('\t')) {
      flush();
      if (head[1]) prefix = head[1];
      current = {
        prefix,
        kind: head[2] ?? '',
        protocol: head[3] ?? '',
        primary: (head[4] ?? '').includes('*'),
        nextHops: [],
        attributes: {},
        lines: [line],
      };
      continue;
    }
    if (!current) continue;
    current.lines.push(line);
    const via = /^\s+via (\S+)/.exec(line);
    if (via?.[1]) {
      current.nextHops.push(via[1]);
      continue;
    }
    const attribute = /^\s+([A-Za-z0-9_.]+): ?(.*)$/.exec(line);
    if (attribute?.[1]) current.attributes[attribute[1]] = attribute[2] ?? '';
  }
  flush();
  return routes;
}

/** BIRD 2 in the foreground in one lab node: `bird -f -c CONF -s SOCK -P PID`. */
export class BirdDaemon {
  private constructor(
    readonly lab: Lab,
    readonly node: string,
    readonly configPath: string,
    readonly socketPath: string,
    readonly process: LabProcess,
  ) {}

  /** `extraArgs`: e.g. `['-R']` (graceful restart recovery: BIRD restarts as a restarting speaker). */
  static async start(
    lab: Lab,
    node: string,
    config: string,
    name = 'bird',
    extraArgs: readonly string[] = [],
  ): Promise<BirdDaemon> {
    const dir = nodeDir(lab, node);
    const configPath = join(dir, `${name}.conf`);
    const socketPath = join(dir, `${name}.ctl`);
    writeFileSync(configPath, config);
    const process = await lab.spawn(
      node,
      ['bird', '-f', '-c', configPath, '-s', socketPath, '-P', join(dir, `${name}.pid`), ...extraArgs],
      { name },
    );
    const daemon = new BirdDaemon(lab, node, configPath, socketPath, process);
    await waitUntil(`BIRD in ${node} to answer on ${socketPath}`, async () => {
      if (!process.running) throw new WaitAbortedError(`BIRD exited: ${process.log()}`);
      const result = await lab.exec(node, ['birdc', '-s', socketPath, 'show', 'status']);
      return result.code === 0 && /Daemon is up and running/.test(result.stdout) ? true : undefined;
    });
    return daemon;
  }

  /** Runs `birdc -s SOCK ARGS…` and returns its output. */
  birdc(...args: string[]): Promise<string> {
    return run(this.lab, this.node, ['birdc', '-s', this.socketPath, ...args], 120_000);
  }

  async protocols(): Promise<BirdProtocol[]> {
    const rows: BirdProtocol[] = [];
    for (const line of (await this.birdc('show', 'protocols')).split('\n')) {
      // name proto table state since(hh:mm:ss.mmm) info
      const match = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s*(.*)$/.exec(line);
      if (!match || match[1] === 'Name' || match[1] === 'BIRD') continue;
      rows.push({
        name: match[1] ?? '',
        proto: match[2] ?? '',
        state: match[4] ?? '',
        info: (match[5] ?? '').trim(),
      });
    }
    return rows;
  }

  async protocol(name: string): Promise<BirdProtocol> {
    const row = (await this.protocols()).find((p) => p.name === name);
    if (!row) throw new Error(`BIRD in ${this.node} has no protocol ${name}`);
    return row;
  }

  /** `show protocols all NAME`: the details, e.g. "Last error: Hold timer expired". */
  protocolDetails(name: string): Promise<string> {
    return this.birdc('show', 'protocols', 'all', name);
  }

  waitEstablished(name: string, timeoutMs = 60_000): Promise<BirdProtocol> {
    return waitUntil(
      `BIRD ${this.node}/${name} Established`,
      async () => {
        const row = await this.protocol(name);
        return row.info.startsWith('Established') ? row : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** `show route all` of one table (master4 / master6), optionally of one protocol. */
  async routes(table: 'master4' | 'master6', protocol?: string): Promise<BirdRoute[]> {
    const args = ['show', 'route', 'all', 'table', table];
    if (protocol) args.push('protocol', protocol);
    return parseBirdRoutes(await this.birdc(...args));
  }

  /** Route count from `show route count` (of one protocol when given). */
  async routeCount(table: 'master4' | 'master6', protocol?: string): Promise<number> {
    const args = ['show', 'route', 'table', table];
    if (protocol) args.push('protocol', protocol);
    args.push('count');
    const text = await this.birdc(...args);
    const match = /(\d+) of \d+ routes/.exec(text);
    if (!match?.[1]) throw new Error(`unexpected birdc count output: ${text}`);
    return Number(match[1]);
  }
}

// -------------------------------------------------------------------------------------------- GoBGP

export interface GobgpNeighborConfig {
  readonly address: string;
  readonly peerAs: number;
  readonly holdTime?: number;
  readonly families: readonly ('ipv4-unicast' | 'ipv6-unicast')[];
  readonly passive?: boolean;
  readonly gracefulRestart?: boolean;
  /** Restart time GoBGP advertises when `gracefulRestart` (seconds; 120 when absent). */
  readonly restartTime?: number;
  /** Route-reflector-less iBGP etc. need nothing more; this is written verbatim into the neighbor. */
  readonly localAddress?: string;
}

/** A gobgpd TOML config: global AS/router id and the neighbors with timers and families. */
export function gobgpConfig(options: {
  readonly asNumber: number;
  readonly routerId: string;
  readonly neighbors: readonly GobgpNeighborConfig[];
}): string {
  const lines = ['[global.config]', `  as = ${options.asNumber}`, `  router-id = "${options.routerId}"`, ''];
  for (const neighbor of options.neighbors) {
    const hold = neighbor.holdTime ?? 9;
    lines.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${neighbor.address}"`,
      `    peer-as = ${neighbor.peerAs}`,
      '  [neighbors.timers.config]',
      `    hold-time = ${hold}`,
      `    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}`,
      '    connect-retry = 1',
      '    idle-hold-time-after-reset = 1',
      '  [neighbors.transport.config]',
      `    passive-mode = ${neighbor.passive === true}`,
    );
    if (neighbor.localAddress) lines.push(`    local-address = "${neighbor.localAddress}"`);
    if (neighbor.gracefulRestart) {
      lines.push(
        '  [neighbors.graceful-restart.config]',
        '    enabled = true',
        `    restart-time = ${neighbor.restartTime ?? 120}`,
      );
    }
    for (const family of neighbor.families) {
      lines.push(
        '  [[neighbors.afi-safis]]',
        '    [neighbors.afi-safis.config]',
        `      afi-safi-name = "${family}"`,
      );
      if (neighbor.gracefulRestart)
        lines.push('    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true');
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** One path of `gobgp global rib -j`. */
export interface GobgpPath {
  readonly nlri: { readonly prefix: string };
  readonly best?: boolean;
  readonly stale?: boolean;
  readonly 'neighbor-ip'?: string;
  readonly attrs: readonly {
    readonly type: number;
    readonly value?: number;
    readonly nexthop?: string;
    readonly as_paths?: readonly { readonly segment_type: number; readonly asns: readonly number[] }[];
    readonly communities?: readonly number[];
  }[];
}

/**
 * gobgpd in the foreground in one lab node. Its gRPC API listens on the node's own 127.0.0.1: the
 * namespace is fresh and private to this run, so a port picked at random there is free.
 * GoBGP has no zebra here, so it installs nothing in the kernel: its routes are checked in its RIB.
 */
export class GobgpDaemon {
  private constructor(
    readonly lab: Lab,
    readonly node: string,
    readonly apiPort: number,
    readonly process: LabProcess,
  ) {}

  /** `extraArgs`: e.g. `['--graceful-restart']` (gobgpd restarts as a restarting speaker: R and F bits set). */
  static async start(
    lab: Lab,
    node: string,
    config: string,
    name = 'gobgpd',
    extraArgs: readonly string[] = [],
  ): Promise<GobgpDaemon> {
    const dir = nodeDir(lab, node);
    const configPath = join(dir, `${name}.toml`);
    writeFileSync(configPath, config);
    // Below the kernel's ephemeral range (32768–60999): a port the `gobgp` CLI's own connections used a
    // moment ago (a restarted gobgpd in the same namespace) cannot be picked and refused as in use.
    const apiPort = randomInt(20_000, 32_000);
    const process = await lab.spawn(
      node,
      [
        'gobgpd',
        '-f',
        configPath,
        '-t',
        'toml',
        '--api-hosts',
        `127.0.0.1:${apiPort}`,
        '--pprof-disable',
        ...extraArgs,
      ],
      { name },
    );
    const daemon = new GobgpDaemon(lab, node, apiPort, process);
    await waitUntil(`gobgpd in ${node} to answer on 127.0.0.1:${apiPort}`, async () => {
      if (!process.running) throw new WaitAbortedError(`gobgpd exited: ${process.log()}`);
      const result = await lab.exec(node, ['gobgp', '-p', String(apiPort), 'global']);
      return result.code === 0 ? true : undefined;
    });
    return daemon;
  }

  /** Runs `gobgp -p PORT ARGS…` and returns its output. */
  gobgp(...args: string[]): Promise<string> {
    return run(this.lab, this.node, ['gobgp', '-p', String(this.apiPort), ...args], 120_000);
  }

  /** Session state per neighbor address ("established", "active", "idle", …). */
  async neighborStates(): Promise<Map<string, string>> {
    const names = ['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'];
    const neighbors = JSON.parse(await this.gobgp('neighbor', '-j')) as {
      state: { neighbor_address: string; session_state?: number };
    }[];
    return new Map(
      neighbors.map((n) => [n.state.neighbor_address, names[n.state.session_state ?? 0] ?? 'unknown']),
    );
  }

  waitEstablished(address: string, timeoutMs = 60_000): Promise<true> {
    return waitUntil(
      `gobgpd ${this.node} session with ${address} established`,
      async () => ((await this.neighborStates()).get(address) === 'established' ? true : undefined),
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** The global RIB: prefix → paths. */
  async rib(family: 'ipv4' | 'ipv6'): Promise<Record<string, GobgpPath[]>> {
    const text = await this.gobgp('global', 'rib', '-a', family, '-j');
    return text.trim() === '' ? {} : (JSON.parse(text) as Record<string, GobgpPath[]>);
  }

  /** Destinations in the global RIB (`global rib summary`): cheap for large tables. */
  async ribCount(family: 'ipv4' | 'ipv6'): Promise<number> {
    const text = await this.gobgp('global', 'rib', 'summary', '-a', family);
    const match = /Destination: (\d+)/.exec(text);
    if (!match?.[1]) throw new Error(`unexpected gobgp rib summary output: ${text}`);
    return Number(match[1]);
  }

  async addRoute(family: 'ipv4' | 'ipv6', prefix: string, ...attributes: string[]): Promise<void> {
    await this.gobgp('global', 'rib', 'add', '-a', family, prefix, ...attributes);
  }

  async deleteRoute(family: 'ipv4' | 'ipv6', prefix: string): Promise<void> {
    await this.gobgp('global', 'rib', 'del', '-a', family, prefix);
  }
}

/** AS path of a GoBGP path as a list of ASNs. */
export function gobgpAsPath(path: GobgpPath): number[] {
  return path.attrs
    .filter((a) => a.type === 2)
    .flatMap((a) => (a.as_paths ?? []).flatMap((s) => [...s.asns]));
}

/** NEXT_HOP (or MP_REACH next hop) of a GoBGP path. */
export function gobgpNextHop(path: GobgpPath): string | undefined {
  return path.attrs.find((a) => a.nexthop !== undefined)?.nexthop;
}

// ------------------------------------------------------------------------------------- caracal-bgpd

/** Sends one JSON request line on a unix socket and parses the one answer line (`{error}` throws). */
export function controlRequest<T>(
  socketPath: string,
  request: Record<string, unknown>,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer on ${socketPath} within ${timeoutMs} ms to ${JSON.stringify(request)}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (!chunk.includes(10)) return;
      clearTimeout(timer);
      socket.destroy();
      const line = Buffer.concat(chunks).toString('utf8').split('\n')[0] ?? '';
      try {
        const answer = JSON.parse(line) as { error?: unknown };
        if (typeof answer.error === 'string') reject(new Error(`caracal-bgpd: ${answer.error}`));
        else resolve(answer as T);
      } catch (error) {
        reject(new Error(`answer on ${socketPath} is not JSON (${String(error)}): ${line.slice(0, 300)}`));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const root = repositoryRoot();
/** The built executables (the lab tests build them with `tsc -b` in beforeAll). */
export const BGPD_JS = join(root, 'packages/bgp-speaker/dist/src/cli/caracal-bgpd.js');
export const BGP_CLI_JS = join(root, 'packages/bgp-speaker/dist/src/cli/caracal-bgp.js');

/**
 * Builds the bgp-speaker package (and what it references) so the lab runs the current sources. Other
 * engineers' work in progress in the same tree can fail type checking while tsc still emits JavaScript:
 * then the compiler output is printed and the tests go on when the daemon's executable exists.
 */
export async function buildSpeaker(): Promise<void> {
  try {
    await buildPackagesForLab(['packages/bgp-speaker']);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!existsSync(BGPD_JS)) throw new Error(`${message}\n(and ${BGPD_JS} is missing)`);
    console.warn(`${message}\n(continuing with the emitted JavaScript)`);
  }
}

/** caracal-bgpd config as plain data (the YAML schema of src/config); written with `yaml`. */
export type BgpdConfigInput = Record<string, unknown>;

/**
 * caracal-bgpd in one lab node (`node dist/src/cli/caracal-bgpd.js --config FILE`), its control socket
 * in the run folder, metrics on a random port of the node's private namespace.
 */
export class CaracalBgpd {
  process: LabProcess;
  private starts = 0;

  private constructor(
    readonly lab: Lab,
    readonly node: string,
    readonly configPath: string,
    readonly socketPath: string,
    readonly metricsPort: number,
    process: LabProcess,
  ) {
    this.process = process;
  }

  /** The YAML: `config` plus the control socket and a metrics port (fixed per daemon, so reloads keep it). */
  static configText(config: BgpdConfigInput, socketPath: string, metricsPort: number): string {
    return stringify({
      metrics: { address: '127.0.0.1', port: metricsPort },
      logLevel: 'debug',
      ...config,
      control: { socket: socketPath },
    });
  }

  static async start(lab: Lab, node: string, config: BgpdConfigInput): Promise<CaracalBgpd> {
    const dir = nodeDir(lab, node);
    const configPath = join(dir, 'bgpd.yaml');
    const socketPath = join(dir, 'bgpd.sock');
    // Metrics on the node's private loopback: any port is free there.
    const metricsPort = randomInt(20_000, 60_000);
    writeFileSync(configPath, CaracalBgpd.configText(config, socketPath, metricsPort));
    const process = await CaracalBgpd.spawn(lab, node, configPath, 'caracal-bgpd');
    const daemon = new CaracalBgpd(lab, node, configPath, socketPath, metricsPort, process);
    daemon.starts = 1;
    await daemon.waitForControlSocket();
    return daemon;
  }

  private static spawn(lab: Lab, node: string, configPath: string, name: string): Promise<LabProcess> {
    return lab.spawn(node, [process.execPath, BGPD_JS, '--config', configPath], { name });
  }

  private async waitForControlSocket(): Promise<void> {
    await waitUntil(
      `caracal-bgpd in ${this.node} to answer on ${this.socketPath}`,
      async () => {
        if (!this.process.running)
          throw new WaitAbortedError(`caracal-bgpd exited: ${this.process.log().slice(-2000)}`);
        try {
          return await this.status();
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  }

  /** Rewrites the config file (same socket) without telling the daemon. */
  writeConfig(config: BgpdConfigInput): void {
    writeFileSync(this.configPath, CaracalBgpd.configText(config, this.socketPath, this.metricsPort));
  }

  /** Rewrites the config file and sends SIGHUP. */
  reload(config: BgpdConfigInput): void {
    this.writeConfig(config);
    process.kill(this.process.pid, 'SIGHUP');
  }

  /** kill -9: no NOTIFICATION, no cleanup; the kernel closes its sockets. */
  async kill9(): Promise<void> {
    await this.process.stop({ signal: 'SIGKILL' });
  }

  /** Starts the daemon again with the config file as it is now (a second log file). */
  async restart(): Promise<void> {
    if (this.process.running) throw new Error('caracal-bgpd is still running');
    this.starts++;
    this.process = await CaracalBgpd.spawn(
      this.lab,
      this.node,
      this.configPath,
      `caracal-bgpd-${this.starts}`,
    );
    await this.waitForControlSocket();
  }

  /**
   * One request on the control socket (JSON lines: `{"op":"status"}` → SpeakerStatus, `{"op":"routes"}` →
   * `{routes}`), the protocol `caracal-bgp status|routes --socket` speaks; an `{error}` answer throws.
   */
  control<T>(request: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    return controlRequest<T>(this.socketPath, request, timeoutMs);
  }

  status(): Promise<SpeakerStatus> {
    return this.control<SpeakerStatus>({ op: 'status' });
  }

  async routes(prefix?: string): Promise<RouteRow[]> {
    const answer = await this.control<{ routes: RouteRow[] }>(
      prefix ? { op: 'routes', prefix } : { op: 'routes' },
      60_000,
    );
    return answer.routes;
  }

  /** `caracal-bgp ARGS… -o json --socket SOCK` (the command line client), parsed. */
  async cli<T>(...args: string[]): Promise<T> {
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [BGP_CLI_JS, ...args, '-o', 'json', '--socket', this.socketPath],
        { timeout: 60_000, maxBuffer: 1 << 30 },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`caracal-bgp ${args.join(' ')}: ${error.message} ${stderr}`));
          else {
            try {
              resolve(JSON.parse(stdout) as T);
            } catch (parseError) {
              reject(
                new Error(
                  `caracal-bgp ${args.join(' ')} printed no JSON (${String(parseError)}): ${stdout.slice(0, 500)}`,
                ),
              );
            }
          }
        },
      );
    });
  }

  async peer(name: string): Promise<SpeakerStatus['peers'][number]> {
    const row = (await this.status()).peers.find((p) => p.name === name);
    if (!row) throw new Error(`caracal-bgpd has no peer named ${name}`);
    return row;
  }

  waitEstablished(name: string, timeoutMs = 60_000): Promise<SpeakerStatus['peers'][number]> {
    return waitUntil(
      `caracal-bgpd peer ${name} Established`,
      async () => {
        if (!this.process.running)
          throw new WaitAbortedError(`caracal-bgpd exited: ${this.process.log().slice(-2000)}`);
        const row = await this.peer(name);
        return row.state === 'Established' ? row : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** Log lines (pino JSON) at `minLevel` or above (40 warn, 50 error, 60 fatal), of every start so far. */
  logLines(minLevel: number): string[] {
    const dir = nodeDir(this.lab, this.node);
    const lines: string[] = [];
    for (let start = 1; start <= this.starts; start++) {
      const name = start === 1 ? 'caracal-bgpd' : `caracal-bgpd-${start}`;
      let text = '';
      try {
        text = readFileSync(join(dir, `${name}.log`), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        const level = /^\{"level":(\d+)/.exec(line)?.[1];
        if (level !== undefined && Number(level) >= minLevel) lines.push(line);
      }
    }
    return lines;
  }

  /** The tail of the current log (for failure messages and the report). */
  logTail(chars = 3000): string {
    return this.process.log().slice(-chars);
  }
}
