// Lab test of a dual-stack pod on one node, the Calico way, on the real kernel: a real etcd (TestEtcd,
// reached from a "node" namespace through a TCP forwarder on a per-run veth address), an IPv4 and an IPv6
// IPPool, two pods created through the real bin/caracal (IPAM by bin/caracal-ipam with Calico's
// assign_ipv4/assign_ipv6 and ipv4_pools/ipv6_pools), and the real bin/caracal-felix in the node namespace
// programming their routes. Proves: the pods get a /32 and a /128 and an IPv6 default route via the host
// veth's link-local address; Felix (not the plugin) brings back the hand-deleted /128 routes, the IPv6
// blackhole of the node's block and the IPv6 forwarding the pods need; `ping -6` node → pod and pod ↔ pod;
// a Felix restart rewrites no IPv6 route;
// CHECK notices a missing IPv6 default route; DEL removes the /128 and releases both addresses; bad options
// and a missing IPv6 pool are refused leaving nothing assigned.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type EtcdKeyValueStore,
  etcdUnavailableReason,
  findFreePort,
  keys,
  TcpForwarder,
  TestEtcd,
} from '@caracal/datastore';
import { allocationsOf, IpamClient } from '@caracal/ipam';
import { buildPackagesForLab, perRunUla48 } from '@caracal/lab';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { binDir, type Invocation, type PluginRun, runPluginInNamespace } from './cni-lab.js';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
const etcdMissing = etcdUnavailableReason();
const runnable = namespacesWork && etcdMissing === undefined;
if (!runnable)
  console.log(`dual-stack lab test skipped: ${etcdMissing ?? 'needs root and network namespaces'}`);

const NODE = 'node1';
const prefix = `crd${randomBytes(3).toString('hex')}`;
const nodeNs = `${prefix}-node`;
const rootLink = `${prefix}r`;
// Per-run addresses: a random /30 uplink, a random IPv4 pool and a random ULA /64 IPv6 pool.
const subnet = `100.${64 + randomInt(0, 64)}.${randomInt(0, 256)}`;
const quad = randomInt(0, 63) * 4;
const rootAddress = `${subnet}.${quad + 1}`;
const nodeAddress = `${subnet}.${quad + 2}`;
const ula = perRunUla48();
const nodeAddress6 = `${ula}:ffff::2`;
const pool4 = { name: `${prefix}-v4`, cidr: `10.${randomInt(100, 200)}.${randomInt(0, 256)}.0/24` };
const pool6 = { name: `${prefix}-v6`, cidr: `${ula}::/64` };
const podNamespaces: string[] = [];

let scratch = '';
let etcd: TestEtcd | undefined;
let store: EtcdKeyValueStore;
let forwarder: TcpForwarder | undefined;
let endpoint = '';
let felix: ChildProcess | undefined;
let healthPort = 0;

const inNode = (...argv: string[]) =>
  execFileSync('ip', ['netns', 'exec', nodeNs, ...argv], { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runPlugin = (binary: string, call: Invocation): Promise<PluginRun> =>
  runPluginInNamespace(nodeNs, binary, call);

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** ping from a namespace; true when one echo reply came back within 2 s. */
function pings(ns: string, address: string): boolean {
  const family = address.includes(':') ? '-6' : '-4';
  return spawnSync('ip', ['netns', 'exec', ns, 'ping', family, '-c', '1', '-W', '2', address]).status === 0;
}

function networkConfig(ipam: Record<string, unknown> = {}): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'caracal',
    etcd_endpoints: endpoint,
    nodename: NODE,
    mtu: 1500,
    ipam: { type: 'caracal-ipam', assign_ipv4: 'true', assign_ipv6: 'true', ...ipam },
  });
}

async function putPool(pool: { name: string; cidr: string }, extra: Record<string, unknown> = {}) {
  await store.put(
    keys.resource('IPPool', pool.name),
    JSON.stringify({
      apiVersion: 'caracal.io/v1',
      kind: 'IPPool',
      metadata: { name: pool.name },
      spec: { cidr: pool.cidr, nodeSelector: 'all()', ...extra },
    }),
  );
}

