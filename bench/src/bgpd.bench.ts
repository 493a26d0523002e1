// Benchmark (GitHub issue 4): how long a BGP speaker takes to receive and install 100k and 1M IPv4
// prefixes from one peer, and what they cost in memory — caracal-bgpd, BIRD 2 and GoBGP as the receiver,
// in the same run, side by side with ratios. For each (receiver, size) a fresh two-namespace lab is built
// (sender — receiver over a veth); the sender (bgpd-sender.ts, our codec, all UPDATEs encoded before it
// connects) announces the prefixes right after the session is Established; the receiver's RIB (birdc /
// gobgp / caracal-bgp) and kernel (`ip route show proto …`) are polled until they hold every prefix.
// Measured: Established → all prefixes in the RIB, → all in the kernel (BIRD: kernel protocol `export
// all`; caracal-bgpd: kernel.install; GoBGP has no zebra here, so RIB only), RSS at Established and after,
// bytes of RSS per route ((after − at Established) / prefixes). Resolution: the poll interval (printed).
//
//   bench/run bgpd                       (as root; default: 100k with kernel, 1M RIB only)
//   BGPD_BENCH_RUNS=100000:kernel,1000000:kernel BGPD_BENCH_RECEIVERS=bird,gobgp,caracal bench/run bgpd
//   BGPD_BENCH_PROFILE=/tmp/prof …   (V8 CPU profile of caracal-bgpd, written when it stops)
//   BGPD_BENCH_BGPD=/tmp/old/dist/src/cli/caracal-bgpd.js …   (another caracal-bgpd build, for before/after)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, type LabProcess, repositoryRoot, waitUntil } from '@caracal/lab';

type ReceiverKind = 'caracal' | 'bird' | 'gobgp';
interface RunSpec {
  readonly prefixes: number;
  readonly kernel: boolean;
}
interface Measurement {
  readonly receiver: ReceiverKind;
  readonly prefixes: number;
  /** What the run asked for (kernel install or RIB only). */
  readonly run: 'kernel' | 'rib';
  /** Whether this receiver installed into the kernel (GoBGP never does here). */
  readonly kernel: boolean;
  readonly ribSeconds: number;
  readonly kernelSeconds: number | null;
  readonly rssAtEstablishedMiB: number;
  readonly rssAfterMiB: number;
  readonly bytesPerRoute: number;
  readonly pollMs: number;
}

const SENDER_JS = join(dirname(fileURLToPath(import.meta.url)), 'bgpd-sender.js');
// BGPD_BENCH_BGPD=path/to/caracal-bgpd.js runs another build (e.g. a copy of an older dist, for before/after).
const BGPD_JS =
  process.env.BGPD_BENCH_BGPD ?? join(repositoryRoot(), 'packages/bgp-speaker/dist/src/cli/caracal-bgpd.js');
const SENDER = '10.88.0.1';
const RECEIVER = '10.88.0.2';
const SENDER_AS = 65100;
const RECEIVER_AS = 65200;
const RIB_POLL_MS = 100;

function parseRuns(text: string): RunSpec[] {
  return text.split(',').map((item) => {
    const [count, mode] = item.split(':');
    const prefixes = Number(count);
    if (!Number.isInteger(prefixes) || prefixes <= 0 || (mode !== 'kernel' && mode !== 'rib')) {
      throw new Error(`BGPD_BENCH_RUNS: "${item}" is not COUNT:kernel or COUNT:rib`);
    }
    return { prefixes, kernel: mode === 'kernel' };
  });
}

function parseReceivers(text: string): ReceiverKind[] {
  return text.split(',').map((name) => {
    if (name !== 'caracal' && name !== 'bird' && name !== 'gobgp') {
      throw new Error(`BGPD_BENCH_RECEIVERS: unknown receiver "${name}" (caracal, bird, gobgp)`);
    }
    return name;
  });
}

const now = () => performance.timeOrigin + performance.now();

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

