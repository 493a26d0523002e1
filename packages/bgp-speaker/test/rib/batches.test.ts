// Adj-RIB-Out flush batches: many prefixes, each with its own attribute set, go out as ~64 KiB batches of
// back-to-back UPDATEs shared by a group's members. Each member's bytes are exactly the per-bucket
// packUpdates messages in bucket order (split horizon cutting a member's runs where it is left out), a
// joining member gets its dump then End-of-RIB, and batches given back are written over by the next flush.

import { describe, expect, it } from 'vitest';
import type { BgpPathAttribute } from '../../src/codec/attributes.js';
import { decodeBgpMessage } from '../../src/codec/messages.js';
import { packUpdates } from '../../src/codec/pack.js';
import { type BgpPrefix, formatPrefix, parseIpv4 } from '../../src/codec/prefix.js';
import { makeUpdate, updateAnnounced, updateWithdrawn } from '../../src/codec/update.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { AdjRibIn } from '../../src/rib/adj-rib-in.js';
import { AdjRibOut, type ExportPeer, endOfRib, type OutboundRuns } from '../../src/rib/adj-rib-out.js';
import { LocRib } from '../../src/rib/loc-rib.js';
import type { PeerInfo } from '../../src/rib/route.js';
import { concatenated } from '../codec/generators.js';
import { messagesOf } from './runs.js';

const LOCAL_AS = 65000;
const ACCEPT = compilePolicy(
  { kind: 'action', action: 'accept' },
  { prefixLists: {}, communityLists: {}, asPathLists: {}, filters: {} },
);

function info(address: string, asNumber: number): PeerInfo {
  return { address, asNumber, routerId: parseIpv4(address), ibgp: false, routeReflectorClient: false };
}

function member(peerInfo: PeerInfo): ExportPeer {
  return {
    info: peerInfo,
    families: ['ipv4-unicast'],
    fourOctetAs: true,
    maxMessageLength: 4096,
    addPathSend: false,
    nextHopMode: 'auto',
    localAddress: '198.51.100.1',
    exportPolicyKey: 'accept',
    exportPolicy: ACCEPT,
  };
}

const A = info('203.0.113.1', 65101);
const B = info('203.0.113.2', 65102);
const C = info('203.0.113.3', 65103);
/** Not a member: its paths go to every member. */
const X = info('192.0.2.9', 65009);

/** /24 number `i` with its own community: one attribute set (and one UPDATE) per prefix. */
function prefix(i: number): BgpPrefix {
  return { afi: 1, address: (0x14000000 + i * 256) >>> 0, length: 24 };
}
function announcement(i: number, from: PeerInfo) {
  return makeUpdate({
    attributes: [
      { kind: 'origin', value: 0 },
      { kind: 'as-path', segments: [{ type: 2, asns: [from.asNumber] }] },
      { kind: 'next-hop', address: from.routerId },
      { kind: 'communities', values: [(65000 * 65536 + i) >>> 0] },
    ],
    nlri: [prefix(i)],
  });
}

/** The attributes the group exports for prefix `i` learned from `from` (eBGP: our AS prepended, next hop self). */
function exported(i: number, from: PeerInfo): BgpPathAttribute[] {
  return [
    { kind: 'origin', value: 0 },
    { kind: 'as-path', segments: [{ type: 2, asns: [LOCAL_AS, from.asNumber] }] },
    { kind: 'next-hop', address: parseIpv4('198.51.100.1') },
    { kind: 'communities', values: [(65000 * 65536 + i) >>> 0] },
  ];
}

function batchesOf(sent: OutboundRuns): Set<Uint8Array> {
  const batches = new Set<Uint8Array>();
  for (const runs of sent.values()) for (const run of runs) batches.add(run.batch);
  return batches;
}

/** A, B, C in one eBGP group, established; `count` prefixes, even ones from X, odd ones from A. */
function setup(count: number) {
  const out = new AdjRibOut({ localAs: LOCAL_AS, localRouterId: parseIpv4('10.0.0.1') });
  const loc = new LocRib();
  for (const peerInfo of [A, B, C]) out.addPeer(member(peerInfo), []);
  out.flush();
  const ribs = new Map<PeerInfo, AdjRibIn>();
  const ribOf = (from: PeerInfo) => {
    let rib = ribs.get(from);
    if (rib === undefined) {
      rib = new AdjRibIn(from, {
        localAs: LOCAL_AS,
        localRouterId: parseIpv4('10.0.0.1'),
        importPolicy: ACCEPT,
        softReconfiguration: false,
      });
      ribs.set(from, rib);
    }
    return rib;
  };
  const sourceOf = (i: number) => (i % 2 === 0 ? X : A);
  for (let i = 0; i < count; i++)
    loc.applyPeerChanges(sourceOf(i), ribOf(sourceOf(i)).applyUpdate(announcement(i, sourceOf(i))).changes);
  out.enqueue(loc.takeChanges());
  return { out, loc, ribOf, sourceOf };
}

