// Unit tests of the RIB layers wired together: Adj-RIB-In (withdrawals, treat-as-withdraw, loops, stale,
// max-prefix, import policy, soft reconfiguration) → Loc-RIB (best-path changes, ECMP, routes view) →
// Adj-RIB-Out (update groups, packing, eBGP/iBGP rules, reflection, split horizon, End-of-RIB). Outbound
// bytes are decoded back with the package's own codec to check what a peer would really receive.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTE_SPECS, type BgpPathAttribute, forForwarding } from '../../src/codec/attributes.js';
import { BgpDecodeError } from '../../src/codec/errors.js';
import { decodeBgpMessage } from '../../src/codec/messages.js';
import { packUpdatesInto } from '../../src/codec/pack.js';
import { type BgpPrefix, formatPrefix, parseIpv4, parseIpv6, parsePrefix } from '../../src/codec/prefix.js';
import { type BgpUpdate, makeUpdate, updateAnnounced, updateWithdrawn } from '../../src/codec/update.js';
import type { PolicyDefinitions } from '../../src/config/types.js';
import { compilePolicy, policyKey } from '../../src/policy/compile.js';
import { AdjRibIn, type AdjRibInOptions } from '../../src/rib/adj-rib-in.js';
import {
  AdjRibOut,
  type ExportPeer,
  type OutboundRun,
  type UpdateEncoder,
} from '../../src/rib/adj-rib-out.js';
import { AttributeInterner } from '../../src/rib/intern.js';
import { LocRib, type LocRibPath } from '../../src/rib/loc-rib.js';
import { findAttribute, type PeerInfo, type RouteAttributes, withAttribute } from '../../src/rib/route.js';
import { messagesOf } from './runs.js';

const LOCAL_AS = 65000;
const ROUTER_ID = parseIpv4('10.0.0.1');
const DEFS: PolicyDefinitions = { prefixLists: {}, communityLists: {}, asPathLists: {}, filters: {} };
const ACCEPT = compilePolicy({ kind: 'action', action: 'accept' }, DEFS);

function peer(address: string, asNumber: number, extra: Partial<PeerInfo> = {}): PeerInfo {
  return {
    address,
    asNumber,
    routerId: parseIpv4(address),
    ibgp: asNumber === LOCAL_AS,
    routeReflectorClient: false,
    ...extra,
  };
}

function ribIn(info: PeerInfo, extra: Partial<AdjRibInOptions> = {}): AdjRibIn {
  return new AdjRibIn(info, {
    localAs: LOCAL_AS,
    localRouterId: ROUTER_ID,
    importPolicy: ACCEPT,
    softReconfiguration: false,
    ...extra,
  });
}

function announce(prefixes: string[], attributes: BgpPathAttribute[], nextHop = '192.0.2.1'): BgpUpdate {
  const nlri = prefixes.map((p) => parsePrefix(p));
  return makeUpdate({ attributes: [...attributes, { kind: 'next-hop', address: parseIpv4(nextHop) }], nlri });
}
const origin: BgpPathAttribute = { kind: 'origin', value: 0 };
const asPath = (...asns: number[]): BgpPathAttribute => ({ kind: 'as-path', segments: [{ type: 2, asns }] });
const prefixes = (list: readonly BgpPrefix[]) => list.map(formatPrefix);

