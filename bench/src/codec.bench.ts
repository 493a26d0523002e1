// Benchmark: BGP message throughput for UPDATEs carrying 1,000,000 IPv4 /32 prefixes, in two shapes:
// "shared" (one attribute set, prefixes packed into as few 4096-octet UPDATEs as fit) and "distinct"
// (one UPDATE per prefix, each with its own MED and community). Measured, best of N single-core runs:
//   - floor: Buffer.concat of the same message bytes (a raw byte copy), and `tcpdump -r` reading a pcap
//     of the same stream (libpcap's own read rate, the kernel-tool side of the comparison);
//   - codec encode: packUpdates (shared: one attribute block, prefixes packed up to 4096 octets) or
//     encodeBgpMessage per UPDATE (distinct);
//   - codec decode: decodeBgpMessage of every UPDATE (full attribute and NLRI decode);
//   - framing: splitRawMessages (header-level cut of the stream into messages);
//   - capture: pcap → TCP reassembly → BGP messages with their negotiated context (captureBgpEvents).
// Rates are prefixes/s and MB/s, reported against the 5 M prefixes/s target.
// Run: bench/run codec   (PREFIXES=… RUNS=… to change the size)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BgpCodecContext,
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

const PREFIXES = Number(process.env.PREFIXES ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 3);
const TARGET_PREFIXES_PER_SECOND = 5_000_000;

const progress = (text: string) => process.stderr.write(`codec bench: ${text}\n`);

const CONTEXT: BgpCodecContext = { as4: true };

function prefixes(): BgpPrefix[] {
  const list: BgpPrefix[] = [];
  for (let i = 0; i < PREFIXES; i++) list.push({ afi: 1, address: (0x0a000000 + i) >>> 0, length: 32 });
  return list;
}

function attributes(med: number, community: number): BgpPathAttribute[] {
  return [
    { kind: 'origin', value: 0 },
    { kind: 'as-path', segments: [{ type: 2, asns: [65001] }] },
    { kind: 'next-hop', address: 0x0aff0002 },
    { kind: 'med', value: med },
    { kind: 'communities', values: [65000 * 65536 + community] },
  ];
}

function encodeShared(all: readonly BgpPrefix[]): Uint8Array[] {
  return packUpdates({ attributes: attributes(100, 1), announced: all }, CONTEXT);
}

function encodeDistinct(all: readonly BgpPrefix[]): Uint8Array[] {
  return all.map((prefix, i) =>
    encodeBgpMessage(makeUpdate({ attributes: attributes(i, i & 0xffff), nlri: [prefix] }), CONTEXT),
  );
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
  readonly seconds: number;
  readonly bytes: number;
}

function bestOf(label: string, run: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < RUNS; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const start = process.hrtime.bigint();
    run();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    best = Math.min(best, seconds);
    progress(`${label}: run ${i + 1}/${RUNS} ${seconds.toFixed(3)} s`);
  }
  return best;
}

function main(): void {
  const scratch = mkdtempSync(join(tmpdir(), 'caracal-codec-bench-'));
  const rows: Row[] = [];
  try {
    const all = prefixes();
    for (const [shape, encode] of [
      ['shared', encodeShared],
      ['distinct', encodeDistinct],
    ] as const) {
      progress(`encoding ${PREFIXES.toLocaleString('en')} /32 prefixes, ${shape} attributes`);
      let messages = encode(all);
      const stream = Buffer.concat(messages);
      const bytes = stream.length;
      rows.push({
        shape,
        what: 'codec encode',
        bytes,
        seconds: bestOf(`${shape} encode`, () => {
          messages = encode(all);
        }),
      });
      rows.push({
        shape,
        what: 'codec decode (decodeBgpMessage)',
        bytes,
        seconds: bestOf(`${shape} decode`, () => {
          const announced = decodeAll(messages);
          if (announced !== PREFIXES) throw new Error(`decoded ${announced} of ${PREFIXES} prefixes`);
        }),
      });
      progress(`${shape}: ${messages.length.toLocaleString('en')} UPDATEs, ${(bytes / 1e6).toFixed(1)} MB`);
      rows.push({
        shape,
        what: 'floor: Buffer.concat (byte copy)',
        bytes,
        seconds: bestOf(`${shape} copy`, () => void Buffer.concat(messages)),
      });
      rows.push({
        shape,
        what: 'framing: splitRawMessages',
        bytes,
        seconds: bestOf(`${shape} framing`, () => {
          const events = splitRawMessages(stream);
          if (events.length !== messages.length)
            throw new Error(`framed ${events.length} of ${messages.length} messages`);
        }),
      });
      const pcap = pcapOf(stream);
      const pcapPath = join(scratch, `${shape}.pcap`);
      writeFileSync(pcapPath, pcap);
      const tcpdump = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' });
      if (tcpdump.status === 0) {
        rows.push({
          shape,
          what: 'floor: tcpdump -r pcap -w /dev/null',
          bytes,
          seconds: bestOf(`${shape} tcpdump`, () => {
            const result = spawnSync('tcpdump', ['-r', pcapPath, '-w', '/dev/null'], { encoding: 'utf8' });
            if (result.status !== 0) throw new Error(`tcpdump -r failed: ${result.stderr}`);
          }),
        });
      } else progress('tcpdump not installed: its floor row is left out');
      rows.push({
        shape,
        what: 'capture: pcap → TCP → messages',
        bytes,
        seconds: bestOf(`${shape} capture`, () => {
          const events = captureBgpEvents(parseCaptureBytes(pcap));
          if (events.length !== messages.length)
            throw new Error(`capture gave ${events.length} of ${messages.length} messages`);
        }),
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(
    `\nBGP UPDATE throughput, ${PREFIXES.toLocaleString('en')} IPv4 /32 prefixes, best of ${RUNS} runs, single core`,
  );
  console.log(`target: ${(TARGET_PREFIXES_PER_SECOND / 1e6).toFixed(1)} M prefixes/s\n`);
  const header = `${'shape'.padEnd(9)} ${'measurement'.padEnd(38)} ${'seconds'.padStart(8)} ${'M prefixes/s'.padStart(13)} ${'MB/s'.padStart(9)} ${'vs target'.padStart(10)}`;
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const row of rows) {
    const rate = PREFIXES / row.seconds;
    console.log(
      `${row.shape.padEnd(9)} ${row.what.padEnd(38)} ${row.seconds.toFixed(3).padStart(8)} ${(rate / 1e6).toFixed(2).padStart(13)} ${(row.bytes / 1e6 / row.seconds).toFixed(0).padStart(9)} ${`${(rate / TARGET_PREFIXES_PER_SECOND).toFixed(2)}x`.padStart(10)}`,
    );
  }
}

main();
