// Tests of the calculation graph: concrete expectations, and history-freedom (the same final inputs give
// the same desired dataplane whether updates arrive in order, reversed, squashed or split in batches).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CalcGraph, type DesiredDataplane } from '../../src/calc/graph.js';
import type { InputUpdate } from '../../src/calc/inputs.js';

const wep = (key: string, node: string, iface: string, ips: string[]): InputUpdate => ({
  kind: 'WorkloadEndpoint',
  key,
  value: { node, interfaceName: iface, ipNetworks: ips },
});

/** A comparable, order-independent rendering of the desired dataplane. */
function render(d: DesiredDataplane): unknown {
  const sorted = <T>(entries: Iterable<[string, T]>) => [...entries].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    routes: sorted(d.workloadRoutes.entries()),
    blackholes: d.blackholeRoutes,
    interfaces: sorted(d.interfaces.entries()).map(([k, v]) => [
      k,
      v.endpointKey,
      sorted(v.sysctls.entries()),
    ]),
    nat: d.natOutgoing,
    settings: d.settings,
    warnings: [...d.warnings].sort(),
  };
}

describe('CalcGraph', () => {
  it('programs only this node’s endpoints: a /32 route and Calico’s sysctls per interface', () => {
    const g = new CalcGraph('node1');
    g.apply([
      wep('ns/pod-a', 'node1', 'cara0123456789a', ['10.65.0.1/32']),
      wep('ns/pod-b', 'node2', 'cara0123456789b', ['10.65.0.65/32']),
    ]);
    const d = g.desired();
    expect([...d.workloadRoutes.values()]).toEqual([
      { dst: '10.65.0.1/32', interfaceName: 'cara0123456789a', endpointKey: 'ns/pod-a' },
    ]);
    expect(Object.fromEntries(d.interfaces.get('cara0123456789a')!.sysctls)).toEqual({
      'ipv4/conf/cara0123456789a/forwarding': '1',
      'ipv4/conf/cara0123456789a/proxy_arp': '1',
      'ipv4/neigh/cara0123456789a/proxy_delay': '0',
      'ipv4/conf/cara0123456789a/route_localnet': '1',
      'ipv4/conf/cara0123456789a/rp_filter': '1',
    });
    expect(d.globalSysctls.get('ipv4/ip_forward')).toBe('1');
  });

  it('adds IPv6 sysctls for dual-stack endpoints and relaxes rp_filter when spoofing is allowed', () => {
    const g = new CalcGraph('n');
    g.apply([
      {
        kind: 'WorkloadEndpoint',
        key: 'k',
        value: {
          node: 'n',
          interfaceName: 'caraabc',
          ipNetworks: ['10.0.0.1/32', 'fd00::1/128'],
          allowSpoofedSourcePrefixes: ['192.0.2.0/24'],
        },
      },
    ]);
    const sysctls = g.desired().interfaces.get('caraabc')!.sysctls;
    expect(sysctls.get('ipv4/conf/caraabc/rp_filter')).toBe('0');
    expect(sysctls.get('ipv6/conf/caraabc/proxy_ndp')).toBe('1');
    expect(sysctls.get('ipv6/conf/caraabc/accept_ra')).toBe('0');
    expect(g.desired().workloadRoutes.has('fd00::1/128')).toBe(true);
  });

  it('blackholes only confirmed blocks affine to this node', () => {
    const g = new CalcGraph('n1');
    g.apply([
      { kind: 'BlockAffinity', key: 'a', value: { cidr: '10.65.0.0/26', node: 'n1', state: 'confirmed' } },
      { kind: 'BlockAffinity', key: 'b', value: { cidr: '10.65.0.64/26', node: 'n1', state: 'pending' } },
      { kind: 'BlockAffinity', key: 'c', value: { cidr: '10.65.0.128/26', node: 'n2', state: 'confirmed' } },
    ]);
    expect(g.desired().blackholeRoutes).toEqual(['10.65.0.0/26']);
    g.apply([{ kind: 'BlockAffinity', key: 'a', value: undefined }]);
    expect(g.desired().blackholeRoutes).toEqual([]);
  });

  it('masquerades enabled natOutgoing pools and lists every pool as a destination exception', () => {
    const pool = (cidr: string, natOutgoing: boolean, disabled = false) => ({
      cidr,
      natOutgoing,
      disabled,
      ipipMode: 'Never' as const,
      vxlanMode: 'Never' as const,
    });
    const g = new CalcGraph('n');
    g.apply([
      { kind: 'IPPool', key: 'p1', value: pool('10.65.0.0/16', true) },
      { kind: 'IPPool', key: 'p2', value: pool('10.66.0.0/16', false) },
      { kind: 'IPPool', key: 'p3', value: pool('10.67.0.0/16', true, true) },
    ]);
    expect(g.desired().natOutgoing).toEqual({
      allPools: ['10.65.0.0/16', '10.66.0.0/16', '10.67.0.0/16'],
      masqueradePools: ['10.65.0.0/16'],
    });
  });

  it('resolves an address claimed twice by key order, not arrival order, and warns', () => {
    const first = new CalcGraph('n');
    first.apply([wep('b', 'n', 'carab', ['10.0.0.9/32']), wep('a', 'n', 'caraa', ['10.0.0.9/32'])]);
    const second = new CalcGraph('n');
    second.apply([wep('a', 'n', 'caraa', ['10.0.0.9/32']), wep('b', 'n', 'carab', ['10.0.0.9/32'])]);
    expect(first.desired().workloadRoutes.get('10.0.0.9/32')!.endpointKey).toBe('a');
    expect(render(first.desired())).toEqual(render(second.desired()));
    expect(first.desired().warnings).toHaveLength(1);
  });
});

