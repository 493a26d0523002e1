// Capture file reading: classic pcap (both byte orders, micro- and nanosecond magics) and pcapng
// (SHB/IDB/EPB/SPB and the obsolete PB, several interfaces and sections, both byte orders), gzipped or
// not. `CaptureFrameParser` is incremental (push chunks, get the frames that are complete), so a file is
// read as a stream; `parseCaptureBytes` is the one-shot form.
import { gunzipSync } from 'node:zlib';

/** One captured link-layer frame. */
export interface CapturedFrame {
  /** Capture time in nanoseconds since the Unix epoch (0n when the block carries none, e.g. pcapng SPB). */
  readonly timestampNs: bigint;
  /** The link type (LINKTYPE_* number) of the interface the frame was captured on. */
  readonly linkType: number;
  /** The captured bytes (possibly fewer than the frame had on the wire, see `originalLength`). */
  readonly data: Uint8Array;
  readonly originalLength: number;
  /** Interface index (pcapng) or 0 (classic pcap). */
  readonly interfaceIndex: number;
}

/** A capture that cannot be read: says which byte offset and what is wrong. */
export class CaptureFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
    this.name = 'CaptureFormatError';
  }
}

const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
const PCAP_MAGIC_NANO = 0xa1b23c4d;
const PCAPNG_SECTION_HEADER = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_INTERFACE_DESCRIPTION = 1;
const PCAPNG_OBSOLETE_PACKET = 2;
const PCAPNG_SIMPLE_PACKET = 3;
const PCAPNG_ENHANCED_PACKET = 6;
const PCAPNG_OPTION_IF_TSRESOL = 9;

/** What a file holds, judged from its first bytes (after gunzip). */
export type InputKind = 'gzip' | 'pcap' | 'pcapng' | 'bgp-messages' | 'unknown';

/** Classifies the first bytes of a file: gzip, classic pcap, pcapng, concatenated BGP messages (marker). */
export function detectInputKind(head: Uint8Array): InputKind {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 16 && head.subarray(0, 16).every((byte) => byte === 0xff)) return 'bgp-messages';
  if (head.length < 4) return 'unknown';
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const big = view.getUint32(0, false);
  const little = view.getUint32(0, true);
  if (big === PCAPNG_SECTION_HEADER) return 'pcapng';
  for (const magic of [PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO])
    if (big === magic || little === magic) return 'pcap';
  return 'unknown';
}

interface PcapngInterface {
  readonly linkType: number;
  /** Nanoseconds per timestamp unit, as a rational: numerator / denominator. */
  readonly unitNumerator: bigint;
  readonly unitDenominator: bigint;
}

/** Incremental pcap / pcapng parser: `push` bytes as they arrive, `finish` at end of input. */
export class CaptureFrameParser {
  private buffer: Uint8Array = new Uint8Array(0);
  private consumed = 0; // absolute offset of buffer[0]
  private format: 'pcap' | 'pcapng' | undefined;
  private littleEndian = true;
  // classic pcap
  private pcapHeaderRead = false;
  private pcapNanoseconds = false;
  private pcapLinkType = 0;
  // pcapng
  private interfaces: PcapngInterface[] = [];

  /** Adds bytes and returns every frame now complete. */
  push(chunk: Uint8Array): CapturedFrame[] {
    this.buffer = this.buffer.length === 0 ? chunk : concatBytes(this.buffer, chunk);
    const frames: CapturedFrame[] = [];
    let position = 0;
    for (;;) {
      const used = this.parseOne(position, frames);
      if (used === 0) break;
      position += used;
    }
    this.buffer = this.buffer.subarray(position);
    this.consumed += position;
    return frames;
  }

  /** Ends the input: throws when a block or record was cut short. */
  finish(): void {
    if (this.buffer.length > 0) {
      throw new CaptureFormatError(
        `capture ends inside a record (${this.buffer.length} trailing bytes)`,
        this.consumed,
      );
    }
    if (this.format === undefined) throw new CaptureFormatError('empty capture', 0);
  }

