// Lab test of route reflection against real peers: caracal-bgpd's Speaker (in this process, no FIB) as
// the route reflector of cluster 224.0.0.1 on loopback, with three clients (two gobgpd, one BIRD 2) and two
// non-clients (gobgpd), all iBGP, every daemon on a per-run 127.x.y.z address and free ports, killed by
// PID afterwards. What the peers receive must be what @caracal/reflector's reflectedAttributes says (the
// speaker's own reflectedPathAttributes): ORIGINATOR_ID set to the originating client's router id when the
// path has none, kept when it has one (BIRD sets 10.9.9.9), our cluster id prepended to CLUSTER_LIST
// (empty, or BIRD's [10.8.8.8]); a path whose CLUSTER_LIST already holds our cluster id is dropped on
// import; a client's path goes to clients and non-clients, a non-client's to clients only (mayExport) and
// never back to its sender.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, Speaker } from '@caracal/bgp-speaker';
import { buildPackagesForLab, freeTcpPort, labAvailable, waitUntil } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mayExport, parseClusterId, reflectedAttributes, reflectionLoop } from '../src/index.js';

const hasCommand = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const lab = labAvailable();
const missing = ['gobgpd', 'gobgp', 'bird', 'setpriv'].filter((command) => !hasCommand(command));
const skipReason = lab.available
  ? missing.length > 0
    ? `${missing.join(', ')} not installed`
    : undefined
  : lab.reason;
if (skipReason !== undefined) console.log(`route reflection lab test skipped: ${skipReason}`);

const AS = 65000;
const CLUSTER_ID = '224.0.0.1';
/** Per run: the peers on 127.<a>.<b>.<n>, router ids 10.<a>.<b>.<n>, prefixes 10.<a>.<k>.0/24 (no kernel sees them). */
const [a, b] = [randomInt(1, 255), randomInt(0, 256)];
const address = (n: number) => `127.${a}.${b}.${n}`;
const routerIdOf = (n: number) => `10.${a}.${b}.${n}`;
const prefix = (n: number) => `10.${a}.${n}.0/24`;
/** Next hops of the announced paths: GoBGP treats a loopback next hop as invalid (treat-as-withdraw). */
const nextHopOf = (n: number) => `192.0.2.${n}`;

/** The peers of the reflector: gobgpd unless `bird`, a client of ours or not. */
const PEERS = {
  gc1: { n: 2, client: true, bird: false },
  gc2: { n: 3, client: true, bird: false },
  bc3: { n: 4, client: true, bird: true },
  gn1: { n: 5, client: false, bird: false },
  gn2: { n: 6, client: false, bird: false },
} as const;
type PeerName = keyof typeof PEERS;

/** Prefixes: A from gc1, B (with ORIGINATOR_ID and CLUSTER_LIST) and L (our cluster id: a loop) from BIRD,
 * N from the non-client gn1, A2 from gc1 later (to order what gn1 and gn2 receive). */
const A = prefix(1);
const B = prefix(2);
const L = prefix(3);
const N = prefix(4);
const A2 = prefix(5);

let scratch: string | undefined;
let reflector: Speaker | undefined;
let reflectorPort = 0;
const daemons: { name: string; child: ChildProcess; output: string[] }[] = [];
const apiPorts = new Map<PeerName, number>();

/**
 * Starts a daemon in the foreground, its output kept for failure messages. Through `setpriv --pdeathsig
 * KILL` (which then becomes the daemon, same PID): should this test process die before afterAll, the kernel
 * kills the daemon too instead of leaving it running.
 */
function startDaemon(name: string, command: string, args: string[]): void {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  daemons.push({ name, child, output });
}

/** Stops a daemon this test started, by its PID: SIGTERM, then SIGKILL after 3 s. */
async function stopDaemon(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const within = (ms: number) => Promise.race([exited, new Promise<void>((r) => setTimeout(r, ms))]);
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    await within(3000);
  }
}

function gobgpdToml(name: PeerName): string {
  const { n } = PEERS[name];
  return `[global.config]
  as = ${AS}
  router-id = "${routerIdOf(n)}"
  port = -1
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${address(1)}"
    peer-as = ${AS}
  [neighbors.transport.config]
    local-address = "${address(n)}"
    remote-port = ${reflectorPort}
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
`;
}

function birdConf(birdPort: number): string {
  const { n } = PEERS.bc3;
  return `router id ${routerIdOf(n)};
log stderr all;
protocol device {}
protocol static originated {
  ipv4;
  route ${B} blackhole;
  route ${L} blackhole;
}
protocol bgp reflector {
  local ${address(n)} port ${birdPort} as ${AS};
  neighbor ${address(1)} port ${reflectorPort} as ${AS};
  hold time 9;
  connect retry time 1;
  ipv4 {
    import none;
    export filter {
      if net = ${B} then {
        bgp_originator_id = 10.9.9.9;
        bgp_cluster_list = add(bgp_cluster_list, 10.8.8.8);
      }
      if net = ${L} then bgp_cluster_list = add(bgp_cluster_list, ${CLUSTER_ID});
      bgp_next_hop = ${nextHopOf(n)};
      accept;
    };
  };
}
`;
}

