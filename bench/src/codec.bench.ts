// Benchmark: BGP message throughput for UPDATEs carrying 1,000,000 IPv4 /32 prefixes, in two shapes:
// "shared" (one attribute set, prefixes packed into as few 4096-octet UPDATEs as fit) and "distinct"
// (one UPDATE per prefix, each prefix with its own attribute set: MED = its index, COMMUNITY 65000:index;
// the bench checks after decoding that every prefix came back with a different MED). Measured on one core,
// each figure the median of RUNS timed runs after one untimed warm-up run, with a full GC before each run:
//   - codec encode: packUpdates (shared) or BgpMessageWriter (distinct: one UPDATE per prefix written back
//     to back, taken in socket-sized batches of about 64 KiB, either all kept or, as the speaker sends, each
//     handed to a sink and given back to the writer's pool, its bytes checked once against the kept stream),
//     from the typed model the Adj-RIB-Out holds; and the speaker's own send path (packUpdatesInto per
//     attribute set into a pooled writer, as the Adj-RIB-Out flushes)
//     (the attribute sets exist before the run, as in the RIB; the UPDATE object and its NLRI list are
//     built inside it); and encodeBgpMessage per UPDATE (one Uint8Array each) for comparison;
//   - codec decode: decodeBgpMessage of every UPDATE to the full typed model (every attribute and prefix);
//     for "distinct" the UPDATEs are the framer's views into the received stream, as in the speaker;
//   - receive: BgpFramer over the stream in 64 KiB chunks, then decodeBgpMessage of each message;
//   - floor: Buffer.concat of the same message bytes (a raw byte copy), and `tcpdump -r` reading a pcap of
//     the same stream (libpcap's own read rate, the kernel-tool side of the comparison);
//   - framing: splitRawMessages (header-level cut of the stream into messages);
//   - capture: pcap → TCP reassembly → BGP messages with their negotiated context (captureBgpEvents).
// Rates are prefixes/s and MB/s of wire bytes (wall clock), and prefixes per CPU-second of the whole
// process (GC threads included), against the 5 M prefixes/s target.
// Run: bench/run codec   (PREFIXES=… RUNS=… to change the size, SHAPES=distinct or shared for one shape)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BgpCodecContext,
  BgpFramer,
  type BgpPathAttribute,
  type BgpPrefix,
  captureBgpEvents,
  decodeBgpMessage,
  encodeBgpMessage,
  makeUpdate,
  packUpdates,
  parseCaptureBytes,
  splitRawMessages,
} from '@caracal/bgp-speaker';
import {
  BATCH_OCTETS,
  benchAttributes,
  benchPrefixes,
  encodeDistinctKept,
  encodeDistinctPacked,
  encodeDistinctPooled,
} from './codec-workload.js';

const PREFIXES = Number(process.env.PREFIXES ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 5);
/** Which shapes to run: "shared", "distinct" or both (the default), comma-separated. */
const SHAPES = (process.env.SHAPES ?? 'shared,distinct').split(',');
const TARGET_PREFIXES_PER_SECOND = 5_000_000;

const progress = (text: string) => process.stderr.write(`codec bench: ${text}\n`);

const CONTEXT: BgpCodecContext = { as4: true };

function encodeShared(all: readonly BgpPrefix[]): Uint8Array[] {
  return packUpdates({ attributes: benchAttributes(100, 1), announced: all }, CONTEXT);
}

/** The same UPDATEs, one encodeBgpMessage (one Uint8Array) each. */
function encodeDistinctEach(
  all: readonly BgpPrefix[],
  attributeSets: readonly (readonly BgpPathAttribute[])[],
): Uint8Array[] {
  const messages: Uint8Array[] = new Array(all.length);
  for (let i = 0; i < all.length; i++)
    messages[i] = encodeBgpMessage(makeUpdate({ attributes: attributeSets[i]!, nlri: [all[i]!] }), CONTEXT);
  return messages;
}

