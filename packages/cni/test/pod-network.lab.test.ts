// Lab test of the pod wiring on the real kernel: inside a "node" namespace, wire a pod namespace with the
// iproute2 implementation; the pod reaches the node through 169.254.1.1 (proxy ARP) and the node reaches
// the pod over its /32 route; inspect() sees what was made; unwire removes it and is idempotent.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const namespacesWork = isRoot && spawnSync('ip', ['netns', 'list']).status === 0;
if (!namespacesWork) console.log('cni lab tests skipped: they need root and network namespaces');

const prefix = `crc${randomBytes(3).toString('hex')}`;
const nodeNs = `${prefix}-node`;
const podNs = `${prefix}-pod`;
const cniDist = resolve(import.meta.dirname, '../dist/src/index.js');
let scratch = '';

function inNode(code: string): unknown {
  const script = join(scratch, `step-${randomBytes(2).toString('hex')}.mjs`);
  writeFileSync(
    script,
    `import { IpRoute2PodNetworking } from ${JSON.stringify(cniDist)};
     const net = new IpRoute2PodNetworking();
     const wiring = { netns: '/var/run/netns/${podNs}', podIfName: 'eth0', hostIfName: 'cara0123456789a', mtu: 1400, addresses: ['10.65.0.5/32'] };
     const result = await (async () => { ${code} })();
     process.stdout.write(JSON.stringify(result ?? null));`,
  );
  const child = spawnSync('ip', ['netns', 'exec', nodeNs, process.execPath, script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (child.status !== 0) throw new Error(`step failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

describe.skipIf(!namespacesWork)('pod wiring on the real kernel', () => {
  beforeAll(async () => {
    await buildPackagesForLab(['packages/cni']);
    scratch = mkdtempSync(join(tmpdir(), 'caracal-cni-'));
    execFileSync('ip', ['netns', 'add', nodeNs]);
    execFileSync('ip', ['netns', 'add', podNs]);
    // The node needs an uplink with a default route, or proxy ARP will not answer for 169.254.1.1.
    execFileSync('ip', ['-n', nodeNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    execFileSync('ip', ['-n', nodeNs, 'link', 'set', 'eth0', 'up']);
    execFileSync('ip', ['-n', nodeNs, 'link', 'set', 'eth0peer', 'up']);
    execFileSync('ip', ['-n', nodeNs, 'addr', 'add', '192.0.2.10/24', 'dev', 'eth0']);
    execFileSync('ip', ['-n', nodeNs, 'route', 'add', 'default', 'via', '192.0.2.1']);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', podNs]);
    spawnSync('ip', ['netns', 'del', nodeNs]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('wires a pod that reaches its node through 169.254.1.1, and unwires it', () => {
    const { podMac } = inNode('return net.wire(wiring);') as { podMac: string };
    expect(podMac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const podLink = JSON.parse(
      execFileSync('ip', ['-n', podNs, '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' }),
    );
    expect(podLink[0]).toMatchObject({ address: podMac, mtu: 1400 });

    const podRoutes = execFileSync('ip', ['-n', podNs, 'route'], { encoding: 'utf8' });
    expect(podRoutes).toContain('default via 169.254.1.1 dev eth0');
    expect(podRoutes).toContain('169.254.1.1 dev eth0 scope link');
    expect(execFileSync('ip', ['-n', podNs, 'addr', 'show', 'eth0'], { encoding: 'utf8' })).toContain(
      'inet 10.65.0.5/32',
    );
    const hostLink = JSON.parse(
      execFileSync('ip', ['-n', nodeNs, '-j', 'link', 'show', 'cara0123456789a'], { encoding: 'utf8' }),
    );
    expect(hostLink[0]).toMatchObject({ address: 'ee:ee:ee:ee:ee:ee', mtu: 1400 });
    expect(execFileSync('ip', ['-n', nodeNs, 'route', 'show', '10.65.0.5'], { encoding: 'utf8' })).toContain(
      'dev cara0123456789a proto 96 scope link',
    );

    // Pod → node (proxy ARP for the gateway) and node → pod.
    execFileSync('ip', ['netns', 'exec', podNs, 'ping', '-c', '1', '-W', '2', '192.0.2.10']);
    execFileSync('ip', ['netns', 'exec', nodeNs, 'ping', '-c', '1', '-W', '2', '10.65.0.5']);

    const state = inNode('return net.inspect(wiring);');
    expect(state).toEqual({
      hostIfExists: true,
      hostMac: 'ee:ee:ee:ee:ee:ee',
      podIfExists: true,
      podMac,
      podAddresses: ['10.65.0.5/32'],
      podHasDefaultRoute: true,
      podHasIpv6DefaultRoute: false,
      hostRoutes: ['10.65.0.5/32'],
    });

    inNode("await net.unwire('cara0123456789a'); await net.unwire('cara0123456789a');");
    expect(spawnSync('ip', ['-n', nodeNs, 'link', 'show', 'cara0123456789a']).status).not.toBe(0);
    expect(spawnSync('ip', ['-n', podNs, 'link', 'show', 'eth0']).status).not.toBe(0);
  });

  it('a retried ADD replaces a half-made pair instead of failing', () => {
    inNode('await net.wire(wiring); return net.wire(wiring);');
    expect(execFileSync('ip', ['-n', podNs, 'addr', 'show', 'eth0'], { encoding: 'utf8' })).toContain(
      '10.65.0.5/32',
    );
    inNode("await net.unwire('cara0123456789a');");
  });

  it('wires through a netns path that `ip -batch` cannot carry (blank and #)', () => {
    const oddPath = join(scratch, 'pod ns#1');
    symlinkSync(`/var/run/netns/${podNs}`, oddPath);
    const { podMac } = inNode(`return net.wire({ ...wiring, netns: ${JSON.stringify(oddPath)} });`) as {
      podMac: string;
    };
    const podLink = JSON.parse(
      execFileSync('ip', ['-n', podNs, '-j', 'address', 'show', 'eth0'], { encoding: 'utf8' }),
    );
    expect(podLink[0]).toMatchObject({ address: podMac });
    expect(JSON.stringify(podLink[0].addr_info)).toContain('"local":"10.65.0.5"');
    inNode("await net.unwire('cara0123456789a');");
    expect(spawnSync('ip', ['-n', podNs, 'link', 'show', 'eth0']).status).not.toBe(0);
  });
});
