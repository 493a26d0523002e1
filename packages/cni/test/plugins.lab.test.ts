// Lab test of the `caracal` and `caracal-ipam` executables as a CNI runtime drives them: a real etcd on
// the root end of a veth whose peer is the uplink of a "node" namespace, an IPPool stored as JSON, the
// plugin run INSIDE the node namespace (`ip netns exec <node> bin/caracal`) with CNI_* and the Calico-shaped
// configuration on stdin, IPAM delegated to bin/caracal-ipam found on CNI_PATH.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectDatastore,
  type EtcdKeyValueStore,
  etcdUnavailableReason,
  findFreePort,
  keys,
  type LocalEtcd,
  startLocalEtcd,
} from '@caracal/datastore';
import { allocationsOf, IpamClient } from '@caracal/ipam';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binDir, type Invocation, type PluginRun, runPluginInNamespace } from './cni-lab.js';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
const etcdMissing = etcdUnavailableReason();
if (!namespacesWork) console.log('cni plugin lab tests skipped: they need root and network namespaces');
else if (etcdMissing) console.log(`cni plugin lab tests skipped: ${etcdMissing}`);

const prefix = `crp${randomBytes(3).toString('hex')}`;
const nodeNs = `${prefix}-node`;
const rootLink = `${prefix}r`;
// A random /30 for the uplink, so parallel runs do not share addresses in the root namespace.
const subnet = `100.${64 + randomInt(0, 64)}.${randomInt(0, 256)}`;
const quad = randomInt(0, 63) * 4;
const rootAddress = `${subnet}.${quad + 1}`;
const nodeAddress = `${subnet}.${quad + 2}`;
const poolCidr = `10.${randomInt(100, 200)}.${randomInt(0, 256)}.0/24`;
const podNamespaces: string[] = [];

let etcd: LocalEtcd | undefined;
let etcdDir = '';
let endpoint = '';
let store: EtcdKeyValueStore | undefined;

const runPlugin = (binary: string, call: Invocation): Promise<PluginRun> =>
  runPluginInNamespace(nodeNs, binary, call);

function networkConfig(extra: Record<string, unknown> = {}, etcdEndpoints = endpoint): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'caracal',
    etcd_endpoints: etcdEndpoints,
    nodename: 'node1',
    mtu: 1500,
    ipam: { type: 'caracal-ipam' },
    ...extra,
  });
}

function addPodNamespace(name: string): string {
  const ns = `${prefix}-${name}`;
  execFileSync('ip', ['netns', 'add', ns]);
  podNamespaces.push(ns);
  return `/var/run/netns/${ns}`;
}

async function putPool(name: string, spec: Record<string, unknown>): Promise<void> {
  await store?.put(
    keys.resource('IPPool', name),
    JSON.stringify({ apiVersion: 'caracal.io/v1', kind: 'IPPool', metadata: { name }, spec }),
  );
}

function ipam(): IpamClient {
  if (!store) throw new Error('no store');
  return new IpamClient({ store, pools: [] });
}

async function allocationsOfHandle(handleId: string): Promise<string[]> {
  const blocks = await ipam().listBlocks();
  return blocks.flatMap((block) =>
    allocationsOf(block)
      .filter((allocation) => allocation.handleId === handleId)
      .map((allocation) => allocation.ip),
  );
}

