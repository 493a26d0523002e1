// Unit tests of the borrowed-address /32s: which local workload addresses are advertised (outside every
// confirmed affine block, inside a pool that exports; IPv4 only; a WEP inside an affine block gives none),
// the warnings for networks that are not one address, the WorkloadEndpoint watch state (only this node's
// endpoints, snapshot / in-sync / put / delete / resync, unreadable values), and bgpd.yaml's originate list.

import { parseConfig } from '@caracal/bgp-speaker';
import { keys } from '@caracal/datastore';
import { describe, expect, it } from 'vitest';
import {
  borrowedAddressesToAdvertise,
  LocalWorkloadState,
  workloadOfValue,
} from '../../src/agent/workloads-state.js';
import { bgpdConfigFor, renderBgpdConfig } from '../../src/bgpd-config.js';

const POOL = { cidr: '10.244.0.0/16', disableBGPExport: false };
const wep = (name: string, ipNetworks: string[]) => ({
  key: keys.resource('WorkloadEndpoint', name, 'default'),
  ipNetworks,
});

describe('borrowedAddressesToAdvertise', () => {
  it('gives a /32 for an address outside the affine blocks, none for one inside', () => {
    const result = borrowedAddressesToAdvertise(
      [wep('own', ['10.244.1.5/32']), wep('borrowed', ['10.244.0.7/32'])],
      ['10.244.1.0/26'],
      [POOL],
    );
    expect(result).toEqual({ prefixes: ['10.244.0.7/32'], warnings: [] });
  });

  it('gives nothing when every workload is in an affine block, or when there are none', () => {
    const blocks = ['10.244.1.0/26', '10.244.2.64/26'];
    expect(
      borrowedAddressesToAdvertise(
        [wep('a', ['10.244.1.0/32']), wep('b', ['10.244.1.63/32', '10.244.2.100/32'])],
        blocks,
        [POOL],
      ).prefixes,
    ).toEqual([]);
    expect(borrowedAddressesToAdvertise([], blocks, [POOL]).prefixes).toEqual([]);
  });

  it('treats the address just outside a block as borrowed (block edges)', () => {
    const result = borrowedAddressesToAdvertise(
      [wep('edges', ['10.244.1.64/32', '10.244.0.255/32', '10.244.1.63/32', '10.244.1.0/32'])],
      ['10.244.1.0/26'],
      [POOL],
    );
    expect(result.prefixes).toEqual(['10.244.0.255/32', '10.244.1.64/32']);
  });

  it('without any affine block, every pool address of a local workload is advertised, sorted numerically', () => {
    const result = borrowedAddressesToAdvertise(
      [wep('a', ['10.244.10.1/32']), wep('b', ['10.244.9.200/32', '10.244.10.1/32'])],
      [],
      [POOL],
    );
    expect(result.prefixes).toEqual(['10.244.9.200/32', '10.244.10.1/32']);
  });

  it('sorts by address as a number across octet widths and the top bit, one /32 per address', () => {
    const wide = { cidr: '0.0.0.0/0', disableBGPExport: false };
    const result = borrowedAddressesToAdvertise(
      [
        wep('a', [
          '200.1.1.1/32',
          '9.9.9.9',
          '100.0.0.1/32',
          '10.0.0.0/32',
          '255.255.255.255/32',
          '9.9.9.9/32',
        ]),
      ],
      [],
      [wide],
    );
    expect(result.prefixes).toEqual([
      '9.9.9.9/32',
      '10.0.0.0/32',
      '100.0.0.1/32',
      '200.1.1.1/32',
      '255.255.255.255/32',
    ]);
  });

  it('is IPv4 only: IPv6 networks are left out silently', () => {
    const result = borrowedAddressesToAdvertise(
      [wep('dual', ['fd00:10:244::7/128', '10.244.0.9/32'])],
      ['10.244.1.0/26', 'fd00:10:244:1::/122'],
      [POOL, { cidr: 'fd00:10:244::/48', disableBGPExport: false }],
    );
    expect(result).toEqual({ prefixes: ['10.244.0.9/32'], warnings: [] });
  });

  it('leaves out addresses outside every pool and in a disableBGPExport pool', () => {
    const result = borrowedAddressesToAdvertise(
      [wep('a', ['10.99.0.1/32', '10.245.0.1/32', '10.244.0.1/32'])],
      [],
      [POOL, { cidr: '10.245.0.0/16', disableBGPExport: true }],
    );
    expect(result.prefixes).toEqual(['10.244.0.1/32']);
  });

  it('takes a bare address as /32 and warns, naming the endpoint, about networks that are not one address', () => {
    const result = borrowedAddressesToAdvertise(
      [
        wep('odd', [
          '10.244.0.3',
          '10.244.0.4/30',
          '10.244.0.5/30',
          '10.244.0.256/32',
          '10.244.00.5/32',
          '10.244.0.6/32/1',
          'garbage',
        ]),
      ],
      [],
      [POOL],
    );
    expect(result.prefixes).toEqual(['10.244.0.3/32']);
    const key = keys.resource('WorkloadEndpoint', 'odd', 'default');
    const notOne = (network: string, reason: string) =>
      `endpoint ${key}: ipNetwork ${JSON.stringify(network)} is not one IPv4 address (A.B.C.D/32: ${reason}); not advertised`;
    expect(result.warnings).toEqual([
      notOne('10.244.0.4/30', 'a /30 network'),
      notOne('10.244.0.5/30', 'host bits set beyond /30 (the network is 10.244.0.4/30)'),
      notOne('10.244.0.256/32', 'octet 4 is 256, more than 255'),
      notOne('10.244.00.5/32', 'octet 3 "00" has a leading zero (ambiguous: inet_aton reads it as octal)'),
      notOne('10.244.0.6/32/1', 'prefix length "32/1" is not a decimal number'),
      notOne('garbage', 'not an IPv4 (a.b.c.d) or IPv6 (x:x::x) address'),
    ]);
  });
});

