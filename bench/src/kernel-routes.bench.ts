// Benchmark: bulk route writes of @caracal/kernel's NetlinkRouteTable beside `ip -batch` (the kernel's own
// tool, one request and one ACK per route) in one run, in a fresh network namespace, for 10,000 and
// 100,000 workload routes (/32 scope link over 100 veths): applyBatch of replaces, the same routes written
// one replaceRoute call each (64 in flight, as caracal-bgpd's FIB does; the table coalesces them),
// applyBatch with a subscriber on the table's events (as Felix and caracal-bgpd run it, timed until the
// subscriber saw every route), and applyBatch of deletes beside `ip -batch` route del. Prints best-of-3 times and the ratio to ip -batch.
// Run: bench/run kernel-routes   (as root; the measuring part re-runs this file inside the namespace)
// SIZES=10000,100000 and ROUNDS=3 override the defaults.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIZES = (process.env.SIZES ?? '10000,100000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const INTERFACES = 100;
const PROTOCOL = 96;
const iface = (i: number) => `crkr${i}`;
const address = (i: number) => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

interface InsideMeasurement {
  batchReplaceMs: number;
  singleReplaceMs: number;
  batchDeleteMs: number;
  subscribedReplaceMs: number;
}

async function measureInsideNamespace(count: number): Promise<void> {
  const { NetlinkRouteTable } = await import('@caracal/kernel');
  type Route = import('@caracal/kernel').KernelRoute;
  const routes: Route[] = [];
  for (let i = 0; i < count; i++) {
    routes.push({
      dst: `${address(i)}/32`,
      table: 254,
      protocol: PROTOCOL,
      type: 'unicast',
      scope: 'link',
      device: iface(i % INTERFACES),
    });
  }
  const table = new NetlinkRouteTable();
  await table.listLinks(); // the link cache, as any long-running user has it
  const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
  const expectClean = (what: string, result: { succeeded: number; failures: readonly unknown[] }) => {
    if (result.succeeded !== count || result.failures.length > 0) {
      throw new Error(`${what}: ${result.succeeded} of ${count} succeeded, ${result.failures.length} failed`);
    }
  };

  let start = process.hrtime.bigint();
  expectClean(
    'applyBatch replace',
    await table.applyBatch(routes.map((route) => ({ op: 'replace', route }))),
  );
  const batchReplaceMs = ms(start);
  const listed = await table.listRoutes({ protocol: PROTOCOL });
  if (listed.length !== count) throw new Error(`the kernel has ${listed.length} of ${count} routes`);

  start = process.hrtime.bigint();
  expectClean('applyBatch delete', await table.applyBatch(routes.map((route) => ({ op: 'delete', route }))));
  const batchDeleteMs = ms(start);

  // One replaceRoute call per route, 64 in flight (the FIB's pattern): coalesced into shared datagrams.
  start = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < routes.length) await table.replaceRoute(routes[next++]!);
    }),
  );
  const singleReplaceMs = ms(start);
  expectClean('applyBatch delete', await table.applyBatch(routes.map((route) => ({ op: 'delete', route }))));

  // As Felix and caracal-bgpd run it: with a subscriber on the table's events (the writer then paces
  // itself so that the subscriber keeps up); timed until the subscriber has seen every route.
  let seen = 0;
  let allSeen: () => void = () => {};
  const everyEvent = new Promise<void>((resolve) => {
    allSeen = resolve;
  });
  const subscription = table.events.subscribe((event) => {
    if (event.kind === 'route-added' && event.route.protocol === PROTOCOL && ++seen === count) allSeen();
  });
  await new Promise((resolve) => setTimeout(resolve, 100)); // the monitor has joined its groups
  start = process.hrtime.bigint();
  expectClean(
    'applyBatch replace',
    await table.applyBatch(routes.map((route) => ({ op: 'replace', route }))),
  );
  // The monitor socket does not keep the process alive (netlink sockets are unref'd): a timer does.
  const keepAlive = setInterval(() => {}, 1000);
  await everyEvent;
  const subscribedReplaceMs = ms(start);
  clearInterval(keepAlive);
  subscription.unsubscribe();
  table.close();
  const measurement: InsideMeasurement = {
    batchReplaceMs,
    singleReplaceMs,
    batchDeleteMs,
    subscribedReplaceMs,
  };
  process.stdout.write(JSON.stringify(measurement));
}

