// Benchmark: Felix programming 10,000 local workload routes (/32 scope link over rtnetlink, through the
// same DataplaneApplier the agent uses) beside `ip -batch` of the same routes — the kernel's own tool and
// our floor — in one run, in a fresh network namespace. Also the cost of a restart that finds everything
// in place (a diff that writes nothing). Prints a table with the ratio against ip -batch.
// Run: bench/run felix-routes   (as root; the measuring part re-runs this file inside the namespace)

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROUTES = Number(process.env.ROUTES ?? 10_000);
const INTERFACES = 100;
const iface = (i: number) => `cara${i.toString(16).padStart(11, '0')}`;
const address = (i: number) => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

async function measureInsideNamespace(): Promise<void> {
  const { CalcGraph, DataplaneApplier, FakeNft } = await import('@caracal/felix');
  const { NetlinkRouteTable, FakeSysctls } = await import('@caracal/kernel');
  const graph = new CalcGraph('bench');
  // One interface per endpoint (as the calc graph requires): 100 endpoints of 100 addresses each give the
  // kernel exactly the same 10,000 routes as 10,000 single-address pods, without 20,000 veth devices.
  const addressesByInterface = new Map<number, string[]>();
  for (let i = 0; i < ROUTES; i++) {
    const list = addressesByInterface.get(i % INTERFACES) ?? [];
    list.push(`${address(i)}/32`);
    addressesByInterface.set(i % INTERFACES, list);
  }
  const updates = [...addressesByInterface].map(([n, ipNetworks]) => ({
    kind: 'WorkloadEndpoint' as const,
    key: `w${n}`,
    value: { node: 'bench', interfaceName: iface(n), ipNetworks },
  }));
  // Only routes are measured: sysctls and nft go to fakes here (ip -batch has no equivalent of them).
  const routes = new NetlinkRouteTable();
  const applier = new DataplaneApplier({ routes, sysctls: new FakeSysctls(), nft: new FakeNft() });
  const calcStart = process.hrtime.bigint();
  graph.apply(updates);
  const desired = graph.desired();
  const calcMs = Number(process.hrtime.bigint() - calcStart) / 1e6;
  const start = process.hrtime.bigint();
  const report = await applier.apply(desired);
  const programMs = Number(process.hrtime.bigint() - start) / 1e6;
  const restartStart = process.hrtime.bigint();
  const again = await new DataplaneApplier({ routes, sysctls: new FakeSysctls(), nft: new FakeNft() }).apply(
    desired,
  );
  const noopMs = Number(process.hrtime.bigint() - restartStart) / 1e6;
  routes.close();
  if (report.routesReplaced !== ROUTES || again.routesReplaced !== 0) {
    throw new Error(`unexpected: programmed ${report.routesReplaced}, re-programmed ${again.routesReplaced}`);
  }
  process.stdout.write(
    JSON.stringify({ calcMs, programMs, noopMs, rssMb: process.memoryUsage().rss / 2 ** 20 }),
  );
}

function setUpNamespace(ns: string): void {
  execFileSync('ip', ['netns', 'add', ns]);
  const lines: string[] = [];
  for (let i = 0; i < INTERFACES; i++) {
    lines.push(
      `link add ${iface(i)} type veth peer name p${i}`,
      `link set ${iface(i)} up`,
      `link set p${i} up`,
    );
  }
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

function flushRoutes(ns: string): void {
  // Fails harmlessly ("FIB table does not exist") when there is nothing to flush.
  spawnSync('ip', ['-n', ns, 'route', 'flush', 'proto', '96']);
}

function main(): void {
  if (process.env.CARACAL_BENCH_INSIDE === '1') {
    measureInsideNamespace().catch((error) => {
      console.error(error);
      process.exit(1);
    });
    return;
  }
  const ns = `crb${randomBytes(3).toString('hex')}`;
  const scratch = mkdtempSync(join(tmpdir(), 'caracal-bench-'));
  try {
    console.error(`setting up namespace ${ns} with ${INTERFACES} workload interfaces ...`);
    setUpNamespace(ns);
    const batchFile = join(scratch, 'routes.batch');
    const lines = [];
    for (let i = 0; i < ROUTES; i++) {
      lines.push(`route replace ${address(i)}/32 dev ${iface(i % INTERFACES)} scope link proto 96`);
    }
    writeFileSync(batchFile, `${lines.join('\n')}\n`);
    const results: { name: string; ms: number }[] = [];
    for (let round = 0; round < 3; round++) {
      console.error(`round ${round + 1}/3: ip -batch ...`);
      flushRoutes(ns);
      const t0 = process.hrtime.bigint();
      execFileSync('ip', ['-n', ns, '-batch', batchFile]);
      results.push({ name: 'ip -batch', ms: Number(process.hrtime.bigint() - t0) / 1e6 });
      flushRoutes(ns);
      console.error(`round ${round + 1}/3: Felix ...`);
      const child = spawnSync('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url)], {
        env: { ...process.env, CARACAL_BENCH_INSIDE: '1', ROUTES: String(ROUTES) },
        encoding: 'utf8',
      });
      if (child.status !== 0) throw new Error(`felix measurement failed: ${child.stderr}`);
      const measured = JSON.parse(child.stdout) as {
        calcMs: number;
        programMs: number;
        noopMs: number;
        rssMb: number;
      };
      results.push({ name: 'felix calc graph', ms: measured.calcMs });
      results.push({ name: 'felix program (netlink)', ms: measured.programMs });
      results.push({ name: 'felix restart, nothing to do', ms: measured.noopMs });
    }
    const best = (name: string) => Math.min(...results.filter((r) => r.name === name).map((r) => r.ms));
    const floor = best('ip -batch');
    console.log(`\nProgramming ${ROUTES} workload routes (/32 scope link), best of 3:`);
    console.log(
      `${'what'.padEnd(32)}${'time'.padStart(12)}${'routes/s'.padStart(12)}${'vs ip -batch'.padStart(14)}`,
    );
    for (const name of [
      'ip -batch',
      'felix calc graph',
      'felix program (netlink)',
      'felix restart, nothing to do',
    ]) {
      const ms = best(name);
      console.log(
        `${name.padEnd(32)}${`${ms.toFixed(1)} ms`.padStart(12)}${Math.round((ROUTES / ms) * 1000)
          .toString()
          .padStart(12)}${`${(ms / floor).toFixed(2)}x`.padStart(14)}`,
      );
    }
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(scratch, { recursive: true, force: true });
  }
}

main();