function decodeAll(messages: readonly Uint8Array[]): number {
  let announced = 0;
  for (const message of messages) {
    const decoded = decodeBgpMessage(message, CONTEXT);
    if (decoded.type !== 'update') throw new Error(`decoded a ${decoded.type}`);
    announced += decoded.nlri.length;
  }
  return announced;
}

/** The speaker's receive path: framer over the chunks, then decodeBgpMessage of each framed message. */
function receiveAll(chunks: readonly Uint8Array[]): number {
  const framer = new BgpFramer(CONTEXT);
  let announced = 0;
  for (const chunk of chunks)
    for (const message of framer.push(chunk)) {
      const decoded = decodeBgpMessage(message, CONTEXT);
      if (decoded.type !== 'update') throw new Error(`decoded a ${decoded.type}`);
      announced += decoded.nlri.length;
    }
  return announced;
}

/** The framer's views of every message in the chunks (what decodeBgpMessage gets in the speaker). */
function framed(chunks: readonly Uint8Array[]): Uint8Array[] {
  const framer = new BgpFramer(CONTEXT);
  const messages: Uint8Array[] = [];
  for (const chunk of chunks) for (const message of framer.push(chunk)) messages.push(message);
  return messages;
}

/** The stream cut into chunks of BATCH_OCTETS (as a socket delivers it, message boundaries ignored). */
function chunked(stream: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += BATCH_OCTETS)
    chunks.push(stream.subarray(at, Math.min(stream.length, at + BATCH_OCTETS)));
  return chunks;
}

/** Checks the distinct shape is what it claims: every prefix decoded with its own MED and community. */
function checkDistinct(messages: readonly Uint8Array[]): void {
  const meds = new Set<number>();
  const communities = new Set<number>();
  for (const message of messages) {
    const decoded = decodeBgpMessage(message, CONTEXT);
    if (decoded.type !== 'update' || decoded.nlri.length !== 1)
      throw new Error('distinct: expected one prefix per UPDATE');
    for (const attribute of decoded.attributes) {
      if (attribute.kind === 'med') meds.add(attribute.value);
      if (attribute.kind === 'communities') communities.add(attribute.values[0]!);
    }
  }
  if (meds.size !== PREFIXES)
    throw new Error(`distinct: ${meds.size} different MEDs for ${PREFIXES} prefixes`);
  progress(
    `distinct: ${meds.size.toLocaleString('en')} different MEDs, ${communities.size.toLocaleString('en')} different communities`,
  );
}

/** A pcap (Ethernet/IPv4/TCP, 1448-octet segments) carrying `stream` from 10.255.0.1:40000 to :179. */
function pcapOf(stream: Uint8Array): Uint8Array {
  const segmentSize = 1448;
  const frames = Math.ceil(stream.length / segmentSize);
  const out = new Uint8Array(24 + frames * (16 + 14 + 20 + 20) + stream.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 262144, true);
  view.setUint32(20, 1, true);
  let position = 24;
  for (let frame = 0; frame < frames; frame++) {
    const payload = stream.subarray(frame * segmentSize, (frame + 1) * segmentSize);
    const frameLength = 14 + 20 + 20 + payload.length;
    view.setUint32(position, 1_763_750_000 + Math.floor(frame / 1000), true);
    view.setUint32(position + 4, (frame % 1000) * 1000, true);
    view.setUint32(position + 8, frameLength, true);
    view.setUint32(position + 12, frameLength, true);
    position += 16;
    out.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], position);
    position += 14;
    out.set(
      [
        0x45,
        0,
        (20 + 20 + payload.length) >> 8,
        (20 + 20 + payload.length) & 255,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
        10,
        255,
        0,
        1,
        10,
        255,
        0,
        2,
      ],
      position,
    );
    position += 20;
    const tcp = new DataView(out.buffer, position, 20);
    tcp.setUint16(0, 40000);
    tcp.setUint16(2, 179);
    tcp.setUint32(4, (1000 + frame * segmentSize) >>> 0);
    tcp.setUint8(12, 5 << 4);
    tcp.setUint8(13, 0x18);
    position += 20;
    out.set(payload, position);
    position += payload.length;
  }
  return out;
}

