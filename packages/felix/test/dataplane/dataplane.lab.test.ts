// Lab test of Felix's dataplane against the real kernel in a fresh network namespace: IPv4 and IPv6 routes
// (checked with `ip -j route` / `ip -6 -j route`), sysctls (procfs) and the nftables table (`nft -j list`). A second process (a Felix
// restart) finds everything in place and writes nothing; a foreign route is never touched; a stale route
// of our protocol is swept.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
if (!namespacesWork) console.log('felix lab tests skipped: they need root and network namespaces');

const ns = `crf${randomBytes(3).toString('hex')}`;
const felixDist = resolve(import.meta.dirname, '../../dist/src/index.js');
const kernelDist = resolve(import.meta.dirname, '../../../kernel/dist/src/index.js');
let scratch = '';
const inNs = (...argv: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' });

function runFelixOnce(): {
  routesReplaced: number;
  routesRemoved: number;
  sysctlsWritten: number;
  nftRewritten: boolean;
  errors: string[];
} {
  const script = join(scratch, 'apply.mjs');
  writeFileSync(
    script,
    `import { CalcGraph, DataplaneApplier, NftCli } from ${JSON.stringify(felixDist)};
     import { NetlinkRouteTable, ProcSysctls } from ${JSON.stringify(kernelDist)};
     const graph = new CalcGraph('node1');
     graph.apply([
       { kind: 'WorkloadEndpoint', key: 'ns/a', value: { node: 'node1', interfaceName: 'cara0000000000a', ipNetworks: ['10.65.0.1/32', 'fd00:65::1/128'] } },
       { kind: 'WorkloadEndpoint', key: 'ns/b', value: { node: 'node1', interfaceName: 'cara0000000000b', ipNetworks: ['10.65.0.2/32'] } },
       { kind: 'BlockAffinity', key: 'blk', value: { node: 'node1', cidr: '10.65.0.0/26', state: 'confirmed' } },
       { kind: 'BlockAffinity', key: 'blk6', value: { node: 'node1', cidr: 'fd00:65::/122', state: 'confirmed' } },
       { kind: 'IPPool', key: 'p', value: { cidr: '10.65.0.0/16', natOutgoing: true, disabled: false, ipipMode: 'Never', vxlanMode: 'Never' } },
       { kind: 'IPPool', key: 'p6', value: { cidr: 'fd00:65::/64', natOutgoing: true, disabled: false, ipipMode: 'Never', vxlanMode: 'Never' } },
     ]);
     const routes = new NetlinkRouteTable();
     const applier = new DataplaneApplier({ routes, sysctls: new ProcSysctls(), nft: new NftCli() });
     const report = await applier.apply(graph.desired());
     routes.close();
     process.stdout.write(JSON.stringify(report));`,
  );
  const child = spawnSync('ip', ['netns', 'exec', ns, process.execPath, script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (child.status !== 0) throw new Error(`felix apply failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

describe.skipIf(!namespacesWork)('Felix dataplane on the real kernel', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/felix']);
    scratch = mkdtempSync(join(tmpdir(), 'caracal-felix-'));
    execFileSync('ip', ['netns', 'add', ns]);
    for (const suffix of ['a', 'b']) {
      execFileSync('ip', [
        '-n',
        ns,
        'link',
        'add',
        `cara0000000000${suffix}`,
        'type',
        'veth',
        'peer',
        'name',
        `peer${suffix}`,
      ]);
      execFileSync('ip', ['-n', ns, 'link', 'set', `cara0000000000${suffix}`, 'up']);
    }
    execFileSync('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    execFileSync('ip', ['-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
    execFileSync('ip', ['-n', ns, 'addr', 'add', '2001:db8:2::1/64', 'dev', 'eth0', 'nodad']);
    // Someone else's route, and a stale one of ours from a previous life.
    execFileSync('ip', ['-n', ns, 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.9', 'proto', 'static']);
    execFileSync('ip', [
      '-n',
      ns,
      'route',
      'add',
      '10.65.0.9/32',
      'dev',
      'eth0',
      'proto',
      '96',
      'scope',
      'link',
    ]);
    execFileSync('ip', [
      '-n',
      ns,
      '-6',
      'route',
      'add',
      '2001:db8:77::/48',
      'via',
      '2001:db8:2::9',
      'proto',
      'static',
    ]);
    execFileSync('ip', ['-n', ns, '-6', 'route', 'add', 'fd00:65::9/128', 'dev', 'eth0', 'proto', '96']);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('programs the kernel, sweeps only its own stale routes, and a restart writes nothing', () => {
    const first = runFelixOnce();
    expect(first.errors).toEqual([]);
    expect(first).toMatchObject({ routesReplaced: 5, routesRemoved: 2, nftRewritten: true });

    const routes = JSON.parse(inNs('ip', '-j', 'route', 'show')) as {
      dst: string;
      dev?: string;
      protocol?: string;
      scope?: string;
      type?: string;
    }[];
    const byDst = new Map(routes.map((r) => [r.dst, r]));
    expect(byDst.get('10.65.0.1')).toMatchObject({ dev: 'cara0000000000a', scope: 'link', protocol: '96' });
    expect(byDst.get('10.65.0.2')).toMatchObject({ dev: 'cara0000000000b', scope: 'link' });
    expect(byDst.get('10.65.0.0/26')).toMatchObject({ type: 'blackhole' });
    expect(byDst.has('10.65.0.9')).toBe(false);
    expect(byDst.get('198.51.100.0/24')).toMatchObject({ protocol: 'static' });

    // IPv6: the /128 through the workload's veth, the block's blackhole, the stale one of ours swept and
    // the foreign one kept.
    const routes6 = JSON.parse(inNs('ip', '-6', '-j', 'route', 'show')) as typeof routes;
    const byDst6 = new Map(routes6.map((r) => [r.dst, r]));
    expect(byDst6.get('fd00:65::1')).toMatchObject({ dev: 'cara0000000000a', protocol: '96' });
    expect(byDst6.get('fd00:65::/122')).toMatchObject({ type: 'blackhole', protocol: '96' });
    expect(byDst6.has('fd00:65::9')).toBe(false);
    expect(byDst6.get('2001:db8:77::/48')).toMatchObject({ protocol: 'static' });
    expect(inNs('cat', '/proc/sys/net/ipv6/conf/cara0000000000a/proxy_ndp').trim()).toBe('1');
    expect(inNs('cat', '/proc/sys/net/ipv6/conf/cara0000000000a/forwarding').trim()).toBe('1');
    expect(inNs('cat', '/proc/sys/net/ipv6/conf/cara0000000000a/accept_ra').trim()).toBe('0');
    expect(inNs('cat', '/proc/sys/net/ipv6/conf/all/forwarding').trim()).toBe('1');
    // Endpoint b has no IPv6 address: Calico leaves its IPv6 sysctls alone.
    expect(inNs('cat', '/proc/sys/net/ipv6/conf/cara0000000000b/proxy_ndp').trim()).toBe('0');

    expect(inNs('cat', '/proc/sys/net/ipv4/conf/cara0000000000a/proxy_arp').trim()).toBe('1');
    expect(inNs('cat', '/proc/sys/net/ipv4/neigh/cara0000000000a/proxy_delay').trim()).toBe('0');
    expect(inNs('cat', '/proc/sys/net/ipv4/ip_forward').trim()).toBe('1');
    const ruleset = inNs('nft', 'list', 'table', 'inet', 'caracal');
    expect(ruleset).toContain('ip saddr @masq-pools-v4 ip daddr != @all-pools-v4 masquerade');
    expect(ruleset).toContain('10.65.0.0/16');
    expect(ruleset).toContain('ip6 saddr @masq-pools-v6 ip6 daddr != @all-pools-v6 masquerade');
    expect(ruleset).toContain('fd00:65::/64');

    const restart = runFelixOnce();
    expect(restart).toEqual({
      routesReplaced: 0,
      routesRemoved: 0,
      routesWaitingForInterface: 0,
      sysctlsWritten: 0,
      nftRewritten: false,
      errors: [],
    });
  });

  it('repairs drift: a deleted route, a changed sysctl and a deleted nft table come back', () => {
    inNs('ip', 'route', 'del', '10.65.0.2/32');
    inNs('ip', '-6', 'route', 'del', 'fd00:65::1/128');
    inNs('sh', '-c', 'echo 0 > /proc/sys/net/ipv4/conf/cara0000000000b/proxy_arp');
    inNs('nft', 'delete', 'table', 'inet', 'caracal');
    const repair = runFelixOnce();
    expect(repair).toMatchObject({ routesReplaced: 2, sysctlsWritten: 1, nftRewritten: true, errors: [] });
    expect(inNs('ip', 'route', 'show', '10.65.0.2/32')).toContain('cara0000000000b');
    expect(inNs('ip', '-6', 'route', 'show', 'fd00:65::1/128')).toContain('cara0000000000a');
    expect(inNs('cat', '/proc/sys/net/ipv4/conf/cara0000000000b/proxy_arp').trim()).toBe('1');
  });
});
