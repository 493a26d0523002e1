// Lab test of a 4-node Caracal cluster (GitHub issue 6): four node namespaces on one L2 segment, a real
// etcd on the segment's root-namespace address, the built caracal-node in every node (running caracal-felix
// and caracal-bgpd, full iBGP mesh), and two pods per node created through the real CNI executables
// (`caracal` with `caracal-ipam`). It proves: every pod pings and TCP-connects to every other; a new pod
// is reachable from every node (time logged); CNI DEL removes the pod's route and releases its address;
// a SIGKILLed caracal-node restarted on one node interrupts no TCP flow between two other nodes and no
// route of ours disappears on any node while it comes back (its children are adopted) — and the same
// when its children are SIGKILLed with it (caracal-bgpd restarts gracefully, Felix re-syncs); a Felix
// crash leaves the BGP sessions as they were and a bgpd crash is restarted gracefully; a remote
// block route and a local pod route deleted by hand come back; CNI errors carry the spec's codes; a new
// Node, a new block and a BGPPeer reach every caracal-bgpd by SIGHUP reload (same pid) without resetting
// the sessions that did not change, and readiness names the session that is not Established.
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  connectDatastore,
  type EtcdKeyValueStore,
  etcdUnavailableReason,
  findFreePort,
  type LocalEtcd,
  ResourceStore,
  startLocalEtcd,
} from '@caracal/datastore';
import { allocationsOf, IpamClient } from '@caracal/ipam';
import { buildPackagesForLab, Lab, type LabProcess, labAvailable, waitUntil } from '@caracal/lab';
import type { BGPPeerResource, NodeResource } from '@caracal/model';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BgpdStatusAnswer, queryBgpdStatus } from '../src/agent/bgpd-control.js';
import { labIpPool } from '../src/index.js';

const availability = labAvailable();
const etcdMissing = etcdUnavailableReason();
const runnable = availability.available && etcdMissing === undefined;
if (!runnable) console.log(`caracal cluster lab test skipped: ${availability.reason ?? etcdMissing}`);

const repo = resolve(import.meta.dirname, '../../..');
const binDir = join(repo, 'bin');
const nodeMain = join(repo, 'packages/node/dist/src/main.js');
const bgpdMain = join(repo, 'packages/bgp-speaker/dist/src/cli/caracal-bgpd.js');
const tag = randomBytes(3).toString('hex');
const subnet = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
const rootAddress = `${subnet}.1`;
const poolCidr = `10.${randomInt(100, 200)}.0.0/16`;
const NODES = ['n1', 'n2', 'n3', 'n4'] as const;
type NodeName = (typeof NODES)[number];
const nodeAddress = (node: NodeName) => `${subnet}.${11 + NODES.indexOf(node)}`;
/** Node resource names carry the run's tag: other runs may share nothing. */
const nodeResourceName = (node: NodeName) => `${node}-${tag}`;

let lab: Lab | undefined;
let etcd: LocalEtcd | undefined;
let store: EtcdKeyValueStore | undefined;
let endpoint = '';
let scratch = '';
const agents = new Map<NodeName, LabProcess>();

interface Pod {
  name: string;
  node: NodeName;
  ip: string;
  containerId: string;
  hostInterface: string;
}
const pods: Pod[] = [];
const POD_PORT = 7070;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runDir = (node: NodeName) => join(scratch, node);
const theLab = (): Lab => {
  if (!lab) throw new Error('lab not up');
  return lab;
};

interface CniRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CNI executable in a node namespace as a runtime would (CNI_* environment, config on stdin). */
function cni(
  node: NodeName,
  binary: string,
  env: Record<string, string | undefined>,
  stdin: string,
  path = binDir,
): Promise<CniRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('ip', ['netns', 'exec', theLab().nsName(node), join(binDir, binary)], {
      env: { PATH: process.env.PATH, CNI_IFNAME: 'eth0', CNI_PATH: path, ...env },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

function networkConfig(node: NodeName, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'caracal',
    etcd_endpoints: endpoint,
    nodename: nodeResourceName(node),
    mtu: 1500,
    ipam: { type: 'caracal-ipam' },
    ...extra,
  });
}

