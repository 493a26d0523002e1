// Unit tests of the RIB's compact per-prefix representation: RibKey (IPv4 prefixes as one number, round
// trip and uniqueness checked over every length), the structural-hash AttributeInterner (same answers as
// comparing attributesKey texts, ids never reused, peek without a reference), the RibPath shared by the
// Adj-RIB-In and the Loc-RIB (and copied when the Loc-RIB's default LOCAL_PREF differs), and the Loc-RIB /
// Adj-RIB-Out keeping their behaviour when a prefix goes from one path to several and back.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BgpPathAttribute } from '../../src/codec/attributes.js';
import { decodeBgpMessage } from '../../src/codec/messages.js';
import { type BgpPrefix, formatPrefix, parseIpv4, parsePrefix } from '../../src/codec/prefix.js';
import { makeUpdate, updateAnnounced, updateWithdrawn } from '../../src/codec/update.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { AdjRibIn, type AdjRibInPath } from '../../src/rib/adj-rib-in.js';
import { AdjRibOut, type ExportPeer } from '../../src/rib/adj-rib-out.js';
import { AttributeInterner, attributesHash, attributesKey, sameAttributes } from '../../src/rib/intern.js';
import { LocRib } from '../../src/rib/loc-rib.js';
import { RibPath } from '../../src/rib/path.js';
import {
  type PeerInfo,
  prefixKey,
  prefixOfRibKey,
  type RouteAttributes,
  ribKey,
  ribKeyText,
} from '../../src/rib/route.js';
import { messagesOf } from './runs.js';

const DEFS = { prefixLists: {}, communityLists: {}, asPathLists: {}, filters: {} };
const ACCEPT = compilePolicy({ kind: 'action', action: 'accept' }, DEFS);
const LOCAL_AS = 65000;

function peer(address: string, asNumber: number): PeerInfo {
  return { address, asNumber, routerId: parseIpv4(address), ibgp: false, routeReflectorClient: false };
}

function ribIn(info: PeerInfo, interner?: AttributeInterner): AdjRibIn {
  return new AdjRibIn(info, {
    localAs: LOCAL_AS,
    localRouterId: parseIpv4('10.0.0.1'),
    importPolicy: ACCEPT,
    softReconfiguration: false,
    ...(interner === undefined ? {} : { interner }),
  });
}

const origin: BgpPathAttribute = { kind: 'origin', value: 0 };
const asPath = (...asns: number[]): BgpPathAttribute => ({ kind: 'as-path', segments: [{ type: 2, asns }] });
function announce(prefixes: string[], attributes: BgpPathAttribute[], nextHop: string) {
  return makeUpdate({
    attributes: [...attributes, { kind: 'next-hop', address: parseIpv4(nextHop) }],
    nlri: prefixes.map((p) => parsePrefix(p)),
  });
}

describe('RibKey', () => {
  const ipv4Prefix = fc
    .record({ address: fc.integer({ min: 0, max: 0xffffffff }), length: fc.integer({ min: 0, max: 32 }) })
    .map(({ address, length }): BgpPrefix => ({ afi: 1, address, length }));

  it('round-trips every IPv4 length, host bits cleared, and prints like prefixKey', () => {
    fc.assert(
      fc.property(ipv4Prefix, (prefix) => {
        const key = ribKey(prefix);
        expect(typeof key).toBe('number');
        expect(formatPrefix(prefixOfRibKey(key))).toBe(prefixKey(prefix));
        expect(ribKeyText(key)).toBe(prefixKey(prefix));
      }),
    );
    expect(prefixOfRibKey(ribKey(parsePrefix('0.0.0.0/0')))).toEqual({ afi: 1, address: 0, length: 0 });
    expect(prefixOfRibKey(ribKey(parsePrefix('255.255.255.255/32')))).toEqual({
      afi: 1,
      address: 0xffffffff,
      length: 32,
    });
    expect(ribKey({ afi: 1, address: parseIpv4('10.1.2.3'), length: 16 })).toBe(
      ribKey(parsePrefix('10.1.0.0/16')),
    );
  });

  it('is equal exactly when the canonical prefixes are equal', () => {
    fc.assert(
      fc.property(ipv4Prefix, ipv4Prefix, (a, b) => {
        expect(ribKey(a) === ribKey(b)).toBe(prefixKey(a) === prefixKey(b));
      }),
    );
  });

  it('keys IPv6 by text, parsed back to the prefix', () => {
    const prefix = parsePrefix('2001:db8:1::/48');
    expect(ribKey(prefix)).toBe('2001:db8:1::/48');
    expect(prefixOfRibKey('2001:db8:1::/48')).toEqual(prefix);
  });
});

