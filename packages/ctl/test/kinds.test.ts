// Kind names as an operator types them: every calicoctl spelling resolves, case does not matter, and an
// unknown name fails with the list of kinds and the closest suggestion.
import { describe, expect, it } from 'vitest';
import { CommandFailure } from '../src/errors.js';
import { editDistance, findKind, knownKinds, resolveKind, suggestKind } from '../src/kinds.js';

describe('kind aliases', () => {
  it.each([
    ['ippool', 'IPPool'],
    ['IPPools', 'IPPool'],
    ['ipp', 'IPPool'],
    ['bgppeer', 'BGPPeer'],
    ['BGPPeers', 'BGPPeer'],
    ['gnp', 'GlobalNetworkPolicy'],
    ['GlobalNetworkPolicy', 'GlobalNetworkPolicy'],
    ['wep', 'WorkloadEndpoint'],
    ['workloadendpoints', 'WorkloadEndpoint'],
    ['node', 'Node'],
    ['Nodes', 'Node'],
    ['profile', 'Profile'],
    ['hep', 'HostEndpoint'],
    ['felixconfig', 'FelixConfiguration'],
    ['bgpconfig', 'BGPConfiguration'],
    ['networkpolicy', 'NetworkPolicy'],
    ['netpol', 'NetworkPolicy'],
    ['ipreservation', 'IPReservation'],
  ])('%s -> %s', (typed, kind) => {
    expect(findKind(typed)?.kind).toBe(kind);
  });

  it('no alias is claimed by two kinds', () => {
    const seen = new Map<string, string>();
    for (const info of knownKinds) {
      for (const alias of info.aliases) {
        expect(seen.get(alias), `alias ${alias}`).toBeUndefined();
        seen.set(alias, info.kind);
      }
    }
  });

  it('only WorkloadEndpoint and NetworkPolicy are namespaced', () => {
    expect(knownKinds.filter((info) => info.namespaced).map((info) => info.kind)).toEqual([
      'WorkloadEndpoint',
      'NetworkPolicy',
    ]);
  });

  it('suggests the closest kind for a typo', () => {
    expect(suggestKind('ippol')?.kind).toBe('IPPool');
    expect(suggestKind('bgppeeer')?.kind).toBe('BGPPeer');
    expect(suggestKind('globalnet')?.kind).toBe('GlobalNetworkPolicy');
    expect(suggestKind('zzzzzzzz')).toBeUndefined();
  });

  it('an unknown kind fails with a suggestion and the list of kinds', () => {
    let thrown: unknown;
    try {
      resolveKind('ippol');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CommandFailure);
    const message = (thrown as Error).message;
    expect(message).toContain('unknown resource kind "ippol"');
    expect(message).toContain('Did you mean "ippool"');
    for (const info of knownKinds) expect(message).toContain(info.kind);
  });

  it('edit distance', () => {
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});