describe('Adj-RIB-In', () => {
  it('stores classic and MP_REACH announcements, sharing one attributes object per UPDATE', () => {
    const rib = ribIn(peer('192.0.2.1', 65001));
    const v4 = rib.applyUpdate(announce(['10.1.0.0/16', '10.2.0.0/16'], [origin, asPath(65001)]));
    expect(v4.changes.map((c) => c.prefixKey)).toEqual(['10.1.0.0/16', '10.2.0.0/16']);
    expect(v4.changes[0]!.path!.attributes).toBe(v4.changes[1]!.path!.attributes);
    expect(v4.changes[0]!.path!.attributes.nextHop).toBe('192.0.2.1');
    const v6 = rib.applyUpdate(
      makeUpdate({
        attributes: [
          origin,
          asPath(65001),
          {
            kind: 'mp-reach',
            afi: 2,
            safi: 1,
            nextHop: parseIpv6('2001:db8::1'),
            nlri: [parsePrefix('2001:db8:1::/48')],
          },
        ],
      }),
    );
    expect(v6.changes[0]!.path!.attributes.nextHop).toBe('2001:db8::1');
    expect(rib.size).toBe(3);
  });

  it('interns equal attribute sets across UPDATEs and peers, forgetting them with the last path', () => {
    const interner = new AttributeInterner();
    const a = ribIn(peer('192.0.2.1', 65001), { interner });
    const b = ribIn(peer('192.0.2.1', 65001, { address: '192.0.2.1' }), { interner });
    const first = a.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001)])).changes[0]!.path!;
    const second = b.applyUpdate(announce(['10.2.0.0/16'], [origin, asPath(65001)])).changes[0]!.path!;
    const other = a.applyUpdate(announce(['10.3.0.0/16'], [origin, asPath(65009)])).changes[0]!.path!;
    expect(second.attributes).toBe(first.attributes);
    expect(other.attributes).not.toBe(first.attributes);
    expect(interner.size).toBe(2);
    a.applyUpdate(makeUpdate({ withdrawn: [parsePrefix('10.1.0.0/16'), parsePrefix('10.3.0.0/16')] }));
    expect(interner.size).toBe(1);
    b.clear();
    expect(interner.size).toBe(0);
  });

  it('withdraws classic and MP_UNREACH prefixes; unknown withdrawals change nothing', () => {
    const rib = ribIn(peer('192.0.2.1', 65001));
    rib.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001)]));
    rib.applyUpdate(
      makeUpdate({
        attributes: [
          origin,
          asPath(65001),
          {
            kind: 'mp-reach',
            afi: 2,
            safi: 1,
            nextHop: parseIpv6('2001:db8::1'),
            nlri: [parsePrefix('2001:db8:1::/48')],
          },
        ],
      }),
    );
    const result = rib.applyUpdate(
      makeUpdate({
        withdrawn: [parsePrefix('10.1.0.0/16'), parsePrefix('10.9.0.0/16')],
        attributes: [{ kind: 'mp-unreach', afi: 2, safi: 1, withdrawn: [parsePrefix('2001:db8:1::/48')] }],
      }),
    );
    expect(result.changes.map((c) => [c.prefixKey, c.path])).toEqual([
      ['10.1.0.0/16', undefined],
      ['2001:db8:1::/48', undefined],
    ]);
    expect(rib.size).toBe(0);
  });

  it('treat-as-withdraw removes the announced prefixes instead of storing them', () => {
    const rib = ribIn(peer('192.0.2.1', 65001));
    rib.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001)]));
    const broken: BgpUpdate = {
      ...announce(['10.1.0.0/16', '10.3.0.0/16'], [origin]),
      errors: [new BgpDecodeError(3, 3, Uint8Array.of(2), 'treat-as-withdraw', 'missing AS_PATH')],
      treatAsWithdraw: true,
    };
    const result = rib.applyUpdate(broken);
    expect(result.dropped).toBe('treat-as-withdraw');
    expect(result.changes.map((c) => [c.prefixKey, c.path])).toEqual([['10.1.0.0/16', undefined]]);
    expect(rib.size).toBe(0);
  });

  it('drops eBGP paths with our AS, and reflected paths with our originator id or cluster id', () => {
    const ebgp = ribIn(peer('192.0.2.1', 65001));
    expect(ebgp.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001, LOCAL_AS, 3)])).dropped).toBe(
      'as-path-loop',
    );
    expect(ebgp.size).toBe(0);
    const ibgp = ribIn(peer('10.0.0.2', LOCAL_AS), { clusterId: parseIpv4('1.1.1.1') });
    expect(
      ibgp.applyUpdate(
        announce(['10.1.0.0/16'], [origin, asPath(), { kind: 'originator-id', id: ROUTER_ID }]),
      ).dropped,
    ).toBe('originator-is-us');
    expect(
      ibgp.applyUpdate(
        announce(
          ['10.1.0.0/16'],
          [origin, asPath(), { kind: 'cluster-list', ids: [7, parseIpv4('1.1.1.1')] }],
        ),
      ).dropped,
    ).toBe('cluster-list-has-us');
    // Our AS in an iBGP-learned path is normal (it is our own AS); no loop.
    expect(ibgp.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001)])).dropped).toBeUndefined();
    expect(ibgp.size).toBe(1);
  });

  it('marks stale on restart, refreshed paths lose the mark, sweep withdraws the rest', () => {
    const rib = ribIn(peer('192.0.2.1', 65001));
    rib.applyUpdate(announce(['10.1.0.0/16', '10.2.0.0/16'], [origin, asPath(65001)]));
    const marked = rib.markStale();
    expect(marked.every((c) => c.path?.stale === true)).toBe(true);
    rib.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001)]));
    expect(rib.get(parsePrefix('10.1.0.0/16'))?.stale).toBe(false);
    const swept = rib.sweepStale();
    expect(swept.map((c) => [c.prefixKey, c.path])).toEqual([['10.2.0.0/16', undefined]]);
    expect(rib.size).toBe(1);
  });

  it('reports the max-prefix action once the limit is exceeded', () => {
    const rib = ribIn(peer('192.0.2.1', 65001), { maxPrefix: { limit: 2, action: 'teardown' } });
    expect(
      rib.applyUpdate(announce(['10.1.0.0/16', '10.2.0.0/16'], [origin, asPath(65001)])).maxPrefix,
    ).toBeUndefined();
    expect(rib.applyUpdate(announce(['10.3.0.0/16'], [origin, asPath(65001)])).maxPrefix).toEqual({
      action: 'teardown',
      count: 3,
      limit: 2,
    });
  });

  it('applies import policy; keeps pre-policy copies only with soft reconfiguration and re-evaluates them', () => {
    const only10 = compilePolicy(
      {
        kind: 'terms',
        terms: [
          {
            match: { prefix: [{ prefix: '10.0.0.0/8', le: 32 }] },
            ['then' as 'then']: { setLocalPref: 300, action: 'accept' },
          },
        ],
      },
      DEFS,
    );
    const plain = ribIn(peer('192.0.2.1', 65001), { importPolicy: only10 });
    const result = plain.applyUpdate(announce(['10.1.0.0/16', '11.0.0.0/8'], [origin, asPath(65001)]));
    expect(result.changes.map((c) => c.prefixKey)).toEqual(['10.1.0.0/16']);
    expect(findAttribute(plain.get(parsePrefix('10.1.0.0/16'))!.attributes, 'local-pref')?.value).toBe(300);
    expect(plain.get(parsePrefix('11.0.0.0/8'))?.accepted).toBe(false);
    expect(plain.get(parsePrefix('10.1.0.0/16'))?.received).toBeUndefined();
    expect(() => plain.reapplyImportPolicy(ACCEPT)).toThrow(/soft reconfiguration is off/);

    const soft = ribIn(peer('192.0.2.1', 65001), { importPolicy: only10, softReconfiguration: true });
    soft.applyUpdate(announce(['10.1.0.0/16', '11.0.0.0/8'], [origin, asPath(65001)]));
    const changes = soft.reapplyImportPolicy(compilePolicy({ kind: 'action', action: 'accept' }, DEFS));
    expect(changes.map((c) => c.prefixKey).sort()).toEqual(['10.1.0.0/16', '11.0.0.0/8']);
    expect(findAttribute(soft.get(parsePrefix('10.1.0.0/16'))!.attributes, 'local-pref')).toBeUndefined();
  });
});