  /** Parses one header/record/block at `position`; returns its length, or 0 when more bytes are needed. */
  private parseOne(position: number, frames: CapturedFrame[]): number {
    const available = this.buffer.length - position;
    if (this.format === undefined) {
      if (available < 4) return 0;
      const kind = detectInputKind(this.buffer.subarray(position, position + 4));
      if (kind === 'pcap') this.format = 'pcap';
      else if (kind === 'pcapng') this.format = 'pcapng';
      else
        throw new CaptureFormatError(
          `not a pcap or pcapng file (magic ${hex(this.buffer.subarray(0, 4))})`,
          0,
        );
    }
    return this.format === 'pcap'
      ? this.parsePcap(position, available, frames)
      : this.parsePcapng(position, available, frames);
  }

  private view(position: number, length: number): DataView {
    return new DataView(this.buffer.buffer, this.buffer.byteOffset + position, length);
  }

  private parsePcap(position: number, available: number, frames: CapturedFrame[]): number {
    if (!this.pcapHeaderRead) {
      if (available < 24) return 0;
      const header = this.view(position, 24);
      const magicBig = header.getUint32(0, false);
      this.littleEndian = !(magicBig === PCAP_MAGIC_MICRO || magicBig === PCAP_MAGIC_NANO);
      const magic = header.getUint32(0, this.littleEndian);
      this.pcapNanoseconds = magic === PCAP_MAGIC_NANO;
      const major = header.getUint16(4, this.littleEndian);
      if (major !== 2)
        throw new CaptureFormatError(`unsupported pcap version ${major}`, this.consumed + position + 4);
      this.pcapLinkType = header.getUint32(20, this.littleEndian) & 0x0fffffff; // upper bits: FCS info
      this.pcapHeaderRead = true;
      return 24;
    }
    if (available < 16) return 0;
    const record = this.view(position, 16);
    const seconds = record.getUint32(0, this.littleEndian);
    const fraction = record.getUint32(4, this.littleEndian);
    const capturedLength = record.getUint32(8, this.littleEndian);
    const originalLength = record.getUint32(12, this.littleEndian);
    if (capturedLength > 0x4000000) {
      throw new CaptureFormatError(
        `pcap record length ${capturedLength} is implausible`,
        this.consumed + position + 8,
      );
    }
    if (available < 16 + capturedLength) return 0;
    const start = position + 16;
    frames.push({
      timestampNs: BigInt(seconds) * 1_000_000_000n + BigInt(fraction) * (this.pcapNanoseconds ? 1n : 1000n),
      linkType: this.pcapLinkType,
      data: this.buffer.slice(start, start + capturedLength),
      originalLength,
      interfaceIndex: 0,
    });
    return 16 + capturedLength;
  }

  private parsePcapng(position: number, available: number, frames: CapturedFrame[]): number {
    if (available < 12) return 0;
    const blockType = this.view(position, 4).getUint32(0, this.littleEndian);
    if (
      blockType === PCAPNG_SECTION_HEADER ||
      this.view(position, 4).getUint32(0, false) === PCAPNG_SECTION_HEADER
    ) {
      const byteOrderMagicBig = this.view(position + 8, 4).getUint32(0, false);
      if (byteOrderMagicBig === PCAPNG_BYTE_ORDER_MAGIC) this.littleEndian = false;
      else if (this.view(position + 8, 4).getUint32(0, true) === PCAPNG_BYTE_ORDER_MAGIC)
        this.littleEndian = true;
      else
        throw new CaptureFormatError(
          'pcapng section header has a bad byte-order magic',
          this.consumed + position + 8,
        );
      this.interfaces = []; // interface ids are per section
    }
    const blockLength = this.view(position + 4, 4).getUint32(0, this.littleEndian);
    if (blockLength < 12 || blockLength % 4 !== 0 || blockLength > 0x4000000) {
      throw new CaptureFormatError(
        `pcapng block length ${blockLength} is invalid`,
        this.consumed + position + 4,
      );
    }
    if (available < blockLength) return 0;
    const trailer = this.view(position + blockLength - 4, 4).getUint32(0, this.littleEndian);
    if (trailer !== blockLength) {
      throw new CaptureFormatError(
        `pcapng block length ${blockLength} does not match its trailing copy ${trailer}`,
        this.consumed + position + blockLength - 4,
      );
    }
    const body = this.view(position + 8, blockLength - 12);
    const bodyStart = position + 8;
    switch (this.view(position, 4).getUint32(0, this.littleEndian)) {
      case PCAPNG_INTERFACE_DESCRIPTION:
        this.interfaces.push(this.readInterface(body));
        break;
      // The Enhanced Packet Block and the obsolete Packet Block share their layout after the interface
      // field (32-bit in the first, 16-bit plus a drops count in the second).
      case PCAPNG_ENHANCED_PACKET:
        frames.push(
          this.packetBlock(body, bodyStart, body.getUint32(0, this.littleEndian), 'enhanced packet'),
        );
        break;
      case PCAPNG_OBSOLETE_PACKET:
        frames.push(this.packetBlock(body, bodyStart, body.getUint16(0, this.littleEndian), 'packet block'));
        break;
      case PCAPNG_SIMPLE_PACKET: {
        const originalLength = body.getUint32(0, this.littleEndian);
        const capturedLength = Math.min(originalLength, body.byteLength - 4);
        const iface = this.interfaces[0];
        if (iface === undefined)
          throw new CaptureFormatError(
            'simple packet block before any interface description',
            this.consumed + position,
          );
        frames.push({
          timestampNs: 0n,
          linkType: iface.linkType,
          data: this.buffer.slice(bodyStart + 4, bodyStart + 4 + capturedLength),
          originalLength,
          interfaceIndex: 0,
        });
        break;
      }
      default:
        break; // name resolution, statistics, custom blocks: not needed to decode packets
    }
    return blockLength;
  }

