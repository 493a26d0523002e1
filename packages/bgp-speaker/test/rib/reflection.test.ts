// Unit tests of route reflection (RFC 4456) as the speaker applies it: which paths are reflected
// (isReflection), the attributes a reflected path carries (reflectedPathAttributes, over arbitrary
// attribute lists with ORIGINATOR_ID and CLUSTER_LIST present or absent and our cluster id already in
// CLUSTER_LIST), that a reflected path coming back is a loop on import, and that the Adj-RIB-Out's iBGP
// export rules give exactly the sets its former inline reflection branch gave (a step-by-step reference).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BgpPathAttribute, forForwarding } from '../../src/codec/attributes.js';
import { parseIpv4, parsePrefix } from '../../src/codec/prefix.js';
import type { PolicyDefinitions } from '../../src/config/types.js';
import { compilePolicy, policyKey } from '../../src/policy/compile.js';
import { importLoop } from '../../src/rib/adj-rib-in.js';
import { AdjRibOut, type ExportPeer, type PeerRole, peerRole } from '../../src/rib/adj-rib-out.js';
import type { LocRibPath } from '../../src/rib/loc-rib.js';
import { isReflection, reflectedPathAttributes } from '../../src/rib/reflection.js';
import { findAttribute, type PeerInfo, type RouteAttributes, withAttribute } from '../../src/rib/route.js';

const LOCAL_AS = 65000;
const ROUTER_ID = parseIpv4('10.0.0.1');
const ROLES: readonly PeerRole[] = ['local', 'ebgp', 'ibgp-client', 'ibgp-nonclient'];
const DEFS: PolicyDefinitions = { prefixLists: {}, communityLists: {}, asPathLists: {}, filters: {} };
const ACCEPT = compilePolicy({ kind: 'action', action: 'accept' }, DEFS);

/** Small ids so that generated ORIGINATOR_IDs, CLUSTER_LISTs, cluster ids and router ids collide often. */
const id = fc.integer({ min: 1, max: 4 });

/** Attribute lists as a Loc-RIB holds them: any order, ORIGINATOR_ID / CLUSTER_LIST present or absent. */
const attributeList: fc.Arbitrary<BgpPathAttribute[]> = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 2 }).map((value): BgpPathAttribute => ({ kind: 'origin', value })),
    fc
      .array(fc.integer({ min: 1, max: 64000 }), { maxLength: 3 })
      .map((asns): BgpPathAttribute => ({ kind: 'as-path', segments: [{ type: 2, asns }] })),
    fc.integer({ min: 0, max: 100 }).map((value): BgpPathAttribute => ({ kind: 'med', value })),
    fc.integer({ min: 0, max: 300 }).map((value): BgpPathAttribute => ({ kind: 'local-pref', value })),
    id.map((value): BgpPathAttribute => ({ kind: 'originator-id', id: value })),
    fc.array(id, { maxLength: 3 }).map((ids): BgpPathAttribute => ({ kind: 'cluster-list', ids })),
    fc.constant<BgpPathAttribute>({ kind: 'communities', values: [0xfde80001] }),
    fc
      .constantFrom(0xc0, 0x80, 0xe0)
      .map((flags): BgpPathAttribute => ({ kind: 'unknown', code: 99, flags, value: Uint8Array.of(1) })),
  ),
  { maxLength: 7 },
);

function peerOfRole(role: PeerRole, routerId: number): PeerInfo | undefined {
  if (role === 'local') return undefined;
  return {
    address: '192.0.2.9',
    asNumber: role === 'ebgp' ? 65001 : LOCAL_AS,
    routerId,
    ibgp: role !== 'ebgp',
    routeReflectorClient: role === 'ibgp-client',
  };
}

function exportPeer(
  role: 'ibgp-client' | 'ibgp-nonclient',
  nextHopMode: ExportPeer['nextHopMode'],
): ExportPeer {
  return {
    info: {
      address: '10.0.0.3',
      asNumber: LOCAL_AS,
      routerId: parseIpv4('10.0.0.3'),
      ibgp: true,
      routeReflectorClient: role === 'ibgp-client',
    },
    families: ['ipv4-unicast', 'ipv6-unicast'],
    fourOctetAs: true,
    maxMessageLength: 4096,
    addPathSend: false,
    nextHopMode,
    localAddress: '198.51.100.1',
    localAddressV6: '2001:db8::ff',
    exportPolicyKey: policyKey({ kind: 'action', action: 'accept' }),
    exportPolicy: ACCEPT,
  };
}

