// Lab test of the writer's pacing by the route listeners of its own process, against the real kernel in a
// fresh network namespace: a NetlinkRouteTable whose `events` monitor has a small receive buffer (64 KiB
// asked: room for under 200 notifications) writes 30,000 routes in one batch through the default writer
// (a window of 4,096 requests, 256 per sendmsg). The monitor is never overrun (no `resync`), every
// route's notification arrives as a `route-added` event naming the interface the kernel chose for the
// gateway, and `ip -j route` shows them all; a route of ours then deleted by hand with `ip route del`
// still arrives as `route-removed` (the echoes of our own bulk writes hide nothing). Without the pacing
// the same write overruns the monitor (checked by hand with the limit lifted: the `netlink` package
// aborts the monitor process and a `resync` follows): one sendmsg of 256 requests alone makes more
// notifications than its buffer holds.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
if (!namespacesWork) console.log('kernel pacing lab tests skipped: they need root and network namespaces');

const ns = `crkp${randomBytes(3).toString('hex')}`;
const distEntry = resolve(import.meta.dirname, '../dist/src/index.js');
const COUNT = 30_000;
const PROTOCOL = 95;
let scratch = '';

const ip = (...args: string[]) =>
  execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });

describe.skipIf(!namespacesWork)('RouteWriter paced by the events monitor of its process', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/kernel']);
    scratch = mkdtempSync(join(tmpdir(), 'caracal-kernel-pacing-'));
    execFileSync('ip', ['netns', 'add', ns]);
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    for (const link of ['lo', 'v0', 'v1']) ip('link', 'set', link, 'up');
    ip('addr', 'add', '192.0.2.1/24', 'dev', 'v0');
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('writes 30,000 routes without overrunning a small monitor, which still sees a hand deletion', () => {
    const script = join(scratch, 'pacing.mjs');
    writeFileSync(
      script,
      `import { execFileSync } from 'node:child_process';
      import { NetlinkRouteTable } from ${JSON.stringify(distEntry)};
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      const table = new NetlinkRouteTable({ eventsReceiveBufferBytes: 64 * 1024 });
      const added = new Map();
      const removed = new Set();
      const resyncs = [];
      const subscription = table.events.subscribe((event) => {
        if (event.kind === 'resync') resyncs.push(event.reason);
        else if (event.kind === 'route-added' && event.route.protocol === ${PROTOCOL}) added.set(event.route.dst, event.route.device);
        else if (event.kind === 'route-removed' && event.route.protocol === ${PROTOCOL}) removed.add(event.route.dst);
      });
      await table.eventsListening();
      await table.listLinks(); // names the interfaces of notifications (as KernelFib's start does)
      const ops = [];
      for (let i = 0; i < ${COUNT}; i++) {
        const dst = \`10.\${64 + (i >> 16)}.\${(i >> 8) & 255}.\${i & 255}/32\`;
        ops.push({ op: 'replace', route: { dst, table: 254, protocol: ${PROTOCOL}, type: 'unicast', scope: 'universe', gateway: '192.0.2.2' } });
      }
      const result = await table.applyBatch(ops);
      // Waiting (bounded) for the notifications of the last writes, which may trail the acknowledgements.
      for (let waited = 0; added.size < ${COUNT} && resyncs.length === 0 && waited < 30000; waited += 20) await sleep(20);
      const addedCount = added.size;
      const devices = [...new Set(added.values())];
      execFileSync('ip', ['route', 'del', '10.64.0.7/32', 'proto', '${PROTOCOL}']);
      for (let waited = 0; !removed.has('10.64.0.7/32') && waited < 30000; waited += 20) await sleep(20);
      subscription.unsubscribe();
      table.close();
      process.stdout.write(JSON.stringify({
        succeeded: result.succeeded, failures: result.failures.length, resyncs, added: addedCount, devices,
        removed: [...removed],
      }));`,
    );
    const child = spawnSync('ip', ['netns', 'exec', ns, process.execPath, script], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({
      succeeded: COUNT,
      failures: 0,
      resyncs: [],
      added: COUNT,
      devices: ['v0'],
      removed: ['10.64.0.7/32'],
    });
    const kernel = JSON.parse(ip('-j', 'route', 'show', 'proto', String(PROTOCOL))) as { dst: string }[];
    expect(kernel).toHaveLength(COUNT - 1);
    expect(kernel.some((route) => route.dst === '10.64.0.7')).toBe(false);
  });
});
