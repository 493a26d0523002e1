// Lab test of the caracal-felix process: the built executable runs inside a fresh network namespace and
// reaches a real etcd (TestEtcd on the root namespace's 127.0.0.1, through a TCP forwarder on a per-run
// veth address). It proves: nothing touches the kernel before the first in-sync; the /32 scope-link route
// and the blackhole appear; a route deleted by hand comes back; a deleted endpoint loses its route;
// SIGTERM leaves the routes; a restart writes nothing (ip route identical, 0 route writes in the
// metrics and the status file); /readiness follows in-sync + apply; /metrics serves the counters.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type EtcdKeyValueStore,
  etcdUnavailableReason,
  findFreePort,
  keys,
  TcpForwarder,
  TestEtcd,
} from '@caracal/datastore';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
const etcdMissing = etcdUnavailableReason();
const runnable = namespacesWork && etcdMissing === undefined;
if (!runnable)
  console.log(`caracal-felix lab test skipped: ${etcdMissing ?? 'needs root and network namespaces'}`);

const NODE = 'node1';
const prefix = `crf${randomBytes(3).toString('hex')}`;
const ns = `${prefix}n`;
const rootVeth = `${prefix}r`;
const nsVeth = `${prefix}p`;
const workloadIface = `cara${randomBytes(6).toString('hex').slice(0, 11)}`;
const workloadPeer = `${prefix}w`;
const subnet = `10.${randomInt(200, 250)}.${randomInt(0, 255)}`;
const rootAddress = `${subnet}.1`;
const nsAddress = `${subnet}.2`;
const mainJs = resolve(import.meta.dirname, '../../dist/src/main.js');

let scratch = '';
let etcd: TestEtcd | undefined;
let store: EtcdKeyValueStore;
let forwarder: TcpForwarder | undefined;
let forwarderPort = 0;
let healthPort = 0;
let metricsPort = 0;
let felix: ChildProcess | undefined;
let felixRuns = 0;

