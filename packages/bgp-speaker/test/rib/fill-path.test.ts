// Property tests of the RIB fill path's shortcuts against the general path: the Adj-RIB-In hands an
// accepted path over as its own change (no change object per prefix) and the Loc-RIB keys it by the RibKey
// the path keeps; fed instead with plain change objects (what any other producer of AdjRibInChange gives,
// taking the Loc-RIB's general branch), the Loc-RIB must give the same best-path changes and routes on any
// sequence of announcements, withdrawals, import rejections, stale marks, sweeps and session clears. And
// an update group whose export policy is `{ action: reject }` queues nothing: its members get End-of-RIB
// only, and the other groups' UPDATEs are byte for byte what they are without it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BgpPathAttribute } from '../../src/codec/attributes.js';
import { decodeBgpMessage } from '../../src/codec/messages.js';
import { type BgpPrefix, formatPrefix, parseIpv4 } from '../../src/codec/prefix.js';
import { makeUpdate } from '../../src/codec/update.js';
import type { PolicyRef } from '../../src/config/types.js';
import { type CompiledPolicy, compilePolicy, policyKey } from '../../src/policy/compile.js';
import { AdjRibIn, type AdjRibInChange } from '../../src/rib/adj-rib-in.js';
import { AdjRibOut, type ExportPeer } from '../../src/rib/adj-rib-out.js';
import { AttributeInterner } from '../../src/rib/intern.js';
import { type BestPathChange, LocRib } from '../../src/rib/loc-rib.js';
import { computeFacts, type PathFacts, RibPath } from '../../src/rib/path.js';
import { type PeerInfo, prefixKey } from '../../src/rib/route.js';
import { messagesOf } from './runs.js';

const DEFS = { prefixLists: {}, communityLists: {}, asPathLists: {}, filters: {} };
const ACCEPT = compilePolicy({ kind: 'action', action: 'accept' }, DEFS);
/** Rejects the /25s: some paths are stored but not accepted, so rejections and re-acceptances happen. */
const REJECT_25: CompiledPolicy = (input) => ({
  accepted: input.prefix.length !== 25,
  attributes: input.attributes,
});
const LOCAL_AS = 65000;

const PEERS: PeerInfo[] = [1, 2, 3].map((n) => ({
  address: `192.0.2.${n}`,
  asNumber: 65000 + n,
  routerId: parseIpv4(`192.0.2.${n}`),
  ibgp: false,
  routeReflectorClient: false,
}));

/** A pool of 12 prefixes: /24s, /25s, a /32 and a /0, some sharing addresses. */
const POOL: BgpPrefix[] = [
  ...[0, 1, 2, 3, 4].map((i): BgpPrefix => ({ afi: 1, address: parseIpv4(`10.0.${i}.0`), length: 24 })),
  ...[0, 1, 2].map((i): BgpPrefix => ({ afi: 1, address: parseIpv4(`10.0.${i}.128`), length: 25 })),
  { afi: 1, address: parseIpv4('10.0.0.0'), length: 16 },
  { afi: 1, address: parseIpv4('10.9.9.9'), length: 32 },
  { afi: 1, address: parseIpv4('10.0.3.0'), length: 25 },
  { afi: 1, address: 0, length: 0 },
];

type Op =
  | { kind: 'announce'; peer: number; prefixes: number[]; pathLength: number; med: number | undefined }
  | { kind: 'withdraw'; peer: number; prefixes: number[] }
  | { kind: 'stale'; peer: number }
  | { kind: 'sweep'; peer: number }
  | { kind: 'clear'; peer: number }
  | { kind: 'take' };

