// Lab test of the kernel FIB against the real kernel in a fresh network namespace (rtnetlink through
// @caracal/kernel's NetlinkRouteTable), checked with `ip -j route` (the kernel's own tool): 1,000 routes
// (IPv4, ECMP, blackhole, IPv6 with link-local gateways and IPv6 ECMP) installed; a graceful restart
// that keeps them all; a sweep that removes only the unclaimed ones; routes of other protocols and
// other tables never touched; a hand-deleted route put back; a write refused with ENETUNREACH retried
// until the gateway becomes reachable; routes the kernel drops with a link going down restored when it comes
// back; stop without keepRoutes removing ours.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
if (!namespacesWork) console.log('bgp-speaker FIB lab tests skipped: they need root and network namespaces');

const ns = `crb${randomBytes(3).toString('hex')}`;
const fibDist = resolve(import.meta.dirname, '../../dist/src/fib/index.js');
let scratch = '';
const ip = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });

interface KernelViewRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  nexthops?: { gateway: string; dev: string }[];
}
function kernelRoutes(family: '-4' | '-6', ...selector: string[]): KernelViewRoute[] {
  return JSON.parse(ip(family, '-j', 'route', 'show', ...selector) || '[]');
}
function ourRoutes(): KernelViewRoute[] {
  return [...kernelRoutes('-4', 'proto', '201'), ...kernelRoutes('-6', 'proto', '201')];
}

