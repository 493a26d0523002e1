// Lab test of the caracal-node process: the built executable runs inside a fresh network namespace whose
// only route out is a default route over a per-run veth, without --ip, and reaches a real etcd (TestEtcd on
// the root namespace's 127.0.0.1, through a TCP forwarder on the veth's root-side address). It proves: the
// Node resource appears with the address and prefix detected from the default route's interface; a block
// affinity is claimed and confirmed; peers.json lists the other Nodes of etcd (mesh) with the right
// passive side and follows a Node added later; caracal-felix runs, is restarted when killed while the
// agent stays up; caracal-bgpd runs with the generated bgpd.yaml and readiness names each BGP session not
// Established; SIGTERM stops all three.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type EtcdKeyValueStore,
  etcdUnavailableReason,
  findFreePort,
  keys,
  ResourceStore,
  TcpForwarder,
  TestEtcd,
} from '@caracal/datastore';
import { buildPackagesForLab } from '@caracal/lab';
import type { NodeResource } from '@caracal/model';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { labIpPool } from '../src/index.js';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
const etcdMissing = etcdUnavailableReason();
const runnable = namespacesWork && etcdMissing === undefined;
if (!runnable)
  console.log(`caracal-node lab test skipped: ${etcdMissing ?? 'needs root and network namespaces'}`);

const prefix = `crn${randomBytes(3).toString('hex')}`;
const NODE = `${prefix}-n1`;
const ns = `${prefix}n`;
const rootVeth = `${prefix}r`;
const nsVeth = `${prefix}p`;
const subnet = `10.${randomInt(200, 250)}.${randomInt(0, 255)}`;
const rootAddress = `${subnet}.1`;
const nsAddress = `${subnet}.2`;
const mainJs = resolve(import.meta.dirname, '../dist/src/main.js');

let scratch = '';
let runDir = '';
let etcd: TestEtcd | undefined;
let store: EtcdKeyValueStore;
let resources: ResourceStore;
let forwarder: TcpForwarder | undefined;
let forwarderPort = 0;
let healthPort = 0;
let felixHealthPort = 0;
let agent: ChildProcess | undefined;
let agentExit: Promise<number | null> | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const readJson = <T>(name: string): T => JSON.parse(readFileSync(join(runDir, name), 'utf8')) as T;
async function http(path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://${nsAddress}:${healthPort}${path}`, {
    signal: AbortSignal.timeout(3000),
  });
  return { status: response.status, body: await response.text() };
}
interface Status {
  felixPid: number | null;
  bgpdPid: number | null;
  blocks: string[];
}
interface PeersFile {
  node: string;
  routerId: string;
  peers: { name: string; address: string; passive: boolean; origin: string }[];
}

const otherNode = (name: string, ip: string): NodeResource => ({
  apiVersion: 'caracal.io/v1',
  kind: 'Node',
  metadata: { name },
  spec: { bgp: { ipv4Address: ip } },
});