async function allocationsOfHandle(handleId: string): Promise<string[]> {
  const blocks = await new IpamClient({ store, pools: [] }).listBlocks();
  return blocks.flatMap((block) =>
    allocationsOf(block)
      .filter((allocation) => allocation.handleId === handleId)
      .map((allocation) => allocation.ip),
  );
}

/** The CIDRs of the blocks affine to this node (from @caracal/ipam's affinity documents). */
async function nodeBlocks(): Promise<string[]> {
  const listed = await store.list(keys.nodeAffinitiesPrefix(NODE));
  return listed.items.map((item) => (JSON.parse(item.value) as { cidr: string }).cidr);
}

interface Pod {
  readonly name: string;
  readonly ns: string;
  readonly call: Invocation & { containerId: string; netns: string; pod: string };
  result: {
    interfaces: { name: string; mac: string }[];
    ips: { address: string; gateway?: string; interface?: number }[];
    routes: { dst: string; gw?: string }[];
  };
  hostIf: string;
  ipv4: string;
  ipv6: string;
}

function newPod(name: string): Pod {
  const ns = `${prefix}-${name}`;
  execFileSync('ip', ['netns', 'add', ns]);
  podNamespaces.push(ns);
  return {
    name,
    ns,
    call: {
      command: 'ADD',
      containerId: `c${randomBytes(8).toString('hex')}`,
      netns: `/var/run/netns/${ns}`,
      pod: name,
      stdin: '',
    },
    result: { interfaces: [], ips: [], routes: [] },
    hostIf: '',
    ipv4: '',
    ipv6: '',
  };
}

async function addPod(pod: Pod, ipam: Record<string, unknown> = {}): Promise<void> {
  const run = await runPlugin('caracal', { ...pod.call, command: 'ADD', stdin: networkConfig(ipam) });
  expect(run.stderr).toBe('');
  expect(run.status, run.stdout).toBe(0);
  pod.result = JSON.parse(run.stdout);
  pod.hostIf = pod.result.interfaces[0]?.name ?? '';
  pod.ipv4 = pod.result.ips.find((ip) => !ip.address.includes(':'))?.address.split('/')[0] ?? '';
  pod.ipv6 = pod.result.ips.find((ip) => ip.address.includes(':'))?.address.split('/')[0] ?? '';
}

interface IpRoute {
  dst: string;
  dev?: string;
  type?: string;
  protocol?: string;
  gateway?: string;
}
const routes6 = (ns = nodeNs): IpRoute[] =>
  JSON.parse(execFileSync('ip', ['-n', ns, '-6', '-j', 'route', 'show'], { encoding: 'utf8' })) as IpRoute[];
const hostRoute6 = (address: string) => routes6().find((r) => r.dst === address);

const pods = { a: undefined as Pod | undefined, b: undefined as Pod | undefined };
const podA = () =>
  pods.a ??
  (() => {
    throw new Error('pod a was not created');
  })();
const podB = () =>
  pods.b ??
  (() => {
    throw new Error('pod b was not created');
  })();