/** A pod namespace (torn down with the lab) wired by `caracal ADD`, with a TCP listener. */
async function addPod(node: NodeName, name: string): Promise<Pod> {
  await theLab().addPod({ name, host: node, mode: 'bare' });
  const containerId = `c${randomBytes(8).toString('hex')}`;
  const added = await cni(
    node,
    'caracal',
    {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: containerId,
      CNI_NETNS: `/var/run/netns/${theLab().nsName(name)}`,
      CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`,
    },
    networkConfig(node),
  );
  if (added.status !== 0) throw new Error(`CNI ADD of ${name} failed: ${added.stdout} ${added.stderr}`);
  const result = JSON.parse(added.stdout) as { ips: { address: string }[]; interfaces: { name: string }[] };
  const pod: Pod = {
    name,
    node,
    ip: (result.ips[0]?.address ?? '').split('/')[0] ?? '',
    containerId,
    hostInterface: result.interfaces[0]?.name ?? '',
  };
  pods.push(pod);
  await theLab().tcpListen(name, { port: POD_PORT });
  return pod;
}

async function deletePod(pod: Pod): Promise<CniRun> {
  return cni(
    pod.node,
    'caracal',
    {
      CNI_COMMAND: 'DEL',
      CNI_CONTAINERID: pod.containerId,
      CNI_NETNS: `/var/run/netns/${theLab().nsName(pod.name)}`,
      CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name}`,
    },
    networkConfig(pod.node),
  );
}

async function startAgent(node: NodeName): Promise<LabProcess> {
  mkdirSync(runDir(node), { recursive: true });
  const agent = await theLab().spawn(
    node,
    [
      process.execPath,
      nodeMain,
      '--name',
      nodeResourceName(node),
      '--ip',
      `${nodeAddress(node)}/24`,
      '--etcd-endpoints',
      endpoint,
      '--run-dir',
      runDir(node),
      '--bgpd-command',
      bgpdMain,
    ],
    { name: 'caracal-node' },
  );
  agents.set(node, agent);
  return agent;
}

async function readiness(node: NodeName): Promise<{ status: number; reasons: string[] }> {
  const response = await fetch(`http://${nodeAddress(node)}:9098/readiness`, {
    signal: AbortSignal.timeout(4000),
  });
  const body = (await response.json()) as { reasons: string[] };
  return { status: response.status, reasons: body.reasons };
}

async function waitReady(node: NodeName, timeoutMs = 90_000): Promise<void> {
  let last = '';
  await waitUntil(
    `${node} ready`,
    async () => {
      const r = await readiness(node).catch((e: Error) => ({ status: 0, reasons: [e.message] }));
      last = r.reasons.join('; ');
      return r.status === 200 || undefined;
    },
    { timeoutMs, intervalMs: 500 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last reasons: ${last}`);
  });
}

/** Our routes on a node: caracal-bgpd's (proto 201) and Felix's/the CNI's (proto 96), one line each. */
async function ourRoutes(node: NodeName): Promise<Set<string>> {
  const result = await theLab().exec(node, ['ip', '-4', 'route', 'show'], { check: true });
  return new Set(
    result.stdout
      .split('\n')
      .filter((line) => /\bproto (201|96)\b/.test(line))
      .map((line) => line.trim()),
  );
}

const statusOf = (node: NodeName) =>
  JSON.parse(readFileSync(join(runDir(node), 'status.json'), 'utf8')) as {
    felixPid: number | null;
    bgpdPid: number | null;
    felixAdopted: boolean;
    bgpdAdopted: boolean;
    advertisedBlocks: string[];
  };

/** How many times a node's bgpd.log says a bgpd started as the restarting speaker (RFC 4724). */
function gracefulRestartsLogged(node: NodeName): number {
  return readFileSync(join(runDir(node), 'bgpd.log'), 'utf8')
    .split('\n')
    .filter((line) => line.includes('graceful restart: restarting speaker')).length;
}

async function metric(node: NodeName, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://${nodeAddress(node)}:9098/metrics`)).text();
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Samples every node's routes of ours every 100 ms; reports each route that vanished from a sample. */
function sampleRoutes(nodes: readonly NodeName[], baseline: Map<NodeName, Set<string>>) {
  const missing: string[] = [];
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(
        nodes.map(async (node) => {
          const now = await ourRoutes(node);
          for (const route of baseline.get(node) ?? []) {
            if (!now.has(route)) missing.push(`${node} at ${new Date().toISOString()}: ${route}`);
          }
        }),
      );
      samples++;
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { missing, samples };
    },
  };
}

