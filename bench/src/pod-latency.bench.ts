// Benchmark: pod add → reachable from a remote node. On a lab cluster (startLabCluster: etcd, caracal-node
// with caracal-felix and caracal-bgpd per node namespace, 2 nodes by default), PODS pods are added one by
// one on node1 through the real CNI plugin; for each, the time from the CNI ADD's start to the first echo
// reply received by a pod on node2 (`ping -i 0.01 -w 30` started as soon as the ADD returned the address).
// Reported as p50/p99/max, split into the CNI ADD itself and ADD-result → first reply. Beside it, in the
// same run, the kernel's own floor: a plain veth pair + address + routes made with `ip` commands in one
// host namespace, until the host's ping gets a reply; the ratio shows what our control plane costs.
// Run: bench/run pod-latency   (PODS, NODES override the defaults 100 and 2)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type LabCluster, startLabCluster } from '@caracal/node';

const PODS = Number(process.env.PODS ?? 100);
const NODES = Number(process.env.NODES ?? 2);

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function run(argv: string[]): { code: number | null; stderr: string } {
  const result = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
  return { code: result.status, stderr: result.stderr };
}

function must(argv: string[]): void {
  const result = run(argv);
  if (result.code !== 0) throw new Error(`\`${argv.join(' ')}\` failed: ${result.stderr.trim()}`);
}

/** Echo requests every 10 ms from inside `namespace` until the first reply (or 30 s); the time it took. */
function pingUntilReply(namespace: string, address: string): number {
  const start = nowMs();
  const result = run([
    'ip',
    'netns',
    'exec',
    namespace,
    'ping',
    '-n',
    '-q',
    '-c',
    '1',
    '-i',
    '0.01',
    '-w',
    '30',
    address,
  ]);
  if (result.code !== 0) throw new Error(`${address} not reachable from ${namespace} within 30 s`);
  return nowMs() - start;
}

interface Stats {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return {
    p50: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
  };
}

async function clusterLatencies(cluster: LabCluster) {
  const remote = cluster.pods.find((p) => p.node === 'node2');
  if (!remote) throw new Error('no pod on node2 to ping from');
  const rows: { pod: string; address: string; cniAddMs: number; toReplyMs: number; totalMs: number }[] = [];
  for (let i = 0; i < PODS; i++) {
    const pod = await cluster.addPod('node1', { tcpListener: false });
    const toReplyMs = pingUntilReply(remote.namespace, pod.address);
    rows.push({
      pod: pod.name,
      address: pod.address,
      cniAddMs: pod.cniAddMs,
      toReplyMs,
      totalMs: pod.cniAddMs + toReplyMs,
    });
    if ((i + 1) % 20 === 0)
      console.log(`  pod-latency: ${i + 1}/${PODS} pods added and reachable from ${remote.name}`);
  }
  return rows;
}

/** The kernel floor: veth + addresses + routes by `ip` in one host namespace, until the host pings the pod. */
function kernelLatencies(prefix: string): number[] {
  const host = `${prefix}-kref`;
  const pods: string[] = [];
  const totals: number[] = [];
  must(['ip', 'netns', 'add', host]);
  try {
    must(['ip', '-n', host, 'link', 'set', 'lo', 'up']);
    must(['ip', '-n', host, 'addr', 'add', '10.254.255.1/32', 'dev', 'lo']);
    for (let i = 0; i < PODS; i++) {
      const pod = `${prefix}-k${i}`;
      const address = `10.254.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      const veth = `kv${i}`;
      const start = nowMs();
      must(['ip', 'netns', 'add', pod]);
      pods.push(pod);
      must(['ip', '-n', host, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
      must(['ip', '-n', pod, 'addr', 'add', `${address}/32`, 'dev', 'eth0']);
      must(['ip', '-n', pod, 'link', 'set', 'eth0', 'up']);
      must(['ip', '-n', pod, 'route', 'add', 'default', 'dev', 'eth0']);
      must(['ip', '-n', host, 'link', 'set', veth, 'up']);
      must(['ip', '-n', host, 'route', 'add', `${address}/32`, 'dev', veth, 'src', '10.254.255.1']);
      pingUntilReply(host, address);
      totals.push(nowMs() - start);
    }
  } finally {
    for (const pod of pods) run(['ip', 'netns', 'del', pod]);
    run(['ip', 'netns', 'del', host]);
  }
  return totals;
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;

async function main(): Promise<void> {
  console.log(
    `pod-latency: ${PODS} pods on node1 of a ${NODES}-node lab cluster, pinged from a pod on node2`,
  );
  const name = `bench-${randomBytes(3).toString('hex')}`;
  const cluster = await startLabCluster({
    name,
    nodes: NODES,
    podsPerNode: 1,
    readyTimeoutMs: 180_000,
    progress: (line) => console.log(`  ${line}`),
  });
  let rows: Awaited<ReturnType<typeof clusterLatencies>>;
  let kernel: number[];
  try {
    rows = await clusterLatencies(cluster);
    console.log(`  pod-latency: kernel reference (${PODS} × veth + routes by ip in one host namespace)`);
    kernel = kernelLatencies(`${cluster.runId}`);
  } finally {
    await cluster.down();
  }
  const total = stats(rows.map((r) => r.totalMs));
  const add = stats(rows.map((r) => r.cniAddMs));
  const reply = stats(rows.map((r) => r.toReplyMs));
  const floor = stats(kernel);
  const line = (what: string, s: Stats, ratio?: string) =>
    `| ${what} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} | ${ms(s.mean)} |${ratio === undefined ? '' : ` ${ratio} |`}`;
  console.log('');
  console.log('| what | p50 | p99 | max | mean | p50 vs kernel |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(
    line('pod add → first reply from node2 (total)', total, `${(total.p50 / floor.p50).toFixed(1)}x`),
  );
  console.log(
    line('  CNI ADD (caracal + caracal-ipam, spawn → result)', add, `${(add.p50 / floor.p50).toFixed(1)}x`),
  );
  console.log(line('  ADD result → first echo reply', reply, ''));
  console.log(line('kernel: ip veth + address + routes → pingable, one host', floor, '1.0x'));
  // The first pod of each block after the first: its block had to be claimed and advertised by BGP.
  const blockOf = (address: string) => {
    const value = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
    return Math.floor(value / 2 ** (32 - cluster.pool.blockSize));
  };
  const firstOfBlock = rows.filter(
    (row, index) => index > 0 && rows.findIndex((r) => blockOf(r.address) === blockOf(row.address)) === index,
  );
  if (firstOfBlock.length > 0) {
    console.log('');
    console.log(
      `first pod of a new block: ${firstOfBlock.map((r) => `${r.pod} ${r.address} ${ms(r.totalMs)} (ADD ${ms(r.cniAddMs)}, reply ${ms(r.toReplyMs)})`).join('; ')}`,
    );
  }
  const slow = rows.filter((r) => r.totalMs > total.p50 * 2);
  if (slow.length > 0) {
    console.log('');
    console.log(
      `slowest (over 2 × p50): ${slow.map((r) => `${r.pod} ${r.address} ${ms(r.totalMs)} (ADD ${ms(r.cniAddMs)}, reply ${ms(r.toReplyMs)})`).join('; ')}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(`pod-latency failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
