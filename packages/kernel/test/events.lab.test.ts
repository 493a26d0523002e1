// Lab test of the `events` monitor against a burst of route changes made by ANOTHER process, in a fresh
// network namespace: `ip -batch` of 50,000 routes while a subscriber listens with a small receive buffer,
// so that the kernel overruns the monitor's socket (ENOBUFS). First the reason for the monitor process: a
// plain in-process subscription through the `netlink` package is aborted by it (SIGABRT). Then a
// NetlinkRouteTable subscriber survives it, gets a `resync` event, re-lists, and its view (built from
// events and re-lists) equals `ip -j route` (the kernel's own tool); changes after the restart still
// arrive as events, also when its monitor forwards them late. A monitor killed for another reason is
// replaced too, and none outlives its table.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
if (!namespacesWork) console.log('kernel events lab tests skipped: they need root and network namespaces');

const ns = `crke${randomBytes(3).toString('hex')}`;
const distEntry = resolve(import.meta.dirname, '../dist/src/index.js');
const netlinkEntry = createRequire(import.meta.url).resolve('netlink');
const COUNT = 50_000;
const PROTOCOL = 97;
/** How long the subscriber may take to reach the kernel's state before it answers anyway (a failure). */
const SETTLE_DEADLINE_MS = 30_000;
let scratch = '';
let batchFile = '';
let flag = '';
/** Drivers still running, killed after the tests (also when one failed). */
const running = new Set<ReturnType<typeof spawn>>();

const ip = (...args: string[]) =>
  execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
const kernelDsts = () =>
  (JSON.parse(ip('-j', 'route', 'show', 'proto', String(PROTOCOL))) as { dst: string }[]).map((route) =>
    route.dst.includes('/') ? route.dst : `${route.dst}/32`,
  );

interface Driver {
  /** Resolves with the next line the driver prints; rejects if it exits first. */
  nextLine(): Promise<string>;
  /** Writes a line to its stdin. */
  tell(line: string): void;
  /** Resolves when it exits. */
  readonly exited: Promise<{ status: number | null; signal: string | null; stderr: string }>;
}

