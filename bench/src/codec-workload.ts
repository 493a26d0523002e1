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

/** The speaker's pooled writer: room for a ~64 KiB batch plus one more message, four buffers kept. */
function pooledWriter(context: BgpCodecContext): BgpMessageWriter {
  return new BgpMessageWriter(context, BATCH_OCTETS + 4096, 4);
}

/**
 * Hands what the writer holds to `send` (the socket) and gives the batch back to the writer's pool
 * afterwards (the socket's write callback), so steady-state encoding reuses a few buffers instead of
 * allocating one per batch. Returns the octets sent.
 */
function sendBatch(writer: BgpMessageWriter, send: (batch: Uint8Array) => void): number {
  const batch = writer.take();
  send(batch);
  writer.recycle(batch);
  return batch.length;
}

// The two pooled loops below are deliberately written out each: one loop taking the per-route write as a
// callback made that call site polymorphic once both rows had run, charging every route for a call the
// speaker does not make (its Adj-RIB-Out calls packUpdatesInto directly).

/**
 * The kept stream's UPDATEs (one per prefix, its own attribute set, the UPDATE object and its NLRI list
 * built per route) through a pooled writer, each ~64 KiB batch handed to `send`. Returns the octets.
 */
export function encodeDistinctPooled(
  all: readonly BgpPrefix[],
  attributeSets: readonly (readonly BgpPathAttribute[])[],
  context: BgpCodecContext,
  send: (batch: Uint8Array) => void,
): number {
  const writer = pooledWriter(context);
  let octets = 0;
  for (let i = 0; i < all.length; i++) {
    writer.write(makeUpdate({ attributes: attributeSets[i]!, nlri: [all[i]!] }));
    if (writer.length >= BATCH_OCTETS) octets += sendBatch(writer, send);
  }
  if (writer.length > 0) octets += sendBatch(writer, send);
  return octets;
}

/**
 * The speaker's own send path for these routes: the Adj-RIB-Out packs each attribute set with its prefixes
 * (here one each, in the list its bucket holds) by packUpdatesInto into its pooled writer. Returns the
 * octets.
 */
export function encodeDistinctPacked(
  all: readonly BgpPrefix[],
  attributeSets: readonly (readonly BgpPathAttribute[])[],
  context: BgpCodecContext,
  send: (batch: Uint8Array) => void,
): number {
  const writer = pooledWriter(context);
  let octets = 0;
  for (let i = 0; i < all.length; i++) {
    packUpdatesInto(writer, { attributes: attributeSets[i]!, announced: [all[i]!] });
    if (writer.length >= BATCH_OCTETS) octets += sendBatch(writer, send);
  }
  if (writer.length > 0) octets += sendBatch(writer, send);
  return octets;
}
