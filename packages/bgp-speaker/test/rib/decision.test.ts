// Unit tests of the decision process: each tie-break on its own, MED's non-transitivity, ECMP, and
// properties (the result does not depend on the order of the candidates).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CandidatePath, selectBestPath } from '../../src/rib/index.js';

let nextAddress = 1;
function path(overrides: Partial<CandidatePath> & { id?: string } = {}): CandidatePath & { id: string } {
  const n = nextAddress++;
  return {
    id: overrides.id ?? `p${n}`,
    local: false,
    localPref: 100,
    asPathLength: 2,
    origin: 0,
    med: undefined,
    neighborAs: 65001,
    fromEbgp: false,
    peerRouterId: 0x0a000000 + n,
    originatorId: undefined,
    clusterListLength: 0,
    peerAddressKey: n.toString(16).padStart(8, '0'),
    stale: false,
    ...overrides,
  };
}

describe('selectBestPath tie-breaks', () => {
  it('returns undefined without candidates and only-path for one', () => {
    expect(selectBestPath([])).toBeUndefined();
    const only = path();
    expect(selectBestPath([only])).toEqual({ best: only, reason: 'only-path', multipath: [only] });
  });

  it('prefers a fresh path over a stale one (graceful restart)', () => {
    const stale = path({ stale: true, localPref: 500 });
    const fresh = path();
    const d = selectBestPath([stale, fresh])!;
    expect(d.best).toBe(fresh);
    expect(d.reason).toBe('not-stale');
  });

  it('prefers a locally originated path', () => {
    const learned = path({ localPref: 500 });
    const local = path({ local: true, neighborAs: undefined, asPathLength: 0 });
    expect(selectBestPath([learned, local])).toMatchObject({ best: local, reason: 'local-origination' });
  });

  it('prefers the highest LOCAL_PREF', () => {
    const low = path({ localPref: 100, asPathLength: 1 });
    const high = path({ localPref: 200, asPathLength: 5 });
    expect(selectBestPath([low, high])).toMatchObject({ best: high, reason: 'local-pref' });
  });

  it('prefers the shortest AS_PATH', () => {
    const long = path({ asPathLength: 3, origin: 0 });
    const short = path({ asPathLength: 1, origin: 2 });
    expect(selectBestPath([long, short])).toMatchObject({ best: short, reason: 'as-path-length' });
  });

  it('prefers the lowest ORIGIN', () => {
    const incomplete = path({ origin: 2, med: 0 });
    const igp = path({ origin: 0, med: 50 });
    expect(selectBestPath([incomplete, igp])).toMatchObject({ best: igp, reason: 'origin' });
  });

  it('compares MED only between paths from the same neighbour AS', () => {
    const a = path({ neighborAs: 65001, med: 10, fromEbgp: false });
    const b = path({ neighborAs: 65002, med: 5, fromEbgp: true });
    // Different neighbour ASes: MED does not decide, eBGP over iBGP does.
    expect(selectBestPath([a, b])).toMatchObject({ best: b, reason: 'ebgp-over-ibgp' });
    const c = path({ neighborAs: 65001, med: 1 });
    expect(selectBestPath([a, c])).toMatchObject({ best: c, reason: 'med' });
  });

  it('always-compare-med compares across neighbour ASes', () => {
    const a = path({ neighborAs: 65001, med: 1 });
    const b = path({ neighborAs: 65002, med: 5, fromEbgp: true });
    expect(selectBestPath([a, b], { alwaysCompareMed: true })).toMatchObject({ best: a, reason: 'med' });
  });

  it('treats a missing MED as 0, or as worst when asked', () => {
    const missing = path({ med: undefined });
    const ten = path({ med: 10 });
    expect(selectBestPath([ten, missing])!.best).toBe(missing);
    expect(selectBestPath([ten, missing], { missingMedAsWorst: true })!.best).toBe(ten);
  });

  it('resolves the classic MED non-transitivity case independently of order', () => {
    // a (AS1, MED 10), b (AS1, MED 5), c (AS2, MED 1): b eliminates a; then b vs c goes to later steps.
    const a = path({ id: 'a', neighborAs: 1, med: 10, peerRouterId: 1 });
    const b = path({ id: 'b', neighborAs: 1, med: 5, peerRouterId: 3 });
    const c = path({ id: 'c', neighborAs: 2, med: 1, peerRouterId: 2 });
    for (const order of [
      [a, b, c],
      [c, b, a],
      [b, a, c],
      [a, c, b],
    ]) {
      expect(selectBestPath(order)!.best.id).toBe('c');
    }
  });

  it('prefers eBGP over iBGP', () => {
    const ibgp = path({ fromEbgp: false, peerRouterId: 1 });
    const ebgp = path({ fromEbgp: true, peerRouterId: 99 });
    expect(selectBestPath([ibgp, ebgp])).toMatchObject({ best: ebgp, reason: 'ebgp-over-ibgp' });
  });

  it('prefers the lowest router id, using ORIGINATOR_ID when present', () => {
    const a = path({ peerRouterId: 5 });
    const b = path({ peerRouterId: 1, originatorId: 9 });
    expect(selectBestPath([a, b])).toMatchObject({ best: a, reason: 'router-id' });
  });

  it('prefers the shortest CLUSTER_LIST, then the lowest peer address', () => {
    const a = path({ peerRouterId: 7, clusterListLength: 2 });
    const b = path({ peerRouterId: 7, clusterListLength: 1 });
    expect(selectBestPath([a, b])).toMatchObject({ best: b, reason: 'cluster-list-length' });
    const c = path({ peerRouterId: 7, peerAddressKey: '0a000002' });
    const d = path({ peerRouterId: 7, peerAddressKey: '0a000001' });
    expect(selectBestPath([c, d])).toMatchObject({ best: d, reason: 'peer-address' });
  });
});