interface Row {
  readonly shape: string;
  readonly what: string;
  /** Median wall-clock seconds and median process CPU seconds (all threads) of the timed runs. */
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly bytes: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Blocks the main thread for `ms` (GC helper threads keep running). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * One untimed warm-up run (JIT), then RUNS timed runs; the medians. Before each timed run, a full GC and a
 * 250 ms pause: the previous run's garbage is collected and the heap swept (V8 sweeps on helper threads
 * after a collection) before the clock starts, so a run is not charged for its predecessor's garbage.
 */
function measure(label: string, run: () => void): { seconds: number; cpuSeconds: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  run();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    gc?.();
    pause(250);
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    run();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpuStart);
    wall.push(seconds);
    cpu.push((used.user + used.system) / 1e6);
    progress(`${label}: run ${i + 1}/${RUNS} ${seconds.toFixed(3)} s (cpu ${cpu[i]!.toFixed(3)} s)`);
  }
  return { seconds: median(wall), cpuSeconds: median(cpu) };
}

type RowRecorder = (shape: string, what: string, bytes: number, run: () => void) => void;

/**
 * The distinct-attribute encode rows; returns the encoded stream. The attribute sets (the sender's
 * Adj-RIB-Out) live only in this function, so the decode rows run without them in the heap, as a receiver
 * would (V8's young-generation collections get slower as the old generation grows; see bench/README.md).
 */
function measureDistinctEncode(all: readonly BgpPrefix[], row: RowRecorder): Uint8Array {
  // The Adj-RIB-Out's state: one attribute set per prefix, built before the timed runs.
  const attributeSets = all.map((_, i) => benchAttributes(i, i & 0xffff));
  let batches = encodeDistinctKept(all, attributeSets, CONTEXT);
  const stream = Buffer.concat(batches);
  row('distinct', 'codec encode (writer, batches kept)', stream.length, () => {
    batches = encodeDistinctKept(all, attributeSets, CONTEXT);
  });
  // The pooled writer's batches, copied out once (untimed) to check they are the same bytes.
  const pooledCopy: Uint8Array[] = [];
  encodeDistinctPooled(all, attributeSets, CONTEXT, (batch) => pooledCopy.push(batch.slice()));
  if (!Buffer.from(Buffer.concat(pooledCopy)).equals(stream))
    throw new Error('distinct: the pooled BgpMessageWriter wrote other bytes');
  row('distinct', 'codec encode (pooled writer, sent)', stream.length, () => {
    const octets = encodeDistinctPooled(all, attributeSets, CONTEXT, () => {});
    if (octets !== stream.length)
      throw new Error(`pooled writer encoded ${octets} of ${stream.length} octets`);
  });
  const packedCopy: Uint8Array[] = [];
  encodeDistinctPacked(all, attributeSets, CONTEXT, (batch) => packedCopy.push(batch.slice()));
  if (!Buffer.from(Buffer.concat(packedCopy)).equals(stream))
    throw new Error('distinct: packUpdatesInto wrote other bytes than BgpMessageWriter');
  row('distinct', 'speaker send: packUpdatesInto per set', stream.length, () => {
    const octets = encodeDistinctPacked(all, attributeSets, CONTEXT, () => {});
    if (octets !== stream.length)
      throw new Error(`packUpdatesInto encoded ${octets} of ${stream.length} octets`);
  });
  row('distinct', 'codec encode (encodeBgpMessage each)', stream.length, () => {
    const each = encodeDistinctEach(all, attributeSets);
    if (each.length !== PREFIXES) throw new Error(`encoded ${each.length} of ${PREFIXES} UPDATEs`);
  });
  if (!Buffer.from(Buffer.concat(encodeDistinctEach(all, attributeSets))).equals(stream))
    throw new Error('distinct: BgpMessageWriter and encodeBgpMessage bytes differ');
  return stream;
}

