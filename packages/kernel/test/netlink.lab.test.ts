// Lab test of NetlinkRouteTable against the real kernel: a child process inside a fresh network namespace
// programs unicast, scope-link, blackhole, ECMP and onlink routes over rtnetlink; `ip -j route` (the
// kernel's own tool) must show exactly them, and a hand deletion must arrive as an event.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
if (!namespacesWork) console.log('kernel lab tests skipped: they need root and network namespaces');

const ns = `crk${randomBytes(3).toString('hex')}`;
const distEntry = resolve(import.meta.dirname, '../dist/src/index.js');
let scratch = '';

const ip = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });

describe.skipIf(!namespacesWork)('NetlinkRouteTable in a real namespace', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/kernel']);
    scratch = mkdtempSync(join(tmpdir(), 'caracal-kernel-'));
    execFileSync('ip', ['netns', 'add', ns]);
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('link', 'set', 'v0', 'up');
    ip('link', 'set', 'v1', 'up');
    ip('addr', 'add', '192.0.2.1/24', 'dev', 'v0');
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('programs, lists, deletes and reports routes as the kernel sees them', () => {
    const script = join(scratch, 'drive.mjs');
    writeFileSync(
      script,
      `import { NetlinkRouteTable } from ${JSON.stringify(distEntry)};
       const t = new NetlinkRouteTable();
       const events = [];
       const sub = t.events.subscribe((e) => { if (e.kind === 'route-removed') events.push(e.route.dst); });
       const base = { table: 254, protocol: 96 };
       await t.replaceRoute({ ...base, dst: '10.65.0.0/26', type: 'blackhole', scope: 'universe' });
       await t.replaceRoute({ ...base, dst: '10.65.0.1/32', type: 'unicast', scope: 'link', device: 'v0' });
       await t.replaceRoute({ ...base, dst: '10.66.0.0/26', type: 'unicast', scope: 'universe', gateway: '192.0.2.2', device: 'v0' });
       await t.replaceRoute({ ...base, dst: '10.67.0.0/26', type: 'unicast', scope: 'universe',
         nextHops: [{ gateway: '192.0.2.2', device: 'v0' }, { gateway: '192.0.2.3', device: 'v0' }] });
       await t.replaceRoute({ ...base, dst: '10.68.0.0/26', type: 'unicast', scope: 'universe', gateway: '198.51.100.9', device: 'v0', onlink: true });
       // Replace in place: same key, new next hop.
       await t.replaceRoute({ ...base, dst: '10.66.0.0/26', type: 'unicast', scope: 'universe', gateway: '192.0.2.4', device: 'v0' });
       let missing = '';
       try { await t.replaceRoute({ ...base, dst: '10.65.0.9/32', type: 'unicast', scope: 'link', device: 'nosuch0' }); }
       catch (e) { missing = e.errno; }
       await t.deleteRoute({ ...base, dst: '10.99.0.0/24', type: 'unicast', scope: 'universe' }); // absent: no error
       const listed = await t.listRoutes({ protocol: 96 });
       // A hand deletion (the kernel's own tool) must arrive as a route-removed event.
       const { execFileSync } = await import('node:child_process');
       execFileSync('ip', ['route', 'del', '10.65.0.1/32']);
       await new Promise((r) => setTimeout(r, 300));
       process.stdout.write(JSON.stringify({ listed, missing, events }) + '\\n');
       sub.unsubscribe();
       t.close();`,
    );
    const child = spawnSync('ip', ['netns', 'exec', ns, process.execPath, script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.stderr).toBe('');
    const { listed, missing, events } = JSON.parse(child.stdout);
    expect(events).toEqual(['10.65.0.1/32']);
    expect(missing).toBe('ENODEV');
    expect(listed.map((r: { dst: string }) => r.dst).sort()).toEqual([
      '10.65.0.0/26',
      '10.65.0.1/32',
      '10.66.0.0/26',
      '10.67.0.0/26',
      '10.68.0.0/26',
    ]);
    expect(listed.find((r: { dst: string }) => r.dst === '10.66.0.0/26').gateway).toBe('192.0.2.4');
    expect(listed.find((r: { dst: string }) => r.dst === '10.68.0.0/26').onlink).toBe(true);
    const kernelView = JSON.parse(ip('-j', 'route', 'show', 'proto', '96')) as {
      dst: string;
      type?: string;
      nexthops?: unknown[];
    }[];
    expect(kernelView.map((r) => r.dst).sort()).toEqual([
      '10.65.0.0/26',
      '10.66.0.0/26',
      '10.67.0.0/26',
      '10.68.0.0/26',
    ]);
    expect(kernelView.find((r) => r.dst === '10.65.0.0/26')?.type).toBe('blackhole');
    expect(kernelView.find((r) => r.dst === '10.67.0.0/26')?.nexthops).toHaveLength(2);
  });
});
