// Lab test of NetlinkRouteTable.applyBatch against the real kernel, in a fresh network namespace: 20,000
// route writes in one batch (many per sendmsg), checked with `ip -j route` (the kernel's own tool). The
// failures the kernel (ENETUNREACH for an unreachable gateway, ENETDOWN for an interface that is down) or
// the table (ENODEV for an unknown interface name) reports land on exactly the ops that caused them, and
// all the others take effect; ops on one key apply in batch order; an events subscriber in the same
// process ends with the kernel's view (events, and a re-list if it got a resync); and a table with a
// window of 8 requests deletes them all again.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
if (!namespacesWork) console.log('kernel batch lab tests skipped: they need root and network namespaces');

const ns = `crkb${randomBytes(3).toString('hex')}`;
const distEntry = resolve(import.meta.dirname, '../dist/src/index.js');
const COUNT = 20_000;
let scratch = '';

const ip = (...args: string[]) =>
  execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
const ourRoutes = () =>
  JSON.parse(ip('-j', 'route', 'show', 'proto', '96')) as { dst: string; dev?: string; gateway?: string }[];

/** Runs a driver module inside the namespace and returns what it printed as JSON. */
function drive(name: string, source: string): Record<string, unknown> {
  const script = join(scratch, `${name}.mjs`);
  writeFileSync(script, `import { NetlinkRouteTable } from ${JSON.stringify(distEntry)};\n${source}`);
  const child = spawnSync('ip', ['netns', 'exec', ns, process.execPath, script], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 16 << 20,
  });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  return JSON.parse(child.stdout) as Record<string, unknown>;
}

// Route i of the batch: 10.64.0.0 + i, alternating between the two veths.
const ROUTE_OF = `const dstOf = (i) => \`10.\${64 + (i >> 16)}.\${(i >> 8) & 255}.\${i & 255}/32\`;
  const base = { table: 254, protocol: 96, type: 'unicast', scope: 'link' };
  const routeOf = (i) => ({ ...base, dst: dstOf(i), device: i % 2 ? 'v1' : 'v0' });`;