/** In wire order (type code), as the Adj-RIB-Out hands sets to the encoder; a stable sort. */
function wireOrdered(attributes: RouteAttributes): RouteAttributes {
  const code = (a: BgpPathAttribute): number => {
    const codes: Partial<Record<BgpPathAttribute['kind'], number>> = {
      origin: 1,
      'as-path': 2,
      med: 4,
      'local-pref': 5,
      communities: 8,
      'originator-id': 9,
      'cluster-list': 10,
    };
    return a.kind === 'unknown' ? a.code : (codes[a.kind] ?? 255);
  };
  return { list: [...attributes.list].sort((a, b) => code(a) - code(b)), nextHop: attributes.nextHop };
}

/**
 * The Adj-RIB-Out's iBGP export rules for an IPv4 path as they were written before reflection became
 * functions of their own, step by step (the reflection branch inline), then in wire order.
 */
function formerIbgpExport(
  received: RouteAttributes,
  from: PeerRole,
  learnedFromRouterId: number,
  selfNextHop: boolean,
  clusterId: number,
): RouteAttributes {
  let attributes: RouteAttributes = { list: forForwarding(received.list), nextHop: received.nextHop };
  if (findAttribute(attributes, 'local-pref') === undefined)
    attributes = withAttribute(attributes, 'local-pref', { kind: 'local-pref', value: 100 });
  if (findAttribute(attributes, 'as-path') === undefined)
    attributes = withAttribute(attributes, 'as-path', { kind: 'as-path', segments: [] });
  if (selfNextHop || from === 'local') attributes = { ...attributes, nextHop: '198.51.100.1' };
  if (from === 'ibgp-client' || from === 'ibgp-nonclient') {
    const originatorId = findAttribute(attributes, 'originator-id')?.id ?? learnedFromRouterId;
    const clusterList = findAttribute(attributes, 'cluster-list')?.ids ?? [];
    attributes = withAttribute(attributes, 'originator-id', { kind: 'originator-id', id: originatorId });
    attributes = withAttribute(attributes, 'cluster-list', {
      kind: 'cluster-list',
      ids: [clusterId, ...clusterList],
    });
  }
  if (findAttribute(attributes, 'origin') === undefined)
    attributes = withAttribute(attributes, 'origin', { kind: 'origin', value: 0 });
  return wireOrdered(attributes);
}

describe('isReflection', () => {
  it('is true exactly for a path learned from an iBGP peer and advertised to an iBGP peer', () => {
    const ibgp = (role: PeerRole) => role === 'ibgp-client' || role === 'ibgp-nonclient';
    for (const from of ROLES)
      for (const to of ROLES) expect(isReflection(from, to), `${from} → ${to}`).toBe(ibgp(from) && ibgp(to));
    expect(isReflection('ibgp-nonclient', 'ibgp-client')).toBe(true);
    expect(isReflection('ebgp', 'ibgp-client')).toBe(false);
    expect(isReflection('ibgp-client', 'ebgp')).toBe(false);
  });
});