describe('LocalWorkloadState (WorkloadEndpoint watch events)', () => {
  const key = (name: string) => keys.resource('WorkloadEndpoint', name, 'default');
  const value = (node: string, ipNetworks: string[]) =>
    JSON.stringify({
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: { name: 'x', namespace: 'default' },
      spec: { node, orchestrator: 'k8s', endpoint: 'eth0', interfaceName: 'cali1', ipNetworks },
    });
  const item = (name: string, node: string, ipNetworks: string[]) => ({
    key: key(name),
    value: value(node, ipNetworks),
    revision: 1,
    createRevision: 1,
  });

  it('reads node and ipNetworks, and refuses values that are not WorkloadEndpoints', () => {
    expect(workloadOfValue(key('a'), value('n1', ['10.244.0.1/32']))).toEqual({
      node: 'n1',
      workload: { key: key('a'), ipNetworks: ['10.244.0.1/32'] },
    });
    expect(workloadOfValue(key('a'), '{not json')).toBeUndefined();
    expect(workloadOfValue(key('a'), 'null')).toBeUndefined();
    expect(workloadOfValue(key('a'), JSON.stringify({ kind: 'Node', spec: { node: 'n1' } }))).toBeUndefined();
    expect(workloadOfValue(key('a'), JSON.stringify({ kind: 'WorkloadEndpoint', spec: {} }))).toBeUndefined();
  });

  it("keeps only this node's endpoints and reports changes only once in sync and only for local keys", () => {
    const state = new LocalWorkloadState('n2');
    expect(
      state.apply({
        type: 'snapshot',
        items: [item('p1', 'n1', ['10.244.0.1/32']), item('p2', 'n2', ['10.244.0.2/32'])],
        revision: 1,
        resync: false,
      }),
    ).toBe(false);
    expect(state.inSync).toBe(false);
    expect(state.apply({ type: 'in-sync', revision: 1 })).toBe(true);
    expect(state.workloads).toEqual([{ key: key('p2'), ipNetworks: ['10.244.0.2/32'] }]);
    // Another node's endpoint: no change for this node.
    const remote = item('p3', 'n1', ['10.244.0.3/32']);
    expect(state.apply({ type: 'put', ...remote, value: remote.value })).toBe(false);
    expect(state.apply({ type: 'delete', key: key('p1'), value: undefined, revision: 3 })).toBe(false);
    // A new local one, then its deletion.
    const local = item('p4', 'n2', ['10.244.0.4/32']);
    expect(state.apply({ type: 'put', ...local, revision: 4 })).toBe(true);
    expect(state.workloads.map((w) => w.key)).toEqual([key('p2'), key('p4')]);
    expect(state.apply({ type: 'delete', key: key('p4'), value: undefined, revision: 5 })).toBe(true);
    expect(state.workloads.map((w) => w.key)).toEqual([key('p2')]);
    // A local endpoint moved away (rewritten with another node) or overwritten by garbage is gone.
    const moved = item('p2', 'n1', ['10.244.0.2/32']);
    expect(state.apply({ type: 'put', ...moved, revision: 6 })).toBe(true);
    expect(state.workloads).toEqual([]);
    const back = item('p2', 'n2', ['10.244.0.2/32']);
    state.apply({ type: 'put', ...back, revision: 7 });
    expect(
      state.apply({ type: 'put', key: key('p2'), value: '{broken', revision: 8, createRevision: 1 }),
    ).toBe(true);
    expect(state.workloads).toEqual([]);
    // After a gap, the snapshot replaces everything and the state waits for in-sync again.
    expect(
      state.apply({
        type: 'snapshot',
        items: [item('p9', 'n2', ['10.244.0.9/32'])],
        revision: 9,
        resync: true,
      }),
    ).toBe(false);
    expect(state.inSync).toBe(false);
    expect(state.workloads.map((w) => w.key)).toEqual([key('p9')]);
  });
});

describe('bgpd.yaml with borrowed addresses', () => {
  it('originates the blocks and the /32s without blackhole, sorted, and bgpd accepts it', () => {
    const { config } = bgpdConfigFor({
      nodeName: 'n2',
      plan: {
        localAsNumber: 64512,
        routerId: '10.0.0.12',
        routeReflectorClusterId: undefined,
        peers: [],
        warnings: [],
      },
      listenPort: 179,
      blocks: ['10.244.1.0/26'],
      borrowedAddresses: ['10.244.0.7/32', '10.244.0.3/32'],
      runDir: '/run/caracal',
      metricsPort: 9092,
      healthPort: 9097,
      logLevel: 'info',
    });
    expect(config.originate).toEqual([
      { prefix: '10.244.0.3/32', blackhole: false },
      { prefix: '10.244.0.7/32', blackhole: false },
      { prefix: '10.244.1.0/26', blackhole: false },
    ]);
    const checked = parseConfig(renderBgpdConfig('n2', config), 'bgpd.yaml');
    if (!checked.ok) throw new Error(checked.issues.map((i) => `${i.path}: ${i.reason}`).join('; '));
    expect(checked.config.originate.map((o) => [String(o.prefix), o.blackhole])).toEqual([
      ['10.244.0.3/32', false],
      ['10.244.0.7/32', false],
      ['10.244.1.0/26', false],
    ]);
  });
});