describe.skipIf(!runnable)('caracal-node in a namespace with a real etcd', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/node', 'packages/felix', 'packages/bgp-speaker']);
    scratch = mkdtempSync(join(tmpdir(), `${prefix}-`));
    runDir = join(scratch, 'run');
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['link', 'add', rootVeth, 'type', 'veth', 'peer', 'name', nsVeth]);
    execFileSync('ip', ['link', 'set', nsVeth, 'netns', ns]);
    execFileSync('ip', ['addr', 'add', `${rootAddress}/24`, 'dev', rootVeth]);
    execFileSync('ip', ['link', 'set', rootVeth, 'up']);
    const inNs = (...argv: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...argv]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'addr', 'add', `${nsAddress}/24`, 'dev', nsVeth);
    inNs('ip', 'link', 'set', nsVeth, 'up');
    inNs('ip', 'route', 'add', 'default', 'via', rootAddress);
    etcd = await TestEtcd.start();
    store = etcd.connect();
    resources = new ResourceStore(store);
    forwarderPort = await findFreePort();
    healthPort = await findFreePort();
    felixHealthPort = await findFreePort();
    forwarder = new TcpForwarder({ host: '127.0.0.1', port: etcd.clientPort });
    await forwarder.listen(rootAddress, forwarderPort);
  }, 120_000);

  let failed = false;
  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGTERM');
      await Promise.race([agentExit, sleep(10_000)]);
    }
    // Anything still running in the namespace was started by this test (the agent or its felix).
    const leftovers = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    for (const pid of leftovers) spawnSync('kill', ['-9', pid]);
    if (failed && scratch) {
      for (const log of ['agent.log', 'run/felix.log']) {
        const path = join(scratch, log);
        if (existsSync(path))
          console.log(
            `--- ${log} (last 40 lines) ---\n${readFileSync(path, 'utf8').split('\n').slice(-40).join('\n')}`,
          );
      }
    }
    await forwarder?.close();
    await etcd?.stop();
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', rootVeth]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('exits 2 on an unknown flag, a bare --ip and a bad --ip6 or IP6_AUTODETECTION_METHOD, saying why', () => {
    const unknown = spawnSync(process.execPath, [mainJs, '--name', NODE, '--no-such-flag'], {
      encoding: 'utf8',
    });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--no-such-flag'");
    const bare = spawnSync(process.execPath, [mainJs, '--name', NODE, '--ip', '10.0.0.5'], {
      encoding: 'utf8',
    });
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain('has no prefix length');
    expect(bare.stderr).toContain('calico#2375');
    const badIp6 = spawnSync(process.execPath, [mainJs, '--name', NODE, '--ip6', 'autodetec'], {
      encoding: 'utf8',
      env: { ...process.env, IP6: '' },
    });
    expect(badIp6.status).toBe(2);
    expect(badIp6.stderr).toContain('--ip6 (or IP6) must be "autodetect", "none"');
    expect(badIp6.stderr).toContain('got "autodetec"');
    const badMethod = spawnSync(process.execPath, [mainJs, '--name', NODE], {
      encoding: 'utf8',
      env: { ...process.env, IP6: 'autodetect', IP6_AUTODETECTION_METHOD: 'nearest' },
    });
    expect(badMethod.status).toBe(2);
    expect(badMethod.stderr).toContain(
      '--ip6-autodetection-method (or IP6_AUTODETECTION_METHOD) must be first-found, interface=REGEX, skip-interface=REGEX, can-reach=DEST or cidr=CIDR, got "nearest"',
    );
  });

  it('registers, claims a block, plans the mesh, supervises felix and stops on SIGTERM', async () => {
    const pool = labIpPool(`${prefix}-rack`, '10.78.0.0/16', 26, "rack == 'r1'");
    await resources.create(pool);
    // One node with a higher address (we connect to it) and one with a lower one (we wait for it).
    await resources.create(otherNode(`${prefix}-hi`, `${subnet}.9/24`));
    await resources.create(otherNode(`${prefix}-lo`, `${subnet}.1/24`));

    const log = createWriteStream(join(scratch, 'agent.log'));
    agent = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        mainJs,
        '--name',
        NODE,
        '--etcd-endpoints',
        `http://${rootAddress}:${forwarderPort}`,
        '--run-dir',
        runDir,
        '--health-port',
        String(healthPort),
        '--felix-health-port',
        String(felixHealthPort),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stdout?.pipe(log);
    agent.stderr?.pipe(log);
    const child = agent;
    agentExit = new Promise((r) => child.once('exit', (code) => r(code)));

    // The Node, with the address and prefix of the namespace's default-route interface.
    const registered = await waitFor('the Node resource', async () => {
      const n = await resources.get<NodeResource>('Node', NODE);
      return n?.spec.bgp?.ipv4Address === undefined ? undefined : n;
    });
    expect(registered.spec.bgp?.ipv4Address).toBe(`${nsAddress}/24`);
    expect(readFileSync(join(runDir, 'nodename'), 'utf8')).toBe(NODE);

    // The only pool selects rack r1: no block, and readiness says so, until the Node gets that label.
    const confirmedAffinities = async () =>
      (await store.list(keys.nodeAffinitiesPrefix(NODE))).items
        .map((i) => JSON.parse(i.value) as { cidr: string; state: string })
        .filter((a) => a.state === 'confirmed')
        .map((a) => a.cidr);
    const notReady = await waitFor('readiness naming the missing block', async () => {
      const body = JSON.parse((await http('/readiness')).body) as { reasons: string[] };
      return body.reasons.includes('no IPAM block claimed') ? body : undefined;
    });
    expect(notReady.reasons).not.toContain('Node not registered');
    expect(await confirmedAffinities()).toEqual([]);
    const current = (await resources.get<NodeResource>('Node', NODE)) as NodeResource;
    await resources.update({ ...current, metadata: { ...current.metadata, labels: { rack: 'r1' } } });
    const [cidr] = await waitFor('a confirmed affinity', async () => {
      const cidrs = await confirmedAffinities();
      return cidrs.length > 0 ? cidrs : undefined;
    });
    expect(cidr).toMatch(/^10\.78\.\d+\.\d+\/26$/);
    expect((await store.get(keys.block(cidr as string)))?.value).toContain(`host:${NODE}`);

    // The mesh plan: active towards the higher address, passive towards the lower one.
    const plan = await waitFor('peers.json with both nodes', () => {
      const p = readJson<PeersFile>('peers.json');
      return p.peers.length === 2 ? p : undefined;
    });
    expect(plan.routerId).toBe(nsAddress);
    expect(plan.peers.map((p) => [p.name, p.address, p.passive]).sort()).toEqual([
      [`mesh-${prefix}-hi`, `${subnet}.9`, false],
      [`mesh-${prefix}-lo`, `${subnet}.1`, true],
    ]);
    // A Node registered later joins the plan.
    await resources.create(otherNode(`${prefix}-late`, `${subnet}.50/24`));
    await waitFor(
      'the late node in peers.json',
      () => readJson<PeersFile>('peers.json').peers.some((p) => p.address === `${subnet}.50`) || undefined,
    );

    // Felix runs as a child, inside the namespace; killing it gets a new one and the agent stays up.
    const firstFelix = await waitFor(
      'a felix pid',
      () => readJson<Status>('status.json').felixPid ?? undefined,
    );
    expect(isAlive(firstFelix)).toBe(true);
    expect(readFileSync(`/proc/${firstFelix}/cmdline`, 'utf8')).toContain('felix/dist/src/main.js');
    process.kill(firstFelix, 'SIGKILL');
    const secondFelix = await waitFor('felix restarted', () => {
      const pid = readJson<Status>('status.json').felixPid;
      return pid !== null && pid !== firstFelix && isAlive(pid) ? pid : undefined;
    });
    expect(secondFelix).not.toBe(firstFelix);
    expect(agent.exitCode).toBeNull();
    expect((await http('/liveness')).status).toBe(200);
    const metrics = (await http('/metrics')).body;
    expect(metrics).toMatch(/^caracal_node_felix_restarts_total 1$/m);
    expect(metrics).toMatch(/^caracal_node_planned_peers 3$/m);

    // caracal-bgpd runs with the generated bgpd.yaml: this node's address, its block, the three nodes.
    const bgpdPid = await waitFor('a bgpd pid', () => readJson<Status>('status.json').bgpdPid ?? undefined);
    expect(isAlive(bgpdPid)).toBe(true);
    const bgpdYaml = parseYaml(readFileSync(join(runDir, 'bgpd.yaml'), 'utf8')) as {
      routerId: string;
      listen: { address: string; port: number };
      originate: { prefix: string; blackhole: boolean }[];
      peers: { name: string; address: string; passive: boolean }[];
      control: { socket: string };
    };
    expect(bgpdYaml.routerId).toBe(nsAddress);
    expect(bgpdYaml.listen).toEqual({ address: nsAddress, port: 179 });
    expect(bgpdYaml.originate).toEqual([{ prefix: cidr, blackhole: false }]);
    expect(bgpdYaml.peers.map((p) => p.address).sort()).toEqual([
      `${subnet}.1`,
      `${subnet}.50`,
      `${subnet}.9`,
    ]);
    expect(bgpdYaml.control.socket).toBe(join(runDir, 'bgpd.sock'));

    // Readiness: once Felix is ready, what remains is exactly the three BGP sessions (those nodes do not
    // exist), each named with its state.
    const waiting = await waitFor(
      'readiness waiting only for BGP sessions',
      async () => {
        const body = JSON.parse((await http('/readiness')).body) as { healthy: boolean; reasons: string[] };
        return body.reasons.length === 3 && body.reasons.every((r) => r.startsWith('BGP session '))
          ? body
          : undefined;
      },
      60_000,
    );
    expect(waiting.healthy).toBe(false);
    expect(waiting.reasons.map((r) => r.split(' ').slice(0, 4).join(' ')).sort()).toEqual([
      `BGP session mesh-${prefix}-hi (${subnet}.9)`,
      `BGP session mesh-${prefix}-late (${subnet}.50)`,
      `BGP session mesh-${prefix}-lo (${subnet}.1)`,
    ]);
    expect((await http('/metrics')).body).toMatch(/^caracal_node_ready 0$/m);

    // SIGTERM stops felix, bgpd and the agent.
    agent.kill('SIGTERM');
    expect(await agentExit).toBe(0);
    expect(isAlive(secondFelix)).toBe(false);
    expect(isAlive(bgpdPid)).toBe(false);
    expect(existsSync(join(runDir, 'node.pid'))).toBe(false);
    expect(existsSync(join(runDir, 'bgpd.pid'))).toBe(false);
  }, 150_000);
});