const prefixIndexes = fc.uniqueArray(fc.integer({ min: 0, max: POOL.length - 1 }), {
  minLength: 1,
  maxLength: 6,
});
const peerIndex = fc.integer({ min: 0, max: PEERS.length - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('announce' as const),
      peer: peerIndex,
      prefixes: prefixIndexes,
      pathLength: fc.integer({ min: 1, max: 3 }),
      med: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('withdraw' as const),
      peer: peerIndex,
      prefixes: prefixIndexes,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stale' as const), peer: peerIndex }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const), peer: peerIndex }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), peer: peerIndex }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'take' as const }) },
);

function announcement(o: Extract<Op, { kind: 'announce' }>) {
  const peer = PEERS[o.peer]!;
  const attributes: BgpPathAttribute[] = [
    { kind: 'origin', value: 0 },
    {
      kind: 'as-path',
      segments: [{ type: 2, asns: Array.from({ length: o.pathLength }, () => peer.asNumber) }],
    },
    { kind: 'next-hop', address: peer.routerId },
  ];
  if (o.med !== undefined) attributes.push({ kind: 'med', value: o.med });
  return makeUpdate({ attributes, nlri: o.prefixes.map((i) => POOL[i]!) });
}

/** A change as a plain object, its path a plain object too: what any other producer of changes gives. */
function plain(change: AdjRibInChange): AdjRibInChange {
  const path = change.path;
  return {
    prefixKey: change.prefixKey,
    prefix: change.prefix,
    pathId: change.pathId,
    path:
      path === undefined
        ? undefined
        : {
            prefix: path.prefix,
            pathId: path.pathId,
            attributes: path.attributes,
            accepted: path.accepted,
            stale: path.stale,
          },
  };
}

/** What a best-path change says, comparable across two Loc-RIBs (paths by peer, set and stale mark). */
function describeChange(change: BestPathChange) {
  const pathOf = (path: BestPathChange['best']) =>
    path === undefined
      ? undefined
      : { peer: path.peer?.address, attributes: path.attributes, stale: path.stale };
  return {
    kind: change.kind,
    prefixKey: change.prefixKey,
    prefix: formatPrefix(change.prefix),
    best: pathOf(change.best),
    previous: pathOf(change.previous),
    multipath: change.multipath.map(pathOf),
    reason: change.reason,
  };
}

function describeRoutes(loc: LocRib) {
  return loc.routes().map((view) => ({
    prefixKey: view.prefixKey,
    reason: view.reason,
    candidates: view.candidates.map((c) => ({
      peer: c.path.peer?.address,
      attributes: c.path.attributes,
      best: c.best,
      multipath: c.multipath,
    })),
  }));
}

describe('Adj-RIB-In paths as their own changes', () => {
  it('give the Loc-RIB the same changes and routes as plain change objects, on any operation sequence', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        const interner = new AttributeInterner();
        const ribs = PEERS.map(
          (info) =>
            new AdjRibIn(info, {
              localAs: LOCAL_AS,
              localRouterId: parseIpv4('10.0.0.1'),
              importPolicy: info === PEERS[2] ? REJECT_25 : ACCEPT,
              softReconfiguration: false,
              interner,
            }),
        );
        const fast = new LocRib({ decision: { maxPaths: 2 } });
        const general = new LocRib({ decision: { maxPaths: 2 } });
        const feed = (peer: number, changes: AdjRibInChange[]) => {
          for (const change of changes) {
            // Every change describes itself consistently, whatever object it is.
            expect(change.prefixKey).toBe(prefixKey(change.prefix));
            if (change.path !== undefined)
              expect(formatPrefix(change.path.prefix)).toBe(formatPrefix(change.prefix));
          }
          const plainChanges = changes.map(plain);
          fast.applyPeerChanges(PEERS[peer]!, changes);
          general.applyPeerChanges(PEERS[peer]!, plainChanges);
        };
        for (const o of ops) {
          if (o.kind === 'take') {
            expect(fast.takeChanges().map(describeChange)).toEqual(general.takeChanges().map(describeChange));
            continue;
          }
          const rib = ribs[o.peer]!;
          if (o.kind === 'announce') feed(o.peer, rib.applyUpdate(announcement(o)).changes);
          else if (o.kind === 'withdraw')
            feed(o.peer, rib.applyUpdate(makeUpdate({ withdrawn: o.prefixes.map((i) => POOL[i]!) })).changes);
          else if (o.kind === 'stale') feed(o.peer, rib.markStale());
          else if (o.kind === 'sweep') feed(o.peer, rib.sweepStale());
          else feed(o.peer, rib.clear());
        }
        expect(fast.takeChanges().map(describeChange)).toEqual(general.takeChanges().map(describeChange));
        expect(describeRoutes(fast)).toEqual(describeRoutes(general));
        expect(fast.size).toBe(general.size);
      }),
      { numRuns: 300 },
    );
  });
});

