// Reachability between pods: ICMP echo (`ping`) and a TCP connection to each pod's listener, run from
// inside the source pod's namespace; the pod × pod connectivity matrix and its text rendering; the
// listener every lab pod runs.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { runInNamespace } from './run.js';
import type { LabClusterPod } from './state.js';

/** Port of the TCP listener in every lab pod (each pod has its own network namespace). */
export const LAB_POD_TCP_PORT = 7070;

/** What a pod's listener sends on every connection. */
export function podGreeting(podName: string): string {
  return `caracal-pod ${podName}`;
}

const LISTENER = `
const net = require('node:net');
const [name, port] = process.argv.slice(1);
const server = net.createServer((socket) => { socket.on('error', () => {}); socket.end('caracal-pod ' + name + '\\n'); });
server.listen({ port: Number(port), host: '0.0.0.0' }, () => console.log('listening on port ' + port));
`;

/**
 * Starts the pod's TCP listener inside its namespace (detached: it lives as long as the namespace, and
 * dies with it at teardown) and resolves with its PID once it listens.
 */
export async function startPodListener(
  pod: { name: string; namespace: string },
  logPath: string,
): Promise<number> {
  const fd = openSync(logPath, 'a');
  const child = spawn(
    'ip',
    ['netns', 'exec', pod.namespace, process.execPath, '-e', LISTENER, pod.name, String(LAB_POD_TCP_PORT)],
    { detached: true, stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  child.unref();
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) =>
      reject(new Error(`cannot start the listener of pod ${pod.name}: ${error.message}`)),
    );
  });
  const pid = child.pid as number;
  const deadline = Date.now() + 10_000;
  for (;;) {
    let log = '';
    try {
      log = readFileSync(logPath, 'utf8');
    } catch {
      // Not written yet.
    }
    if (log.includes('listening on port')) return pid;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(
        `the TCP listener of pod ${pod.name} did not start: ${log.slice(-300) || '(no output)'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface ProbeResult {
  readonly ok: boolean;
  /** Why not: ping's summary line, or the TCP error. */
  readonly detail?: string;
}

/** One echo request from inside `namespace` to `address`, waiting up to `timeoutSeconds`. */
export async function pingFrom(namespace: string, address: string, timeoutSeconds = 1): Promise<ProbeResult> {
  const seconds = String(timeoutSeconds);
  const result = await runInNamespace(
    namespace,
    ['ping', '-n', '-q', '-c', '1', '-W', seconds, '-w', seconds, address],
    {
      timeoutMs: timeoutSeconds * 1000 + 5000,
    },
  );
  if (result.code === 0) return { ok: true };
  const summary = `${result.stdout}${result.stderr}`
    .split('\n')
    .find((line) => /packets transmitted|unreachable|error|connect:/i.test(line));
  return { ok: false, detail: summary?.trim() ?? `ping exited with ${result.code}` };
}

/**
 * Connects from inside `namespace` to `address`:`port` and reads the greeting (bash's /dev/tcp, so no
 * extra process start-up per probe); ok only when the expected greeting arrives.
 */
export async function tcpFrom(
  namespace: string,
  address: string,
  port: number,
  expectedGreeting: string,
  timeoutSeconds = 2,
): Promise<ProbeResult> {
  const script = 'exec 3<>"/dev/tcp/$0/$1" || exit 2; head -c 200 <&3';
  const result = await runInNamespace(
    namespace,
    ['timeout', String(timeoutSeconds), 'bash', '-c', script, address, String(port)],
    { timeoutMs: timeoutSeconds * 1000 + 5000 },
  );
  if (result.code === 0 && result.stdout.trim() === expectedGreeting) return { ok: true };
  if (result.code === 0)
    return { ok: false, detail: `unexpected answer ${JSON.stringify(result.stdout.trim())}` };
  if (result.code === 124) return { ok: false, detail: 'timeout' };
  const reason = /: ([^:]+)$/.exec(result.stderr.trim().split('\n')[0] ?? '')?.[1];
  return { ok: false, detail: reason ?? `exit ${result.code}` };
}

export interface ConnectivityCell {
  readonly from: string;
  readonly to: string;
  readonly address: string;
  readonly ping: ProbeResult;
  /** Undefined when the target pod has no listener (or TCP was not probed). */
  readonly tcp: ProbeResult | undefined;
}

export interface ConnectivityMatrix {
  /** The pods, in row/column order. */
  readonly pods: readonly LabClusterPod[];
  /** One cell per ordered pair of distinct pods. */
  readonly cells: readonly ConnectivityCell[];
  /** The cells where ping or TCP failed. */
  readonly unreachable: readonly ConnectivityCell[];
  readonly allReachable: boolean;
  readonly elapsedMs: number;
}

export interface MatrixOptions {
  /** Probe TCP too (default true; pods without a listener are probed with ping only). */
  readonly tcp?: boolean;
  /** Seconds each probe waits (default 1 for ping, 2 for TCP). */
  readonly timeoutSeconds?: number;
  /** Probes run at the same time (default 8). */
  readonly concurrency?: number;
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Pings (and TCP-connects to) every pod from every other pod. */
export async function probeConnectivity(
  pods: readonly LabClusterPod[],
  options: MatrixOptions = {},
): Promise<ConnectivityMatrix> {
  const started = performance.now();
  const pairs = pods.flatMap((from) => pods.filter((to) => to !== from).map((to) => ({ from, to })));
  const cells = await mapLimited(
    pairs,
    options.concurrency ?? 8,
    async ({ from, to }): Promise<ConnectivityCell> => {
      const ping = await pingFrom(from.namespace, to.address, options.timeoutSeconds ?? 1);
      const tcp =
        options.tcp === false || to.tcpPort === undefined
          ? undefined
          : await tcpFrom(
              from.namespace,
              to.address,
              to.tcpPort,
              podGreeting(to.name),
              options.timeoutSeconds ?? 2,
            );
      return { from: from.name, to: to.name, address: to.address, ping, tcp };
    },
  );
  const unreachable = cells.filter((cell) => !cell.ping.ok || (cell.tcp !== undefined && !cell.tcp.ok));
  return {
    pods,
    cells,
    unreachable,
    allReachable: unreachable.length === 0,
    elapsedMs: performance.now() - started,
  };
}

/** One line per unreachable pair: `node1-p1 → node3-p2 (10.244.x.y): ping: …; tcp: …`. */
export function describeUnreachable(matrix: ConnectivityMatrix): string[] {
  return matrix.unreachable.map((cell) => {
    const problems = [
      cell.ping.ok ? undefined : `ping: ${cell.ping.detail ?? 'failed'}`,
      cell.tcp === undefined || cell.tcp.ok ? undefined : `tcp: ${cell.tcp.detail ?? 'failed'}`,
    ].filter((p) => p !== undefined);
    return `${cell.from} → ${cell.to} (${cell.address}): ${problems.join('; ')}`;
  });
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/**
 * The matrix as text: one row per source pod, one column per destination pod; each cell is
 * `ping/tcp` with `ok` or `--` (`·` on the diagonal, `ok/` when the target has no listener).
 */
export function renderConnectivityMatrix(matrix: ConnectivityMatrix): string {
  const { pods } = matrix;
  const cellText = (from: LabClusterPod, to: LabClusterPod): string => {
    if (from === to) return '·';
    const cell = matrix.cells.find((c) => c.from === from.name && c.to === to.name);
    if (cell === undefined) return '?';
    const mark = (probe: ProbeResult | undefined) => (probe === undefined ? '' : probe.ok ? 'ok' : '--');
    return `${mark(cell.ping)}/${mark(cell.tcp)}`;
  };
  const header = ['from \\ to', ...pods.map((p) => p.name)];
  const subheader = ['', ...pods.map((p) => p.address)];
  const rows = pods.map((from) => [
    `${from.name} (${from.address})`,
    ...pods.map((to) => cellText(from, to)),
  ]);
  const all = [header, subheader, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => [...(row[column] ?? '')].length)));
  const line = (row: string[]) =>
    row
      .map((text, column) => pad(text, widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const total = matrix.cells.length;
  const good = total - matrix.unreachable.length;
  return [
    line(header),
    line(subheader),
    ...rows.map(line),
    '',
    `cell = ping/tcp from the row's pod to the column's pod: ok reachable, -- not; ${good}/${total} pairs reachable` +
      ` (probed in ${(matrix.elapsedMs / 1000).toFixed(1)} s)`,
    '',
  ].join('\n');
}
