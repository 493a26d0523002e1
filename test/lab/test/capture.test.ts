// Unit tests of tcpdump line decoding (lines as tcpdump 4.99 prints them with -l -nn -tt).
import { describe, expect, it } from 'vitest';
import { parseTcpdumpLine, parseTcpdumpOutput } from '../src/capture.js';

describe('parseTcpdumpLine', () => {
  it('decodes ICMP, ICMPv6, TCP, UDP and ARP lines', () => {
    expect(
      parseTcpdumpLine(
        '1763750000.123456 IP 10.0.1.11 > 10.0.2.13: ICMP echo request, id 7, seq 1, length 64',
      ),
    ).toEqual({
      time: 1763750000.123456,
      src: '10.0.1.11',
      dst: '10.0.2.13',
      proto: 'icmp',
      summary: 'ICMP echo request, id 7, seq 1, length 64',
      line: '1763750000.123456 IP 10.0.1.11 > 10.0.2.13: ICMP echo request, id 7, seq 1, length 64',
    });
    expect(
      parseTcpdumpLine(
        '1.5 IP6 fd00:0:0:1::11 > fd00:0:0:2::13: ICMP6, echo request, id 3, seq 1, length 64',
      ),
    ).toMatchObject({
      src: 'fd00:0:0:1::11',
      dst: 'fd00:0:0:2::13',
      proto: 'icmp6',
    });
    expect(
      parseTcpdumpLine('2.000001 IP 10.0.1.11.45678 > 10.0.2.13.179: Flags [S], seq 1, win 64240, length 0'),
    ).toMatchObject({
      src: '10.0.1.11',
      srcPort: 45678,
      dst: '10.0.2.13',
      dstPort: 179,
      proto: 'tcp',
    });
    expect(
      parseTcpdumpLine('3.1 IP6 fd00::1.179 > fd00::2.40000: Flags [P.], seq 1:20, ack 1, length 19'),
    ).toMatchObject({
      src: 'fd00::1',
      srcPort: 179,
      dst: 'fd00::2',
      dstPort: 40000,
      proto: 'tcp',
    });
    expect(parseTcpdumpLine('4.2 IP 10.0.1.1.5000 > 10.0.1.2.6000: UDP, length 5')).toMatchObject({
      proto: 'udp',
      dstPort: 6000,
    });
    expect(parseTcpdumpLine('5.0 ARP, Request who-has 10.0.1.1 tell 10.0.1.11, length 28')).toMatchObject({
      proto: 'arp',
      src: '10.0.1.11',
      dst: '10.0.1.1',
    });
    expect(parseTcpdumpLine('5.1 ARP, Reply 10.0.1.1 is-at ee:ee:ee:ee:ee:ee, length 28')).toMatchObject({
      proto: 'arp',
      src: '10.0.1.1',
      dst: 'ee:ee:ee:ee:ee:ee',
    });
  });

  it('skips status lines', () => {
    const text = [
      'tcpdump: verbose output suppressed, use -v[v]... for full protocol decode',
      'listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes',
      '1.0 IP 10.0.0.1 > 10.0.0.2: ICMP echo reply, id 1, seq 1, length 64',
      '',
    ].join('\n');
    expect(parseTcpdumpOutput(text).map((p) => p.summary)).toEqual([
      'ICMP echo reply, id 1, seq 1, length 64',
    ]);
  });
});