describe('CalcGraph is history-free', () => {
  const keys = fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5');
  const ip = fc.constantFrom('10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32', 'fd00::1/128');
  const update: fc.Arbitrary<InputUpdate> = fc.oneof(
    fc.record({
      kind: fc.constant('WorkloadEndpoint' as const),
      key: keys,
      value: fc.option(
        fc.record({
          node: fc.constantFrom('me', 'other'),
          interfaceName: fc.constantFrom('cara1', 'cara2', 'cara3'),
          ipNetworks: fc.uniqueArray(ip, { maxLength: 2 }),
        }),
        { nil: undefined },
      ),
    }),
    fc.record({
      kind: fc.constant('BlockAffinity' as const),
      key: keys,
      value: fc.option(
        fc.record({
          cidr: fc.constantFrom('10.0.0.0/26', '10.0.0.64/26'),
          node: fc.constantFrom('me', 'other'),
          state: fc.constantFrom('pending' as const, 'confirmed' as const),
        }),
        { nil: undefined },
      ),
    }),
    fc.record({
      kind: fc.constant('IPPool' as const),
      key: keys,
      value: fc.option(
        fc.record({
          cidr: fc.constantFrom('10.0.0.0/16', '10.1.0.0/16'),
          natOutgoing: fc.boolean(),
          disabled: fc.boolean(),
          ipipMode: fc.constant('Never' as const),
          vxlanMode: fc.constant('Never' as const),
        }),
        { nil: undefined },
      ),
    }),
  );

  /** The final state of a sequence as a minimal list of puts (deletions vanish). */
  function squash(updates: readonly InputUpdate[]): InputUpdate[] {
    const last = new Map<string, InputUpdate>();
    for (const u of updates) last.set(`${u.kind}/${u.key}`, u);
    return [...last.values()].filter((u) => u.value !== undefined);
  }

  it('in order, split in batches, squashed, and squashed-reversed give the same dataplane', () => {
    fc.assert(
      fc.property(fc.array(update, { maxLength: 40 }), fc.integer({ min: 1, max: 7 }), (updates, batch) => {
        const inOrder = new CalcGraph('me');
        inOrder.apply(updates);
        const split = new CalcGraph('me');
        for (let i = 0; i < updates.length; i += batch) split.apply(updates.slice(i, i + batch));
        const squashed = new CalcGraph('me');
        squashed.apply(squash(updates));
        const reversed = new CalcGraph('me');
        reversed.apply(squash(updates).reverse());
        const expected = render(inOrder.desired());
        expect(render(split.desired())).toEqual(expected);
        expect(render(squashed.desired())).toEqual(expected);
        expect(render(reversed.desired())).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