describe('4-octet AS with 2-octet peers (RFC 6793)', () => {
  it('rebuilds the real path on import and sends AS_TRANS + AS4_PATH on export', () => {
    const old = peer('192.0.2.9', 65009);
    const rib = ribIn(old, { fourOctetAs: false });
    const result = rib.applyUpdate(
      announce(
        ['10.1.0.0/16'],
        [
          origin,
          asPath(65009, 23456, 23456),
          { kind: 'as4-path', segments: [{ type: 2, asns: [4200000001, 4200000002] }] },
        ],
      ),
    );
    const stored = result.changes[0]!.path!.attributes;
    const flat = (segments: readonly { asns: readonly number[] }[] | undefined) =>
      segments?.flatMap((s) => s.asns);
    expect(flat(findAttribute(stored, 'as-path')?.segments)).toEqual([65009, 4200000001, 4200000002]);
    expect(findAttribute(stored, 'as4-path')).toBeUndefined();

    const loc = new LocRib();
    loc.applyPeerChanges(old, result.changes);
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID });
    out.addPeer(
      exportPeer(peer('203.0.113.1', 65101), { fourOctetAs: false, families: ['ipv4-unicast'] }),
      loc.bestPaths(),
    );
    const [update] = messagesOf(out.flush().get('203.0.113.1')).map((bytes) =>
      decodeBgpMessage(bytes, { as4: false }),
    );
    if (update?.type !== 'update') throw new Error('expected an UPDATE');
    expect(flat(kind(update.attributes, 'as-path')?.segments)).toEqual([LOCAL_AS, 65009, 23456, 23456]);
    expect(flat(kind(update.attributes, 'as4-path')?.segments)).toEqual([
      LOCAL_AS,
      65009,
      4200000001,
      4200000002,
    ]);
  });
});

describe('Loc-RIB', () => {
  it('emits added/changed/withdrawn as paths from several peers come and go', () => {
    const loc = new LocRib();
    const a = peer('192.0.2.1', 65001);
    const b = peer('192.0.2.2', 65002);
    const inA = ribIn(a);
    const inB = ribIn(b);
    loc.applyPeerChanges(
      a,
      inA.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001, 3, 4)])).changes,
    );
    const first = loc.takeChanges();
    expect(first.map((c) => [c.kind, c.best?.peer?.address])).toEqual([['added', '192.0.2.1']]);
    loc.applyPeerChanges(b, inB.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65002)])).changes);
    const second = loc.takeChanges();
    expect(second.map((c) => [c.kind, c.best?.peer?.address, c.previous?.peer?.address, c.reason])).toEqual([
      ['changed', '192.0.2.2', '192.0.2.1', 'as-path-length'],
    ]);
    loc.applyPeerChanges(b, inB.applyUpdate(makeUpdate({ withdrawn: [parsePrefix('10.1.0.0/16')] })).changes);
    expect(loc.takeChanges().map((c) => [c.kind, c.best?.peer?.address])).toEqual([['changed', '192.0.2.1']]);
    loc.applyPeerChanges(a, inA.clear());
    expect(loc.takeChanges().map((c) => [c.kind, c.best])).toEqual([['withdrawn', undefined]]);
    expect(loc.routes()).toEqual([]);
  });

  it('a change undone before takeChanges emits nothing; a local path wins over learned ones', () => {
    const loc = new LocRib();
    const a = peer('192.0.2.1', 65001);
    const inA = ribIn(a);
    loc.applyPeerChanges(a, inA.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001)])).changes);
    loc.takeChanges();
    loc.originate(parsePrefix('10.9.0.0/16'), { list: [origin], nextHop: '0.0.0.0' });
    loc.originate(parsePrefix('10.9.0.0/16'), undefined);
    expect(loc.takeChanges()).toEqual([]);
    loc.originate(parsePrefix('10.1.0.0/16'), { list: [origin], nextHop: '0.0.0.0' });
    const [change] = loc.takeChanges();
    expect(change?.best?.local).toBe(true);
    expect(change?.reason).toBe('local-origination');
  });

  it('maps attributes for the decision: LOCAL_PREF default 100, AS_SET counts 1, confed 0, MED, iBGP', () => {
    const loc = new LocRib();
    const e = peer('192.0.2.1', 65001);
    const i = peer('10.0.0.2', LOCAL_AS);
    loc.applyPeerChanges(
      e,
      ribIn(e).applyUpdate(
        announce(
          ['10.1.0.0/16'],
          [
            origin,
            {
              kind: 'as-path',
              segments: [
                { type: 2, asns: [65001] },
                { type: 1, asns: [1, 2, 3] },
              ],
            },
          ],
        ),
      ).changes,
    );
    loc.applyPeerChanges(
      i,
      ribIn(i).applyUpdate(
        announce(
          ['10.1.0.0/16'],
          [
            origin,
            {
              kind: 'as-path',
              segments: [
                { type: 3, asns: [65100, 65101] },
                { type: 2, asns: [7, 8] },
              ],
            },
            { kind: 'local-pref', value: 100 },
          ],
        ),
      ).changes,
    );
    const [view] = loc.routes(parsePrefix('10.1.0.0/16'));
    const byPeer = new Map(view!.candidates.map((c) => [c.path.peer!.address, c]));
    expect(byPeer.get('192.0.2.1')!.path.localPref).toBe(100);
    expect(byPeer.get('192.0.2.1')!.path.asPathLength).toBe(2);
    expect(byPeer.get('10.0.0.2')!.path.asPathLength).toBe(2);
    expect(byPeer.get('10.0.0.2')!.path.fromEbgp).toBe(false);
    // Equal through MED (different neighbour AS): eBGP beats iBGP.
    expect(view!.reason).toBe('ebgp-over-ibgp');
    expect(byPeer.get('192.0.2.1')!.best).toBe(true);
    expect(byPeer.get('10.0.0.2')!.best).toBe(false);
  });

  it('a stale path (graceful restart) loses to a fresh one and comes back after a refresh', () => {
    const loc = new LocRib();
    const a = peer('192.0.2.1', 65001);
    const b = peer('192.0.2.2', 65002);
    const inA = ribIn(a);
    loc.applyPeerChanges(a, inA.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001)])).changes);
    loc.applyPeerChanges(
      b,
      ribIn(b).applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65002, 1)])).changes,
    );
    expect(loc.takeChanges()[0]!.best!.peer!.address).toBe('192.0.2.1');
    loc.applyPeerChanges(a, inA.markStale());
    const [stale] = loc.takeChanges();
    expect([stale!.best!.peer!.address, stale!.reason]).toEqual(['192.0.2.2', 'not-stale']);
    loc.applyPeerChanges(a, inA.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001)])).changes);
    loc.applyPeerChanges(a, inA.sweepStale());
    expect(loc.takeChanges()[0]!.best!.peer!.address).toBe('192.0.2.1');
  });

  it('tracks the ECMP set: a second equal path changes the multipath set, removing it shrinks it', () => {
    const loc = new LocRib({ decision: { maxPaths: 4 } });
    const a = peer('10.0.0.2', LOCAL_AS);
    const b = peer('10.0.0.3', LOCAL_AS);
    const attrs = [origin, asPath(65010), { kind: 'local-pref', value: 100 } as BgpPathAttribute];
    loc.applyPeerChanges(a, ribIn(a).applyUpdate(announce(['10.1.0.0/16'], attrs, '10.0.0.2')).changes);
    expect(loc.takeChanges()[0]!.multipath).toHaveLength(1);
    const inB = ribIn(b);
    loc.applyPeerChanges(b, inB.applyUpdate(announce(['10.1.0.0/16'], attrs, '10.0.0.3')).changes);
    const [grown] = loc.takeChanges();
    expect(grown!.kind).toBe('changed');
    expect(grown!.multipath.map((p) => p.attributes.nextHop)).toEqual(['10.0.0.2', '10.0.0.3']);
    loc.applyPeerChanges(b, inB.clear());
    const [shrunk] = loc.takeChanges();
    expect(shrunk!.multipath.map((p) => p.attributes.nextHop)).toEqual(['10.0.0.2']);
  });
});

