#!/usr/bin/env node
// Measurement helper (not a test): wall times of the real executables bin/caracal and bin/caracal-ipam
// against a throwaway etcd, the way a runtime drives them — VERSION of both, then RUNS × (ADD, DEL) of a pod
// through `caracal` (IPAM delegated to `caracal-ipam` on CNI_PATH), run inside a "node" namespace whose
// uplink reaches etcd in the root namespace. Prints each one's wall time (median, min, max) and the median
// CPU time of its whole process tree. Everything it makes
// (namespaces, the uplink, etcd and its data) carries a per-run prefix and is removed on exit.
// Run as root after `pnpm -s build`: node packages/cni/tools/cni-timings.mjs   (RUNS=10 by default;
// BIN_DIRS=dirA:dirB compares several builds of the two executables, interleaved run by run so that the
// machine's load hits them alike; the default is the repository's bin/)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectDatastore, findFreePort, keys, startLocalEtcd } from '@caracal/datastore';

const RUNS = Number(process.env.RUNS ?? 10);
const repo = resolve(import.meta.dirname, '../../..');
const binDirs = (process.env.BIN_DIRS ?? join(repo, 'bin')).split(':').filter((dir) => dir !== '');
const prefix = `cnt${randomBytes(3).toString('hex')}`;
const nodeNs = `${prefix}-node`;
const rootLink = `${prefix}r`;
const subnet = `100.${64 + randomInt(0, 64)}.${randomInt(0, 256)}`;
const quad = randomInt(0, 63) * 4;
const rootAddress = `${subnet}.${quad + 1}`;
const nodeAddress = `${subnet}.${quad + 2}`;
const poolCidr = `10.${randomInt(100, 200)}.${randomInt(0, 256)}.0/24`;
const podNamespaces = [];

function timedRun(binDir, binary, env, stdin) {
  return new Promise((done, fail) => {
    const start = process.hrtime.bigint();
    // GNU time adds the CPU seconds of the whole process tree (plugin, IPAM plugin, ip, nsenter) on a last
    // stderr line: unlike wall time, it hardly depends on what else the machine runs.
    const timeArgs = ['-f', 'cpu %U %S', 'ip', 'netns', 'exec', nodeNs, join(binDir, binary)];
    const child = spawn('/usr/bin/time', timeArgs, {
      env: { PATH: process.env.PATH, CNI_PATH: binDir, CNI_IFNAME: 'eth0', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', fail);
    child.on('close', (status) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
      if (status !== 0 || !cpu)
        fail(new Error(`${binary} ${env.CNI_COMMAND} exited ${status}: ${stdout} ${stderr}`));
      else done({ ms, cpuMs: (Number(cpu[1]) + Number(cpu[2])) * 1000 });
    });
    child.stdin.end(stdin);
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const summary = (name, runs) => {
  const wall = runs.map((r) => r.ms).sort((a, b) => a - b);
  console.log(
    `${name.padEnd(26)} wall median ${median(wall).toFixed(0).padStart(5)} ms (min ${wall[0].toFixed(0)}, max ${wall[wall.length - 1].toFixed(0)})  CPU median ${median(
      runs.map((r) => r.cpuMs),
    )
      .toFixed(0)
      .padStart(4)} ms  n=${runs.length}`,
  );
};

let etcd;
let store;
const etcdDir = mkdtempSync(join(tmpdir(), 'caracal-cni-timings-'));
try {
  execFileSync('ip', ['netns', 'add', nodeNs]);
  execFileSync('ip', ['link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nodeNs]);
  execFileSync('ip', ['addr', 'add', `${rootAddress}/30`, 'dev', rootLink]);
  execFileSync('ip', ['link', 'set', rootLink, 'up']);
  execFileSync('ip', ['-n', nodeNs, 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['-n', nodeNs, 'addr', 'add', `${nodeAddress}/30`, 'dev', 'eth0']);
  execFileSync('ip', ['-n', nodeNs, 'link', 'set', 'eth0', 'up']);
  const clientPort = await findFreePort();
  let peerPort = await findFreePort();
  while (peerPort === clientPort) peerPort = await findFreePort();
  etcd = await startLocalEtcd({ dataDir: etcdDir, host: rootAddress, clientPort, peerPort, name: prefix });
  const endpoint = `http://${rootAddress}:${clientPort}`;
  store = connectDatastore({ endpoints: [endpoint] });
  await store.put(
    keys.resource('IPPool', 'default-ipv4-ippool'),
    JSON.stringify({
      apiVersion: 'caracal.io/v1',
      kind: 'IPPool',
      metadata: { name: 'default-ipv4-ippool' },
      spec: { cidr: poolCidr, blockSize: 26, nodeSelector: 'all()' },
    }),
  );
  const config = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'caracal',
    etcd_endpoints: endpoint,
    nodename: 'node1',
    mtu: 1500,
    ipam: { type: 'caracal-ipam' },
  });
  const times = new Map();
  const record = (name, ms) => times.set(name, [...(times.get(name) ?? []), ms]);
  for (let i = 0; i < RUNS; i++) {
    for (const [d, binDir] of binDirs.entries()) {
      const label = binDirs.length > 1 ? `[${d}] ` : '';
      for (const binary of ['caracal', 'caracal-ipam']) {
        const stdin = '{"cniVersion":"1.0.0"}';
        record(
          `${label}VERSION ${binary}`,
          await timedRun(binDir, binary, { CNI_COMMAND: 'VERSION' }, stdin),
        );
      }
      const ns = `${prefix}-p${i}-${d}`;
      execFileSync('ip', ['netns', 'add', ns]);
      podNamespaces.push(ns);
      const env = {
        CNI_CONTAINERID: `c${randomBytes(8).toString('hex')}`,
        CNI_NETNS: `/var/run/netns/${ns}`,
        CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${prefix}-pod${i}-${d}`,
      };
      record(`${label}ADD`, await timedRun(binDir, 'caracal', { ...env, CNI_COMMAND: 'ADD' }, config));
      record(`${label}DEL`, await timedRun(binDir, 'caracal', { ...env, CNI_COMMAND: 'DEL' }, config));
      record(`${label}DEL again`, await timedRun(binDir, 'caracal', { ...env, CNI_COMMAND: 'DEL' }, config));
    }
  }
  for (const d of binDirs.keys()) console.log(`[${d}] ${binDirs[d]}`);
  for (const [name, values] of times) summary(name, values);
} finally {
  for (const ns of podNamespaces) spawnSync('ip', ['netns', 'del', ns]);
  spawnSync('ip', ['netns', 'del', nodeNs]);
  spawnSync('ip', ['link', 'del', rootLink]);
  await store?.close();
  await etcd?.stop();
  rmSync(etcdDir, { recursive: true, force: true });
}
