// Link, IP and TCP decoding of captured frames: every supported link type, IPv4 (Ethernet padding
// trimmed, fragments skipped), IPv6 with extension headers, RFC 5952 address text.
import { describe, expect, it } from 'vitest';
import { decodeTcpSegment, formatIpv6 } from '../../src/capture/index.js';
import { ipv4Packet, ipv6Packet, linkFrame } from './synthetic.js';

const payload = new Uint8Array([0xff, 0xff, 1, 2, 3]);
const v4 = {
  sourceAddress: '10.0.0.1',
  destinationAddress: '10.0.0.2',
  sourcePort: 40000,
  destinationPort: 179,
  sequence: 0xfffffff0,
  payload,
};
const v6 = { ...v4, sourceAddress: 'fd00::1', destinationAddress: '2001:db8::2:1' };

describe('decodeTcpSegment', () => {
  for (const linkType of [0, 1, 101, 113, 276]) {
    it(`decodes IPv4 and IPv6 TCP behind link type ${linkType}`, () => {
      for (const [packet, source, destination] of [
        [ipv4Packet(v4), '10.0.0.1', '10.0.0.2'],
        [ipv6Packet(v6), 'fd00::1', '2001:db8::2:1'],
      ] as const) {
        const result = decodeTcpSegment(linkType, linkFrame(linkType, packet));
        if (!('segment' in result)) throw new Error(`skipped: ${result.skipped}`);
        expect(result.segment.sourceAddress).toBe(source);
        expect(result.segment.destinationAddress).toBe(destination);
        expect(result.segment.sourcePort).toBe(40000);
        expect(result.segment.destinationPort).toBe(179);
        expect(result.segment.sequence).toBe(0xfffffff0);
        expect([...result.segment.payload]).toEqual([...payload]);
      }
    });
  }

  it('decodes raw IPv4 (228) and IPv6 (229), VLAN-tagged Ethernet and trims Ethernet padding', () => {
    expect(decodeTcpSegment(228, ipv4Packet(v4))).toMatchObject({ segment: { sourceAddress: '10.0.0.1' } });
    expect(decodeTcpSegment(229, ipv6Packet(v6))).toMatchObject({ segment: { sourceAddress: 'fd00::1' } });
    const tagged = decodeTcpSegment(1, linkFrame(1, ipv4Packet(v4, 12), { vlan: true }));
    if (!('segment' in tagged)) throw new Error('skipped');
    expect([...tagged.segment.payload]).toEqual([...payload]);
  });

  it('skips IPv6 extension headers', () => {
    const result = decodeTcpSegment(1, linkFrame(1, ipv6Packet(v6, true)));
    if (!('segment' in result)) throw new Error(`skipped: ${result.skipped}`);
    expect([...result.segment.payload]).toEqual([...payload]);
  });

  it('says why a frame holds no TCP segment', () => {
    const fragment = ipv4Packet(v4);
    fragment[6] = 0x20; // more fragments
    expect(decodeTcpSegment(228, fragment)).toEqual({ skipped: 'fragment' });
    const udp = ipv4Packet(v4);
    udp[9] = 17;
    expect(decodeTcpSegment(228, udp)).toEqual({ skipped: 'not-tcp' });
    expect(decodeTcpSegment(147, ipv4Packet(v4))).toEqual({ skipped: 'unsupported-link-type' });
    expect(decodeTcpSegment(1, new Uint8Array(10))).toEqual({ skipped: 'truncated' });
    const arp = linkFrame(1, ipv4Packet(v4));
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect(decodeTcpSegment(1, arp)).toEqual({ skipped: 'not-ip' });
  });
});

describe('formatIpv6', () => {
  it('compresses the longest zero run, the first of equal runs, and not a single zero group', () => {
    const bytes = (groups: number[]) => new Uint8Array(groups.flatMap((group) => [group >> 8, group & 0xff]));
    expect(formatIpv6(bytes([0xfe80, 0, 0, 0, 0, 0, 0, 1]))).toBe('fe80::1');
    expect(formatIpv6(bytes([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]))).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(bytes([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIpv6(bytes([0, 0, 0, 0, 0, 0, 0, 0]))).toBe('::');
  });
});