describe('identity and the single-path fast path', () => {
  it('Loc-RIB: one source inline, a second makes a choice, removing it goes back to only-path', () => {
    const loc = new LocRib();
    const a = peer('192.0.2.1', 65001);
    const b = peer('192.0.2.2', 65002);
    const inA = ribIn(a);
    const inB = ribIn(b);
    loc.applyPeerChanges(
      a,
      inA.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001, 65010)])).changes,
    );
    expect(loc.takeChanges().map((c) => [c.kind, c.reason])).toEqual([['added', 'only-path']]);
    // Withdrawing an unknown source of a one-path prefix changes nothing.
    loc.applyPeerChanges(b, [
      { prefixKey: '10.1.0.0/16', prefix: parsePrefix('10.1.0.0/16'), pathId: 0, path: undefined },
    ]);
    expect(loc.takeChanges()).toEqual([]);
    loc.applyPeerChanges(
      b,
      inB.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65002)], '192.0.2.2')).changes,
    );
    const [won] = loc.takeChanges();
    expect([won!.kind, won!.best!.peer!.address, won!.reason]).toEqual([
      'changed',
      '192.0.2.2',
      'as-path-length',
    ]);
    expect(loc.routes()[0]!.candidates.map((c) => [c.path.peer!.address, c.best])).toEqual([
      ['192.0.2.1', false],
      ['192.0.2.2', true],
    ]);
    loc.applyPeerChanges(b, inB.clear());
    const [back] = loc.takeChanges();
    expect([back!.kind, back!.best!.peer!.address, back!.reason]).toEqual([
      'changed',
      '192.0.2.1',
      'only-path',
    ]);
    loc.applyPeerChanges(a, inA.clear());
    expect(loc.takeChanges().map((c) => c.kind)).toEqual(['withdrawn']);
    expect(loc.routes()).toEqual([]);
  });

  it('AttributeInterner gives each interned set a numeric id until it is released', () => {
    const interner = new AttributeInterner();
    const one = interner.acquire({ list: [origin], nextHop: '192.0.2.1' });
    const same = interner.acquire({ list: [origin], nextHop: '192.0.2.1' });
    const other = interner.acquire({ list: [origin], nextHop: '192.0.2.2' });
    expect(same).toBe(one);
    expect(interner.idOf(one)).toBeTypeOf('number');
    expect(interner.idOf(other)).not.toBe(interner.idOf(one));
    interner.release(one);
    expect(interner.idOf(one)).toBeDefined();
    interner.release(one);
    expect(interner.idOf(one)).toBeUndefined();
  });

  it('Adj-RIB-Out: sets that export equal share one UPDATE; an unchanged re-announcement sends nothing', () => {
    const { encoder, calls } = countingEncoder();
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID, encoder });
    const loc = new LocRib();
    out.addPeer(exportPeer(peer('203.0.113.1', 65101)), loc.bestPaths());
    out.flush();
    const src = peer('192.0.2.1', 65001);
    const inSrc = ribIn(src);
    // MED differs, but eBGP export strips it: one outbound set.
    loc.applyPeerChanges(
      src,
      inSrc.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001), { kind: 'med', value: 1 }]))
        .changes,
    );
    loc.applyPeerChanges(
      src,
      inSrc.applyUpdate(announce(['10.2.0.0/16'], [origin, asPath(65001), { kind: 'med', value: 2 }]))
        .changes,
    );
    out.enqueue(loc.takeChanges());
    const before = calls();
    const sent = decodeAll(out.flush().get('203.0.113.1')!);
    expect(calls() - before).toBe(1);
    expect(sent.map((u) => u.announced)).toEqual([['10.1.0.0/16', '10.2.0.0/16']]);
    // The same attributes again (a new UPDATE object): nothing to send.
    loc.applyPeerChanges(
      src,
      inSrc.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001), { kind: 'med', value: 1 }]))
        .changes,
    );
    out.enqueue(loc.takeChanges());
    expect(out.flush().get('203.0.113.1')).toBeUndefined();
  });

  it('Adj-RIB-Out: a prefix-dependent export policy still runs per prefix with the cached export rules', () => {
    const medFor101 = compilePolicy(
      {
        kind: 'terms',
        terms: [
          {
            match: { prefix: [{ prefix: '10.1.0.0/16' }] },
            ['then' as 'then']: { setMed: 7, action: 'accept' },
          },
          { match: {}, ['then' as 'then']: { action: 'accept' } },
        ],
      },
      DEFS,
    );
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID });
    const loc = learned(
      peer('192.0.2.1', 65001),
      announce(['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16'], [origin, asPath(65001)]),
    );
    out.addPeer(
      exportPeer(peer('203.0.113.1', 65101), { exportPolicy: medFor101, exportPolicyKey: 'med-for-10.1' }),
      loc.bestPaths(),
    );
    const updates = decodeAll(out.flush().get('203.0.113.1')!).filter((u) => u.announced.length > 0);
    const medOf = (prefix: string) =>
      kind(updates.find((u) => u.announced.includes(prefix))!.attributes, 'med')?.value;
    expect(medOf('10.1.0.0/16')).toBe(7);
    expect(medOf('10.2.0.0/16')).toBeUndefined();
    expect(medOf('10.3.0.0/16')).toBeUndefined();
    expect(updates).toHaveLength(2);
  });
});