const FLOW_SERVER = `require('node:net').createServer((s) => s.pipe(s)).listen(Number(process.argv[1]), '0.0.0.0', () => console.log('listening'));`;
// Sends a numbered line every 100 ms over ONE connection and counts the echoes; logs every second; any
// error or close ends it with "FLOW BROKEN"; SIGTERM ends it with "FLOW OK <echoes>".
const FLOW_CLIENT = `
const socket = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
let echoes = 0, last = Date.now(), maxGap = 0, buffer = '';
socket.setEncoding('utf8');
socket.on('connect', () => { console.log('connected'); setInterval(() => socket.write(Date.now() + '\\n'), 100); });
socket.on('data', (d) => { buffer += d; const lines = buffer.split('\\n'); buffer = lines.pop();
  for (const _ of lines) { echoes++; const now = Date.now(); maxGap = Math.max(maxGap, now - last); last = now; } });
setInterval(() => console.log('echoes ' + echoes + ' maxGapMs ' + maxGap), 1000);
const broken = (why) => { console.log('FLOW BROKEN ' + why); process.exit(1); };
socket.on('error', (e) => broken(e.message)); socket.on('close', () => broken('closed'));
process.on('SIGTERM', () => { console.log('FLOW OK ' + echoes + ' maxGapMs ' + maxGap); process.exit(0); });
`;

/** A probe process in a namespace whose output the test keeps in memory (not in a log file). */
interface Probe {
  readonly pid: number;
  output(): string;
  readonly exited: Promise<number | null>;
  running(): boolean;
}