describe('ECMP multipath', () => {
  it('returns paths equal through eBGP-over-iBGP, best first, at most maxPaths', () => {
    const a = path({ peerRouterId: 3 });
    const b = path({ peerRouterId: 1 });
    const c = path({ peerRouterId: 2 });
    const worse = path({ asPathLength: 4 });
    const d = selectBestPath([a, b, c, worse], { maxPaths: 8 })!;
    expect(d.best).toBe(b);
    expect(d.multipath[0]).toBe(b);
    expect(new Set(d.multipath)).toEqual(new Set([a, b, c]));
    expect(selectBestPath([a, b, c], { maxPaths: 2 })!.multipath).toHaveLength(2);
    expect(selectBestPath([a, b, c])!.multipath).toEqual([b]);
  });

  it('requires the same neighbour AS for eBGP multipath', () => {
    const a = path({ fromEbgp: true, neighborAs: 65001, peerRouterId: 1 });
    const b = path({ fromEbgp: true, neighborAs: 65002, peerRouterId: 2 });
    expect(selectBestPath([a, b], { maxPaths: 4 })!.multipath).toEqual([a]);
  });
});

describe('decision properties', () => {
  const candidate = fc.record({
    local: fc.boolean(),
    localPref: fc.integer({ min: 0, max: 3 }),
    asPathLength: fc.integer({ min: 0, max: 3 }),
    origin: fc.integer({ min: 0, max: 2 }),
    med: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    neighborAs: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    fromEbgp: fc.boolean(),
    peerRouterId: fc.integer({ min: 1, max: 4 }),
    originatorId: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    clusterListLength: fc.integer({ min: 0, max: 2 }),
    stale: fc.boolean(),
  });
  const candidates = fc
    .array(candidate, { minLength: 1, maxLength: 8 })
    .map((list) => list.map((c, i) => ({ ...c, peerAddressKey: i.toString(16).padStart(8, '0') })));

  it('the best path does not depend on the order of the candidates', () => {
    fc.assert(
      fc.property(candidates, fc.boolean(), (list, alwaysCompareMed) => {
        const forward = selectBestPath(list, { alwaysCompareMed })!.best;
        const backward = selectBestPath([...list].reverse(), { alwaysCompareMed })!.best;
        expect(backward).toBe(forward);
      }),
    );
  });

  it('the best path is never beaten on LOCAL_PREF by a fresh, learned competitor', () => {
    fc.assert(
      fc.property(candidates, (list) => {
        const best = selectBestPath(list)!.best;
        if (best.local || best.stale) return;
        for (const other of list) {
          if (!other.local && !other.stale) expect(other.localPref).toBeLessThanOrEqual(best.localPref);
        }
      }),
    );
  });
});