/** Starts a driver module inside the namespace, concurrently with the test (unlike spawnSync). */
function startDriver(name: string, source: string): Driver {
  const script = join(scratch, `${name}.mjs`);
  writeFileSync(script, source);
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let partial = '';
  let stderr = '';
  const lines: string[] = [];
  const waiters: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let ended: Error | undefined;
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    partial += text;
    for (let newline = partial.indexOf('\n'); newline >= 0; newline = partial.indexOf('\n')) {
      const line = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      const waiter = waiters.shift();
      if (waiter) waiter.resolve(line);
      else lines.push(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  child.stdin.on('error', () => {});
  running.add(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const exited = new Promise<{ status: number | null; signal: string | null; stderr: string }>((done) => {
    child.on('close', (status, signal) => {
      running.delete(child);
      clearTimeout(timer);
      ended = new Error(
        `driver ${name} exited (${signal ?? status}): ${stderr} [unread: ${lines.length} lines, ${partial.length} bytes: ${partial.slice(0, 200)}]`,
      );
      for (const waiter of waiters.splice(0)) waiter.reject(ended);
      done({ status, signal, stderr });
    });
  });
  return {
    nextLine: () => {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (ended) return Promise.reject(ended);
      return new Promise((resolveLine, reject) => waiters.push({ resolve: resolveLine, reject }));
    },
    tell: (line) => child.stdin.write(`${line}\n`),
    exited,
  };
}

/** `ip -batch` of COUNT route replaces of our protocol, by another process than the subscriber. */
function externalBurst(): void {
  execFileSync('ip', ['-n', ns, '-batch', batchFile], { stdio: 'ignore' });
}

describe.skipIf(!namespacesWork)('events monitor under an external burst of route changes', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/kernel']);
    scratch = mkdtempSync(join(tmpdir(), 'caracal-kernel-events-'));
    batchFile = join(scratch, 'burst.batch');
    flag = join(scratch, 'burst-over');
    const lines: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      lines.push(
        `route replace 10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32 dev v0 proto ${PROTOCOL}`,
      );
    }
    writeFileSync(batchFile, `${lines.join('\n')}\n`);
    execFileSync('ip', ['netns', 'add', ns]);
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    for (const link of ['v0', 'v1']) ip('link', 'set', link, 'up');
  });
  afterAll(() => {
    for (const child of running) child.kill('SIGKILL'); // its monitor exits when its stdin closes
    spawnSync('ip', ['netns', 'del', ns]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('an in-process subscription through the netlink package is aborted by the overrun (why the monitor is a process)', async () => {
    const driver = startDriver(
      'in-process',
      `import { existsSync } from 'node:fs';
      import { createRequire } from 'node:module';
      const { Protocol, RawNetlinkSocket, rt } = createRequire(import.meta.url)(${JSON.stringify(netlinkEntry)});
      const monitor = new RawNetlinkSocket(Protocol.ROUTE, { recvBufferSize: 4096, sendBufferSize: 0 });
      monitor.addMembership(rt.MulticastGroups.IPV4_ROUTE);
      let datagrams = 0;
      monitor.on('message', () => { datagrams++; });
      monitor.on('error', (error) => { process.stdout.write('error event: ' + error.message + '\\n'); process.exit(0); });
      // Busy elsewhere (as a daemon may be) until the burst is over: the socket is not read meanwhile.
      process.stdin.once('data', () => {
        // Written synchronously (a pipe): once the test reads it, this process no longer reads its socket.
        process.stdout.write('blocking\\n');
        while (!existsSync(${JSON.stringify(flag)})) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        setTimeout(() => { process.stdout.write('survived ' + datagrams + '\\n'); process.exit(0); }, 500);
      });
      process.stdout.write('ready\\n');`,
    );
    expect(await driver.nextLine()).toBe('ready');
    driver.tell('block');
    // Not a sleep: under load the driver may take long to read 'block', and reading its socket during the
    // burst it would see the overrun from recvmsg (an error event) instead of being aborted.
    expect(await driver.nextLine()).toBe('blocking');
    externalBurst();
    writeFileSync(flag, '');
    const exit = await driver.exited;
    expect(exit.signal).toBe('SIGABRT');
    expect(exit.stderr).toContain("terminate called after throwing an instance of 'Napi::Error'");
    ip('route', 'flush', 'proto', String(PROTOCOL));
  });

  it('a NetlinkRouteTable subscriber survives, resyncs, and its view equals ip -j route', async () => {
    // The subscriber's view follows its events and re-lists on `resync`. After each step the test sends it
    // what `ip -j route` shows; it says it got the line, then answers once its view equals that (every
    // re-list done), or when SETTLE_DEADLINE_MS have passed without that happening (then the assertions
    // below show the difference). It waits for that state, not for a quiet period: the kernel queues a
    // notification on the monitor's socket before `ip` returns, but the monitor process still has to be
    // scheduled to read and forward it, so on a loaded host the test's next line can reach the subscriber
    // before the events of the changes made just before it (step 2 makes that happen every time).
    const driver = startDriver(
      'subscriber',
      `import { NetlinkRouteTable } from ${JSON.stringify(distEntry)};
      // A small monitor buffer, so that the burst surely overruns it.
      const table = new NetlinkRouteTable({ eventsReceiveBufferBytes: 4096 });
      const view = new Set();
      const resyncs = [];
      const pids = new Set();
      let relisting = Promise.resolve();
      let relistsPending = 0;
      const relist = async () => {
        try {
          const routes = await table.listRoutes({ protocol: ${PROTOCOL} });
          view.clear();
          for (const route of routes) view.add(route.dst);
        } finally {
          relistsPending--;
        }
      };
      const startRelist = () => {
        relistsPending++;
        relisting = relisting.then(relist);
        return relisting;
      };
      table.events.subscribe((event) => {
        if (table.eventsMonitorPid) pids.add(table.eventsMonitorPid);
        if (event.kind === 'resync') {
          resyncs.push(event.reason);
          void startRelist();
        } else if (event.kind === 'route-added' && event.route.protocol === ${PROTOCOL}) {
          view.add(event.route.dst);
        } else if (event.kind === 'route-removed' && event.route.protocol === ${PROTOCOL}) {
          view.delete(event.route.dst);
        }
      });
      await table.eventsListening();
      pids.add(table.eventsMonitorPid);
      await startRelist();
      const equalsExpected = (expected) => view.size === expected.size && [...expected].every((dst) => view.has(dst));
      // Until the view equals what the kernel shows, with at least minResyncs resyncs seen and their
      // re-lists done, or until the deadline: checked every 20 ms (a re-list of 50,000 routes is no event).
      const settle = async (expected, minResyncs) => {
        const started = Date.now();
        for (;;) {
          if (resyncs.length >= minResyncs && relistsPending === 0 && equalsExpected(expected)) return true;
          if (Date.now() - started >= ${SETTLE_DEADLINE_MS}) return false;
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const say = (message) => new Promise((r) => process.stdout.write(JSON.stringify(message) + '\\n', r));
      let partial = '';
      let steps = Promise.resolve();
      process.stdin.setEncoding('utf8').on('data', (text) => {
        partial += text;
        for (let newline = partial.indexOf('\\n'); newline >= 0; newline = partial.indexOf('\\n')) {
          const { step, expected } = JSON.parse(partial.slice(0, newline));
          partial = partial.slice(newline + 1);
          steps = steps.then(async () => {
            await say({ received: step });
            // Step 1 follows the burst that overran the monitor: its view is right only after a resync.
            const settled = await settle(new Set(expected), step === 1 ? 1 : 0);
            const monitorPid = table.eventsMonitorPid;
            await say({ step, settled, resyncs, monitors: pids.size, monitorPid, view: [...view].sort() });
            if (step === 2) { table.close(); process.exit(0); }
          });
        }
      });
      setInterval(() => {}, 1000);
      process.stdout.write(String(table.eventsMonitorPid) + '\\n');`,
    );
    /** Sends a step's expected routes and waits until the subscriber says it has read them. */
    const ask = async (step: number, expected: string[]) => {
      driver.tell(JSON.stringify({ step, expected }));
      expect(JSON.parse(await driver.nextLine())).toEqual({ received: step });
    };
    // The monitor process stopped during the burst (as an overloaded host may leave it): it overruns for sure.
    const monitorPid = Number(await driver.nextLine());
    expect(monitorPid).toBeGreaterThan(0);
    process.kill(monitorPid, 'SIGSTOP');
    try {
      externalBurst();
    } finally {
      process.kill(monitorPid, 'SIGCONT');
    }
    const afterBurst = kernelDsts().sort();
    expect(afterBurst).toHaveLength(COUNT);
    await ask(1, afterBurst);
    const firstAnswer = JSON.parse(await driver.nextLine()) as {
      settled: boolean;
      resyncs: string[];
      monitors: number;
      monitorPid: number;
      view: string[];
    };
    expect(firstAnswer.resyncs.length).toBeGreaterThanOrEqual(1);
    // Either poll saw the overrun first (the package aborted the monitor process, which was replaced) or
    // recvmsg did (the monitor reported it and went on).
    const reason = firstAnswer.resyncs[0] ?? '';
    expect(reason).toMatch(
      /^the events monitor \(pid \d+\) (was killed by SIGABRT: terminate called|overran)/,
    );
    expect(firstAnswer.monitors).toBe(reason.includes('SIGABRT') ? 2 : 1);
    expect(firstAnswer.view).toEqual(afterBurst);
    expect(firstAnswer.settled).toBe(true);

    // After the restart, single changes arrive as events again, also when the monitor forwards them only
    // after the subscriber was asked: it is stopped until then (two notifications do not overrun it).
    expect(firstAnswer.monitorPid).toBeGreaterThan(0);
    process.kill(firstAnswer.monitorPid, 'SIGSTOP');
    let afterChanges: string[];
    try {
      ip('route', 'del', '10.64.0.7/32', 'proto', String(PROTOCOL));
      ip('route', 'add', '10.99.0.1/32', 'dev', 'v0', 'proto', String(PROTOCOL));
      afterChanges = kernelDsts().sort();
      await ask(2, afterChanges);
    } finally {
      process.kill(firstAnswer.monitorPid, 'SIGCONT');
    }
    expect(afterChanges).toContain('10.99.0.1/32');
    expect(afterChanges).not.toContain('10.64.0.7/32');
    const last = JSON.parse(await driver.nextLine()) as {
      settled: boolean;
      resyncs: string[];
      view: string[];
    };
    const exit = await driver.exited;
    expect(exit.signal).toBeNull();
    expect(exit.status).toBe(0);
    expect(last.resyncs).toEqual(firstAnswer.resyncs); // no further loss: the view follows events
    expect(last.view).toContain('10.99.0.1/32');
    expect(last.view).not.toContain('10.64.0.7/32');
    expect(last.view).toEqual(afterChanges);
    expect(last.settled).toBe(true);
  });

  it('restarts a monitor process that dies for any reason, says so, and leaves none behind on unsubscribe', async () => {
    const driver = startDriver(
      'restart',
      `import { NetlinkRouteTable } from ${JSON.stringify(distEntry)};
      const table = new NetlinkRouteTable();
      const seen = [];
      const sub = table.events.subscribe((event) => {
        let line;
        if (event.kind === 'resync') line = 'resync ' + event.reason + ' now ' + table.eventsMonitorPid;
        if (event.kind === 'route-added' && event.route.protocol === ${PROTOCOL}) line = 'added ' + event.route.dst;
        if (line === undefined) return;
        seen.push(line);
        process.stdout.write(line + '\\n');
      });
      await table.eventsListening();
      const lines = process.stdin.setEncoding('utf8');
      lines.on('data', async (line) => {
        if (line.startsWith('report')) {
          const pid = table.eventsMonitorPid;
          sub.unsubscribe();
          process.stdout.write(JSON.stringify({ seen, pid }) + '\\n', () => { table.close(); process.exit(0); });
        }
      });
      setInterval(() => {}, 1000);
      process.stdout.write(String(table.eventsMonitorPid) + '\\n');`,
    );
    const firstPid = Number(await driver.nextLine());
    process.kill(firstPid, 'SIGKILL');
    // The resync is announced once the new monitor listens (a new node process: seconds under load), so
    // a route added after it must be announced by the new monitor.
    expect(await driver.nextLine()).toMatch(/^resync /);
    ip('route', 'add', '10.98.0.1/32', 'dev', 'v0', 'proto', String(PROTOCOL));
    expect(await driver.nextLine()).toBe('added 10.98.0.1/32');
    driver.tell('report');
    const report = JSON.parse(await driver.nextLine()) as { seen: string[]; pid: number };
    expect(report.seen).toEqual([
      `resync the events monitor (pid ${firstPid}) was killed by SIGKILL now ${report.pid}`,
      'added 10.98.0.1/32',
    ]);
    expect(report.pid).not.toBe(firstPid);
    expect((await driver.exited).status).toBe(0);
    // The monitor of an unsubscribed (and exited) table is gone.
    const gone = () =>
      !existsSync(`/proc/${report.pid}`) ||
      /^\S+ \(.*\) Z/.test(readFileSync(`/proc/${report.pid}/stat`, 'utf8'));
    for (let waited = 0; !gone() && waited < 5000; waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    expect(gone()).toBe(true);
    ip('route', 'del', '10.98.0.1/32', 'proto', String(PROTOCOL));
  });
});