describe('AttributeInterner (structural hash)', () => {
  const attribute: fc.Arbitrary<BgpPathAttribute> = fc.oneof(
    fc.integer({ min: 0, max: 2 }).map((value): BgpPathAttribute => ({ kind: 'origin', value })),
    fc
      .array(fc.integer({ min: 1, max: 70000 }), { maxLength: 3 })
      .map((asns): BgpPathAttribute => ({ kind: 'as-path', segments: [{ type: 2, asns }] })),
    fc.integer({ min: 0, max: 3 }).map((value): BgpPathAttribute => ({ kind: 'med', value })),
    fc
      .array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 2 })
      .map((values): BgpPathAttribute => ({ kind: 'communities', values })),
    fc
      .uint8Array({ maxLength: 3 })
      .map((value): BgpPathAttribute => ({ kind: 'unknown', code: 99, flags: 0xc0, value })),
  );
  const set = fc.record({
    list: fc.array(attribute, { maxLength: 4 }),
    nextHop: fc.constantFrom('192.0.2.1', '192.0.2.2', '2001:db8::1'),
  });

  it('treats two sets as equal exactly when their attributesKey texts are equal', () => {
    fc.assert(
      fc.property(set, set, (a: RouteAttributes, b: RouteAttributes) => {
        const equalText = attributesKey(a) === attributesKey(b);
        expect(sameAttributes(a, b)).toBe(equalText);
        if (equalText) expect(attributesHash(a)).toBe(attributesHash(b));
        const interner = new AttributeInterner();
        const first = interner.acquire(a);
        expect(interner.acquire(b) === first).toBe(equalText);
        expect(interner.size).toBe(equalText ? 1 : 2);
      }),
    );
  });

  it('ignores undefined properties, as the JSON text does', () => {
    const a: RouteAttributes = { list: [origin], nextHop: '192.0.2.1' };
    const b = { list: [{ kind: 'origin', value: 0, extra: undefined }], nextHop: '192.0.2.1' };
    expect(sameAttributes(a, b as unknown as RouteAttributes)).toBe(true);
    expect(attributesHash(a)).toBe(attributesHash(b as unknown as RouteAttributes));
  });

  it('counts references, gives a new id after the last release, and peeks without a reference', () => {
    const interner = new AttributeInterner();
    const a: RouteAttributes = { list: [origin, asPath(65001)], nextHop: '192.0.2.1' };
    const equal: RouteAttributes = { list: [origin, asPath(65001)], nextHop: '192.0.2.1' };
    expect(interner.peek(a)).toBeUndefined();
    expect(interner.acquire(a)).toBe(a);
    expect(interner.acquire(equal)).toBe(a);
    expect(interner.peek(equal)).toBe(a);
    const id = interner.idOf(a);
    expect(id).toBeTypeOf('number');
    expect(interner.idOf(equal)).toBeUndefined(); // not the interned object itself
    interner.release(a);
    expect(interner.size).toBe(1);
    interner.release(a);
    expect(interner.size).toBe(0);
    expect(interner.idOf(a)).toBeUndefined();
    expect(interner.peek(equal)).toBeUndefined();
    expect(() => interner.release(a)).toThrow(/not acquired from this interner/);
    expect(interner.acquire(equal)).toBe(equal);
    expect(interner.idOf(equal)).not.toBe(id);
    expect(() => interner.release(a)).toThrow(/not acquired from this interner/);
  });
});