function probe(node: string, argv: readonly string[]): Probe {
  const child = spawn('ip', ['netns', 'exec', theLab().nsName(node), ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exitCode: number | null | undefined;
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<number | null>((r) =>
    child.on('close', (code) => {
      exitCode = code;
      r(code);
    }),
  );
  return { pid: child.pid as number, output: () => output, exited, running: () => exitCode === undefined };
}

async function waitForOutput(p: Probe, pattern: RegExp, what: string): Promise<void> {
  await waitUntil(
    what,
    () => {
      if (pattern.test(p.output())) return true;
      if (!p.running()) throw new Error(`${what}: the process exited: ${p.output().slice(-500)}`);
      return undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

function echoCount(client: Probe): number {
  const counts = [...client.output().matchAll(/echoes (\d+)/g)].map((m) => Number(m[1]));
  return counts.at(-1) ?? 0;
}

describe.skipIf(!runnable)('a 4-node caracal cluster (caracal-node + felix + bgpd, CNI pods)', () => {
  let failed = false;
  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  beforeAll(async () => {
    await buildPackagesForLab(['packages/node', 'packages/felix', 'packages/cni', 'packages/bgp-speaker']);
    scratch = mkdtempSync(join(tmpdir(), `caracal-cluster-${tag}-`));
    lab = await Lab.up({
      name: `caracal cluster lab test ${tag}`,
      segments: [{ name: 'cluster', rootAddresses: [rootAddress] }],
      subnets: [{ name: 'cluster', cidr: `${subnet}.0/24` }],
      hosts: NODES.map((node) => ({
        name: node,
        interfaces: [{ segment: 'cluster', addresses: [nodeAddress(node)] }],
        // Proxy ARP answers the pods' 169.254.1.1 only when the node has a route to it (as on a real node).
        routes: [{ to: 'default' as const, via: rootAddress }],
      })),
    });
    const clientPort = await findFreePort();
    let peerPort = await findFreePort();
    while (peerPort === clientPort) peerPort = await findFreePort();
    etcd = await startLocalEtcd({
      dataDir: join(scratch, 'etcd'),
      host: rootAddress,
      clientPort,
      peerPort,
      name: `cl${tag}`,
    });
    endpoint = `http://${rootAddress}:${clientPort}`;
    store = connectDatastore({ endpoints: [endpoint] });
    const pool = labIpPool(`pool-${tag}`, poolCidr, 26);
    await new ResourceStore(store).create(pool);
    for (const node of NODES) await startAgent(node);
    await Promise.all(NODES.map((node) => waitReady(node)));
    // Two pods per node, the nodes in parallel.
    await Promise.all(
      NODES.map(async (node) => {
        await addPod(node, `${node}-a`);
        await addPod(node, `${node}-b`);
      }),
    );
  }, 240_000);

  afterAll(async () => {
    if (failed && scratch) {
      for (const node of NODES) {
        for (const file of ['bgpd.log', 'felix.log']) {
          const path = join(runDir(node), file);
          if (existsSync(path))
            console.log(
              `--- ${node}/${file} (tail) ---\n${readFileSync(path, 'utf8').split('\n').slice(-25).join('\n')}`,
            );
        }
        const agentLog = agents.get(node)?.log();
        if (agentLog)
          console.log(`--- ${node}/caracal-node (tail) ---\n${agentLog.split('\n').slice(-25).join('\n')}`);
      }
    }
    // Stops every process in the node namespaces (the agents, their felix and bgpd) and removes them.
    await lab?.down({ keepLogs: failed });
    await store?.close().catch(() => {});
    await etcd?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  it('full mesh: every node advertises its block, and every pod pings and TCP-connects to every other', async () => {
    // Each node has a route (proto 201) to every other node's block, via that node.
    const blocks = new Map(NODES.map((node) => [node, statusOf(node).advertisedBlocks]));
    for (const node of NODES) expect(blocks.get(node)?.length).toBeGreaterThan(0);
    await waitUntil(
      'every remote block routed via its node',
      async () => {
        for (const node of NODES) {
          const routes = [...(await ourRoutes(node))].join('\n');
          for (const other of NODES) {
            if (other === node) continue;
            for (const block of blocks.get(other) ?? []) {
              if (!routes.includes(`${block} via ${nodeAddress(other)}`) || !/proto 201/.test(routes))
                return false;
            }
          }
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(pods).toHaveLength(8);
    const failures: string[] = [];
    for (const from of pods) {
      await Promise.all(
        pods
          .filter((to) => to !== from)
          .map(async (to) => {
            const ping = await theLab().ping(from.name, to.ip, { timeoutMs: 3000 });
            if (!ping.ok) failures.push(`ping ${from.name} -> ${to.name} (${to.ip})`);
            const tcp = await theLab().tcpConnect(from.name, to.ip, POD_PORT, { timeoutMs: 3000 });
            if (!tcp.ok || tcp.received !== `caracal-lab ${to.name}`)
              failures.push(`tcp ${from.name} -> ${to.name}: ${tcp.error ?? tcp.received}`);
          }),
      );
    }
    expect(failures).toEqual([]);
    // Metrics of the three processes: the agent's (9098) sees every session Established, bgpd serves its
    // own on 9092 (three Established sessions), Felix its own on 9091.
    for (const node of NODES) {
      expect(await metric(node, 'caracal_node_bgp_sessions_established')).toBe(3);
      expect(await metric(node, 'caracal_node_ready')).toBe(1);
      const bgpdMetrics = await (await fetch(`http://${nodeAddress(node)}:9092/metrics`)).text();
      expect(bgpdMetrics).toMatch(/^caracal_bgp_sessions\{state="Established"\} 3$/m);
      const felixMetrics = await (await fetch(`http://${nodeAddress(node)}:9091/metrics`)).text();
      expect(felixMetrics).toMatch(/^felix_datastore_in_sync 1$/m);
    }
  }, 120_000);

  it('a new pod is reachable from every other node (time logged)', async () => {
    const started = performance.now();
    const pod = await addPod('n1', 'n1-new');
    const added = performance.now();
    const reachedAt = new Map<string, number>();
    await waitUntil(
      'the new pod reachable from a pod on every other node',
      async () => {
        await Promise.all(
          (['n2', 'n3', 'n4'] as const).map(async (node) => {
            if (reachedAt.has(node)) return;
            if ((await theLab().ping(`${node}-a`, pod.ip, { timeoutMs: 1000 })).ok)
              reachedAt.set(node, performance.now());
          }),
        );
        return reachedAt.size === 3 || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    console.log(
      `new pod ${pod.ip}: CNI ADD took ${(added - started).toFixed(0)} ms; reachable after ADD from ${[
        ...reachedAt,
      ]
        .map(([node, at]) => `${node} +${(at - added).toFixed(0)} ms`)
        .join(', ')}`,
    );
    const tcp = await theLab().tcpConnect('n4-b', pod.ip, POD_PORT);
    expect(tcp.received).toBe('caracal-lab n1-new');
  }, 60_000);

  it('CNI DEL removes the pod route and releases its address', async () => {
    const pod = await addPod('n2', 'n2-gone');
    const routeOf = async () =>
      (
        await theLab().exec('n2', ['ip', '-4', 'route', 'show', `${pod.ip}/32`], { check: true })
      ).stdout.trim();
    expect(await routeOf()).toContain(`dev ${pod.hostInterface}`);
    const ipam = new IpamClient({ store: store as EtcdKeyValueStore, pools: [] });
    const allocated = async () =>
      (await ipam.listBlocks()).flatMap((b) => allocationsOf(b)).some((a) => a.ip === pod.ip);
    expect(await allocated()).toBe(true);
    const deleted = await deletePod(pod);
    expect(deleted.status).toBe(0);
    expect(deleted.stdout).toBe('');
    pods.splice(pods.indexOf(pod), 1);
    expect(await routeOf()).toBe('');
    expect(await allocated()).toBe(false);
    const links = (await theLab().exec('n2', ['ip', '-o', 'link', 'show'], { check: true })).stdout;
    expect(links).not.toContain(pod.hostInterface);
    // Felix does not bring it back either (its WorkloadEndpoint is gone).
    await sleep(1500);
    expect(await routeOf()).toBe('');
    expect((await theLab().ping('n3-a', pod.ip, { timeoutMs: 1000 })).ok).toBe(false);
  }, 60_000);

  async function restartWithoutDisruption(killChildren: boolean): Promise<void> {
    // A long-lived TCP flow between pods on two OTHER nodes (n3 → n4).
    const port = killChildren ? '7172' : '7171';
    const target = pods.find((p) => p.name === 'n4-a') as Pod;
    const server = probe('n4-a', [process.execPath, '-e', FLOW_SERVER, port]);
    const client = { current: undefined as Probe | undefined };
    try {
      await waitForOutput(server, /listening/, 'the flow server listening');
      const flow = probe('n3-a', [process.execPath, '-e', FLOW_CLIENT, target.ip, port]);
      client.current = flow;
      await waitForOutput(flow, /echoes [1-9]/, 'the flow echoing');

      const baseline = new Map<NodeName, Set<string>>();
      for (const node of NODES) baseline.set(node, await ourRoutes(node));
      expect([...(baseline.get('n1') ?? [])].some((r) => /proto 201/.test(r))).toBe(true);
      expect([...(baseline.get('n1') ?? [])].some((r) => r.startsWith('blackhole'))).toBe(true);
      const before = statusOf('n1');
      const restartsLoggedBefore = gracefulRestartsLogged('n1');
      const sampler = sampleRoutes(NODES, baseline);
      const echoesBefore = echoCount(flow);

      const agent = agents.get('n1') as LabProcess;
      process.kill(agent.pid, 'SIGKILL');
      if (killChildren) {
        for (const pid of [before.felixPid, before.bgpdPid]) if (pid !== null) process.kill(pid, 'SIGKILL');
      }
      await agent.exited;
      await sleep(2000); // the node runs without its agent for a while
      if (!killChildren) {
        for (const pid of [before.felixPid, before.bgpdPid]) expect(existsSync(`/proc/${pid}`)).toBe(true);
      }
      await startAgent('n1');
      await waitReady('n1');
      await sleep(3000); // and a little longer: graceful-restart sweeps, Felix's first apply
      const { missing, samples } = await sampler.stop();

      const after = statusOf('n1');
      if (killChildren) {
        expect(after.felixPid).not.toBe(before.felixPid);
        expect(after.bgpdPid).not.toBe(before.bgpdPid);
        // The new bgpd found our proto-201 routes and started as the restarting speaker.
        expect(gracefulRestartsLogged('n1')).toBe(restartsLoggedBefore + 1);
      } else {
        expect(after).toMatchObject({
          felixPid: before.felixPid,
          bgpdPid: before.bgpdPid,
          felixAdopted: true,
          bgpdAdopted: true,
        });
      }
      expect(samples).toBeGreaterThan(10);
      expect(missing).toEqual([]);
      expect(flow.running()).toBe(true);
      expect(flow.output()).not.toContain('FLOW BROKEN');
      expect(echoCount(flow)).toBeGreaterThan(echoesBefore);
      process.kill(flow.pid, 'SIGTERM');
      await flow.exited;
      const summary = /FLOW OK \d+ maxGapMs \d+/.exec(flow.output())?.[0];
      console.log(
        `restart of caracal-node on n1 (${killChildren ? 'with' : 'without'} its children): ${samples} route samples on every node, ${summary}`,
      );
      expect(summary).toBeDefined();
    } finally {
      for (const p of [client.current, server]) {
        if (p?.running()) {
          process.kill(p.pid, 'SIGKILL');
          await p.exited;
        }
      }
    }
  }

  it('kill -9 caracal-node on n1 and restart it: children adopted, no flow between other nodes interrupted, no route of ours disappears', async () => {
    await restartWithoutDisruption(false);
  }, 120_000);

  it('kill -9 caracal-node AND its felix and bgpd on n1, restart: graceful restart keeps every route, flows keep going', async () => {
    await restartWithoutDisruption(true);
  }, 180_000);

  it('a Felix crash leaves the BGP sessions alone; a bgpd crash is restarted gracefully, no route lost', async () => {
    const sessionsOf = async (node: NodeName) =>
      new Map(
        (await queryBgpdStatus(join(runDir(node), 'bgpd.sock'))).peers.map((p) => [
          p.name ?? p.peerAddress,
          `${p.state} since ${(p as { since?: string }).since}`,
        ]),
      );
    const baseline = new Map<NodeName, Set<string>>();
    for (const node of NODES) baseline.set(node, await ourRoutes(node));
    const sampler = sampleRoutes(NODES, baseline);
    try {
      // Felix on n2 dies: restarted by the agent; n2's sessions are not touched.
      const sessionsBefore = await sessionsOf('n2');
      const felixRestarts = (await metric('n2', 'caracal_node_felix_restarts_total')) ?? 0;
      const felix = statusOf('n2').felixPid as number;
      process.kill(felix, 'SIGKILL');
      await waitUntil(
        'Felix restarted on n2',
        () => {
          const pid = statusOf('n2').felixPid;
          return (pid !== null && pid !== felix) || undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      await waitReady('n2', 30_000);
      expect(await metric('n2', 'caracal_node_felix_restarts_total')).toBe(felixRestarts + 1);
      expect(await sessionsOf('n2')).toEqual(sessionsBefore);

      // bgpd on n3 dies: the agent restarts it; the new one starts as a graceful restart.
      const bgpdRestarts = (await metric('n3', 'caracal_node_bgpd_restarts_total')) ?? 0;
      const restartsLogged = gracefulRestartsLogged('n3');
      const bgpd = statusOf('n3').bgpdPid as number;
      process.kill(bgpd, 'SIGKILL');
      await waitUntil(
        'bgpd restarted on n3',
        () => {
          const pid = statusOf('n3').bgpdPid;
          return (pid !== null && pid !== bgpd) || undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      await waitReady('n3', 60_000);
      expect(await metric('n3', 'caracal_node_bgpd_restarts_total')).toBe(bgpdRestarts + 1);
      expect(gracefulRestartsLogged('n3')).toBe(restartsLogged + 1);
      await sleep(2000);
    } finally {
      const { missing, samples } = await sampler.stop();
      expect(samples).toBeGreaterThan(10);
      expect(missing).toEqual([]);
    }
    for (const node of NODES) await waitReady(node, 30_000);
  }, 120_000);

  it('a remote block route and a local pod route deleted by hand are restored', async () => {
    const remoteBlock = statusOf('n3').advertisedBlocks[0] as string;
    const localPod = pods.find((p) => p.node === 'n2') as Pod;
    const routes = async () => [...(await ourRoutes('n2'))].join('\n');
    expect(await routes()).toContain(`${remoteBlock} via ${nodeAddress('n3')}`);
    await theLab().exec('n2', ['ip', 'route', 'del', remoteBlock, 'proto', '201'], { check: true });
    await theLab().exec('n2', ['ip', 'route', 'del', `${localPod.ip}/32`, 'proto', '96'], { check: true });
    await waitUntil(
      'both routes back',
      async () => {
        const now = await routes();
        return (
          (now.includes(`${remoteBlock} via ${nodeAddress('n3')}`) &&
            now.includes(`${localPod.ip} dev ${localPod.hostInterface}`)) ||
          undefined
        );
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect((await theLab().ping('n3-a', localPod.ip)).ok).toBe(true);
  }, 60_000);

  it('CNI errors carry the spec codes (version 1, environment 4, config 7), and take nothing', async () => {
    const podName = 'n4-err';
    await theLab().addPod({ name: podName, host: 'n4', mode: 'bare' });
    const netns = `/var/run/netns/${theLab().nsName(podName)}`;
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: `c${randomBytes(8).toString('hex')}`,
      CNI_NETNS: netns,
      CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${podName}`,
    };
    const ipam = new IpamClient({ store: store as EtcdKeyValueStore, pools: [] });
    const allocationCount = async () => (await ipam.listBlocks()).flatMap((b) => allocationsOf(b)).length;
    const before = await allocationCount();
    const errorOf = (run: CniRun) => {
      expect(run.status).not.toBe(0);
      return JSON.parse(run.stdout) as { code: number; msg: string };
    };

    const version = errorOf(await cni('n4', 'caracal', env, networkConfig('n4', { cniVersion: '0.2.0' })));
    expect(version.code).toBe(1);
    expect(version.msg).toContain('0.2.0');

    const noContainer = errorOf(
      await cni('n4', 'caracal', { ...env, CNI_CONTAINERID: undefined }, networkConfig('n4')),
    );
    expect(noContainer.code).toBe(4);
    expect(noContainer.msg).toContain('CNI_CONTAINERID');

    const noIpamPlugin = errorOf(
      await cni('n4', 'caracal', env, networkConfig('n4', { ipam: { type: 'caracal-no-such-ipam' } })),
    );
    expect(noIpamPlugin.code).toBe(7);
    expect(noIpamPlugin.msg).toContain('caracal-no-such-ipam');

    expect(await allocationCount()).toBe(before);
    const podLinks = (await theLab().exec(podName, ['ip', '-o', 'link', 'show'], { check: true })).stdout;
    expect(podLinks).not.toContain('eth0');
  }, 60_000);

  it('a new Node, a new block and a BGPPeer reach every bgpd by reload, without resetting unchanged sessions', async () => {
    type Row = BgpdStatusAnswer['peers'][number] & { since?: string };
    const bgpdStatus = (node: NodeName) => queryBgpdStatus(join(runDir(node), 'bgpd.sock'));
    const sessions = async (node: NodeName) =>
      new Map((await bgpdStatus(node)).peers.map((p) => [p.name ?? p.peerAddress, p as Row]));
    const before = new Map<NodeName, { pid: number | null; reloads: number; rows: Map<string, Row> }>();
    for (const node of NODES) {
      before.set(node, {
        pid: statusOf(node).bgpdPid,
        reloads: (await metric(node, 'caracal_node_bgpd_reloads_total')) ?? 0,
        rows: await sessions(node),
      });
      expect([...(before.get(node)?.rows.values() ?? [])].map((r) => r.state)).toEqual([
        'Established',
        'Established',
        'Established',
      ]);
    }
    const resources = new ResourceStore(store as EtcdKeyValueStore);
    const n5 = `n5-${tag}`;
    const n5Address = `${subnet}.15`;
    const node5: NodeResource = {
      apiVersion: 'caracal.io/v1',
      kind: 'Node',
      metadata: { name: n5 },
      spec: { bgp: { ipv4Address: `${n5Address}/24` } },
    };
    const peer: BGPPeerResource = {
      apiVersion: 'caracal.io/v1',
      kind: 'BGPPeer',
      metadata: { name: `tor-${tag}` },
      spec: { peerIP: n5Address, asNumber: 64512, holdTime: '30s' },
    };
    const ipam = new IpamClient({
      store: store as EtcdKeyValueStore,
      pools: [{ name: `pool-${tag}`, cidr: poolCidr, blockSize: 26 }],
      nodeMatchesSelector: () => true,
    });
    const handle = `fill-${tag}`;
    try {
      // A new Node: every bgpd gets a (not yet Established) session to it; readiness names it.
      await resources.create(node5);
      for (const node of NODES) {
        await waitUntil(
          `${node}'s bgpd peering with ${n5}`,
          async () => (await sessions(node)).has(`mesh-${n5}`) || undefined,
          {
            timeoutMs: 20_000,
            intervalMs: 200,
          },
        );
        const ready = await readiness(node);
        expect(ready.status).toBe(503);
        expect(ready.reasons.some((r) => r.startsWith(`BGP session mesh-${n5} (${n5Address}) is `))).toBe(
          true,
        );
      }

      // A new block on n2 (its first one filled by 70 addresses): advertised, routed on the others via n2.
      const blocksBefore = statusOf('n2').advertisedBlocks;
      const assigned = await ipam.autoAssign({ node: nodeResourceName('n2'), handleId: handle, num4: 70 });
      const newBlocks = [...new Set(assigned.assignments.map((a) => a.block))].filter(
        (b) => !blocksBefore.includes(b),
      );
      expect(newBlocks.length).toBeGreaterThan(0);
      await waitUntil(
        'the new block routed via n2 on n1, n3, n4',
        async () => {
          for (const node of ['n1', 'n3', 'n4'] as const) {
            const routes = [...(await ourRoutes(node))].join('\n');
            if (!newBlocks.every((b) => routes.includes(`${b} via ${nodeAddress('n2')}`))) return undefined;
          }
          return true;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      expect(statusOf('n2').advertisedBlocks).toEqual(
        expect.arrayContaining([...blocksBefore, ...newBlocks]),
      );

      // A BGPPeer to n5's address replaces the mesh session to it (its hold time wins).
      await resources.create(peer);
      for (const node of NODES) {
        await waitUntil(
          `${node}'s bgpd with the BGPPeer`,
          async () => {
            const rows = await sessions(node);
            return (rows.has(`peer-tor-${tag}`) && !rows.has(`mesh-${n5}`)) || undefined;
          },
          { timeoutMs: 20_000, intervalMs: 200 },
        );
      }
    } finally {
      await resources.delete('BGPPeer', peer.metadata.name).catch(() => {});
      await resources.delete('Node', n5).catch(() => {});
      await ipam.releaseByHandle(handle).catch(() => {});
    }
    for (const node of NODES) await waitReady(node, 30_000);
    // Every change was a reload of the same bgpd; the sessions between the four nodes never reset.
    for (const node of NODES) {
      const was = before.get(node);
      expect(statusOf(node).bgpdPid).toBe(was?.pid);
      expect(await metric(node, 'caracal_node_bgpd_reloads_total')).toBeGreaterThanOrEqual(
        (was?.reloads ?? 0) + 3,
      );
      // Readiness follows the agent's plan; the bgpd reload that drops n5's session may land a moment later.
      const expected = [...(was?.rows.keys() ?? [])].sort().join(',');
      const now = await waitUntil(
        `${node}'s bgpd back to the four-node sessions`,
        async () => {
          const rows = await sessions(node);
          const names = [...rows.keys()].sort().join(',');
          // Thrown, so that a timeout names the sessions bgpd still has.
          if (names !== expected) throw new Error(`bgpd sessions ${names}, expected ${expected}`);
          return rows;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      expect([...now.keys()].sort()).toEqual([...(was?.rows.keys() ?? [])].sort());
      for (const [name, row] of was?.rows ?? []) {
        expect(row.since).toMatch(/^\d{4}-\d\d-\d\dT/);
        expect({ name, state: now.get(name)?.state, since: now.get(name)?.since }).toEqual({
          name,
          state: 'Established',
          since: row.since,
        });
      }
    }
  }, 150_000);
});