describe('reflectedPathAttributes', () => {
  it('sets ORIGINATOR_ID once, prepends the cluster id, keeps everything else (RFC 4456 §8)', () => {
    const origin: BgpPathAttribute = { kind: 'origin', value: 0 };
    const first = reflectedPathAttributes(
      { list: [origin], nextHop: '10.0.0.2' },
      { clusterId: 7, learnedFromRouterId: 42 },
    );
    expect(first).toEqual({
      list: [origin, { kind: 'originator-id', id: 42 }, { kind: 'cluster-list', ids: [7] }],
      nextHop: '10.0.0.2',
    });
    const second = reflectedPathAttributes(first, { clusterId: 9, learnedFromRouterId: 99 });
    expect(second.list).toEqual([
      origin,
      { kind: 'originator-id', id: 42 },
      { kind: 'cluster-list', ids: [9, 7] },
    ]);
  });

  it('for any attribute list: the two values as RFC 4456 §8 says, in place, the rest and the input untouched', () => {
    fc.assert(
      fc.property(attributeList, id, id, (list, clusterId, learnedFromRouterId) => {
        const received: RouteAttributes = { list, nextHop: '192.0.2.7' };
        const copyBefore = structuredClone(received);
        const reflected = reflectedPathAttributes(received, { clusterId, learnedFromRouterId });
        expect(received).toEqual(copyBefore);
        const originatorBefore = findAttribute(received, 'originator-id')?.id;
        const clusterListBefore = findAttribute(received, 'cluster-list')?.ids ?? [];
        // The values: what @caracal/reflector's own reflectedAttributes computed before it called this one.
        expect(findAttribute(reflected, 'originator-id')?.id).toBe(originatorBefore ?? learnedFromRouterId);
        expect(findAttribute(reflected, 'cluster-list')?.ids).toEqual([clusterId, ...clusterListBefore]);
        // The places: other attributes as they were; both kept at their first place, appended when absent.
        const others = (l: readonly BgpPathAttribute[]) =>
          l.filter((a) => a.kind !== 'originator-id' && a.kind !== 'cluster-list');
        expect(others(reflected.list)).toEqual(others(list));
        expect(reflected.list.filter((a) => a.kind === 'originator-id')).toHaveLength(1);
        expect(reflected.list.filter((a) => a.kind === 'cluster-list')).toHaveLength(1);
        const expectedKinds: BgpPathAttribute['kind'][] = [];
        for (const a of list)
          if (!isReflectedKind(a) || !expectedKinds.includes(a.kind)) expectedKinds.push(a.kind);
        if (!expectedKinds.includes('originator-id')) expectedKinds.push('originator-id');
        if (!expectedKinds.includes('cluster-list')) expectedKinds.push('cluster-list');
        expect(reflected.list.map((a) => a.kind)).toEqual(expectedKinds);
        expect(reflected.nextHop).toBe('192.0.2.7');
      }),
      { numRuns: 2000 },
    );
  });

  it('a reflected path that comes back to the same reflector is a loop on import (RFC 4456 §8)', () => {
    fc.assert(
      fc.property(attributeList, id, id, id, (list, clusterId, routerId, learnedFromRouterId) => {
        const reflected = reflectedPathAttributes(
          { list, nextHop: '192.0.2.7' },
          { clusterId, learnedFromRouterId },
        );
        const sender: PeerInfo = {
          address: '10.0.0.3',
          asNumber: LOCAL_AS,
          routerId: 3,
          ibgp: true,
          routeReflectorClient: true,
        };
        const loop = importLoop(reflected.list, sender, {
          localAs: LOCAL_AS,
          localRouterId: routerId,
          clusterId,
        });
        const originatorId = findAttribute(reflected, 'originator-id')?.id;
        // Either check may come first (importLoop reads the list in order); our cluster id is always there.
        if (originatorId === routerId) expect(['originator-is-us', 'cluster-list-has-us']).toContain(loop);
        else expect(loop).toBe('cluster-list-has-us');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the Adj-RIB-Out reflects as before', () => {
  it('iBGP export of any attribute list from any source equals the former inline rules', () => {
    fc.assert(
      fc.property(
        attributeList,
        fc.constantFrom(...ROLES),
        fc.constantFrom('ibgp-client' as const, 'ibgp-nonclient' as const),
        fc.constantFrom<ExportPeer['nextHopMode']>('auto', 'self', 'keep'),
        id,
        fc.option(id, { nil: undefined }),
        (list, from, to, nextHopMode, learnedFromRouterId, clusterId) => {
          const received: RouteAttributes = { list, nextHop: '192.0.2.7' };
          const out = new AdjRibOut({
            localAs: LOCAL_AS,
            localRouterId: ROUTER_ID,
            ...(clusterId !== undefined ? { clusterId } : {}),
          });
          const peer = peerOfRole(from, learnedFromRouterId);
          expect(peerRole(peer)).toBe(from);
          const best = {
            prefix: parsePrefix('10.1.0.0/16'),
            attributes: received,
            peer,
          } as unknown as LocRibPath;
          const exported = out.exportAttributes(best, exportPeer(to, nextHopMode));
          const advertised = from !== 'ibgp-nonclient' || to === 'ibgp-client';
          expect(exported).toEqual(
            advertised
              ? formerIbgpExport(
                  received,
                  from,
                  learnedFromRouterId,
                  nextHopMode === 'self',
                  clusterId ?? ROUTER_ID,
                )
              : undefined,
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});

function isReflectedKind(attribute: BgpPathAttribute): boolean {
  return attribute.kind === 'originator-id' || attribute.kind === 'cluster-list';
}