function main(): void {
  const scratch = mkdtempSync(join(tmpdir(), 'caracal-codec-bench-'));
  const rows: Row[] = [];
  const row: RowRecorder = (shape, what, bytes, run) => {
    rows.push({ shape, what, bytes, ...measure(`${shape} ${what}`, run) });
  };
  try {
    const all = benchPrefixes(PREFIXES);
    for (const shape of ['shared', 'distinct'] as const) {
      if (!SHAPES.includes(shape)) continue;
      progress(`encoding ${PREFIXES.toLocaleString('en')} /32 prefixes, ${shape} attributes`);
      let messages: Uint8Array[];
      let stream: Uint8Array;
      if (shape === 'shared') {
        messages = encodeShared(all);
        stream = Buffer.concat(messages);
        row(shape, 'codec encode (packUpdates)', stream.length, () => {
          messages = encodeShared(all);
        });
      } else {
        stream = measureDistinctEncode(all, row);
        messages = framed(chunked(stream));
        checkDistinct(messages);
      }
      const bytes = stream.length;
      row(shape, 'codec decode (decodeBgpMessage)', bytes, () => {
        const announced = decodeAll(messages);
        if (announced !== PREFIXES) throw new Error(`decoded ${announced} of ${PREFIXES} prefixes`);
      });
      const chunks = chunked(stream);
      row(shape, 'receive: BgpFramer + decodeBgpMessage', bytes, () => {
        const announced = receiveAll(chunks);
        if (announced !== PREFIXES) throw new Error(`received ${announced} of ${PREFIXES} prefixes`);
      });
      progress(`${shape}: ${messages.length.toLocaleString('en')} UPDATEs, ${(bytes / 1e6).toFixed(1)} MB`);
      row(shape, 'floor: Buffer.concat (byte copy)', bytes, () => void Buffer.concat(messages));
      row(shape, 'framing: splitRawMessages', bytes, () => {
        const events = splitRawMessages(stream);
        if (events.length !== messages.length)
          throw new Error(`framed ${events.length} of ${messages.length} messages`);
      });
      const pcap = pcapOf(stream);
      const pcapPath = join(scratch, `${shape}.pcap`);
      writeFileSync(pcapPath, pcap);
      const tcpdump = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' });
      if (tcpdump.status === 0) {
        row(shape, 'floor: tcpdump -r pcap -w /dev/null', bytes, () => {
          const result = spawnSync('tcpdump', ['-r', pcapPath, '-w', '/dev/null'], { encoding: 'utf8' });
          if (result.status !== 0) throw new Error(`tcpdump -r failed: ${result.stderr}`);
        });
      } else progress('tcpdump not installed: its floor row is left out');
      row(shape, 'capture: pcap → TCP → messages', bytes, () => {
        const events = captureBgpEvents(parseCaptureBytes(pcap));
        if (events.length !== messages.length)
          throw new Error(`capture gave ${events.length} of ${messages.length} messages`);
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(
    `\nBGP UPDATE throughput, ${PREFIXES.toLocaleString('en')} IPv4 /32 prefixes, median of ${RUNS} runs, single core`,
  );
  console.log(
    `target: ${(TARGET_PREFIXES_PER_SECOND / 1e6).toFixed(1)} M prefixes/s; cpu = prefixes per CPU-second of the process (tcpdump: a child, not counted)\n`,
  );
  const header = `${'shape'.padEnd(9)} ${'measurement'.padEnd(40)} ${'seconds'.padStart(8)} ${'M prefixes/s'.padStart(13)} ${'MB/s'.padStart(6)} ${'vs target'.padStart(10)} ${'cpu M/s'.padStart(8)}`;
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const row of rows) {
    const rate = PREFIXES / row.seconds;
    const cpuRate = row.what.includes('tcpdump') ? '' : (PREFIXES / row.cpuSeconds / 1e6).toFixed(2);
    console.log(
      `${row.shape.padEnd(9)} ${row.what.padEnd(40)} ${row.seconds.toFixed(3).padStart(8)} ${(rate / 1e6).toFixed(2).padStart(13)} ${(row.bytes / 1e6 / row.seconds).toFixed(0).padStart(6)} ${`${(rate / TARGET_PREFIXES_PER_SECOND).toFixed(2)}x`.padStart(10)} ${cpuRate.padStart(8)}`,
    );
  }
}

main();