async function shell(lab: Lab, node: string, script: string, timeoutMs = 600_000): Promise<string> {
  const result = await lab.exec(node, ['sh', '-c', script], { timeoutMs });
  if (result.code !== 0) throw new Error(`${node}: ${script}: exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Stops a lab process. Lab processes are unref'd children: while one takes its time to exit (caracal-bgpd
 * removing 1M kernel routes), nothing else keeps this script's event loop alive, so a timer does.
 */
async function stopKeepingAlive(process: LabProcess, graceMs: number): Promise<void> {
  const keepAlive = setInterval(() => {}, 1000);
  try {
    await process.stop({ graceMs });
  } finally {
    clearInterval(keepAlive);
  }
}

/** The receiver's config and control socket folder, inside the lab's log folder (kept on failure). */
function receiverDir(lab: Lab): string {
  const dir = join(lab.runDir, 'rcv');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A receiver under test: started in the `rcv` node, asked for its RIB size. */
interface Receiver {
  readonly process: LabProcess;
  ribCount(): Promise<number>;
  /** Kernel protocol name/number of its routes, or null when it installs nothing. */
  readonly kernelProtocol: string | null;
}

async function startBird(lab: Lab, kernel: boolean): Promise<Receiver> {
  const dir = receiverDir(lab);
  const socket = join(dir, 'bird.ctl');
  const config = join(dir, 'bird.conf');
  writeFileSync(
    config,
    `router id ${RECEIVER};
protocol device {}
${kernel ? 'protocol kernel { ipv4 { export all; }; }' : ''}
protocol bgp sender {
  local ${RECEIVER} as ${RECEIVER_AS};
  neighbor ${SENDER} as ${SENDER_AS};
  hold time 240;
  ipv4 { import all; export none; };
}
`,
  );
  const process = await lab.spawn('rcv', [
    'bird',
    '-f',
    '-c',
    config,
    '-s',
    socket,
    '-P',
    join(dir, 'bird.pid'),
  ]);
  const ribCount = async () => {
    const text = await shell(lab, 'rcv', `birdc -s ${socket} show route table master4 protocol sender count`);
    return Number(/(\d+) of \d+ routes/.exec(text)?.[1] ?? 0);
  };
  await waitUntil(
    'BIRD to answer',
    async () => (await lab.exec('rcv', ['birdc', '-s', socket, 'show', 'status'])).code === 0 || undefined,
  );
  return { process, ribCount, kernelProtocol: kernel ? 'bird' : null };
}

async function startGobgp(lab: Lab): Promise<Receiver> {
  const dir = receiverDir(lab);
  const config = join(dir, 'gobgpd.toml');
  // The namespace is fresh and private to this lab, so any port on its loopback is free.
  const apiPort = 50051;
  writeFileSync(
    config,
    `[global.config]
  as = ${RECEIVER_AS}
  router-id = "${RECEIVER}"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${SENDER}"
    peer-as = ${SENDER_AS}
  [neighbors.timers.config]
    hold-time = 240
    keepalive-interval = 80
`,
  );
  const process = await lab.spawn('rcv', [
    'gobgpd',
    '-f',
    config,
    '-t',
    'toml',
    '--api-hosts',
    `127.0.0.1:${apiPort}`,
    '--pprof-disable',
    '-l',
    'warn',
  ]);
  const ribCount = async () => {
    const text = await shell(lab, 'rcv', `gobgp -p ${apiPort} global rib summary -a ipv4`);
    return Number(/Destination: (\d+)/.exec(text)?.[1] ?? 0);
  };
  await waitUntil(
    'gobgpd to answer',
    async () => (await lab.exec('rcv', ['gobgp', '-p', String(apiPort), 'global'])).code === 0 || undefined,
  );
  return { process, ribCount, kernelProtocol: null };
}

async function startCaracal(lab: Lab, kernel: boolean): Promise<Receiver> {
  if (!existsSync(BGPD_JS)) throw new Error(`caracal-bgpd is not built (${BGPD_JS}); run pnpm -s build`);
  const dir = receiverDir(lab);
  const config = join(dir, 'bgpd.yaml');
  const socket = join(dir, 'bgpd.sock');
  writeFileSync(
    config,
    `asNumber: ${RECEIVER_AS}
routerId: ${RECEIVER}
logLevel: warn
listen: { address: ${RECEIVER}, port: 179 }
kernel: { install: ${kernel} }
peers:
  - name: sender
    address: ${SENDER}
    asNumber: ${SENDER_AS}
    passive: true
    holdTime: 240
    import: { action: accept }
    export: { action: reject }
control: { socket: ${socket} }
metrics: { address: 127.0.0.1, port: 9092 }
`,
  );
  // BGPD_BENCH_PROFILE=DIR: a V8 CPU profile of caracal-bgpd per run (written when it stops), for pprof/devtools.
  const profile = globalThis.process.env.BGPD_BENCH_PROFILE;
  const nodeFlags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const process = await lab.spawn(
    'rcv',
    [globalThis.process.execPath, ...nodeFlags, BGPD_JS, '--config', config],
    {
      name: 'caracal-bgpd',
    },
  );
  // The control socket's protocol (one JSON line each way) straight from here: spawning caracal-bgp for
  // every poll would cost the receiver more CPU than BIRD's birdc or GoBGP's gobgp do.
  const ribCount = () =>
    new Promise<number>((resolve, reject) => {
      const client = connect(socket);
      let answer = '';
      client.on('connect', () => client.write('{"op":"status"}\n'));
      client.on('data', (chunk: Buffer) => {
        answer += chunk.toString('utf8');
        if (!answer.includes('\n')) return;
        client.destroy();
        try {
          resolve((JSON.parse(answer) as { locRib: { prefixes: number } }).locRib.prefixes);
        } catch (error) {
          reject(error);
        }
      });
      client.on('error', reject);
      client.on('close', () =>
        reject(new Error(`control socket ${socket} closed without an answer: ${answer}`)),
      );
    });
  await waitUntil(
    'caracal-bgpd to answer',
    async () => {
      if (!process.running) throw new Error(`caracal-bgpd exited: ${process.log().slice(-2000)}`);
      return (
        (await ribCount()
          .then(() => true)
          .catch(() => undefined)) ?? undefined
      );
    },
    { timeoutMs: 30_000 },
  );
  return { process, ribCount, kernelProtocol: kernel ? '201' : null };
}

async function measure(receiverKind: ReceiverKind, spec: RunSpec): Promise<Measurement> {
  const lab = await Lab.up({
    name: `bgpd bench ${receiverKind} ${spec.prefixes}`,
    hosts: [{ name: 'snd' }, { name: 'rcv' }],
    links: [
      {
        a: { host: 'snd', interface: 'eth0', addresses: [`${SENDER}/24`] },
        b: { host: 'rcv', interface: 'eth0', addresses: [`${RECEIVER}/24`] },
      },
    ],
  });
  let failed = true;
  try {
    const receiver =
      receiverKind === 'bird'
        ? await startBird(lab, spec.kernel)
        : receiverKind === 'gobgp'
          ? await startGobgp(lab)
          : await startCaracal(lab, spec.kernel);
    const senderArgs = [
      SENDER_JS,
      '--connect',
      RECEIVER,
      '--local',
      SENDER,
      '--as',
      String(SENDER_AS),
      '--count',
      String(spec.prefixes),
    ];
    let sender = await lab.spawn('snd', [process.execPath, ...senderArgs]);
    const timeoutMs = Math.max(120_000, spec.prefixes * 0.6);
    let establishedLine: string;
    try {
      establishedLine = await sender.waitForLog(/"event":"established"/, { timeoutMs: 120_000 });
    } catch (error) {
      // Other engineers rebuild packages/bgp-speaker/dist in this shared tree; a sender started in the
      // middle of that fails to load its modules. One retry after a pause.
      if (sender.running) throw error;
      console.error(`  sender failed to start (${String(error).slice(0, 200)}); retrying once`);
      await new Promise((r) => setTimeout(r, 5000));
      sender = await lab.spawn('snd', [process.execPath, ...senderArgs], { name: 'sender-retry' });
      establishedLine = await sender.waitForLog(/"event":"established"/, { timeoutMs: 120_000 });
    }
    const establishedAt = (JSON.parse(establishedLine) as { at: number }).at;
    const rssAtEstablishedMiB = rssMiB(receiver.process.pid);
    const senderProblem = () => {
      const bad = sender
        .log()
        .split('\n')
        .find((l) => /"event":"(notification|closed|error)"/.test(l));
      if (bad) throw new Error(`sender: ${bad}\nreceiver log: ${receiver.process.log().slice(-2000)}`);
    };
    await waitUntil(
      `${receiverKind} to hold ${spec.prefixes} prefixes in its RIB`,
      async () => {
        senderProblem();
        return (await receiver.ribCount()) >= spec.prefixes || undefined;
      },
      { timeoutMs, intervalMs: RIB_POLL_MS },
    );
    const ribSeconds = (now() - establishedAt) / 1000;
    let kernelSeconds: number | null = null;
    if (spec.kernel && receiver.kernelProtocol) {
      const protocol = receiver.kernelProtocol;
      await waitUntil(
        `${receiverKind} to install ${spec.prefixes} kernel routes`,
        async () => {
          senderProblem();
          const lines = Number(
            (await shell(lab, 'rcv', `ip -4 route show table main proto ${protocol} | wc -l`)).trim(),
          );
          return lines >= spec.prefixes || undefined;
        },
        { timeoutMs, intervalMs: RIB_POLL_MS },
      );
      kernelSeconds = (now() - establishedAt) / 1000;
    }
    // Let deferred work (BIRD's table pruning, GC in GoBGP and Node) settle before reading RSS.
    await new Promise((r) => setTimeout(r, 2000));
    const rssAfterMiB = rssMiB(receiver.process.pid);
    await stopKeepingAlive(sender, 3000);
    await stopKeepingAlive(receiver.process, 30_000);
    failed = false;
    return {
      receiver: receiverKind,
      prefixes: spec.prefixes,
      run: spec.kernel ? 'kernel' : 'rib',
      kernel: spec.kernel && receiver.kernelProtocol !== null,
      ribSeconds,
      kernelSeconds,
      rssAtEstablishedMiB,
      rssAfterMiB,
      bytesPerRoute: ((rssAfterMiB - rssAtEstablishedMiB) * 2 ** 20) / spec.prefixes,
      pollMs: RIB_POLL_MS,
    };
  } finally {
    await lab.down({ keepLogs: failed });
  }
}

function ratio(ours: number | null | undefined, theirs: number | null | undefined): string {
  if (ours == null || theirs == null || theirs === 0) return '–';
  return `${(ours / theirs).toFixed(2)}x`;
}

function report(results: Measurement[]): void {
  const header = [
    'receiver',
    'prefixes',
    'kernel',
    'RIB s',
    'kernel s',
    'RSS@Est MiB',
    'RSS after MiB',
    'B/route',
  ];
  const rows = results.map((m) => [
    m.receiver === 'caracal' ? 'caracal-bgpd' : m.receiver === 'bird' ? 'BIRD 2.0.12' : 'GoBGP 3.10',
    m.prefixes.toLocaleString('en-US'),
    m.kernel ? 'yes' : 'no',
    m.ribSeconds.toFixed(2),
    m.kernelSeconds === null ? '–' : m.kernelSeconds.toFixed(2),
    m.rssAtEstablishedMiB.toFixed(1),
    m.rssAfterMiB.toFixed(1),
    Math.round(m.bytesPerRoute).toString(),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  console.log(`\nEstablished → all prefixes (poll every ${RIB_POLL_MS} ms), RSS, bytes of RSS per route:`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  const sizes = [...new Set(results.map((m) => `${m.prefixes}:${m.run}`))];
  console.log('\nRatios ours / BIRD and ours / GoBGP (time RIB, time kernel, bytes per route):');
  for (const size of sizes) {
    const at = (kind: ReceiverKind) =>
      results.find((m) => m.receiver === kind && `${m.prefixes}:${m.run}` === size);
    const ours = at('caracal');
    const bird = at('bird');
    const gobgp = at('gobgp');
    console.log(
      `${size.replace(':kernel', ' with kernel install').replace(':rib', ' RIB only')}: ` +
        `vs BIRD RIB ${ratio(ours?.ribSeconds, bird?.ribSeconds)}, kernel ${ratio(ours?.kernelSeconds, bird?.kernelSeconds)}, B/route ${ratio(ours?.bytesPerRoute, bird?.bytesPerRoute)}; ` +
        `vs GoBGP RIB ${ratio(ours?.ribSeconds, gobgp?.ribSeconds)}, B/route ${ratio(ours?.bytesPerRoute, gobgp?.bytesPerRoute)}`,
    );
  }
}

async function main(): Promise<void> {
  const runs = parseRuns(process.env.BGPD_BENCH_RUNS ?? '100000:kernel,1000000:rib');
  const receivers = parseReceivers(process.env.BGPD_BENCH_RECEIVERS ?? 'caracal,bird,gobgp');
  const results: Measurement[] = [];
  for (const spec of runs) {
    for (const receiver of receivers) {
      console.error(
        `bgpd bench: ${receiver} receiving ${spec.prefixes} prefixes${spec.kernel ? ' (kernel install)' : ' (RIB only)'} ...`,
      );
      const m = await measure(receiver, spec);
      console.error(
        `  RIB ${m.ribSeconds.toFixed(2)} s, kernel ${m.kernelSeconds?.toFixed(2) ?? '–'} s, RSS ${m.rssAfterMiB.toFixed(1)} MiB`,
      );
      results.push(m);
    }
  }
  report(results);
  console.log(`\n${JSON.stringify(results)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