describe('AttributeInterner (caches of the last object)', () => {
  it('a peek() miss followed by acquire() of the same object finds a set interned in between', () => {
    const interner = new AttributeInterner();
    const first: RouteAttributes = { list: [origin, asPath(65001)], nextHop: '192.0.2.1' };
    const equal: RouteAttributes = { list: [origin, asPath(65001)], nextHop: '192.0.2.1' };
    expect(interner.peek(equal)).toBeUndefined();
    expect(interner.acquire(first)).toBe(first);
    expect(interner.acquire(equal)).toBe(first);
    expect(interner.size).toBe(1);
    interner.release(first);
    interner.release(first);
    expect(interner.size).toBe(0);
  });

  it('an object handed in again after its set was released gets a fresh set, not the released one', () => {
    const interner = new AttributeInterner();
    const canonical: RouteAttributes = { list: [origin, asPath(65002)], nextHop: '192.0.2.2' };
    const handedIn: RouteAttributes = { list: [origin, asPath(65002)], nextHop: '192.0.2.2' };
    interner.acquire(canonical);
    expect(interner.acquire(handedIn)).toBe(canonical); // remembered as the last object handed in
    expect(interner.peek(handedIn)).toBe(canonical);
    interner.release(canonical);
    interner.release(canonical);
    expect(interner.peek(handedIn)).toBeUndefined();
    expect(interner.acquire(handedIn)).toBe(handedIn);
    expect(interner.idOf(handedIn)).toBeTypeOf('number');
    expect(interner.idOf(canonical)).toBeUndefined();
    expect(() => interner.release(canonical)).toThrow(/not acquired from this interner/);
    expect(interner.size).toBe(1);
  });

  it('keeps a memo per interned set until its last release, for interned objects only', () => {
    const interner = new AttributeInterner();
    const kept: RouteAttributes = { list: [origin, asPath(65003)], nextHop: '192.0.2.3' };
    const equal: RouteAttributes = { list: [origin, asPath(65003)], nextHop: '192.0.2.3' };
    expect(() => interner.setMemo(kept, 1)).toThrow(/not interned here/);
    interner.acquire(kept);
    expect(interner.memoOf(kept)).toBeUndefined();
    interner.setMemo(kept, 'facts');
    expect(interner.acquire(equal)).toBe(kept);
    expect(interner.memoOf(kept)).toBe('facts');
    expect(interner.memoOf(equal)).toBeUndefined(); // not the interned object
    expect(() => interner.setMemo(equal, 2)).toThrow(/not interned here/);
    interner.release(kept);
    expect(interner.memoOf(kept)).toBe('facts');
    interner.release(kept);
    expect(interner.memoOf(kept)).toBeUndefined();
    expect(interner.acquire(kept)).toBe(kept);
    expect(interner.memoOf(kept)).toBeUndefined(); // a fresh set
  });

  it('hashes the fields of every common attribute kind: sets differing in one field are two sets', () => {
    const base: BgpPathAttribute[] = [
      origin,
      asPath(65001),
      { kind: 'med', value: 5 },
      { kind: 'local-pref', value: 100 },
      { kind: 'communities', values: [0xfde80001] },
      { kind: 'originator-id', id: 0x0a000001 },
      { kind: 'cluster-list', ids: [0x0a000002] },
    ];
    const variants: BgpPathAttribute[][] = [
      base.map((a) => (a.kind === 'origin' ? { kind: 'origin', value: 1 } : a)),
      base.map((a) =>
        a.kind === 'as-path' ? { kind: 'as-path', segments: [{ type: 1, asns: [65001] }] } : a,
      ),
      base.map((a) => (a.kind === 'med' ? { kind: 'med', value: 0xffffffff } : a)),
      base.map((a) => (a.kind === 'local-pref' ? { kind: 'local-pref', value: 200 } : a)),
      base.map((a) => (a.kind === 'communities' ? { kind: 'communities', values: [0xfde80002] } : a)),
      base.map((a) => (a.kind === 'originator-id' ? { kind: 'originator-id', id: 0x0a000009 } : a)),
      base.map((a) => (a.kind === 'cluster-list' ? { kind: 'cluster-list', ids: [] } : a)),
    ];
    const interner = new AttributeInterner();
    const kept = interner.acquire({ list: base, nextHop: '192.0.2.1' });
    expect(interner.acquire({ list: [...base], nextHop: '192.0.2.1' })).toBe(kept);
    const hashes = new Set([attributesHash(kept)]);
    for (const list of variants) {
      const set: RouteAttributes = { list, nextHop: '192.0.2.1' };
      expect(interner.acquire(set)).toBe(set);
      hashes.add(attributesHash(set));
    }
    expect(interner.size).toBe(1 + variants.length);
    expect(hashes.size).toBe(1 + variants.length);
  });
});