const inNs = (...argv: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

interface IpRoute {
  dst: string;
  dev?: string;
  type?: string;
  scope?: string;
  protocol?: string;
}
const felixRoutes = (): IpRoute[] =>
  (JSON.parse(inNs('ip', '-j', 'route', 'show', 'table', 'main')) as IpRoute[]).filter(
    (r) => r.protocol === '96',
  );
const routeText = () => inNs('ip', 'route', 'show', 'table', 'main');

async function http(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://${nsAddress}:${port}${path}`, { signal: AbortSignal.timeout(3000) });
  return { status: response.status, body: await response.text() };
}
const readiness = async () => {
  const { status, body } = await http(healthPort, '/readiness');
  return { status, ...(JSON.parse(body) as { healthy: boolean; reasons: string[] }) };
};
const metric = async (line: RegExp): Promise<number | undefined> => {
  const { body } = await http(metricsPort, '/metrics');
  const match = body.split('\n').find((l) => line.test(l));
  return match === undefined ? undefined : Number(match.split(' ').at(-1));
};

function startFelix(): ChildProcess {
  felixRuns++;
  const log = createWriteStream(join(scratch, `felix-${felixRuns}.log`));
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      mainJs,
      '--node-name',
      NODE,
      '--etcd-endpoints',
      `http://${rootAddress}:${forwarderPort}`,
      '--health-port',
      String(healthPort),
      '--health-host',
      '0.0.0.0',
      '--metrics-port',
      String(metricsPort),
      '--run-dir',
      join(scratch, 'run'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  felix = child;
  return child;
}

async function stopFelix(signal: NodeJS.Signals): Promise<number | null> {
  const child = felix;
  if (!child || child.exitCode !== null) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill(signal);
  const code = await exited;
  felix = undefined;
  return code;
}

async function startForwarder(): Promise<void> {
  forwarder ??= new TcpForwarder({ host: '127.0.0.1', port: etcd?.clientPort ?? 0 });
  await forwarder.listen(rootAddress, forwarderPort);
}

/** @caracal/ipam's affinity document (AffinityDocument). */
const affinity = (node: string, cidr: string) =>
  JSON.stringify({ node, cidr, state: 'confirmed', updatedAt: new Date().toISOString() });
const wepKey = keys.resource('WorkloadEndpoint', 'web', 'default');
const wepValue = JSON.stringify({
  apiVersion: 'projectcalico.org/v3',
  kind: 'WorkloadEndpoint',
  metadata: { name: 'web', namespace: 'default' },
  spec: { node: NODE, interfaceName: workloadIface, ipNetworks: ['10.65.0.7/32'] },
});

describe.skipIf(!runnable)('caracal-felix on a real kernel and a real etcd', () => {
  beforeAll(async () => {
    // The test runs the built executable: build it (and its dependencies) first.
    await buildPackagesForLab(['packages/felix']);
    scratch = mkdtempSync(join(tmpdir(), `${prefix}-`));
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['link', 'add', rootVeth, 'type', 'veth', 'peer', 'name', nsVeth]);
    execFileSync('ip', ['link', 'set', nsVeth, 'netns', ns]);
    execFileSync('ip', ['addr', 'add', `${rootAddress}/30`, 'dev', rootVeth]);
    execFileSync('ip', ['link', 'set', rootVeth, 'up']);
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsVeth);
    inNs('ip', 'link', 'set', nsVeth, 'up');
    inNs('ip', 'link', 'add', workloadIface, 'type', 'veth', 'peer', 'name', workloadPeer);
    inNs('ip', 'link', 'set', workloadIface, 'up');
    inNs('ip', 'link', 'set', workloadPeer, 'up');
    etcd = await TestEtcd.start();
    store = etcd.connect();
    forwarderPort = await findFreePort();
    healthPort = await findFreePort();
    metricsPort = await findFreePort();
  }, 60_000);

  let failed = false;
  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    await stopFelix('SIGKILL');
    if (failed) {
      for (let run = 1; run <= felixRuns; run++) {
        const log = readFileSync(join(scratch, `felix-${run}.log`), 'utf8');
        console.log(
          `--- caracal-felix run ${run} log (last 40 lines) ---\n${log.split('\n').slice(-40).join('\n')}`,
        );
      }
    }
    await forwarder?.close();
    await etcd?.stop();
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', rootVeth]);
    rmSync(scratch, { recursive: true, force: true });
  }, 30_000);

  it('exits 2 naming an unknown flag or a bad value', () => {
    const unknown = spawnSync(process.execPath, [mainJs, '--node-name', NODE, '--no-such-flag'], {
      encoding: 'utf8',
    });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--no-such-flag'");
    const badPort = spawnSync(process.execPath, [mainJs, '--node-name', NODE, '--health-port', '70000'], {
      encoding: 'utf8',
    });
    expect(badPort.status).toBe(2);
    expect(badPort.stderr).toContain('--health-port must be a port 0-65535, got "70000"');
    const noNode = spawnSync(process.execPath, [mainJs], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(noNode.status).toBe(2);
    expect(noNode.stderr).toContain('--node-name (or NODENAME) is required');
  });

  it('programs nothing before the first in-sync, then the workload route and the blackhole', async () => {
    await store.put(wepKey, wepValue);
    await store.put(
      keys.resource('IPPool', 'pool'),
      JSON.stringify({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'pool' },
        spec: { cidr: '10.65.0.0/16', natOutgoing: true },
      }),
    );
    await store.put(keys.affinity(NODE, '10.65.0.0/26'), affinity(NODE, '10.65.0.0/26'));
    await store.put(keys.affinity('node2', '10.65.0.64/26'), affinity('node2', '10.65.0.64/26'));

    startFelix(); // etcd not reachable yet: the forwarder is not listening
    const notReady = await waitFor('the health server', () => readiness());
    expect(notReady).toMatchObject({ status: 503, healthy: false });
    expect(notReady.reasons).toContain('datastore not in sync');
    expect((await http(healthPort, '/liveness')).status).toBe(200);
    await sleep(1000);
    expect(felixRoutes()).toEqual([]);
    expect(spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', 'caracal']).status).not.toBe(
      0,
    );
    expect(await metric(/^felix_datastore_in_sync /)).toBe(0);

    await startForwarder();
    const ready = await waitFor('readiness', async () => {
      const r = await readiness();
      return r.healthy ? r : undefined;
    });
    expect(ready.status).toBe(200);
    const routes = felixRoutes();
    expect(routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: '10.65.0.7', dev: workloadIface, scope: 'link' }),
        expect.objectContaining({ dst: '10.65.0.0/26', type: 'blackhole' }),
      ]),
    );
    expect(routes).toHaveLength(2); // node2's block is not ours
    expect(inNs('nft', 'list', 'table', 'inet', 'caracal')).toContain('masquerade');
    expect(inNs('cat', `/proc/sys/net/ipv4/conf/${workloadIface}/proxy_arp`).trim()).toBe('1');
    expect(await metric(/^felix_datastore_in_sync /)).toBe(1);
    expect(await metric(/^felix_routes_programmed /)).toBe(2);
  }, 60_000);

  it('restores a route deleted by hand (kernel event) and removes a deleted endpoint route', async () => {
    inNs('ip', 'route', 'del', '10.65.0.7/32', 'dev', workloadIface);
    await waitFor('the route to come back', () =>
      felixRoutes().some((r) => r.dst === '10.65.0.7') ? true : undefined,
    );
    await store.delete(wepKey);
    await waitFor('the endpoint route to go', () =>
      felixRoutes().some((r) => r.dst === '10.65.0.7') ? undefined : true,
    );
    expect(felixRoutes().map((r) => r.dst)).toEqual(['10.65.0.0/26']);
    await store.put(wepKey, wepValue);
    await waitFor('the endpoint route to return', () => (felixRoutes().length === 2 ? true : undefined));
    await waitFor('readiness after the changes', async () =>
      (await readiness()).healthy ? true : undefined,
    );
  }, 60_000);

  it('SIGTERM leaves the routes; a restart re-programs nothing', async () => {
    const before = routeText();
    expect(await metric(/^felix_route_writes_total\{operation="replace"\} /)).toBeGreaterThan(0);
    expect(await stopFelix('SIGTERM')).toBe(0);
    expect(routeText()).toBe(before);
    expect(() => readFileSync(join(scratch, 'run', 'felix.pid'))).toThrow();

    startFelix();
    await waitFor('readiness after restart', async () => ((await readiness()).healthy ? true : undefined));
    expect(routeText()).toBe(before);
    expect(await metric(/^felix_route_writes_total\{operation="replace"\} /)).toBe(0);
    expect(await metric(/^felix_route_writes_total\{operation="remove"\} /)).toBe(0);
    expect(await metric(/^felix_routes_programmed /)).toBe(2);
    const status = JSON.parse(readFileSync(join(scratch, 'run', 'status.json'), 'utf8'));
    expect(status).toMatchObject({
      nodeName: NODE,
      datastoreInSync: true,
      lastApply: { report: { routesReplaced: 0, routesRemoved: 0, errors: [] } },
    });
    expect(Number(readFileSync(join(scratch, 'run', 'felix.pid'), 'utf8'))).toBe(felix?.pid);
    const { body } = await http(metricsPort, '/metrics');
    for (const name of [
      'felix_calc_graph_update_seconds_count',
      'felix_apply_seconds_count',
      'felix_apply_errors_total',
      'felix_routes_programmed',
      'felix_resync_total',
      'felix_datastore_in_sync',
    ]) {
      expect(body).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? \\d`, 'm'));
    }
  }, 60_000);

  it('a datastore gap (connection cut, endpoint deleted, history compacted) heals by re-snapshot', async () => {
    expect(await metric(/^felix_resync_total /)).toBe(0);
    await forwarder?.close();
    await store.delete(wepKey);
    await etcd?.compact(await store.currentRevision());
    await sleep(1500);
    // Cut off from etcd, Felix keeps what it programmed: nothing is flushed.
    expect(
      felixRoutes()
        .map((r) => r.dst)
        .sort(),
    ).toEqual(['10.65.0.0/26', '10.65.0.7']);
    await startForwarder();
    await waitFor('the vanished endpoint route to go', () =>
      felixRoutes().some((r) => r.dst === '10.65.0.7') ? undefined : true,
    );
    expect(felixRoutes().map((r) => r.dst)).toEqual(['10.65.0.0/26']);
    expect(await metric(/^felix_resync_total /)).toBeGreaterThan(0);
    await waitFor('readiness after the resync', async () => ((await readiness()).healthy ? true : undefined));
  }, 60_000);
});