/** Runs `body` (an async script with `fib`, `createKernelFib`, `sleep`, `sh` and `out` in scope) in the namespace. */
function runInNamespace(name: string, body: string): Record<string, unknown> {
  const script = join(scratch, `${name}.mjs`);
  writeFileSync(
    script,
    `import { createKernelFib } from ${JSON.stringify(fibDist)};
     import { execFileSync } from 'node:child_process';
     const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
     const sh = (...argv) => execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' });
     const out = {};
     const fib = createKernelFib({ protocol: 201, table: 254, retryInitialMs: 50, retryMaxMs: 200, resyncDebounceMs: 20 });
     ${body}
     process.stdout.write(JSON.stringify(out) + '\\n');`,
  );
  const child = spawnSync('ip', ['netns', 'exec', ns, process.execPath, script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (child.status !== 0) throw new Error(`${name} failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout);
}

// 1,000 prefixes: 900 IPv4 via one gateway, 40 IPv4 ECMP, 10 blackholes, 40 IPv6 via a link-local
// gateway with its device, 10 IPv6 ECMP.
const ROUTES_JS = `
  const routes = [];
  for (let i = 0; i < 900; i++) routes.push(['10.' + (100 + (i >> 8)) + '.' + (i & 255) + '.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.2' }] }]);
  for (let i = 0; i < 40; i++) routes.push(['10.200.' + i + '.0/24', { kind: 'unicast', nextHops: [{ gateway: '192.0.2.2' }, { gateway: '192.0.2.3' }] }]);
  for (let i = 0; i < 10; i++) routes.push(['10.201.' + i + '.0/24', { kind: 'blackhole' }]);
  for (let i = 0; i < 40; i++) routes.push(['2001:db8:' + (i + 1).toString(16) + '::/48', { kind: 'unicast', nextHops: [{ gateway: 'fe80::2', device: 'v0' }] }]);
  for (let i = 0; i < 10; i++) routes.push(['2001:db9:' + (i + 1).toString(16) + '::/48', { kind: 'unicast', nextHops: [{ gateway: '2001:db8:ff::2' }, { gateway: '2001:db8:ff::3' }] }]);
`;

describe.skipIf(!namespacesWork)('kernel FIB on the real kernel', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/bgp-speaker']);
    scratch = mkdtempSync(join(tmpdir(), 'caracal-fib-'));
    execFileSync('ip', ['netns', 'add', ns]);
    ip('link', 'set', 'lo', 'up');
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v0.accept_dad=0']);
    // Without this the kernel forgets v0's IPv6 addresses when it goes down (the link-cycle step).
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v0.keep_addr_on_down=1']);
    ip('link', 'set', 'v0', 'up');
    ip('link', 'set', 'v1', 'up');
    ip('addr', 'add', '192.0.2.1/24', 'dev', 'v0');
    ip('addr', 'add', '2001:db8:ff::1/64', 'dev', 'v0', 'nodad');
    // Someone else's routes (on a link the test never cycles): another protocol in our table, and our
    // protocol in another table.
    ip('link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1');
    ip('link', 'set', 'w0', 'up');
    ip('link', 'set', 'w1', 'up');
    ip('addr', 'add', '198.18.0.1/24', 'dev', 'w0');
    ip('route', 'add', '198.51.100.0/24', 'via', '198.18.0.9', 'proto', 'static');
    ip('route', 'add', '10.100.0.0/24', 'via', '198.18.0.9', 'proto', '201', 'table', '100');
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('installs 1,000 routes, survives a graceful restart, sweeps only the unclaimed, restores hand deletions', () => {
    const first = runInNamespace(
      'first-run',
      `${ROUTES_JS}
       await fib.start({ keepExisting: false });
       for (const [prefix, entry] of routes) fib.set(prefix, entry);
       await fib.flush();
       out.stats = fib.stats();
       await fib.stop({ keepRoutes: true });`,
    );
    expect(first.stats).toMatchObject({
      desired: 1000,
      installed: 1000,
      pendingRetries: 0,
      synced: true,
      failedWrites: 0,
    });
    let kernel = ourRoutes();
    expect(kernel).toHaveLength(1000);
    const v4Ecmp = kernelRoutes('-4', '10.200.7.0/24', 'proto', '201')[0];
    expect(v4Ecmp?.nexthops?.map((h) => h.gateway).sort()).toEqual(['192.0.2.2', '192.0.2.3']);
    expect(kernelRoutes('-4', '10.201.3.0/24', 'proto', '201')[0]?.type).toBe('blackhole');
    expect(kernelRoutes('-6', '2001:db8:5::/48', 'proto', '201')[0]).toMatchObject({
      gateway: 'fe80::2',
      dev: 'v0',
    });
    const v6Ecmp = kernelRoutes('-6', '2001:db9:3::/48', 'proto', '201')[0];
    expect(v6Ecmp?.nexthops?.map((h) => h.gateway).sort()).toEqual(['2001:db8:ff::2', '2001:db8:ff::3']);

    // Graceful restart: everything kept as stale; 800 claimed again unchanged (no writes), 10 changed,
    // the rest swept. A claimed route deleted by hand comes back. An unreachable gateway is retried.
    const second = runInNamespace(
      'second-run',
      `${ROUTES_JS}
       await fib.start({ keepExisting: true });
       await fib.flush();
       out.afterStart = fib.stats();
       out.countAfterStart = JSON.parse(sh('ip', '-j', 'route', 'show', 'proto', '201')).length
         + JSON.parse(sh('ip', '-6', '-j', 'route', 'show', 'proto', '201')).length;
       const claimed = [...routes.slice(0, 790), ...routes.slice(950, 960), ...routes.slice(990, 995)];
       for (const [prefix, entry] of claimed) fib.set(prefix, entry);
       for (const [prefix] of routes.slice(900, 910)) fib.set(prefix, { kind: 'blackhole' });
       await fib.flush();
       out.writesBeforeSweep = fib.stats().writes;
       fib.sweepStale();
       await fib.flush();
       out.afterSweep = fib.stats();
       sh('ip', 'route', 'del', '10.100.5.0/24', 'proto', '201');
       const deadline = Date.now() + 10000;
       while (!sh('ip', 'route', 'show', '10.100.5.0/24', 'proto', '201').includes('via') && Date.now() < deadline) await sleep(20);
       out.restored = sh('ip', 'route', 'show', '10.100.5.0/24', 'proto', '201').trim();
       fib.set('10.202.0.0/24', { kind: 'unicast', nextHops: [{ gateway: '203.0.113.5' }] });
       await fib.flush();
       out.unreachable = fib.stats();
       sh('ip', 'addr', 'add', '203.0.113.1/24', 'dev', 'v0');
       while (!fib.isInstalled('10.202.0.0/24') && Date.now() < deadline + 10000) await sleep(20);
       out.reachable = fib.stats();
       // The kernel drops the IPv4 routes through v0 silently when it goes down; they come back after it.
       sh('ip', 'link', 'set', 'v0', 'down');
       await sleep(300);
       out.whileDown = JSON.parse(sh('ip', '-j', 'route', 'show', 'proto', '201', 'dev', 'v0')).length;
       sh('ip', 'link', 'set', 'v0', 'up');
       const upDeadline = Date.now() + 15000;
       while (!fib.stats().synced && Date.now() < upDeadline) await sleep(20);
       out.afterLinkUp = fib.stats();
       await fib.stop({ keepRoutes: true });`,
    );
    expect(second.afterStart).toMatchObject({ desired: 0, staleFromPreviousRun: 1000, writes: 0 });
    expect(second.countAfterStart).toBe(1000);
    // Only the 10 changed prefixes were written before the sweep.
    expect(second.writesBeforeSweep).toBe(10);
    expect(second.afterSweep).toMatchObject({
      desired: 815,
      installed: 815,
      staleFromPreviousRun: 0,
      synced: true,
    });
    expect(second.restored).toMatch(/^10\.100\.5\.0\/24 via 192\.0\.2\.2 dev v0/);
    expect(second.unreachable).toMatchObject({ pendingRetries: 1, synced: false });
    expect((second.unreachable as { lastError: string }).lastError).toMatch(/ENETUNREACH|unreachable/i);
    expect(second.reachable).toMatchObject({ desired: 816, installed: 816, pendingRetries: 0, synced: true });

    expect(second.whileDown).toBe(0);
    expect(second.afterLinkUp).toMatchObject({
      desired: 816,
      installed: 816,
      pendingRetries: 0,
      synced: true,
    });
    expect((second.afterLinkUp as { repaired: number }).repaired).toBeGreaterThan(700);

    kernel = ourRoutes();
    expect(kernel).toHaveLength(816);
    const dsts = new Set(kernel.map((r) => r.dst));
    expect(dsts.has('10.100.0.0/24')).toBe(true); // claimed
    expect(dsts.has('10.103.131.0/24')).toBe(false); // route 899: swept
    expect(dsts.has('10.200.15.0/24')).toBe(false); // route 915 (IPv4 ECMP): swept
    expect(dsts.has('10.201.0.0/24')).toBe(false); // route 940 (blackhole): swept
    expect(dsts.has('2001:db8:1::/48')).toBe(true); // route 950 (IPv6 link-local gateway): claimed
    expect(dsts.has('2001:db8:b::/48')).toBe(false); // route 960: swept
    expect(dsts.has('2001:db9:1::/48')).toBe(true); // route 990 (IPv6 ECMP): claimed
    expect(dsts.has('2001:db9:6::/48')).toBe(false); // route 995: swept
    expect(kernelRoutes('-4', '10.200.3.0/24', 'proto', '201')[0]?.type).toBe('blackhole'); // route 903 changed
    // Others' routes untouched.
    expect(kernelRoutes('-4', '198.51.100.0/24')[0]).toMatchObject({
      gateway: '198.18.0.9',
      protocol: 'static',
    });
    expect(kernelRoutes('-4', 'table', '100')).toEqual([
      expect.objectContaining({ dst: '10.100.0.0/24', gateway: '198.18.0.9', protocol: '201' }),
    ]);

    // A stop without keepRoutes removes ours, and only ours.
    runInNamespace(
      'third-run',
      `await fib.start({ keepExisting: true });
       await fib.stop({ keepRoutes: false });`,
    );
    expect(ourRoutes()).toEqual([]);
    expect(kernelRoutes('-4', '198.51.100.0/24')).toHaveLength(1);
    expect(kernelRoutes('-4', 'table', '100')).toHaveLength(1);
  });
});
