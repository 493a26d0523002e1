// Unit tests of the IPIP decisions: modes per pool, CrossSubnet by the node's own prefix, the routes
// (plain via the uplink, onlink via tunl0, unreachable with a reason without the module), MTU, detection.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needsTunnel, networkOf, remoteBlockRoute, sameSubnet, tunnelMtu } from '../src/encapsulation.js';
import { detectIpipSupport } from '../src/support.js';

const context = { localNodeCidr: '10.0.1.5/24', uplinkDevice: 'eth0', ipipAvailable: true, protocol: 80 };

describe('IPIP decisions', () => {
  it('CrossSubnet uses the node’s own prefix', () => {
    expect(networkOf('10.0.1.5/24')).toBe('10.0.1.0/24');
    expect(sameSubnet('10.0.1.5/24', '10.0.1.200')).toBe(true);
    expect(sameSubnet('10.0.1.5/24', '10.0.2.1')).toBe(false);
    expect(needsTunnel('CrossSubnet', '10.0.1.5/24', '10.0.1.9')).toBe(false);
    expect(needsTunnel('CrossSubnet', '10.0.1.5/24', '10.0.2.9')).toBe(true);
    expect(needsTunnel('Always', '10.0.1.5/24', '10.0.1.9')).toBe(true);
    expect(needsTunnel('Never', '10.0.1.5/24', '10.0.2.9')).toBe(false);
  });

  it('refuses a node address without its prefix (calico#2375)', () => {
    expect(() => needsTunnel('CrossSubnet', '10.0.1.5', '10.0.2.9')).toThrow(
      "node address '10.0.1.5' has no prefix length: CrossSubnet cannot tell which nodes share its subnet",
    );
  });

  it('routes plainly, through tunl0 onlink, or marks the block unreachable without the module', () => {
    expect(
      remoteBlockRoute({ cidr: '10.65.1.0/26', nodeAddress: '10.0.1.9', mode: 'CrossSubnet' }, context),
    ).toEqual({
      route: {
        dst: '10.65.1.0/26',
        table: 254,
        protocol: 80,
        type: 'unicast',
        scope: 'universe',
        gateway: '10.0.1.9',
        device: 'eth0',
      },
      encapsulated: false,
    });
    expect(
      remoteBlockRoute({ cidr: '10.65.2.0/26', nodeAddress: '10.0.2.9', mode: 'CrossSubnet' }, context),
    ).toEqual({
      route: {
        dst: '10.65.2.0/26',
        table: 254,
        protocol: 80,
        type: 'unicast',
        scope: 'universe',
        gateway: '10.0.2.9',
        device: 'tunl0',
        onlink: true,
      },
      encapsulated: true,
    });
    const without = remoteBlockRoute(
      { cidr: '10.65.2.0/26', nodeAddress: '10.0.2.9', mode: 'Always' },
      { ...context, ipipAvailable: false },
    );
    expect(without.route.type).toBe('unreachable');
    expect(without.problem).toContain('needs IPIP (pool ipipMode Always) but this kernel has no ipip module');
    expect(tunnelMtu(1500)).toBe(1480);
  });

  it('detects the module from sysfs', async () => {
    const root = mkdtempSync(join(tmpdir(), 'caracal-sys-'));
    try {
      expect((await detectIpipSupport(root)).available).toBe(false);
      mkdirSync(join(root, 'module', 'ipip'), { recursive: true });
      expect(await detectIpipSupport(root)).toEqual({
        available: true,
        reason: `${root}/module/ipip exists`,
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