  /** A packet block body: interface (already read), timestamp high/low at 4/8, captured length at 12,
   * original length at 16, the packet data from 20. */
  private packetBlock(
    body: DataView,
    bodyStart: number,
    interfaceIndex: number,
    blockName: string,
  ): CapturedFrame {
    const capturedLength = body.getUint32(12, this.littleEndian);
    if (20 + capturedLength > body.byteLength) {
      throw new CaptureFormatError(
        `${blockName} captured length ${capturedLength} overruns its block`,
        this.consumed + bodyStart + 12,
      );
    }
    return this.packet(
      interfaceIndex,
      body.getUint32(4, this.littleEndian),
      body.getUint32(8, this.littleEndian),
      this.buffer.slice(bodyStart + 20, bodyStart + 20 + capturedLength),
      body.getUint32(16, this.littleEndian),
      bodyStart,
    );
  }

  private packet(
    interfaceIndex: number,
    timestampHigh: number,
    timestampLow: number,
    data: Uint8Array,
    originalLength: number,
    offset: number,
  ): CapturedFrame {
    const iface = this.interfaces[interfaceIndex];
    if (iface === undefined) {
      throw new CaptureFormatError(
        `packet refers to interface ${interfaceIndex}, but the section describes ${this.interfaces.length}`,
        this.consumed + offset,
      );
    }
    const units = (BigInt(timestampHigh) << 32n) | BigInt(timestampLow);
    return {
      timestampNs: (units * iface.unitNumerator) / iface.unitDenominator,
      linkType: iface.linkType,
      data,
      originalLength,
      interfaceIndex,
    };
  }

  private readInterface(body: DataView): PcapngInterface {
    const linkType = body.getUint16(0, this.littleEndian);
    let unitNumerator = 1000n; // default resolution: microseconds
    let unitDenominator = 1n;
    let offset = 8;
    while (offset + 4 <= body.byteLength) {
      const code = body.getUint16(offset, this.littleEndian);
      const length = body.getUint16(offset + 2, this.littleEndian);
      if (code === 0) break;
      if (code === PCAPNG_OPTION_IF_TSRESOL && length >= 1) {
        const resolution = body.getUint8(offset + 4);
        const exponent = BigInt(resolution & 0x7f);
        const unitsPerSecond = resolution & 0x80 ? 2n ** exponent : 10n ** exponent;
        unitNumerator = 1_000_000_000n;
        unitDenominator = unitsPerSecond;
      }
      offset += 4 + Math.ceil(length / 4) * 4;
    }
    return { linkType, unitNumerator, unitDenominator };
  }
}

/** Parses a whole capture held in memory (gunzipping it first when it is gzipped). */
export function parseCaptureBytes(bytes: Uint8Array): CapturedFrame[] {
  const plain = detectInputKind(bytes) === 'gzip' ? new Uint8Array(gunzipSync(bytes)) : bytes;
  const parser = new CaptureFrameParser();
  const frames = parser.push(plain);
  parser.finish();
  return frames;
}

export function concatBytes(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first, 0);
  joined.set(second, first.length);
  return joined;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