describe('Adj-RIB-Out flush batches', () => {
  it('distinct sets: ~64 KiB batches shared by the members, bytes exactly the per-prefix UPDATEs in order', () => {
    const count = 3000;
    const { out, sourceOf } = setup(count);
    const sent = out.flush();
    const expected = (from: (i: number) => boolean) =>
      concatenated(
        Array.from({ length: count }, (_, i) => i)
          .filter(from)
          .flatMap((i) =>
            packUpdates({ attributes: exported(i, sourceOf(i)), announced: [prefix(i)] }, { as4: true }),
          ),
      );
    const all = expected(() => true);
    // B and C get everything: whole batches, the same objects.
    for (const address of [B.address, C.address]) {
      const runs = sent.get(address)!;
      expect(concatenated(messagesOf(runs))).toEqual(all);
      for (const run of runs) expect(run.bytes).toBe(run.batch);
    }
    expect(sent.get(B.address)!.map((run) => run.batch)).toEqual(
      sent.get(C.address)!.map((run) => run.batch),
    );
    // A never gets its own paths back: only X's, as views of the same batches (one run per X prefix here).
    const toA = sent.get(A.address)!;
    expect(concatenated(messagesOf(toA))).toEqual(expected((i) => sourceOf(i) === X));
    expect(toA.reduce((sum, run) => sum + run.messageCount, 0)).toBe(count / 2);
    const batches = batchesOf(sent);
    for (const run of toA) expect(batches.has(run.batch)).toBe(true);
    // ~60-octet UPDATEs: a few batches, none much over 64 KiB.
    const sizes = [...batches].map((batch) => batch.length);
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThanOrEqual(64 * 1024);
    for (const size of sizes) expect(size).toBeLessThan(64 * 1024 + 4096);
  });

  it('keeps the order: withdrawals before announcements, a joining member gets its dump then End-of-RIB', () => {
    const { out, loc, ribOf } = setup(10);
    out.flush();
    // X withdraws 0 and 2 and announces prefix 1004; D joins.
    const D = info('203.0.113.4', 65104);
    out.addPeer(member(D), []);
    loc.applyPeerChanges(X, ribOf(X).applyUpdate(makeUpdate({ withdrawn: [prefix(0), prefix(2)] })).changes);
    loc.applyPeerChanges(X, ribOf(X).applyUpdate(announcement(1004, X)).changes); // prefix(1004)
    out.enqueue(loc.takeChanges());
    const sent = out.flush();
    const summary = (address: string) =>
      messagesOf(sent.get(address)).map((bytes) => {
        const message = decodeBgpMessage(bytes, { as4: true });
        if (message.type !== 'update') throw new Error('not an UPDATE');
        return [updateWithdrawn(message).map(formatPrefix), updateAnnounced(message).map(formatPrefix)];
      });
    expect(summary(B.address)).toEqual([
      [['20.0.0.0/24', '20.0.2.0/24'], []],
      [[], ['20.3.236.0/24']],
    ]);
    // D: the group's table (8 prefixes left + the new one), then End-of-RIB (an empty UPDATE).
    const toD = summary(D.address);
    expect(toD.at(-1)).toEqual([[], []]);
    expect(toD.slice(0, -1).flatMap(([, announced]) => announced)).toHaveLength(9);
    expect(messagesOf(sent.get(D.address)).at(-1)).toEqual(endOfRib('ipv4-unicast', { as4: true }));
  });

  it('batches given back are written over by the next flush; giving one back twice is refused', () => {
    const { out, loc, ribOf } = setup(3000);
    const first = batchesOf(out.flush());
    for (const batch of first) out.recycle(batch);
    const [one] = first;
    expect(() => out.recycle(one!)).toThrow(/already given back/);
    expect(() => out.recycle(new Uint8Array(100))).toThrow(/not a batch this writer's take\(\) returned/);
    for (let i = 0; i < 3000; i += 2)
      loc.applyPeerChanges(X, ribOf(X).applyUpdate(announcement(i + 5000, X)).changes);
    out.enqueue(loc.takeChanges());
    const second = batchesOf(out.flush());
    const buffers = new Set([...first].map((batch) => batch.buffer));
    expect([...second].filter((batch) => buffers.has(batch.buffer)).length).toBeGreaterThan(0);
  });
});