function exportPeer(info: PeerInfo, extra: Partial<ExportPeer> = {}): ExportPeer {
  return {
    info,
    families: ['ipv4-unicast', 'ipv6-unicast'],
    fourOctetAs: true,
    maxMessageLength: 4096,
    addPathSend: false,
    nextHopMode: 'auto',
    localAddress: '198.51.100.1',
    localAddressV6: '2001:db8::ff',
    exportPolicyKey: policyKey({ kind: 'action', action: 'accept' }),
    exportPolicy: ACCEPT,
    ...extra,
  };
}

function countingEncoder(): { encoder: UpdateEncoder; calls: () => number } {
  let calls = 0;
  return {
    encoder: (writer, input) => {
      calls++;
      return packUpdatesInto(writer, input);
    },
    calls: () => calls,
  };
}

/** Decodes every UPDATE sent to a peer: the announced/withdrawn prefixes and each UPDATE's attributes. */
function decodeAll(runs: readonly OutboundRun[] | undefined) {
  return messagesOf(runs).map((bytes) => {
    const message = decodeBgpMessage(bytes, { as4: true });
    if (message.type !== 'update') throw new Error(`expected UPDATE, got ${message.type}`);
    return {
      announced: prefixes(updateAnnounced(message)),
      withdrawn: prefixes(updateWithdrawn(message)),
      attributes: message.attributes,
      bytes,
    };
  });
}
const kind = <K extends BgpPathAttribute['kind']>(list: readonly BgpPathAttribute[], k: K) =>
  list.find((a) => a.kind === k) as Extract<BgpPathAttribute, { kind: K }> | undefined;

/** A speaker with one eBGP source peer feeding Loc-RIB, for export tests. */
function learned(from: PeerInfo, update: BgpUpdate, loc = new LocRib()) {
  loc.applyPeerChanges(from, ribIn(from).applyUpdate(update).changes);
  return loc;
}