describe('RibPath shared by the Adj-RIB-In and the Loc-RIB', () => {
  it('the Loc-RIB keeps the Adj-RIB-In path object itself, with the decision fields read from the set', () => {
    const from = peer('192.0.2.1', 65001);
    const rib = ribIn(from);
    const loc = new LocRib();
    const { changes } = rib.applyUpdate(
      announce(['10.1.0.0/16'], [origin, asPath(65001, 65002), { kind: 'med', value: 7 }], '192.0.2.9'),
    );
    loc.applyPeerChanges(from, changes);
    const [added] = loc.takeChanges();
    const stored = rib.get(parsePrefix('10.1.0.0/16'));
    expect(added!.best).toBe(stored);
    expect(added!.best).toBeInstanceOf(RibPath);
    expect(loc.bestPath(parsePrefix('10.1.0.0/16'))).toBe(stored);
    expect(loc.size).toBe(1);
    expect(added!.prefixKey).toBe('10.1.0.0/16');
    const best = added!.best!;
    expect([best.localPref, best.asPathLength, best.origin, best.med, best.neighborAs]).toEqual([
      100, 2, 0, 7, 65001,
    ]);
    expect([best.fromEbgp, best.local, best.peerRouterId, best.peerAddressKey, best.stale]).toEqual([
      true,
      false,
      parseIpv4('192.0.2.1'),
      'c0000201',
      false,
    ]);
  });

  it('makes its own candidate when its default LOCAL_PREF differs, and marks stale with a new object', () => {
    const from = peer('192.0.2.1', 65001);
    const rib = ribIn(from);
    const loc = new LocRib({ defaultLocalPref: 50 });
    loc.applyPeerChanges(from, rib.applyUpdate(announce(['10.1.0.0/16'], [origin], '192.0.2.9')).changes);
    const best = loc.best(parsePrefix('10.1.0.0/16'))!.best;
    expect(best).not.toBe(rib.get(parsePrefix('10.1.0.0/16')));
    expect(best.localPref).toBe(50);
    const before = rib.get(parsePrefix('10.1.0.0/16'))!;
    const marked = rib.markStale();
    expect(marked[0]!.path).not.toBe(before);
    expect([before.stale, marked[0]!.path!.stale, rib.get(parsePrefix('10.1.0.0/16'))!.stale]).toEqual([
      false,
      true,
      true,
    ]);
  });

  it('keeps ADD-PATH path ids apart in the Adj-RIB-In and as Loc-RIB sources', () => {
    const from = peer('192.0.2.1', 65001);
    const rib = ribIn(from);
    const loc = new LocRib({ decision: { maxPaths: 4 } });
    const update = makeUpdate({
      attributes: [origin, asPath(65001), { kind: 'next-hop', address: parseIpv4('192.0.2.9') }],
      nlri: [parsePrefix('10.1.0.0/16', 1), parsePrefix('10.1.0.0/16', 2)],
    });
    loc.applyPeerChanges(from, rib.applyUpdate(update).changes);
    expect(rib.size).toBe(2);
    expect(rib.get(parsePrefix('10.1.0.0/16', 2))!.pathId).toBe(2);
    const [change] = loc.takeChanges();
    expect(change!.prefix).toEqual(parsePrefix('10.1.0.0/16'));
    expect(change!.multipath.map((p) => p.pathId).sort()).toEqual([1, 2]);
    expect(loc.routes()[0]!.candidates).toHaveLength(2);
  });
});