function startFelix(): void {
  const log = createWriteStream(join(scratch, 'felix.log'), { flags: 'a' });
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      nodeNs,
      join(binDir, 'caracal-felix'),
      '--node-name',
      NODE,
      '--etcd-endpoints',
      endpoint,
      '--health-port',
      String(healthPort),
      '--health-host',
      '0.0.0.0',
      '--metrics-port',
      '0',
      '--run-dir',
      join(scratch, 'run'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  felix = child;
}

async function felixReady(): Promise<boolean | undefined> {
  const response = await fetch(`http://${nodeAddress}:${healthPort}/readiness`, {
    signal: AbortSignal.timeout(3000),
  });
  return response.status === 200 ? true : undefined;
}

describe.skipIf(!runnable)('a dual-stack pod: caracal + caracal-ipam + caracal-felix', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/cni', 'packages/felix']);
    scratch = mkdtempSync(join(tmpdir(), `${prefix}-`));
    execFileSync('ip', ['netns', 'add', nodeNs]);
    execFileSync('ip', ['link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nodeNs]);
    execFileSync('ip', ['addr', 'add', `${rootAddress}/30`, 'dev', rootLink]);
    execFileSync('ip', ['link', 'set', rootLink, 'up']);
    inNode('ip', 'link', 'set', 'lo', 'up');
    inNode('ip', 'addr', 'add', `${nodeAddress}/30`, 'dev', 'eth0');
    inNode('ip', 'addr', 'add', `${nodeAddress6}/64`, 'dev', 'eth0', 'nodad');
    inNode('ip', 'link', 'set', 'eth0', 'up');
    inNode('ip', 'route', 'add', 'default', 'via', rootAddress);
    etcd = await TestEtcd.start();
    store = etcd.connect();
    const forwarderPort = await findFreePort();
    forwarder = new TcpForwarder({ host: '127.0.0.1', port: etcd.clientPort });
    await forwarder.listen(rootAddress, forwarderPort);
    endpoint = `http://${rootAddress}:${forwarderPort}`;
    healthPort = await findFreePort();
    await putPool(pool4, { blockSize: 26 });
    await putPool(pool6, { blockSize: 122 });
  }, 120_000);

  let failed = false;
  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    const child = felix;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    if (failed && scratch) {
      const log = readFileSync(join(scratch, 'felix.log'), { encoding: 'utf8', flag: 'a+' });
      console.log(`--- caracal-felix log (last 30 lines) ---\n${log.split('\n').slice(-30).join('\n')}`);
    }
    for (const ns of podNamespaces) spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['netns', 'del', nodeNs]);
    spawnSync('ip', ['link', 'del', rootLink]);
    await forwarder?.close();
    await etcd?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }, 30_000);

  it('ADD gives each pod a /32 and a /128, the IPv6 default route via the host veth link-local', async () => {
    pods.a = newPod('web-a');
    pods.b = newPod('web-b');
    await addPod(podA());
    // Pod b restricts both families, one by pool name and one by CIDR (Calico's ipv4_pools/ipv6_pools).
    await addPod(podB(), { ipv4_pools: [pool4.name], ipv6_pools: [pool6.cidr] });
    for (const pod of [podA(), podB()]) {
      expect(pod.result.ips).toHaveLength(2);
      expect(pod.result.ips[0]).toMatchObject({ address: `${pod.ipv4}/32`, gateway: '169.254.1.1' });
      expect(pod.result.ips[1]).toEqual({ address: `${pod.ipv6}/128`, interface: 1 });
      expect(pod.ipv4.startsWith(pool4.cidr.split('.').slice(0, 3).join('.'))).toBe(true);
      expect(pod.ipv6.startsWith(`${ula}:`)).toBe(true);
      expect(pod.result.routes).toEqual([{ dst: '0.0.0.0/0', gw: '169.254.1.1' }, { dst: '::/0' }]);

      // Pod side: the /128 (usable at once: no DAD), the IPv6 default route via the host veth's link-local
      // address (Calico's fe80::ecee:eeff:feee:eeee when the kernel derives it from ee:ee:ee:ee:ee:ee).
      const podAddresses = execFileSync('ip', ['-n', pod.ns, '-6', 'addr', 'show', 'dev', 'eth0'], {
        encoding: 'utf8',
      });
      const podAddressLine = podAddresses.split('\n').find((line) => line.includes(`inet6 ${pod.ipv6}/128`));
      expect(podAddressLine).toContain('scope global');
      expect(podAddressLine).not.toContain('tentative');
      const hostLinkLocal = (
        JSON.parse(inNode('ip', '-j', '-6', 'addr', 'show', 'dev', pod.hostIf, 'scope', 'link')) as {
          addr_info: { local: string }[];
        }[]
      )[0]?.addr_info[0]?.local;
      expect(hostLinkLocal).toMatch(/^fe80:/);
      expect(routes6(pod.ns).find((r) => r.dst === 'default')).toMatchObject({
        gateway: hostLinkLocal,
        dev: 'eth0',
      });
      // Host side: Calico's IPv6 sysctls on the veth, and the plugin's own /128 route (Felix's protocol).
      for (const [sysctl, value] of [
        ['proxy_ndp', '1'],
        ['forwarding', '1'],
        ['accept_ra', '0'],
      ]) {
        expect(inNode('cat', `/proc/sys/net/ipv6/conf/${pod.hostIf}/${sysctl}`).trim()).toBe(value);
      }
      expect(hostRoute6(pod.ipv6)).toMatchObject({ dev: pod.hostIf, protocol: '96' });

      // IPAM holds both under the handle; the WorkloadEndpoint names both, so Felix routes both.
      const handleId = `k8s-pod-network.${pod.call.containerId}`;
      expect((await allocationsOfHandle(handleId)).sort()).toEqual([pod.ipv4, pod.ipv6].sort());
      const wep = JSON.parse(
        (
          await store.get(
            keys.resource(
              'WorkloadEndpoint',
              `${NODE}-k8s-${pod.name.replaceAll('-', '--')}-eth0`,
              'default',
            ),
          )
        )?.value ?? 'null',
      );
      expect(wep?.spec).toMatchObject({
        interfaceName: pod.hostIf,
        ipNetworks: [`${pod.ipv4}/32`, `${pod.ipv6}/128`],
      });
    }
    // The node's IPv6 block is a /122 of the IPv6 pool, affine to this node.
    expect(await nodeBlocks()).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^${ula}:.*/122$`))]),
    );
  }, 60_000);

  it('Felix programs the /128 routes, the IPv6 blackhole and IPv6 forwarding; ping -6 works both ways', async () => {
    // Take away what the plugin made on the host side: without it the pods are unreachable over IPv6.
    for (const pod of [podA(), podB()]) inNode('ip', '-6', 'route', 'del', `${pod.ipv6}/128`);
    expect(inNode('cat', '/proc/sys/net/ipv6/conf/all/forwarding').trim()).toBe('0');
    expect(pings(nodeNs, podA().ipv6)).toBe(false);

    startFelix();
    await waitFor('Felix readiness', felixReady, 60_000);
    for (const pod of [podA(), podB()]) {
      expect(hostRoute6(pod.ipv6)).toMatchObject({ dev: pod.hostIf, protocol: '96' });
    }
    const block6 = (await nodeBlocks()).find((cidr) => cidr.includes(':'));
    expect(block6).toMatch(/\/122$/);
    expect(routes6().find((r) => r.dst === block6)).toMatchObject({ type: 'blackhole', protocol: '96' });
    expect(inNode('cat', '/proc/sys/net/ipv6/conf/all/forwarding').trim()).toBe('1');

    // Node → pod, pod → node, pod a ↔ pod b, over IPv6 (and IPv4 for comparison).
    expect(pings(nodeNs, podA().ipv6)).toBe(true);
    expect(pings(podA().ns, nodeAddress6)).toBe(true);
    expect(pings(podA().ns, podB().ipv6)).toBe(true);
    expect(pings(podB().ns, podA().ipv6)).toBe(true);
    expect(pings(podA().ns, podB().ipv4)).toBe(true);
  }, 90_000);

  it('a Felix restart finds the IPv6 routes in place and rewrites none', async () => {
    const child = felix;
    if (!child) throw new Error('felix is not running');
    const before = inNode('ip', '-6', 'route', 'show');
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(inNode('ip', '-6', 'route', 'show')).toBe(before);
    startFelix();
    await waitFor('Felix readiness after the restart', felixReady, 60_000);
    expect(inNode('ip', '-6', 'route', 'show')).toBe(before);
    const status = JSON.parse(readFileSync(join(scratch, 'run', 'status.json'), 'utf8'));
    expect(status.lastApply.report).toMatchObject({ routesReplaced: 0, routesRemoved: 0, errors: [] });
  }, 90_000);

  it('CHECK passes, and names a missing IPv6 default route', async () => {
    const pod = podA();
    const check = () =>
      runPlugin('caracal', {
        ...pod.call,
        command: 'CHECK',
        stdin: JSON.stringify({ ...JSON.parse(networkConfig()), prevResult: pod.result }),
      });
    const passed = await check();
    expect(passed.stdout).toBe('');
    expect(passed.status).toBe(0);
    const gateway = routes6(pod.ns).find((r) => r.dst === 'default')?.gateway ?? '';
    execFileSync('ip', ['-n', pod.ns, '-6', 'route', 'del', 'default']);
    const failedCheck = await check();
    expect(failedCheck.status).not.toBe(0);
    expect(JSON.parse(failedCheck.stdout)).toMatchObject({
      code: 5,
      msg: "CHECK failed: pod has no IPv6 default route via the host veth's link-local address",
    });
    execFileSync('ip', ['-n', pod.ns, '-6', 'route', 'add', 'default', 'via', gateway, 'dev', 'eth0']);
    expect(pings(pod.ns, podB().ipv6)).toBe(true);
  }, 60_000);

  it('DEL removes the IPv6 route and releases both addresses; the other pod keeps its own', async () => {
    const pod = podA();
    const handleId = `k8s-pod-network.${pod.call.containerId}`;
    const deleted = await runPlugin('caracal', { ...pod.call, command: 'DEL', stdin: networkConfig() });
    expect(deleted.stderr).toBe('');
    expect(deleted.status).toBe(0);
    expect(hostRoute6(pod.ipv6)).toBeUndefined();
    expect(await allocationsOfHandle(handleId)).toEqual([]);
    expect(await store.get(keys.handle(handleId))).toBeUndefined();
    // Felix has seen the endpoint go and does not bring the route back.
    await waitFor('Felix readiness after the DEL', felixReady, 30_000);
    expect(hostRoute6(pod.ipv6)).toBeUndefined();
    expect(hostRoute6(podB().ipv6)).toMatchObject({ dev: podB().hostIf });
    expect(pings(nodeNs, podB().ipv6)).toBe(true);
  }, 60_000);

  it('refuses a bad option and a missing IPv6 pool, leaving nothing assigned', async () => {
    const pod = newPod('web-c');
    const handleId = `k8s-pod-network.${pod.call.containerId}`;
    const bad = await runPlugin('caracal', { ...pod.call, stdin: networkConfig({ assign_ipv6: 'yes' }) });
    expect(bad.status).not.toBe(0);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      code: 7,
      msg: 'invalid IPAM configuration: ipam.assign_ipv6 must be "true" or "false" (or a boolean), got "yes"',
    });
    const crossed = await runPlugin('caracal', {
      ...pod.call,
      stdin: networkConfig({ ipv6_pools: [pool4.name] }),
    });
    expect(JSON.parse(crossed.stdout)).toMatchObject({ code: 7 });
    expect(JSON.parse(crossed.stdout).msg).toContain(
      `ipam.ipv6_pools[0] "${pool4.name}" is IPPool ${pool4.name}`,
    );

    await putPool(pool6, { blockSize: 122, disabled: true });
    try {
      const noPool = await runPlugin('caracal', { ...pod.call, stdin: networkConfig() });
      expect(noPool.status).not.toBe(0);
      const error = JSON.parse(noPool.stdout) as { code: number; msg: string };
      expect(error.code).toBe(100);
      expect(error.msg).toContain(`no enabled IPv6 pool selects node ${NODE}`);
    } finally {
      await putPool(pool6, { blockSize: 122 });
    }
    // All or nothing: the IPv4 address taken first went back; no interface was made.
    expect(await allocationsOfHandle(handleId)).toEqual([]);
    expect(execFileSync('ip', ['-n', pod.ns, 'link'], { encoding: 'utf8' })).not.toContain('eth0');
  }, 60_000);
});
