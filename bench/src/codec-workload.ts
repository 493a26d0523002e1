// The codec bench's route workload and its distinct-attribute encode loops, shared by codec.bench.ts and
// codec-profile.ts so the profile looks at exactly what the bench times: `count` IPv4 /32s from 10.0.0.0,
// the attribute set of one route (ORIGIN IGP, AS_PATH 65001, NEXT_HOP 10.255.0.2, its MED and COMMUNITY
// 65000:community), and one UPDATE per prefix written back to back by a BgpMessageWriter.
import {
  type BgpCodecContext,
  BgpMessageWriter,
  type BgpPathAttribute,
  type BgpPrefix,
  makeUpdate,
  packUpdatesInto,
} from '@caracal/bgp-speaker';

/** Octets per socket write: the writer's output is taken in batches of about this size. */
export const BATCH_OCTETS = 64 * 1024;

export function benchPrefixes(count: number): BgpPrefix[] {
  const list: BgpPrefix[] = [];
  for (let i = 0; i < count; i++) list.push({ afi: 1, address: (0x0a000000 + i) >>> 0, length: 32 });
  return list;
}

export function benchAttributes(med: number, community: number): BgpPathAttribute[] {
  return [
    { kind: 'origin', value: 0 },
    { kind: 'as-path', segments: [{ type: 2, asns: [65001] }] },
    { kind: 'next-hop', address: 0x0aff0002 },
    { kind: 'med', value: med },
    { kind: 'communities', values: [65000 * 65536 + community] },
  ];
}

/** One UPDATE per prefix with that prefix's own attribute set, written back to back; every batch kept. */
export function encodeDistinctKept(
  all: readonly BgpPrefix[],
  attributeSets: readonly (readonly BgpPathAttribute[])[],
  context: BgpCodecContext,
): Uint8Array[] {
  const writer = new BgpMessageWriter(context, BATCH_OCTETS + 4096);
  const batches: Uint8Array[] = [];
  for (let i = 0; i < all.length; i++) {
    writer.write(makeUpdate({ attributes: attributeSets[i]!, nlri: [all[i]!] }));
    if (writer.length >= BATCH_OCTETS) batches.push(writer.take());
  }
  if (writer.length > 0) batches.push(writer.take());
  return batches;
}

/**
 * Routes written one by one by `writeRoute` into a pooled writer, as the speaker sends: each ~64 KiB batch
 * goes to `send` (the socket) and is given back to the writer afterwards (the socket's write callback), so
 * steady-state encoding reuses a few buffers instead of allocating one per batch. Returns the octets.
 */
function encodePooled(
  count: number,
  context: BgpCodecContext,
  send: (batch: Uint8Array) => void,
  writeRoute: (writer: BgpMessageWriter, index: number) => void,
): number {
  const writer = new BgpMessageWriter(context, BATCH_OCTETS + 4096, 4);
  let octets = 0;
  const flush = () => {
    const batch = writer.take();
    octets += batch.length;
    send(batch);
    writer.recycle(batch);
  };
  for (let i = 0; i < count; i++) {
    writeRoute(writer, i);
    if (writer.length >= BATCH_OCTETS) flush();
  }
  if (writer.length > 0) flush();
  return octets;
}

/** The kept stream's UPDATEs (one per prefix, its own attribute set) through a pooled writer. */
export function encodeDistinctPooled(
  all: readonly BgpPrefix[],
  attributeSets: readonly (readonly BgpPathAttribute[])[],
  context: BgpCodecContext,
  send: (batch: Uint8Array) => void,
): number {
  return encodePooled(all.length, context, send, (writer, i) =>
    writer.write(makeUpdate({ attributes: attributeSets[i]!, nlri: [all[i]!] })),
  );
}

/**
 * The speaker's own send path for these routes: the Adj-RIB-Out packs each attribute set with its prefixes
 * (here one each) by packUpdatesInto into its pooled writer.
 */
export function encodeDistinctPacked(
  all: readonly BgpPrefix[],
  attributeSets: readonly (readonly BgpPathAttribute[])[],
  context: BgpCodecContext,
  send: (batch: Uint8Array) => void,
): number {
  return encodePooled(all.length, context, send, (writer, i) =>
    packUpdatesInto(writer, { attributes: attributeSets[i]!, announced: [all[i]!] }),
  );
}
