// Link, network and transport decoding of captured frames down to TCP segments: link types Ethernet (1,
// with 802.1Q/802.1ad tags), Linux cooked SLL (113) and SLL2 (276), raw IP (101, 228, 229) and BSD
// loopback/null (0); IPv4 and IPv6 (extension headers skipped, fragments ignored); TCP.

import { ipv6ToString } from '../codec/prefix.js';
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** A TCP segment with its addresses, as far as the capture holds it. */
export interface TcpSegment {
  readonly sourceAddress: string;
  readonly destinationAddress: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly sequence: number;
  readonly syn: boolean;
  readonly fin: boolean;
  readonly rst: boolean;
  /** The payload bytes present in the capture (fewer than sent when the frame was cut by the snap length). */
  readonly payload: Uint8Array;
}

/** Why a frame yielded no TCP segment (counted by callers, not an error: captures hold other traffic). */
export type SkipReason =
  | 'unsupported-link-type'
  | 'not-ip'
  | 'truncated'
  | 'fragment'
  | 'not-tcp'
  | 'bad-ip-header'
  | 'bad-tcp-header';

export type SegmentResult = { readonly segment: TcpSegment } | { readonly skipped: SkipReason };

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = [0x8100, 0x88a8, 0x9100];
const IP_PROTOCOL_TCP = 6;

/** Decodes one frame of the given link type down to its TCP segment. */
export function decodeTcpSegment(linkType: number, frame: Uint8Array): SegmentResult {
  const network = networkLayer(linkType, frame);
  if ('skipped' in network) return network;
  return network.version === 4 ? decodeIpv4(network.packet) : decodeIpv6(network.packet);
}

type NetworkResult =
  | { readonly version: 4 | 6; readonly packet: Uint8Array }
  | { readonly skipped: SkipReason };

function byEtherType(etherType: number, packet: Uint8Array): NetworkResult {
  if (etherType === ETHERTYPE_IPV4) return { version: 4, packet };
  if (etherType === ETHERTYPE_IPV6) return { version: 6, packet };
  return { skipped: 'not-ip' };
}

function byVersionNibble(packet: Uint8Array): NetworkResult {
  const version = (packet[0] ?? 0) >> 4;
  if (version === 4 || version === 6) return { version, packet };
  return { skipped: 'not-ip' };
}

function networkLayer(linkType: number, frame: Uint8Array): NetworkResult {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      let offset = 12;
      if (frame.length < 14) return { skipped: 'truncated' };
      let etherType = view.getUint16(offset);
      while (ETHERTYPE_VLAN.includes(etherType)) {
        offset += 4;
        if (frame.length < offset + 2) return { skipped: 'truncated' };
        etherType = view.getUint16(offset);
      }
      return byEtherType(etherType, frame.subarray(offset + 2));
    }
    case LINKTYPE_LINUX_SLL:
      if (frame.length < 16) return { skipped: 'truncated' };
      return byEtherType(view.getUint16(14), frame.subarray(16));
    case LINKTYPE_LINUX_SLL2:
      if (frame.length < 20) return { skipped: 'truncated' };
      return byEtherType(view.getUint16(0), frame.subarray(20));
    case LINKTYPE_RAW:
      return byVersionNibble(frame);
    case LINKTYPE_IPV4:
      return { version: 4, packet: frame };
    case LINKTYPE_IPV6:
      return { version: 6, packet: frame };
    case LINKTYPE_NULL: {
      // The address family is in the capturing host's byte order; AF_INET is 2 everywhere, AF_INET6 is 10
      // (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS). The version nibble settles it.
      if (frame.length < 4) return { skipped: 'truncated' };
      return byVersionNibble(frame.subarray(4));
    }
    default:
      return { skipped: 'unsupported-link-type' };
  }
}

function decodeIpv4(packet: Uint8Array): SegmentResult {
  if (packet.length < 20) return { skipped: 'truncated' };
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const headerLength = (view.getUint8(0) & 0x0f) * 4;
  const totalLength = view.getUint16(2);
  if (headerLength < 20 || totalLength < headerLength) return { skipped: 'bad-ip-header' };
  const flagsAndOffset = view.getUint16(6);
  if ((flagsAndOffset & 0x2000) !== 0 || (flagsAndOffset & 0x1fff) !== 0) return { skipped: 'fragment' };
  if (view.getUint8(9) !== IP_PROTOCOL_TCP) return { skipped: 'not-tcp' };
  const sourceAddress = packet.subarray(12, 16).join('.');
  const destinationAddress = packet.subarray(16, 20).join('.');
  // Ethernet pads short frames: the IP total length says where the packet really ends.
  const end = Math.min(packet.length, totalLength);
  return decodeTcp(packet.subarray(headerLength, end), sourceAddress, destinationAddress);
}

const IPV6_HOP_BY_HOP = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;
const IPV6_AUTHENTICATION = 51;
const IPV6_DESTINATION_OPTIONS = 60;
const IPV6_MOBILITY = 135;

function decodeIpv6(packet: Uint8Array): SegmentResult {
  if (packet.length < 40) return { skipped: 'truncated' };
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const payloadLength = view.getUint16(4);
  let nextHeader = view.getUint8(6);
  const sourceAddress = formatIpv6(packet.subarray(8, 24));
  const destinationAddress = formatIpv6(packet.subarray(24, 40));
  const end = Math.min(packet.length, 40 + payloadLength);
  let offset = 40;
  for (;;) {
    if (nextHeader === IP_PROTOCOL_TCP) break;
    if (offset + 8 > end) return { skipped: 'truncated' };
    const following = view.getUint8(offset);
    switch (nextHeader) {
      case IPV6_HOP_BY_HOP:
      case IPV6_ROUTING:
      case IPV6_DESTINATION_OPTIONS:
      case IPV6_MOBILITY:
        offset += (view.getUint8(offset + 1) + 1) * 8;
        break;
      case IPV6_AUTHENTICATION:
        offset += (view.getUint8(offset + 1) + 2) * 4;
        break;
      case IPV6_FRAGMENT: {
        const fragment = view.getUint16(offset + 2);
        if ((fragment & 0xfff8) !== 0 || (fragment & 1) !== 0) return { skipped: 'fragment' };
        offset += 8;
        break;
      }
      default:
        return { skipped: 'not-tcp' };
    }
    nextHeader = following;
  }
  if (offset > end) return { skipped: 'bad-ip-header' };
  return decodeTcp(packet.subarray(offset, end), sourceAddress, destinationAddress);
}

function decodeTcp(tcp: Uint8Array, sourceAddress: string, destinationAddress: string): SegmentResult {
  if (tcp.length < 20) return { skipped: 'truncated' };
  const view = new DataView(tcp.buffer, tcp.byteOffset, tcp.byteLength);
  const dataOffset = (view.getUint8(12) >> 4) * 4;
  if (dataOffset < 20) return { skipped: 'bad-tcp-header' };
  if (dataOffset > tcp.length) return { skipped: 'truncated' };
  const flags = view.getUint8(13);
  return {
    segment: {
      sourceAddress,
      destinationAddress,
      sourcePort: view.getUint16(0),
      destinationPort: view.getUint16(2),
      sequence: view.getUint32(4),
      fin: (flags & 0x01) !== 0,
      syn: (flags & 0x02) !== 0,
      rst: (flags & 0x04) !== 0,
      payload: tcp.subarray(dataOffset),
    },
  };
}

/** RFC 5952 text form of a 16-byte IPv6 address: the codec's formatter, one implementation for both. */
export const formatIpv6: (bytes: Uint8Array) => string = ipv6ToString;