function exportPeer(info: PeerInfo, ref: PolicyRef): ExportPeer {
  return {
    info,
    families: ['ipv4-unicast'],
    fourOctetAs: true,
    maxMessageLength: 4096,
    addPathSend: false,
    nextHopMode: 'self',
    localAddress: '10.0.0.1',
    exportPolicyKey: policyKey(ref),
    exportPolicy: compilePolicy(ref, DEFS),
  };
}

const RECEIVERS: PeerInfo[] = [11, 12].map((n) => ({
  address: `198.51.100.${n}`,
  asNumber: 64500 + n,
  routerId: parseIpv4(`198.51.100.${n}`),
  ibgp: false,
  routeReflectorClient: false,
}));
const ACCEPT_REF: PolicyRef = { kind: 'action', action: 'accept' };
const REJECT_REF: PolicyRef = { kind: 'action', action: 'reject' };

describe('an update group with export { action: reject }', () => {
  it('gets End-of-RIB only and leaves the other groups’ UPDATEs as they are without it', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const rib = new AdjRibIn(PEERS[0]!, {
          localAs: LOCAL_AS,
          localRouterId: parseIpv4('10.0.0.1'),
          importPolicy: ACCEPT,
          softReconfiguration: false,
        });
        const loc = new LocRib();
        const options = { localAs: LOCAL_AS, localRouterId: parseIpv4('10.0.0.1') };
        const withReject = new AdjRibOut(options);
        const without = new AdjRibOut(options);
        withReject.addPeer(exportPeer(RECEIVERS[0]!, ACCEPT_REF), []);
        without.addPeer(exportPeer(RECEIVERS[0]!, ACCEPT_REF), []);
        withReject.addPeer(exportPeer(RECEIVERS[1]!, REJECT_REF), []);
        const accepted = RECEIVERS[0]!.address;
        const rejecting = RECEIVERS[1]!.address;
        let first = true;
        const flushBoth = () => {
          const changes = loc.takeChanges();
          withReject.enqueue(changes);
          without.enqueue(changes);
          const a = withReject.flush();
          const b = without.flush();
          expect(messagesOf(a.get(accepted))).toEqual(messagesOf(b.get(accepted)));
          const toRejecting = messagesOf(a.get(rejecting)).map((bytes) =>
            decodeBgpMessage(bytes, { as4: true }),
          );
          // The first flush: End-of-RIB for IPv4 unicast (an empty UPDATE); nothing ever after.
          if (first)
            expect(toRejecting).toEqual([
              expect.objectContaining({ type: 'update', nlri: [], withdrawn: [] }),
            ]);
          else expect(toRejecting).toEqual([]);
          expect(withReject.advertisedTo(rejecting)).toBe(0);
          expect(withReject.advertisedTo(accepted)).toBe(without.advertisedTo(accepted));
          first = false;
        };
        for (const o of ops) {
          if (o.kind === 'announce')
            loc.applyPeerChanges(PEERS[0]!, rib.applyUpdate(announcement({ ...o, peer: 0 })).changes);
          else if (o.kind === 'withdraw')
            loc.applyPeerChanges(
              PEERS[0]!,
              rib.applyUpdate(makeUpdate({ withdrawn: o.prefixes.map((i) => POOL[i]!) })).changes,
            );
          else if (o.kind === 'clear') loc.applyPeerChanges(PEERS[0]!, rib.clear());
          else flushBoth();
        }
        flushBoth();
        // A member joining later gets the accepting group's table, the rejecting group still nothing.
        const late = { ...RECEIVERS[1]!, address: '198.51.100.13', routerId: parseIpv4('198.51.100.13') };
        withReject.addPeer(exportPeer(late, REJECT_REF), loc.bestPaths());
        const out = withReject.flush();
        expect(messagesOf(out.get(late.address))).toHaveLength(1);
        expect(withReject.groups().map((g) => g.advertised)).toEqual([without.groups()[0]!.advertised, 0]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('PathCommon: the part of a path shared by the paths of one set and peer', () => {
  const update = (prefixes: number[], nextHop: string) =>
    makeUpdate({
      attributes: [
        { kind: 'origin', value: 1 },
        { kind: 'as-path', segments: [{ type: 2, asns: [65001, 65002] }] },
        { kind: 'med', value: 7 },
        { kind: 'next-hop', address: parseIpv4(nextHop) },
      ],
      nlri: prefixes.map((i) => POOL[i]!),
    });
  const ribOf = (info: PeerInfo, interner: AttributeInterner, softReconfiguration: boolean) =>
    new AdjRibIn(info, {
      localAs: LOCAL_AS,
      localRouterId: parseIpv4('10.0.0.1'),
      importPolicy: ACCEPT,
      softReconfiguration,
      interner,
    });

  /** The decision facts alone (a PathCommon carries its set, peer and pre-policy set too). */
  const factFields = (facts: PathFacts) => ({
    localPref: facts.localPref,
    defaultLocalPref: facts.defaultLocalPref,
    asPathLength: facts.asPathLength,
    origin: facts.origin,
    med: facts.med,
    firstAs: facts.firstAs,
    originatorId: facts.originatorId,
    clusterListLength: facts.clusterListLength,
  });

  it('is one object for every path of equal sets from one peer, with the facts of the set', () => {
    const rib = ribOf(PEERS[0]!, new AttributeInterner(), false);
    const paths = [
      ...rib.applyUpdate(update([0, 1, 2], '192.0.2.1')).changes,
      ...rib.applyUpdate(update([3, 4], '192.0.2.1')).changes,
    ].map((change) => change.path as RibPath);
    expect(paths.every((path) => path instanceof RibPath)).toBe(true);
    expect(new Set(paths.map((path) => path.common)).size).toBe(1);
    const [first] = paths;
    expect(factFields(first!.facts)).toEqual(computeFacts(first!.attributes));
    expect([first!.origin, first!.med, first!.asPathLength, first!.localPref, first!.neighborAs]).toEqual([
      1, 7, 2, 100, 65001,
    ]);
    expect(first!.peer).toBe(PEERS[0]);
    expect(first!.received).toBeUndefined();
  });

  it('keeps each peer its own peer and each UPDATE its own pre-policy set, sharing one interned set', () => {
    const interner = new AttributeInterner();
    const a = ribOf(PEERS[0]!, interner, true);
    const b = ribOf(PEERS[1]!, interner, false);
    const first = a.applyUpdate(update([0], '192.0.2.1'));
    const second = a.applyUpdate(update([1], '192.0.2.1'));
    const fromB = b.applyUpdate(update([2], '192.0.2.1'));
    const [pa, pa2, pb] = [first, second, fromB].map((r) => r.changes[0]!.path as RibPath);
    expect(pa!.attributes).toBe(pb!.attributes);
    expect(pa2!.attributes).toBe(pa!.attributes);
    expect([pa!.peer, pa2!.peer, pb!.peer]).toEqual([PEERS[0], PEERS[0], PEERS[1]]);
    // Soft reconfiguration: each path keeps the set it was received with (equal, not the same object).
    expect(pa!.received).toBeDefined();
    expect(pa!.received).not.toBe(pa2!.received);
    expect(pa!.received).toEqual(pa2!.received);
    expect(a.get(POOL[1]!)?.received).toBe(pa2!.received);
    expect(pb!.received).toBeUndefined();
    expect(factFields(pb!.facts)).toEqual(factFields(pa!.facts));
    // Stale marks keep everything else.
    const [stale] = a.markStale() as RibPath[];
    expect(stale!.stale).toBe(true);
    expect(stale!.common).toBe(pa!.common);
  });
});