describe.skipIf(!namespacesWork)('NetlinkRouteTable.applyBatch in a real namespace', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/kernel']);
    scratch = mkdtempSync(join(tmpdir(), 'caracal-kernel-batch-'));
    execFileSync('ip', ['netns', 'add', ns]);
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('link', 'add', 'down0', 'type', 'veth', 'peer', 'name', 'down1'); // left down
    for (const link of ['v0', 'v1']) ip('link', 'set', link, 'up');
    ip('addr', 'add', '192.0.2.1/24', 'dev', 'v0');
    // Y exists before the batch, which deletes then re-creates it.
    ip('route', 'add', '10.200.0.2/32', 'dev', 'v0', 'proto', '96');
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('writes 20,000 routes in one batch and attributes each failure to its own op', () => {
    const out = drive(
      'write',
      `${ROUTE_OF}
      // A subscriber as Felix and caracal-bgpd are: a view of our routes from a listing, then events; a
      // resync (its monitor fell behind: this machine is shared) re-lists.
      const table = new NetlinkRouteTable();
      const view = new Set();
      let resyncs = 0;
      let relisting = Promise.resolve();
      const relist = async () => {
        const routes = await table.listRoutes({ protocol: 96 });
        view.clear();
        for (const route of routes) view.add(route.dst);
      };
      const sub = table.events.subscribe({ next: (e) => {
        if (e.kind === 'resync') { resyncs++; relisting = relisting.then(relist); }
        else if (e.kind === 'route-added' && e.route.protocol === 96) view.add(e.route.dst);
        else if (e.kind === 'route-removed' && e.route.protocol === 96) view.delete(e.route.dst);
      } });
      await table.eventsListening();
      await relist();
      const ops = [];
      for (let i = 0; i < ${COUNT}; i++) ops.push({ op: 'replace', route: routeOf(i) });
      ops[5000] = { op: 'replace', route: { ...base, dst: dstOf(5000), scope: 'universe', gateway: '203.0.113.9', device: 'v0' } };
      ops[12345] = { op: 'replace', route: { ...routeOf(12345), device: 'nosuch0' } };
      ops[15000] = { op: 'replace', route: { ...routeOf(15000), device: 'down0' } };
      ops[17000] = { op: 'delete', route: { ...base, dst: '10.99.0.0/24', scope: 'universe' } }; // absent: fine
      ops[100] = { op: 'replace', route: { ...base, dst: '10.200.0.1/32', device: 'v0' } };
      ops[101] = { op: 'delete', route: { ...base, dst: '10.200.0.1/32' } };
      ops[102] = { op: 'delete', route: { ...base, dst: '10.200.0.2/32' } };
      ops[103] = { op: 'replace', route: { ...base, dst: '10.200.0.2/32', device: 'v1' } };
      const result = await table.applyBatch(ops);
      await new Promise((r) => setTimeout(r, 1000));
      await relisting;
      sub.unsubscribe();
      table.close();
      process.stdout.write(JSON.stringify({
        succeeded: result.succeeded,
        view: [...view].map((dst) => dst.replace('/32', '')).sort(),
        resyncs,
        failures: result.failures.map((f) => ({ index: f.index, dst: f.op.route.dst, errno: f.error.errno, message: f.error.message })),
      }));`,
    );
    expect(out.failures).toEqual([
      {
        index: 5000,
        dst: '10.64.19.136/32',
        errno: 'ENETUNREACH',
        message:
          'cannot program route 10.64.19.136/32 via 203.0.113.9 dev v0 proto 96: Request rejected: ENETUNREACH',
      },
      { index: 12345, dst: '10.64.48.57/32', errno: 'ENODEV', message: "no interface named 'nosuch0'" },
      {
        index: 15000,
        dst: '10.64.58.152/32',
        errno: 'ENETDOWN',
        message:
          'cannot program route 10.64.58.152/32 dev down0 scope link proto 96: Request rejected: ENETDOWN',
      },
    ]);
    expect(out.succeeded).toBe(COUNT - 3);

    const expected = new Set<string>();
    for (let i = 0; i < COUNT; i++) {
      if ([100, 101, 102, 103, 5000, 12345, 15000, 17000].includes(i)) continue;
      expected.add(`10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
    }
    expected.add('10.200.0.2');
    const kernel = ourRoutes();
    expect(kernel).toHaveLength(expected.size);
    expect(new Set(kernel.map((r) => r.dst))).toEqual(expected);
    // Each route went out of the interface its op named; the re-created Y out of its new one.
    for (const route of kernel) {
      if (route.dst === '10.200.0.2') continue;
      const i = Number(route.dst.split('.')[2]) * 256 + Number(route.dst.split('.')[3]);
      expect(route.dev).toBe(i % 2 ? 'v1' : 'v0');
    }
    expect(kernel.find((r) => r.dst === '10.200.0.2')?.dev).toBe('v1');
    // The subscriber in the same process survived, and its view is the kernel's (through events, or a
    // re-list after a resync if its monitor overran).
    expect(out.view).toEqual([...expected].sort());
  });

  it('deletes them all with a window of 8 requests in flight', () => {
    const out = drive(
      'delete',
      `${ROUTE_OF}
      const table = new NetlinkRouteTable({ window: 8 });
      const ops = [];
      for (let i = 0; i < ${COUNT}; i++) ops.push({ op: 'delete', route: routeOf(i) });
      ops.push({ op: 'delete', route: { ...base, dst: '10.200.0.2/32' } });
      const result = await table.applyBatch(ops);
      table.close();
      process.stdout.write(JSON.stringify({ succeeded: result.succeeded, failures: result.failures.length }));`,
    );
    expect(out).toEqual({ succeeded: COUNT + 1, failures: 0 });
    expect(ourRoutes()).toEqual([]);
  });
});
