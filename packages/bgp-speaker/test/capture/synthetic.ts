// Test helpers that build synthetic captures: TCP/IPv4/IPv6 packets, link-layer framings (Ethernet,
// SLL, SLL2, raw, null), and classic pcap / pcapng files in either byte order. Also used to re-wrap the
// real fixture pcaps as pcapng (no pcapng writer such as editcap is installed on the capture machine).

export interface SyntheticSegment {
  readonly sourceAddress: string;
  readonly destinationAddress: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly sequence: number;
  readonly syn?: boolean;
  readonly fin?: boolean;
  readonly payload: Uint8Array;
}

export interface SyntheticFrame {
  readonly timestampNs: bigint;
  readonly linkType: number;
  readonly data: Uint8Array;
  readonly interfaceIndex?: number;
}

function tcpHeader(segment: SyntheticSegment): Uint8Array {
  const header = new Uint8Array(20);
  const view = new DataView(header.buffer);
  view.setUint16(0, segment.sourcePort);
  view.setUint16(2, segment.destinationPort);
  view.setUint32(4, segment.sequence >>> 0);
  view.setUint8(12, 5 << 4);
  view.setUint8(13, (segment.fin ? 1 : 0) | (segment.syn ? 2 : 0) | 0x10);
  view.setUint16(14, 65535);
  return header;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

function ipv6Bytes(address: string): number[] {
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...headGroups, ...new Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
    : headGroups;
  return groups.flatMap((group) => {
    const value = Number.parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

/** An IPv4 packet holding the segment (optionally padded after the IP total length, as Ethernet does). */
export function ipv4Packet(segment: SyntheticSegment, padding = 0): Uint8Array {
  const tcp = concat(tcpHeader(segment), segment.payload);
  const packet = new Uint8Array(20 + tcp.length + padding);
  const view = new DataView(packet.buffer);
  view.setUint8(0, 0x45);
  view.setUint16(2, 20 + tcp.length);
  view.setUint8(8, 64);
  view.setUint8(9, 6);
  packet.set(ipv4Bytes(segment.sourceAddress), 12);
  packet.set(ipv4Bytes(segment.destinationAddress), 16);
  packet.set(tcp, 20);
  return packet;
}

/** An IPv6 packet holding the segment, optionally behind a hop-by-hop and a destination-options header. */
export function ipv6Packet(segment: SyntheticSegment, withExtensionHeaders = false): Uint8Array {
  const tcp = concat(tcpHeader(segment), segment.payload);
  const extensions = withExtensionHeaders
    ? // hop-by-hop (next: destination options 60, length 0 => 8 bytes), destination options (next: TCP, 16 bytes)
      new Uint8Array([60, 0, 1, 4, 0, 0, 0, 0, 6, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    : new Uint8Array(0);
  const packet = new Uint8Array(40 + extensions.length + tcp.length);
  const view = new DataView(packet.buffer);
  view.setUint32(0, 0x60000000);
  view.setUint16(4, extensions.length + tcp.length);
  view.setUint8(6, withExtensionHeaders ? 0 : 6);
  view.setUint8(7, 64);
  packet.set(ipv6Bytes(segment.sourceAddress), 8);
  packet.set(ipv6Bytes(segment.destinationAddress), 24);
  packet.set(extensions, 40);
  packet.set(tcp, 40 + extensions.length);
  return packet;
}

/** Wraps an IP packet in the given link type's header. */
export function linkFrame(
  linkType: number,
  packet: Uint8Array,
  options: { vlan?: boolean } = {},
): Uint8Array {
  const etherType = (packet[0] ?? 0) >> 4 === 6 ? 0x86dd : 0x0800;
  switch (linkType) {
    case 1: {
      const tag = options.vlan ? [0x81, 0x00, 0x00, 0x64] : [];
      const header = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...tag, etherType >> 8, etherType & 0xff];
      return concat(new Uint8Array(header), packet);
    }
    case 113: {
      const header = new Uint8Array(16);
      header.set([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, etherType >> 8, etherType & 0xff]);
      return concat(header, packet);
    }
    case 276: {
      const header = new Uint8Array(20);
      header.set([etherType >> 8, etherType & 0xff, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
      return concat(header, packet);
    }
    case 0: {
      const family = etherType === 0x86dd ? 10 : 2;
      return concat(new Uint8Array([family, 0, 0, 0]), packet); // little-endian host
    }
    case 101:
    case 228:
    case 229:
      return packet;
    default:
      throw new Error(`synthetic: no framing for link type ${linkType}`);
  }
}

/** A classic pcap file. */
export function writePcap(
  frames: readonly SyntheticFrame[],
  options: { littleEndian: boolean; nanoseconds: boolean; linkType: number },
): Uint8Array {
  const { littleEndian } = options;
  const header = new DataView(new ArrayBuffer(24));
  header.setUint32(0, options.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, littleEndian);
  header.setUint16(4, 2, littleEndian);
  header.setUint16(6, 4, littleEndian);
  header.setUint32(16, 262144, littleEndian);
  header.setUint32(20, options.linkType, littleEndian);
  const parts: Uint8Array[] = [new Uint8Array(header.buffer)];
  for (const frame of frames) {
    const record = new DataView(new ArrayBuffer(16));
    const seconds = frame.timestampNs / 1_000_000_000n;
    const remainderNs = frame.timestampNs % 1_000_000_000n;
    record.setUint32(0, Number(seconds), littleEndian);
    record.setUint32(4, Number(options.nanoseconds ? remainderNs : remainderNs / 1000n), littleEndian);
    record.setUint32(8, frame.data.length, littleEndian);
    record.setUint32(12, frame.data.length, littleEndian);
    parts.push(new Uint8Array(record.buffer), frame.data);
  }
  return concat(...parts);
}

function pcapngBlock(type: number, body: Uint8Array, littleEndian: boolean): Uint8Array {
  const paddedLength = Math.ceil(body.length / 4) * 4;
  const block = new Uint8Array(12 + paddedLength);
  const view = new DataView(block.buffer);
  view.setUint32(0, type, littleEndian);
  view.setUint32(4, block.length, littleEndian);
  block.set(body, 8);
  view.setUint32(block.length - 4, block.length, littleEndian);
  return block;
}

/**
 * A pcapng file: one section, one interface per entry of `interfaces` (link type and timestamp resolution
 * as a power of ten, 6 = microseconds, 9 = nanoseconds), frames as EPBs (or SPBs when `simple`).
 */
export function writePcapng(
  frames: readonly SyntheticFrame[],
  options: {
    littleEndian: boolean;
    interfaces: ReadonlyArray<{ linkType: number; resolutionDigits: number }>;
    simple?: boolean;
  },
): Uint8Array {
  const { littleEndian } = options;
  const shb = new DataView(new ArrayBuffer(16));
  shb.setUint32(0, 0x1a2b3c4d, littleEndian);
  shb.setUint16(4, 1, littleEndian);
  shb.setBigInt64(8, -1n, littleEndian);
  const parts: Uint8Array[] = [pcapngBlock(0x0a0d0d0a, new Uint8Array(shb.buffer), littleEndian)];
  for (const iface of options.interfaces) {
    const idb = new DataView(new ArrayBuffer(20));
    idb.setUint16(0, iface.linkType, littleEndian);
    idb.setUint32(4, 262144, littleEndian);
    idb.setUint16(8, 9, littleEndian); // if_tsresol
    idb.setUint16(10, 1, littleEndian);
    idb.setUint8(12, iface.resolutionDigits);
    idb.setUint16(16, 0, littleEndian); // opt_endofopt
    parts.push(pcapngBlock(1, new Uint8Array(idb.buffer), littleEndian));
  }
  for (const frame of frames) {
    if (options.simple) {
      const spb = new DataView(new ArrayBuffer(4));
      spb.setUint32(0, frame.data.length, littleEndian);
      parts.push(pcapngBlock(3, concat(new Uint8Array(spb.buffer), frame.data), littleEndian));
      continue;
    }
    const interfaceIndex = frame.interfaceIndex ?? 0;
    const iface = options.interfaces[interfaceIndex];
    if (iface === undefined) throw new Error(`synthetic: no interface ${interfaceIndex}`);
    const units = (frame.timestampNs * 10n ** BigInt(iface.resolutionDigits)) / 1_000_000_000n;
    const epb = new DataView(new ArrayBuffer(20));
    epb.setUint32(0, interfaceIndex, littleEndian);
    epb.setUint32(4, Number(units >> 32n), littleEndian);
    epb.setUint32(8, Number(units & 0xffffffffn), littleEndian);
    epb.setUint32(12, frame.data.length, littleEndian);
    epb.setUint32(16, frame.data.length, littleEndian);
    parts.push(pcapngBlock(6, concat(new Uint8Array(epb.buffer), frame.data), littleEndian));
  }
  return concat(...parts);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** A minimal BGP message of `type` with `body` (marker, length, type). */
export function bgpMessage(type: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const message = new Uint8Array(19 + body.length).fill(0xff, 0, 16);
  message[16] = message.length >> 8;
  message[17] = message.length & 0xff;
  message[18] = type;
  message.set(body, 19);
  return message;
}
