// Capture file reading: classic pcap in both byte orders with micro- and nanosecond timestamps, pcapng
// in both byte orders with several interfaces and resolutions, SPBs, gzip, chunked (streaming) input,
// and precise errors for broken files.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  CaptureFormatError,
  CaptureFrameParser,
  detectInputKind,
  parseCaptureBytes,
} from '../../src/capture/index.js';
import { bgpMessage, writePcap, writePcapng } from './synthetic.js';

const frames = [
  { timestampNs: 1_763_750_000_123_456_789n, linkType: 1, data: new Uint8Array([1, 2, 3, 4, 5]) },
  { timestampNs: 1_763_750_001_000_001_000n, linkType: 1, data: new Uint8Array(61).fill(7) },
  { timestampNs: 1_763_750_002_999_999_999n, linkType: 1, data: new Uint8Array([9]) },
];

describe('classic pcap', () => {
  for (const littleEndian of [true, false]) {
    for (const nanoseconds of [true, false]) {
      it(`reads ${littleEndian ? 'little' : 'big'}-endian ${nanoseconds ? 'nanosecond' : 'microsecond'} files`, () => {
        const file = writePcap(frames, { littleEndian, nanoseconds, linkType: 113 });
        expect(detectInputKind(file)).toBe('pcap');
        const parsed = parseCaptureBytes(file);
        expect(parsed.map((frame) => [...frame.data])).toEqual(frames.map((frame) => [...frame.data]));
        expect(parsed.every((frame) => frame.linkType === 113)).toBe(true);
        const expectedTimes = frames.map((frame) =>
          nanoseconds ? frame.timestampNs : (frame.timestampNs / 1000n) * 1000n,
        );
        expect(parsed.map((frame) => frame.timestampNs)).toEqual(expectedTimes);
      });
    }
  }

  it('gives the same frames when fed one byte at a time (streaming)', () => {
    const file = writePcap(frames, { littleEndian: true, nanoseconds: true, linkType: 1 });
    const parser = new CaptureFrameParser();
    const streamed = [];
    for (let i = 0; i < file.length; i++) streamed.push(...parser.push(file.subarray(i, i + 1)));
    parser.finish();
    expect(streamed).toEqual(parseCaptureBytes(file));
  });

  it('reads gzipped captures', () => {
    const file = writePcap(frames, { littleEndian: false, nanoseconds: false, linkType: 1 });
    const gz = new Uint8Array(gzipSync(file));
    expect(detectInputKind(gz)).toBe('gzip');
    expect(parseCaptureBytes(gz)).toEqual(parseCaptureBytes(file));
  });

  it('names a cut-off record and a wrong magic', () => {
    const file = writePcap(frames, { littleEndian: true, nanoseconds: false, linkType: 1 });
    expect(() => parseCaptureBytes(file.subarray(0, file.length - 3))).toThrow(
      /ends inside a record \(\d+ trailing bytes\)/,
    );
    expect(() => parseCaptureBytes(new Uint8Array([1, 2, 3, 4, 5, 6]))).toThrow(CaptureFormatError);
    expect(() => parseCaptureBytes(new Uint8Array([1, 2, 3, 4, 5, 6]))).toThrow(/magic 01020304/);
  });
});

describe('pcapng', () => {
  for (const littleEndian of [true, false]) {
    it(`reads ${littleEndian ? 'little' : 'big'}-endian sections with two interfaces of different link types and resolutions`, () => {
      const multi = frames.map((frame, index) => ({
        ...frame,
        linkType: index % 2 === 0 ? 1 : 276,
        interfaceIndex: index % 2,
      }));
      const file = writePcapng(multi, {
        littleEndian,
        interfaces: [
          { linkType: 1, resolutionDigits: 9 },
          { linkType: 276, resolutionDigits: 6 },
        ],
      });
      expect(detectInputKind(file)).toBe('pcapng');
      const parsed = parseCaptureBytes(file);
      expect(parsed.map((frame) => frame.linkType)).toEqual([1, 276, 1]);
      expect(parsed.map((frame) => frame.interfaceIndex)).toEqual([0, 1, 0]);
      expect(parsed.map((frame) => frame.timestampNs)).toEqual([
        frames[0]?.timestampNs,
        ((frames[1]?.timestampNs ?? 0n) / 1000n) * 1000n,
        frames[2]?.timestampNs,
      ]);
      expect(parsed.map((frame) => [...frame.data])).toEqual(frames.map((frame) => [...frame.data]));
    });
  }

  it('reads simple packet blocks, two sections of opposite byte order, and gzip', () => {
    const first = writePcapng(frames.slice(0, 2), {
      littleEndian: true,
      interfaces: [{ linkType: 101, resolutionDigits: 6 }],
      simple: true,
    });
    const second = writePcapng(frames.slice(2), {
      littleEndian: false,
      interfaces: [{ linkType: 229, resolutionDigits: 9 }],
    });
    const joined = new Uint8Array([...first, ...second]);
    const parsed = parseCaptureBytes(new Uint8Array(gzipSync(joined)));
    expect(parsed.map((frame) => frame.linkType)).toEqual([101, 101, 229]);
    expect(parsed[0]?.timestampNs).toBe(0n);
    expect(parsed[2]?.timestampNs).toBe(frames[2]?.timestampNs);
  });

  it('names a block whose trailing length disagrees and a packet of an undeclared interface', () => {
    const file = writePcapng(frames, {
      littleEndian: true,
      interfaces: [{ linkType: 1, resolutionDigits: 6 }],
    });
    const broken = file.slice();
    broken[broken.length - 4] = (broken[broken.length - 4] ?? 0) ^ 4;
    expect(() => parseCaptureBytes(broken)).toThrow(/does not match its trailing copy/);
    const stray = writePcapng(
      [{ ...frames[0], interfaceIndex: 0, timestampNs: 1n, linkType: 1, data: new Uint8Array(1) }],
      { littleEndian: true, interfaces: [{ linkType: 1, resolutionDigits: 6 }] },
    );
    // Drop the IDB (the block after the 28-byte SHB): the EPB now names a missing interface.
    const idbLength = new DataView(stray.buffer).getUint32(28 + 4, true);
    const withoutIdb = new Uint8Array([...stray.subarray(0, 28), ...stray.subarray(28 + idbLength)]);
    expect(() => parseCaptureBytes(withoutIdb)).toThrow(/refers to interface 0, but the section describes 0/);
  });

  it('recognises raw BGP message files by their marker', () => {
    expect(detectInputKind(bgpMessage(4))).toBe('bgp-messages');
  });
});