function reflectorYaml(): string {
  const peers = Object.entries(PEERS).map(
    ([name, { n, client }]) =>
      `  - { name: ${name}, address: "${address(n)}", asNumber: ${AS}, passive: true, holdTime: 9, routeReflectorClient: ${client}, import: { action: accept }, export: { action: accept } }`,
  );
  return `asNumber: ${AS}
routerId: ${routerIdOf(1)}
clusterId: ${CLUSTER_ID}
listen: { address: "${address(1)}", port: ${reflectorPort} }
kernel: { install: false }
peers:
${peers.join('\n')}
`;
}

/** A path as gobgp -j prints it: attributes by type code (9 ORIGINATOR_ID, 10 CLUSTER_LIST). */
interface GobgpPath {
  readonly 'neighbor-ip'?: string;
  readonly attrs: readonly { readonly type: number; readonly value?: unknown }[];
}

/**
 * What gobgpd `name` received from the reflector, by prefix: the paths of its RIB learned from that session
 * (`gobgp neighbor … adj-in -j` lists prefixes without their paths in 3.10, so the RIB is read instead).
 */
function adjIn(name: PeerName): Record<string, GobgpPath[]> {
  const port = apiPorts.get(name);
  if (port === undefined) throw new Error(`${name} has no API port`);
  const text = execFileSync('gobgp', ['-p', String(port), '-j', 'global', 'rib', '-a', 'ipv4'], {
    encoding: 'utf8',
  }).trim();
  const rib = text === '' || text === 'null' ? {} : (JSON.parse(text) as Record<string, GobgpPath[]>);
  const received: Record<string, GobgpPath[]> = {};
  for (const [key, paths] of Object.entries(rib)) {
    const fromReflector = paths.filter((path) => path['neighbor-ip'] === address(1));
    if (fromReflector.length > 0) received[key] = fromReflector;
  }
  return received;
}

/** ORIGINATOR_ID and CLUSTER_LIST of the one path gobgpd `name` received for `prefix`, as numbers. */
function reflectionOf(
  name: PeerName,
  prefixText: string,
): { originatorId: number | undefined; clusterList: number[] } {
  const paths = adjIn(name)[prefixText];
  if (paths === undefined || paths.length !== 1)
    throw new Error(
      `${name} received ${paths?.length ?? 0} paths for ${prefixText}, expected 1: ${JSON.stringify(adjIn(name))}`,
    );
  const attribute = (type: number) => paths[0]!.attrs.find((x) => x.type === type);
  const originator = attribute(9);
  const clusterList = attribute(10);
  return {
    originatorId: originator === undefined ? undefined : parseClusterId(String(originator.value)),
    clusterList: ((clusterList?.value as string[] | undefined) ?? []).map((id) => parseClusterId(id)),
  };
}

function announceFrom(name: PeerName, prefixText: string): void {
  const port = apiPorts.get(name);
  if (port === undefined) throw new Error(`${name} has no API port`);
  const nextHop = nextHopOf(PEERS[name].n);
  execFileSync('gobgp', [
    '-p',
    String(port),
    'global',
    'rib',
    'add',
    '-a',
    'ipv4',
    prefixText,
    'nexthop',
    nextHop,
  ]);
}

const until = <T>(description: string, check: () => T | undefined | false) =>
  waitUntil(description, check, { timeoutMs: 30_000 }).catch((error: Error) => {
    const logs = daemons.map((d) => `--- ${d.name}\n${d.output.join('').slice(-2000)}`).join('\n');
    throw new Error(`${error.message}\n${logs}`);
  });

