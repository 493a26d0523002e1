// Decoding tcpdump's one-line output (`tcpdump -l -nn -tt`) into structured packets.

export type PacketProtocol = 'icmp' | 'icmp6' | 'tcp' | 'udp' | 'arp' | 'other';

export interface CapturedPacket {
  /** Seconds since the epoch (tcpdump -tt). */
  time: number;
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  proto: PacketProtocol;
  /** What tcpdump said after "src > dst: ", e.g. "ICMP echo request, id 7, seq 1, length 64". */
  summary: string;
  /** The full tcpdump line. */
  line: string;
}

const LINE = /^(\d+\.\d+) (IP6?|ARP),? (.*)$/;

function splitPort(endpoint: string, isV6: boolean, hasPorts: boolean): { address: string; port?: number } {
  if (!hasPorts) return { address: endpoint };
  const dot = endpoint.lastIndexOf('.');
  const looksLikeV4WithPort = !isV6 && endpoint.split('.').length === 5;
  if (dot > 0 && (isV6 || looksLikeV4WithPort)) {
    const port = Number(endpoint.slice(dot + 1));
    if (Number.isInteger(port)) return { address: endpoint.slice(0, dot), port };
  }
  return { address: endpoint };
}

function protocolOf(summary: string): PacketProtocol {
  if (summary.startsWith('ICMP6')) return 'icmp6';
  if (summary.startsWith('ICMP')) return 'icmp';
  if (summary.startsWith('Flags [')) return 'tcp';
  if (summary.startsWith('UDP') || /^\S+:? \[udp|^NTP|^domain/.test(summary)) return 'udp';
  return 'other';
}

/** Parses one tcpdump line; undefined for lines that are not packets (e.g. status messages). */
export function parseTcpdumpLine(line: string): CapturedPacket | undefined {
  const match = LINE.exec(line.trim());
  if (!match) return undefined;
  const [, timeText, family, rest] = match as unknown as [string, string, string, string];
  const time = Number(timeText);
  if (family === 'ARP') {
    const request = /who-has (\S+) tell (\S+?),?( |$)/.exec(rest);
    if (request) return { time, src: request[2]!, dst: request[1]!, proto: 'arp', summary: rest, line };
    const reply = /Reply (\S+) is-at (\S+?),?( |$)/.exec(rest);
    if (reply) return { time, src: reply[1]!, dst: reply[2]!, proto: 'arp', summary: rest, line };
    return { time, src: '', dst: '', proto: 'arp', summary: rest, line };
  }
  const endpoints = /^(\S+) > (\S+?): (.*)$/.exec(rest);
  if (!endpoints) return undefined;
  const [, srcText, dstText, summary] = endpoints as unknown as [string, string, string, string];
  const proto = protocolOf(summary);
  const hasPorts = proto === 'tcp' || proto === 'udp' || proto === 'other';
  const src = splitPort(srcText, family === 'IP6', hasPorts);
  const dst = splitPort(dstText, family === 'IP6', hasPorts);
  const packet: CapturedPacket = { time, src: src.address, dst: dst.address, proto, summary, line };
  if (src.port !== undefined) packet.srcPort = src.port;
  if (dst.port !== undefined) packet.dstPort = dst.port;
  return packet;
}

/** Parses tcpdump output, skipping lines that are not packets. */
export function parseTcpdumpOutput(text: string): CapturedPacket[] {
  return text
    .split('\n')
    .map(parseTcpdumpLine)
    .filter((p): p is CapturedPacket => p !== undefined);
}