describe.skipIf(!namespacesWork || etcdMissing !== undefined)('caracal + caracal-ipam executables', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/cni']);
    execFileSync('ip', ['netns', 'add', nodeNs]);
    execFileSync('ip', ['link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nodeNs]);
    execFileSync('ip', ['addr', 'add', `${rootAddress}/30`, 'dev', rootLink]);
    execFileSync('ip', ['link', 'set', rootLink, 'up']);
    execFileSync('ip', ['-n', nodeNs, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['-n', nodeNs, 'addr', 'add', `${nodeAddress}/30`, 'dev', 'eth0']);
    execFileSync('ip', ['-n', nodeNs, 'link', 'set', 'eth0', 'up']);
    execFileSync('ip', ['-n', nodeNs, 'route', 'add', 'default', 'via', rootAddress]);
    etcdDir = mkdtempSync(join(tmpdir(), 'caracal-cni-etcd-'));
    const clientPort = await findFreePort();
    let peerPort = await findFreePort();
    while (peerPort === clientPort) peerPort = await findFreePort();
    etcd = await startLocalEtcd({ dataDir: etcdDir, host: rootAddress, clientPort, peerPort, name: prefix });
    endpoint = `http://${rootAddress}:${clientPort}`;
    store = connectDatastore({ endpoints: [endpoint] });
    await putPool('default-ipv4-ippool', {
      cidr: poolCidr,
      blockSize: 26,
      ipipMode: 'Never',
      natOutgoing: true,
      nodeSelector: 'all()',
    });
  });

  afterAll(async () => {
    for (const ns of podNamespaces) spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['netns', 'del', nodeNs]);
    spawnSync('ip', ['link', 'del', rootLink]);
    await store?.close();
    await etcd?.stop();
    if (etcdDir) rmSync(etcdDir, { recursive: true, force: true });
  });

  it('VERSION lists the supported versions', async () => {
    for (const binary of ['caracal', 'caracal-ipam']) {
      const run = await runPlugin(binary, { command: 'VERSION', stdin: '{"cniVersion":"1.0.0"}' });
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        cniVersion: '1.0.0',
        supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
      });
    }
  });

  it('VERSION loads neither etcd3 nor the IPAM package (start-up is most of a plugin run)', () => {
    for (const binary of ['caracal', 'caracal-ipam']) {
      const run = spawnSync(join(binDir, binary), {
        env: { PATH: process.env.PATH, CNI_COMMAND: 'VERSION', NODE_DEBUG: 'module' },
        input: '{"cniVersion":"1.0.0"}',
        encoding: 'utf8',
      });
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ cniVersion: '1.0.0' });
      // NODE_DEBUG=module names every CommonJS module loaded; etcd3, gRPC and ip-num are all CommonJS.
      expect(run.stderr).toContain('MODULE');
      expect(run.stderr).not.toMatch(/etcd3|grpc|ip-num/);
    }
  });

  it('STATUS is ready with an enabled pool', async () => {
    const run = await runPlugin('caracal', { command: 'STATUS', stdin: networkConfig() });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
  });

  it('ADD wires a pod with a pool address and a WorkloadEndpoint; CHECK passes; DEL removes all, twice', async () => {
    const netns = addPodNamespace('web');
    const containerId = `c${randomBytes(8).toString('hex')}`;
    const call = { containerId, netns, pod: 'web-1' };

    const added = await runPlugin('caracal', { ...call, command: 'ADD', stdin: networkConfig() });
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    const result = JSON.parse(added.stdout) as {
      cniVersion: string;
      interfaces: { name: string; mac: string; sandbox?: string }[];
      ips: { address: string; gateway?: string; interface?: number }[];
      routes: { dst: string; gw?: string }[];
    };
    expect(result.cniVersion).toBe('1.0.0');
    expect(result.ips).toHaveLength(1);
    const address = result.ips[0]?.address ?? '';
    const ip = address.split('/')[0] ?? '';
    const poolBase = poolCidr.split('.').slice(0, 3).join('.');
    expect(address).toMatch(new RegExp(`^${poolBase.replaceAll('.', '\\.')}\\.\\d+/32$`));
    expect(result.ips[0]).toMatchObject({ gateway: '169.254.1.1', interface: 1 });
    expect(result.routes).toEqual([{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);
    const hostIf = result.interfaces[0]?.name ?? '';
    expect(hostIf).toMatch(/^cara[0-9a-f]{11}$/);
    expect(result.interfaces[1]).toMatchObject({ name: 'eth0', sandbox: netns });

    // The pod has the address and the default route, and reaches the node (and back).
    const podNs = netns.split('/').pop() ?? '';
    expect(execFileSync('ip', ['-n', podNs, 'addr', 'show', 'eth0'], { encoding: 'utf8' })).toContain(
      `inet ${address}`,
    );
    expect(execFileSync('ip', ['-n', podNs, 'route'], { encoding: 'utf8' })).toContain(
      'default via 169.254.1.1 dev eth0',
    );
    execFileSync('ip', ['netns', 'exec', podNs, 'ping', '-c', '1', '-W', '2', nodeAddress]);
    execFileSync('ip', ['netns', 'exec', nodeNs, 'ping', '-c', '1', '-W', '2', ip]);

    // IPAM: the handle holds the address, with the workload's attributes.
    const handleId = `k8s-pod-network.${containerId}`;
    expect(await allocationsOfHandle(handleId)).toEqual([ip]);
    const blocks = await ipam().listBlocks();
    const allocation = blocks.flatMap((b) => allocationsOf(b)).find((a) => a.handleId === handleId);
    expect(allocation?.attrs).toEqual({ node: 'node1', namespace: 'default', pod: 'web-1', containerId });

    // The WorkloadEndpoint, under Calico's name with '-' doubled.
    const wepKey = keys.resource('WorkloadEndpoint', 'node1-k8s-web--1-eth0', 'default');
    const wep = JSON.parse((await store?.get(wepKey))?.value ?? 'null');
    expect(wep).toMatchObject({
      apiVersion: 'caracal.io/v1',
      kind: 'WorkloadEndpoint',
      metadata: {
        name: 'node1-k8s-web--1-eth0',
        namespace: 'default',
        labels: { 'projectcalico.org/namespace': 'default', 'projectcalico.org/orchestrator': 'k8s' },
      },
      spec: {
        orchestrator: 'k8s',
        workload: 'default/web-1',
        pod: 'web-1',
        endpoint: 'eth0',
        containerID: containerId,
        node: 'node1',
        interfaceName: hostIf,
        ipNetworks: [address],
        mac: result.interfaces[1]?.mac,
        profiles: ['kns.default'],
      },
    });

    // CHECK with the prevResult passes and prints nothing.
    const checked = await runPlugin('caracal', {
      ...call,
      command: 'CHECK',
      stdin: networkConfig({ prevResult: result }),
    });
    expect(checked.stderr).toBe('');
    expect(checked.status).toBe(0);
    expect(checked.stdout).toBe('');

    // DEL: no output; address released, WEP and veth gone. A second DEL succeeds too.
    for (let round = 0; round < 2; round++) {
      const deleted = await runPlugin('caracal', { ...call, command: 'DEL', stdin: networkConfig() });
      expect(deleted.stderr).toBe('');
      expect(deleted.status).toBe(0);
      expect(deleted.stdout).toBe('');
    }
    expect(await allocationsOfHandle(handleId)).toEqual([]);
    expect(await store?.get(keys.handle(handleId))).toBeUndefined();
    expect(await store?.get(wepKey)).toBeUndefined();
    expect(spawnSync('ip', ['-n', nodeNs, 'link', 'show', hostIf]).status).not.toBe(0);
    expect(spawnSync('ip', ['-n', podNs, 'link', 'show', 'eth0']).status).not.toBe(0);

    // CHECK after DEL names what is missing, with a spec error on stdout.
    const stale = await runPlugin('caracal', {
      ...call,
      command: 'CHECK',
      stdin: networkConfig({ prevResult: result }),
    });
    expect(stale.status).not.toBe(0);
    const staleError = JSON.parse(stale.stdout) as { code: number; msg: string };
    expect(staleError.code).toBe(5);
    expect(staleError.msg).toContain(`host interface ${hostIf} is missing`);
  });

  it('bad JSON on stdin is error 6', async () => {
    const run = await runPlugin('caracal', {
      command: 'ADD',
      containerId: 'cbadjson',
      netns: '/var/run/netns/none',
      stdin: '{"cniVersion":',
    });
    expect(run.status).not.toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 6 });
  });

  it('a missing network namespace is error 3 and takes no address', async () => {
    const containerId = `c${randomBytes(8).toString('hex')}`;
    const missing = `/var/run/netns/${prefix}-gone`;
    const run = await runPlugin('caracal', {
      command: 'ADD',
      containerId,
      netns: missing,
      stdin: networkConfig(),
    });
    expect(run.status).not.toBe(0);
    const error = JSON.parse(run.stdout) as { code: number; msg: string };
    expect(error.code).toBe(3);
    expect(error.msg).toContain(missing);
    expect(await allocationsOfHandle(`k8s-pod-network.${containerId}`)).toEqual([]);
  });

  it('an unreachable datastore is error 11 naming the endpoint', async () => {
    const netns = addPodNamespace('nodb');
    const deadEndpoint = `http://${rootAddress}:${await findFreePort()}`;
    const run = await runPlugin('caracal', {
      command: 'ADD',
      containerId: `c${randomBytes(8).toString('hex')}`,
      netns,
      pod: 'nodb',
      stdin: networkConfig({}, deadEndpoint),
    });
    expect(run.status).not.toBe(0);
    const error = JSON.parse(run.stdout) as { code: number; msg: string };
    expect(error.code).toBe(11);
    expect(error.msg).toContain(deadEndpoint);
    expect(
      execFileSync('ip', ['-n', netns.split('/').pop() ?? '', 'link'], { encoding: 'utf8' }),
    ).not.toContain('eth0');
    // STATUS with the datastore down: not ready (50), naming the endpoint.
    const status = await runPlugin('caracal', { command: 'STATUS', stdin: networkConfig({}, deadEndpoint) });
    expect(status.status).not.toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ code: 50 });
    expect(JSON.parse(status.stdout).msg).toContain(deadEndpoint);
  });

  it('an exhausted pool is error 100 naming the pool; the others keep their addresses', async () => {
    // Only a /30 pool with /30 blocks: four addresses for five pods.
    await putPool('default-ipv4-ippool', { cidr: poolCidr, blockSize: 26, disabled: true });
    // STATUS with every pool disabled: not ready (50).
    const status = await runPlugin('caracal', { command: 'STATUS', stdin: networkConfig() });
    expect(JSON.parse(status.stdout)).toMatchObject({
      code: 50,
      msg: 'every IPPool is disabled (default-ipv4-ippool)',
    });
    const tinyCidr = `172.${randomInt(16, 32)}.${randomInt(0, 256)}.${randomInt(0, 64) * 4}/30`;
    await putPool('tiny', { cidr: tinyCidr, blockSize: 30, nodeSelector: 'all()' });
    const calls = [1, 2, 3, 4, 5].map((n) => ({
      containerId: `c${randomBytes(8).toString('hex')}`,
      netns: addPodNamespace(`t${n}`),
      pod: `tiny-${n}`,
    }));
    try {
      const runs: PluginRun[] = [];
      for (const call of calls) {
        runs.push(await runPlugin('caracal', { ...call, command: 'ADD', stdin: networkConfig() }));
      }
      for (const run of runs.slice(0, 4)) expect(run.status, run.stdout).toBe(0);
      const addresses = runs.slice(0, 4).map((run) => JSON.parse(run.stdout).ips[0].address as string);
      expect(new Set(addresses).size).toBe(4);
      const last = runs[4];
      expect(last?.status).not.toBe(0);
      const error = JSON.parse(last?.stdout ?? '') as { code: number; msg: string };
      expect(error.code).toBe(100);
      expect(error.msg).toContain('tiny');
      // The failed pod has no interface and holds nothing.
      expect(await allocationsOfHandle(`k8s-pod-network.${calls[4]?.containerId}`)).toEqual([]);
    } finally {
      for (const call of calls)
        await runPlugin('caracal', { ...call, command: 'DEL', stdin: networkConfig() });
      await store?.delete(keys.resource('IPPool', 'tiny'));
    }
    const leftover = (await ipam().listBlocks()).flatMap((b) => allocationsOf(b));
    expect(leftover).toEqual([]);
  });
});