describe('Adj-RIB-Out', () => {
  it('peers with the same policy and options share a group: encoded once, one batch for every member', () => {
    const { encoder, calls } = countingEncoder();
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID, encoder });
    const loc = new LocRib();
    out.addPeer(exportPeer(peer('203.0.113.1', 65101)), loc.bestPaths());
    out.addPeer(exportPeer(peer('203.0.113.2', 65102)), loc.bestPaths());
    expect(out.groups()).toHaveLength(1);
    out.flush(); // End-of-RIB only
    const src = peer('192.0.2.1', 65001);
    learned(src, announce(['10.1.0.0/16', '10.2.0.0/16'], [origin, asPath(65001)]), loc);
    out.enqueue(loc.takeChanges());
    const before = calls();
    const sent = out.flush();
    expect(calls() - before).toBe(1);
    const one = sent.get('203.0.113.1')!;
    const two = sent.get('203.0.113.2')!;
    expect(one).toHaveLength(1);
    expect(two).toHaveLength(1);
    // One batch for the group: both members get the very same bytes (the whole batch, not a copy).
    expect(two[0]!.bytes).toBe(one[0]!.bytes);
    expect(one[0]!.bytes).toBe(one[0]!.batch);
    expect(decodeAll(one)[0]!.announced).toEqual(['10.1.0.0/16', '10.2.0.0/16']);
    // A different export policy makes a second group.
    const reject = compilePolicy({ kind: 'action', action: 'reject' }, DEFS);
    out.addPeer(
      exportPeer(peer('203.0.113.3', 65103), {
        exportPolicy: reject,
        exportPolicyKey: policyKey({ kind: 'action', action: 'reject' }),
      }),
      loc.bestPaths(),
    );
    expect(out.groups()).toHaveLength(2);
    const third = decodeAll(out.flush().get('203.0.113.3')!);
    expect(third.map((u) => u.announced)).toEqual([[], []]); // only End-of-RIB (IPv4, IPv6)
  });

  it('paths received with ADD-PATH ids are exported without path ids', () => {
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID });
    const src = peer('192.0.2.1', 65001);
    const update = makeUpdate({
      attributes: [origin, asPath(65001), { kind: 'next-hop', address: parseIpv4('192.0.2.1') }],
      nlri: [parsePrefix('10.1.0.0/16', 7)],
    });
    const loc = learned(src, update);
    expect(loc.routes()[0]!.prefixKey).toBe('10.1.0.0/16');
    out.addPeer(exportPeer(peer('203.0.113.1', 65101), { families: ['ipv4-unicast'] }), loc.bestPaths());
    const [first] = decodeAll(out.flush().get('203.0.113.1')!);
    expect(first!.announced).toEqual(['10.1.0.0/16']);
  });

  it('packs N prefixes with one attribute set into UPDATEs filled to the maximum length', () => {
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID });
    const loc = new LocRib();
    out.addPeer(exportPeer(peer('203.0.113.1', 65101)), []);
    out.flush();
    const many: string[] = [];
    for (let i = 0; i < 2000; i++) many.push(`10.${i >> 8}.${i & 255}.0/24`);
    learned(peer('192.0.2.1', 65001), announce(many, [origin, asPath(65001)]), loc);
    out.enqueue(loc.takeChanges());
    const runs = out.flush().get('203.0.113.1')!;
    const messages = messagesOf(runs);
    const decoded = decodeAll(runs);
    expect(decoded.flatMap((u) => u.announced)).toHaveLength(2000);
    // Every message but the last is full: another 4-octet /24 would not fit.
    for (const message of messages.slice(0, -1)) expect(message.length).toBeGreaterThan(4096 - 4);
    expect(messages.length).toBe(
      Math.ceil(2000 / Math.floor((4096 - messages[0]!.length + decoded[0]!.announced.length * 4) / 4)),
    );
  });

  it('eBGP export: prepends our AS, strips LOCAL_PREF and MED, next hop self; iBGP keeps next hop and sets LOCAL_PREF', () => {
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID });
    const src = peer('192.0.2.1', 65001);
    const loc = learned(
      src,
      announce(
        ['10.1.0.0/16'],
        [origin, asPath(65001), { kind: 'med', value: 50 }, { kind: 'local-pref', value: 7 }],
      ),
    );
    out.addPeer(exportPeer(peer('203.0.113.1', 65101)), loc.bestPaths());
    out.addPeer(exportPeer(peer('10.0.0.2', LOCAL_AS)), loc.bestPaths());
    const sent = out.flush();
    const [toEbgp] = decodeAll(sent.get('203.0.113.1')!);
    expect(toEbgp!.announced).toEqual(['10.1.0.0/16']);
    expect(kind(toEbgp!.attributes, 'as-path')?.segments).toEqual([{ type: 2, asns: [LOCAL_AS, 65001] }]);
    expect(kind(toEbgp!.attributes, 'local-pref')).toBeUndefined();
    expect(kind(toEbgp!.attributes, 'med')).toBeUndefined();
    expect(kind(toEbgp!.attributes, 'next-hop')?.address).toBe(parseIpv4('198.51.100.1'));
    const [toIbgp] = decodeAll(sent.get('10.0.0.2')!);
    expect(kind(toIbgp!.attributes, 'as-path')?.segments).toEqual([{ type: 2, asns: [65001] }]);
    // LOCAL_PREF received from eBGP is kept as received (an import policy may override it).
    expect(kind(toIbgp!.attributes, 'local-pref')?.value).toBe(7);
    expect(kind(toIbgp!.attributes, 'next-hop')?.address).toBe(parseIpv4('192.0.2.1'));
    expect(kind(toIbgp!.attributes, 'med')?.value).toBe(50);
  });

  it('eBGP export in one pass equals the rules applied one by one (any attribute list, eBGP or local source)', () => {
    // The rules step by step, as the Adj-RIB-Out applied them before its one-pass ebgpExport.
    const wireCode = (a: BgpPathAttribute) =>
      a.kind === 'unknown' ? a.code : (ATTRIBUTE_SPECS[a.kind as keyof typeof ATTRIBUTE_SPECS]?.code ?? 255);
    const reference = (received: RouteAttributes, fromLocal: boolean, keep: boolean): RouteAttributes => {
      let attributes: RouteAttributes = { list: forForwarding(received.list), nextHop: received.nextHop };
      for (const k of ['local-pref', 'originator-id', 'cluster-list'] as const)
        attributes = withAttribute(attributes, k, undefined);
      if (!fromLocal) attributes = withAttribute(attributes, 'med', undefined);
      const segments = findAttribute(attributes, 'as-path')?.segments ?? [];
      const first = segments[0];
      const prepended =
        first !== undefined && first.type === 2 && first.asns.length < 255
          ? [{ type: 2 as const, asns: [LOCAL_AS, ...first.asns] }, ...segments.slice(1)]
          : [{ type: 2 as const, asns: [LOCAL_AS] }, ...segments];
      attributes = withAttribute(attributes, 'as-path', { kind: 'as-path', segments: prepended });
      if (!keep || fromLocal) attributes = { ...attributes, nextHop: '198.51.100.1' };
      if (findAttribute(attributes, 'origin') === undefined)
        attributes = withAttribute(attributes, 'origin', { kind: 'origin', value: 0 });
      return {
        list: [...attributes.list].sort((a, b) => wireCode(a) - wireCode(b)),
        nextHop: attributes.nextHop,
      };
    };
    const segment = fc.record({
      type: fc.constantFrom(1 as const, 2 as const),
      asns: fc.oneof(
        fc.array(fc.integer({ min: 1, max: 64000 }), { maxLength: 3 }),
        fc.constant(Array.from({ length: 255 }, (_, i) => 1 + i)),
      ),
    });
    const attribute: fc.Arbitrary<BgpPathAttribute> = fc.oneof(
      fc.integer({ min: 0, max: 2 }).map((value): BgpPathAttribute => ({ kind: 'origin', value })),
      fc
        .array(segment, { maxLength: 2 })
        .map((segments): BgpPathAttribute => ({ kind: 'as-path', segments })),
      fc.integer({ min: 0, max: 100 }).map((value): BgpPathAttribute => ({ kind: 'med', value })),
      fc.integer({ min: 0, max: 300 }).map((value): BgpPathAttribute => ({ kind: 'local-pref', value })),
      fc.constant<BgpPathAttribute>({ kind: 'originator-id', id: 0x0a000063 }),
      fc.constant<BgpPathAttribute>({ kind: 'cluster-list', ids: [0x0a000064] }),
      fc.constant<BgpPathAttribute>({ kind: 'communities', values: [0xfde80001] }),
      fc
        .constantFrom(0xc0, 0x80, 0xe0)
        .map((flags): BgpPathAttribute => ({ kind: 'unknown', code: 99, flags, value: Uint8Array.of(1) })),
    );
    fc.assert(
      fc.property(
        fc.array(attribute, { maxLength: 7 }),
        fc.boolean(),
        fc.boolean(),
        (list, fromLocal, keep) => {
          const received: RouteAttributes = { list, nextHop: '192.0.2.7' };
          const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID });
          const template = exportPeer(peer('203.0.113.1', 65101), keep ? { nextHopMode: 'keep' } : {});
          const prefix = parsePrefix('10.1.0.0/16');
          const best = fromLocal
            ? ({ prefix, attributes: received, peer: undefined } as unknown as LocRibPath)
            : ({ prefix, attributes: received, peer: peer('192.0.2.1', 65001) } as unknown as LocRibPath);
          expect(out.exportAttributes(best, template)).toEqual(reference(received, fromLocal, keep));
        },
      ),
    );
  });

  it('iBGP-learned paths go to eBGP and to reflector clients (with ORIGINATOR_ID/CLUSTER_LIST), not to non-clients', () => {
    const out = new AdjRibOut({
      localAs: LOCAL_AS,
      localRouterId: ROUTER_ID,
      clusterId: parseIpv4('1.1.1.1'),
    });
    const nonClientSource = peer('10.0.0.2', LOCAL_AS);
    const loc = learned(
      nonClientSource,
      announce(['10.1.0.0/16'], [origin, asPath(65010), { kind: 'local-pref', value: 100 }], '10.0.0.2'),
    );
    out.addPeer(exportPeer(peer('10.0.0.3', LOCAL_AS)), loc.bestPaths());
    out.addPeer(exportPeer(peer('10.0.0.4', LOCAL_AS, { routeReflectorClient: true })), loc.bestPaths());
    out.addPeer(exportPeer(peer('203.0.113.1', 65101)), loc.bestPaths());
    const sent = out.flush();
    expect(decodeAll(sent.get('10.0.0.3')!).flatMap((u) => u.announced)).toEqual([]);
    const [toClient] = decodeAll(sent.get('10.0.0.4')!);
    expect(toClient!.announced).toEqual(['10.1.0.0/16']);
    expect(kind(toClient!.attributes, 'originator-id')?.id).toBe(parseIpv4('10.0.0.2'));
    expect(kind(toClient!.attributes, 'cluster-list')?.ids).toEqual([parseIpv4('1.1.1.1')]);
    expect(kind(toClient!.attributes, 'next-hop')?.address).toBe(parseIpv4('10.0.0.2'));
    const [toEbgp] = decodeAll(sent.get('203.0.113.1')!);
    expect(toEbgp!.announced).toEqual(['10.1.0.0/16']);
    expect(kind(toEbgp!.attributes, 'originator-id')).toBeUndefined();

    // A client's path is reflected to non-clients too, and not sent back to the client itself.
    const client = peer('10.0.0.4', LOCAL_AS, { routeReflectorClient: true });
    loc.applyPeerChanges(
      client,
      ribIn(client).applyUpdate(
        announce(['10.7.0.0/16'], [origin, asPath(), { kind: 'local-pref', value: 100 }], '10.0.0.4'),
      ).changes,
    );
    out.enqueue(loc.takeChanges());
    const next = out.flush();
    expect(decodeAll(next.get('10.0.0.3')!).flatMap((u) => u.announced)).toEqual(['10.7.0.0/16']);
    expect(next.get('10.0.0.4')).toBeUndefined();
  });

  it('split horizon: a group member never gets its own path; it gets a withdrawal when it becomes the source', () => {
    const { encoder, calls } = countingEncoder();
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID, encoder });
    const a = peer('203.0.113.1', 65101);
    const b = peer('203.0.113.2', 65102);
    const loc = new LocRib();
    out.addPeer(exportPeer(a), []);
    out.addPeer(exportPeer(b), []);
    out.flush();
    const inA = ribIn(a);
    loc.applyPeerChanges(
      a,
      inA.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65101, 9, 9)], '203.0.113.1')).changes,
    );
    out.enqueue(loc.takeChanges());
    let sent = out.flush();
    expect(sent.get('203.0.113.1')).toBeUndefined();
    expect(decodeAll(sent.get('203.0.113.2')!)[0]!.announced).toEqual(['10.1.0.0/16']);
    // b announces a shorter path: b becomes the source; a now gets it, b gets a withdrawal.
    loc.applyPeerChanges(
      b,
      ribIn(b).applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65102)], '203.0.113.2')).changes,
    );
    out.enqueue(loc.takeChanges());
    const before = calls();
    sent = out.flush();
    expect(decodeAll(sent.get('203.0.113.1')!).map((u) => u.announced)).toEqual([['10.1.0.0/16']]);
    expect(decodeAll(sent.get('203.0.113.2')!).map((u) => u.withdrawn)).toEqual([['10.1.0.0/16']]);
    expect(calls() - before).toBe(2);
    // a's (worse) path going away leaves the best unchanged.
    loc.applyPeerChanges(a, inA.clear());
    out.enqueue(loc.takeChanges());
    expect(out.flush().size).toBe(0);
  });

  it('split horizon: when a member withdraws its own path, only the others get the withdrawal', () => {
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID });
    const a = peer('203.0.113.1', 65101);
    const b = peer('203.0.113.2', 65102);
    const loc = new LocRib();
    out.addPeer(exportPeer(a), []);
    out.addPeer(exportPeer(b), []);
    out.flush();
    const inA = ribIn(a);
    loc.applyPeerChanges(
      a,
      inA.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65101)], '203.0.113.1')).changes,
    );
    out.enqueue(loc.takeChanges());
    out.flush();
    loc.applyPeerChanges(a, inA.clear());
    out.enqueue(loc.takeChanges());
    const sent = out.flush();
    // a never had the prefix from us: a withdrawal would be for something we never advertised to it.
    expect(sent.get('203.0.113.1')).toBeUndefined();
    expect(decodeAll(sent.get('203.0.113.2')!).map((u) => u.withdrawn)).toEqual([['10.1.0.0/16']]);
  });

  it('honours NO_EXPORT and NO_ADVERTISE: withdraws a prefix whose new best is not exportable', () => {
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID });
    const loc = new LocRib();
    out.addPeer(exportPeer(peer('203.0.113.1', 65101)), []);
    out.addPeer(exportPeer(peer('10.0.0.2', LOCAL_AS)), []);
    out.flush();
    const src = peer('192.0.2.1', 65001);
    const inSrc = ribIn(src);
    loc.applyPeerChanges(src, inSrc.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001)])).changes);
    out.enqueue(loc.takeChanges());
    out.flush();
    loc.applyPeerChanges(
      src,
      inSrc.applyUpdate(
        announce(['10.1.0.0/16'], [origin, asPath(65001), { kind: 'communities', values: [0xffffff01] }]),
      ).changes,
    );
    out.enqueue(loc.takeChanges());
    const sent = out.flush();
    expect(decodeAll(sent.get('203.0.113.1')!).map((u) => u.withdrawn)).toEqual([['10.1.0.0/16']]);
    expect(decodeAll(sent.get('10.0.0.2')!).map((u) => u.announced)).toEqual([['10.1.0.0/16']]);
    // NO_ADVERTISE: withdrawn from the iBGP peer too; the eBGP peer already had it withdrawn.
    loc.applyPeerChanges(
      src,
      inSrc.applyUpdate(
        announce(['10.1.0.0/16'], [origin, asPath(65001), { kind: 'communities', values: [0xffffff02] }]),
      ).changes,
    );
    out.enqueue(loc.takeChanges());
    const last = out.flush();
    expect(decodeAll(last.get('10.0.0.2')!).map((u) => u.withdrawn)).toEqual([['10.1.0.0/16']]);
    expect(last.get('203.0.113.1')).toBeUndefined();
  });

  it('applies the export policy after the protocol rules; a late joiner gets a dump plus End-of-RIB per family', () => {
    const setMed = compilePolicy(
      {
        kind: 'terms',
        terms: [
          { match: {}, ['then' as 'then']: { setMed: 42, addCommunity: ['65000:1'], action: 'accept' } },
        ],
      },
      DEFS,
    );
    const key = policyKey({ kind: 'filter', name: 'med42' });
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: ROUTER_ID });
    const loc = learned(peer('192.0.2.1', 65001), announce(['10.1.0.0/16'], [origin, asPath(65001)]));
    const v6Peer = peer('192.0.2.1', 65001);
    loc.applyPeerChanges(
      v6Peer,
      ribIn(v6Peer).applyUpdate(
        makeUpdate({
          attributes: [
            origin,
            asPath(65001),
            {
              kind: 'mp-reach',
              afi: 2,
              safi: 1,
              nextHop: parseIpv6('2001:db8::1'),
              nlri: [parsePrefix('2001:db8:1::/48')],
            },
          ],
        }),
      ).changes,
    );
    loc.takeChanges();
    out.addPeer(
      exportPeer(peer('203.0.113.1', 65101), { exportPolicy: setMed, exportPolicyKey: key }),
      loc.bestPaths(),
    );
    out.flush();
    out.addPeer(
      exportPeer(peer('203.0.113.2', 65102), { exportPolicy: setMed, exportPolicyKey: key }),
      loc.bestPaths(),
    );
    const late = decodeAll(out.flush().get('203.0.113.2')!);
    expect(late.map((u) => u.announced)).toEqual([['10.1.0.0/16'], ['2001:db8:1::/48'], [], []]);
    expect(kind(late[0]!.attributes, 'med')?.value).toBe(42);
    expect(kind(late[0]!.attributes, 'communities')?.values).toEqual([((65000 << 16) | 1) >>> 0]);
    const v6 = kind(late[1]!.attributes, 'mp-reach')!;
    expect(Array.from(v6.nextHop)).toEqual(Array.from(parseIpv6('2001:db8::ff')));
    // End-of-RIB: an empty UPDATE (IPv4) and an empty MP_UNREACH_NLRI (IPv6).
    expect(late[2]!.bytes.length).toBe(23);
    expect(kind(late[3]!.attributes, 'mp-unreach')?.withdrawn).toEqual([]);
  });
});