function setUpNamespace(ns: string): void {
  execFileSync('ip', ['netns', 'add', ns]);
  const lines: string[] = [];
  for (let i = 0; i < INTERFACES; i++) {
    lines.push(
      `link add ${iface(i)} type veth peer name crkp${i}`,
      `link set ${iface(i)} up`,
      `link set crkp${i} up`,
    );
  }
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

function routeCount(ns: string): number {
  return execFileSync('ip', ['-n', ns, 'route', 'show', 'proto', String(PROTOCOL)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  })
    .split('\n')
    .filter(Boolean).length;
}

function flushRoutes(ns: string): void {
  // Fails harmlessly ("FIB table does not exist") when there is nothing to flush.
  spawnSync('ip', ['-n', ns, 'route', 'flush', 'proto', String(PROTOCOL)]);
}

function timeIpBatch(ns: string, file: string): number {
  const start = process.hrtime.bigint();
  execFileSync('ip', ['-n', ns, '-batch', file]);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function main(): void {
  if (process.env.CARACAL_BENCH_INSIDE === '1') {
    measureInsideNamespace(Number(process.env.ROUTES)).catch((error) => {
      console.error(error);
      process.exit(1);
    });
    return;
  }
  const ns = `crkr${randomBytes(3).toString('hex')}`;
  const scratch = mkdtempSync(join(tmpdir(), 'caracal-bench-'));
  try {
    console.error(`setting up namespace ${ns} with ${INTERFACES} veth pairs ...`);
    setUpNamespace(ns);
    const table: string[] = [];
    for (const count of SIZES) {
      const replaceFile = join(scratch, `replace-${count}.batch`);
      const deleteFile = join(scratch, `delete-${count}.batch`);
      const replaceLines: string[] = [];
      const deleteLines: string[] = [];
      for (let i = 0; i < count; i++) {
        const spec = `${address(i)}/32 dev ${iface(i % INTERFACES)} scope link proto ${PROTOCOL}`;
        replaceLines.push(`route replace ${spec}`);
        deleteLines.push(`route del ${spec}`);
      }
      writeFileSync(replaceFile, `${replaceLines.join('\n')}\n`);
      writeFileSync(deleteFile, `${deleteLines.join('\n')}\n`);
      const samples = new Map<string, number[]>();
      const note = (name: string, ms: number) => samples.set(name, [...(samples.get(name) ?? []), ms]);
      for (let round = 0; round < ROUNDS; round++) {
        console.error(
          `${count} routes, round ${round + 1}/${ROUNDS} (load average ${loadavg()[0]!.toFixed(1)})`,
        );
        flushRoutes(ns);
        note('ip -batch replace', timeIpBatch(ns, replaceFile));
        if (routeCount(ns) !== count) throw new Error(`ip -batch left ${routeCount(ns)} of ${count} routes`);
        note('ip -batch del', timeIpBatch(ns, deleteFile));
        flushRoutes(ns);
        const child = spawnSync(
          'ip',
          ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url)],
          {
            env: { ...process.env, CARACAL_BENCH_INSIDE: '1', ROUTES: String(count) },
            encoding: 'utf8',
            maxBuffer: 1 << 20,
          },
        );
        if (child.status !== 0) throw new Error(`measurement failed: ${child.stderr}`);
        const measured = JSON.parse(child.stdout) as InsideMeasurement;
        if (routeCount(ns) !== count)
          throw new Error(`replaceRoute left ${routeCount(ns)} of ${count} routes`);
        note('applyBatch replace', measured.batchReplaceMs);
        note('applyBatch delete', measured.batchDeleteMs);
        note('replaceRoute x N (64 in flight)', measured.singleReplaceMs);
        note('applyBatch replace, events on', measured.subscribedReplaceMs);
      }
      const best = (name: string) => Math.min(...(samples.get(name) ?? [Number.NaN]));
      const rows: [string, string][] = [
        ['ip -batch replace', 'ip -batch replace'],
        ['applyBatch replace', 'ip -batch replace'],
        ['replaceRoute x N (64 in flight)', 'ip -batch replace'],
        ['applyBatch replace, events on', 'ip -batch replace'],
        ['ip -batch del', 'ip -batch del'],
        ['applyBatch delete', 'ip -batch del'],
      ];
      for (const [name, reference] of rows) {
        const ms = best(name);
        table.push(
          `${String(count).padStart(7)}  ${name.padEnd(34)}${`${ms.toFixed(1)} ms`.padStart(12)}${Math.round(
            (count / ms) * 1000,
          )
            .toString()
            .padStart(10)}${`${(ms / best(reference)).toFixed(2)}x`.padStart(10)}`,
        );
      }
    }
    console.log(`\nBulk route writes (/32 scope link, ${INTERFACES} veths), best of ${ROUNDS}:`);
    console.log(
      `${'routes'.padStart(7)}  ${'what'.padEnd(34)}${'time'.padStart(12)}${'routes/s'.padStart(10)}${'vs ip'.padStart(10)}`,
    );
    for (const line of table) console.log(line);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(scratch, { recursive: true, force: true });
  }
}

main();