describe.skipIf(skipReason !== undefined)('route reflection with real GoBGP and BIRD peers', () => {
  const clusterId = parseClusterId(CLUSTER_ID);

  beforeAll(async () => {
    // @caracal/bgp-speaker is loaded from its built dist here (a change to its src went unseen by this
    // package's tests until built), so build it: the test checks the speaker as it is now.
    await buildPackagesForLab(['packages/bgp-speaker']);
    scratch = mkdtempSync(join(tmpdir(), `caracal-reflector-${a}-${b}-`));
    reflectorPort = await freeTcpPort(address(1));
    const checked = parseConfig(reflectorYaml(), 'reflector.yaml');
    if (!checked.ok) throw new Error(checked.issues.map((i) => `${i.path}: ${i.reason}`).join('; '));
    reflector = new Speaker(checked.config);
    await reflector.start();
    for (const name of Object.keys(PEERS) as PeerName[]) {
      if (PEERS[name].bird) continue;
      const apiPort = await freeTcpPort('127.0.0.1');
      apiPorts.set(name, apiPort);
      const file = join(scratch, `${name}.toml`);
      writeFileSync(file, gobgpdToml(name));
      startDaemon(name, 'gobgpd', [
        '-f',
        file,
        '-t',
        'toml',
        '-p',
        '--api-hosts',
        `127.0.0.1:${apiPort}`,
        '--pprof-disable',
      ]);
    }
    const birdPort = await freeTcpPort(address(PEERS.bc3.n));
    const birdFile = join(scratch, 'bird.conf');
    writeFileSync(birdFile, birdConf(birdPort));
    startDaemon('bc3', 'bird', [
      '-f',
      '-c',
      birdFile,
      '-s',
      join(scratch, 'bird.ctl'),
      '-P',
      join(scratch, 'bird.pid'),
    ]);
    for (const name of Object.keys(PEERS))
      await until(
        `${name} Established at the reflector`,
        () => reflector?.status().peers.find((p) => p.name === name)?.state === 'Established',
      );
  }, 300_000);

  afterAll(async () => {
    for (const daemon of daemons.splice(0).reverse()) await stopDaemon(daemon.child);
    await reflector?.stop({ keepRoutes: false });
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it("a client's path reaches the other clients and the non-clients with ORIGINATOR_ID and CLUSTER_LIST", async () => {
    expect(mayExport('ibgp-client', 'ibgp-nonclient')).toBe(true);
    announceFrom('gc1', A);
    const expected = reflectedAttributes(
      { originatorId: undefined, clusterList: [] },
      { clusterId, learnedFromRouterId: parseClusterId(routerIdOf(PEERS.gc1.n)) },
    );
    expect(expected).toEqual({
      originatorId: parseClusterId(routerIdOf(PEERS.gc1.n)),
      clusterList: [clusterId],
    });
    for (const name of ['gc2', 'gn1', 'gn2'] as const) {
      await until(`${name} receives ${A}`, () => adjIn(name)[A]);
      expect(reflectionOf(name, A), name).toEqual(expected);
    }
  }, 60_000);

  it("a client's ORIGINATOR_ID and CLUSTER_LIST are kept and extended; our cluster id in CLUSTER_LIST is a loop", async () => {
    await until(`gc2 receives ${B} from BIRD`, () => adjIn('gc2')[B]);
    const sent = { originatorId: parseClusterId('10.9.9.9'), clusterList: [parseClusterId('10.8.8.8')] };
    const expected = reflectedAttributes(sent, {
      clusterId,
      learnedFromRouterId: parseClusterId(routerIdOf(PEERS.bc3.n)),
    });
    expect(expected).toEqual({
      originatorId: sent.originatorId,
      clusterList: [clusterId, ...sent.clusterList],
    });
    expect(reflectionOf('gc2', B)).toEqual(expected);
    expect(reflectionOf('gn1', B)).toEqual(expected);
    // L carries CLUSTER_LIST [224.0.0.1]: the loop the reflector package names, dropped on import. B and L
    // differ in their attributes, so they came in two UPDATEs; once BIRD has sent two, both were read.
    expect(
      reflectionLoop({ originatorId: undefined, clusterList: [clusterId] }, { routerId: 1, clusterId }),
    ).toBe('cluster-list-has-us');
    await until('the reflector has read both UPDATEs of BIRD', () => {
      const row = reflector?.status().peers.find((p) => p.name === 'bc3');
      return row !== undefined && row.messagesIn.update >= 2;
    });
    expect(reflector?.routes({ prefix: B })).toHaveLength(1);
    expect(reflector?.routes({ prefix: L })).toEqual([]);
    expect(adjIn('gc2')[L]).toBeUndefined();
  }, 60_000);

  it("a non-client's path goes to clients only, and never back to its sender", async () => {
    expect(mayExport('ibgp-nonclient', 'ibgp-nonclient')).toBe(false);
    announceFrom('gn1', N);
    const expected = reflectedAttributes(
      { originatorId: undefined, clusterList: [] },
      { clusterId, learnedFromRouterId: parseClusterId(routerIdOf(PEERS.gn1.n)) },
    );
    for (const name of ['gc1', 'gc2'] as const) {
      await until(`${name} receives ${N}`, () => adjIn(name)[N]);
      expect(reflectionOf(name, N), name).toEqual(expected);
    }
    // N is in the reflector's Loc-RIB and was flushed to the clients. A2, announced only now, reaches both
    // non-clients after anything the reflector ever sent them for N (one TCP stream each): with A2 and
    // without N, N was not sent to them.
    announceFrom('gc1', A2);
    for (const name of ['gn1', 'gn2'] as const) {
      await until(`${name} receives ${A2}`, () => adjIn(name)[A2]);
      expect(adjIn(name)[N], name).toBeUndefined();
    }
  }, 60_000);
});