describe('Loc-RIB one path ↔ several, Adj-RIB-Out by key', () => {
  function exportPeer(address: string): ExportPeer {
    return {
      info: peer(address, 65300),
      families: ['ipv4-unicast', 'ipv6-unicast'],
      fourOctetAs: true,
      maxMessageLength: 4096,
      addPathSend: false,
      nextHopMode: 'auto',
      localAddress: '10.0.0.2',
      exportPolicyKey: 'accept',
      exportPolicy: ACCEPT,
    };
  }
  const decode = (messages: readonly Uint8Array[]) =>
    messages.map((bytes) => {
      const message = decodeBgpMessage(bytes, { as4: true });
      if (message.type !== 'update') throw new Error('not an UPDATE');
      return {
        announced: updateAnnounced(message).map(formatPrefix),
        withdrawn: updateWithdrawn(message).map(formatPrefix),
      };
    });

  it('a second source, its loss and the last withdrawal give the changes and UPDATEs of a plain table', () => {
    const a = peer('192.0.2.1', 65001);
    const b = peer('192.0.2.2', 65002);
    const interner = new AttributeInterner();
    const ribA = ribIn(a, interner);
    const ribB = ribIn(b, interner);
    const loc = new LocRib();
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: parseIpv4('10.0.0.1') });
    out.addPeer(exportPeer('198.51.100.1'), []);
    out.flush();
    const step = () => {
      const changes = loc.takeChanges();
      out.enqueue(changes);
      const sent = messagesOf(out.flush().get('198.51.100.1'));
      return {
        changes: changes.map((c) => [c.kind, c.prefixKey, c.best?.peer?.address]),
        sent: decode(sent),
      };
    };
    loc.applyPeerChanges(
      a,
      ribA.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001, 7)], '192.0.2.1')).changes,
    );
    expect(step()).toEqual({
      changes: [['added', '10.1.0.0/16', '192.0.2.1']],
      sent: [{ announced: ['10.1.0.0/16'], withdrawn: [] }],
    });
    // B's shorter AS path wins; a withdrawal of an unknown source changes nothing.
    loc.applyPeerChanges(
      b,
      ribB.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65002)], '192.0.2.2')).changes,
    );
    loc.applyPeerChanges(
      b,
      ribB.applyUpdate(makeUpdate({ withdrawn: [parsePrefix('10.9.0.0/16')] })).changes,
    );
    expect(step()).toEqual({
      changes: [['changed', '10.1.0.0/16', '192.0.2.2']],
      sent: [{ announced: ['10.1.0.0/16'], withdrawn: [] }],
    });
    expect(loc.routes()[0]!.candidates.map((c) => [c.path.peer!.address, c.best])).toEqual([
      ['192.0.2.1', false],
      ['192.0.2.2', true],
    ]);
    expect(loc.bestPath(parsePrefix('10.1.0.0/16'))).toBe(loc.best(parsePrefix('10.1.0.0/16'))!.best);
    expect(loc.bestPath(parsePrefix('10.1.0.0/16'))!.peer!.address).toBe('192.0.2.2');
    expect(loc.size).toBe(1);
    // Back to A only, then A withdraws: the table is empty again and the peer gets the withdrawal.
    loc.applyPeerChanges(b, ribB.clear());
    expect(step().changes).toEqual([['changed', '10.1.0.0/16', '192.0.2.1']]);
    expect(loc.routes()[0]!.reason).toBe('only-path');
    loc.applyPeerChanges(
      a,
      ribA.applyUpdate(makeUpdate({ withdrawn: [parsePrefix('10.1.0.0/16')] })).changes,
    );
    expect(step()).toEqual({
      changes: [['withdrawn', '10.1.0.0/16', undefined]],
      sent: [{ announced: [], withdrawn: ['10.1.0.0/16'] }],
    });
    expect(loc.routes()).toEqual([]);
    expect([loc.size, loc.bestPath(parsePrefix('10.1.0.0/16'))]).toEqual([0, undefined]);
    expect(out.groups()[0]!.advertised).toBe(0);
    expect(interner.size).toBe(0);
  });

  it('counts what each member is advertised, its own routes left out (split horizon)', () => {
    const a = peer('192.0.2.1', 65001);
    const ribA = ribIn(a);
    const loc = new LocRib();
    const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: parseIpv4('10.0.0.1') });
    const member = (info: PeerInfo): ExportPeer => ({ ...exportPeer(info.address), info });
    out.addPeer(member(a), []);
    out.addPeer(exportPeer('198.51.100.1'), []);
    out.flush();
    loc.applyPeerChanges(
      a,
      ribA.applyUpdate(announce(['10.1.0.0/16', '10.2.0.0/16'], [origin, asPath(65001)], '192.0.2.1'))
        .changes,
    );
    loc.originate(parsePrefix('10.9.0.0/16'), { list: [origin], nextHop: '0.0.0.0' });
    out.enqueue(loc.takeChanges());
    out.flush();
    expect(out.groups()[0]!.advertised).toBe(3);
    expect(out.advertisedTo('192.0.2.1')).toBe(1);
    expect(out.advertisedTo('198.51.100.1')).toBe(3);
    expect(out.advertisedTo('203.0.113.9')).toBe(0);
    loc.applyPeerChanges(a, ribA.clear());
    out.enqueue(loc.takeChanges());
    out.flush();
    expect([out.advertisedTo('192.0.2.1'), out.advertisedTo('198.51.100.1')]).toEqual([1, 1]);
  });

  it('a change undone before takeChanges() emits nothing, for one path and for several', () => {
    const a = peer('192.0.2.1', 65001);
    const b = peer('192.0.2.2', 65002);
    const ribA = ribIn(a);
    const ribB = ribIn(b);
    const loc = new LocRib();
    loc.applyPeerChanges(
      a,
      ribA.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65001)], '192.0.2.1')).changes,
    );
    loc.takeChanges();
    const withdraw = makeUpdate({ withdrawn: [parsePrefix('10.1.0.0/16')] });
    loc.applyPeerChanges(
      b,
      ribB.applyUpdate(announce(['10.1.0.0/16'], [origin, asPath(65002, 1)], '192.0.2.2')).changes,
    );
    loc.applyPeerChanges(b, ribB.applyUpdate(withdraw).changes);
    expect(loc.takeChanges()).toEqual([]);
    const kept = loc.best(parsePrefix('10.1.0.0/16'))!.best;
    loc.applyPeerChanges(a, ribA.clear());
    expect(loc.best(parsePrefix('10.1.0.0/16'))).toBeUndefined();
    loc.applyPeerChanges(a, [
      { prefixKey: '10.1.0.0/16', prefix: kept.prefix, pathId: 0, path: kept as unknown as AdjRibInPath },
    ]);
    expect(loc.takeChanges()).toEqual([]);
  });
});
