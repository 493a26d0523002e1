// BGP framing of reassembled streams and connection tracking on the real fixture captures: message
// boundaries, resynchronisation on the marker after gaps and corruption, per-direction ADD-PATH / 4-octet
// AS context from the two OPENs, and identical results from the pcap and the gzipped pcapng variant.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BgpStreamSplitter,
  type CapturedBgpEvent,
  captureBgpEvents,
  inferDirectionContext,
  negotiateDirectionContext,
  parseCaptureBytes,
  splitRawMessages,
  summariseOpen,
} from '../../src/capture/index.js';
import { bgpMessage, concat, ipv4Packet, linkFrame, writePcap } from './synthetic.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const fixture = (name: string) => new Uint8Array(readFileSync(join(fixtures, name)));
const messagesOf = (events: CapturedBgpEvent[]) => events.filter((event) => event.kind === 'message');

describe('BgpStreamSplitter', () => {
  const keepalive = bgpMessage(4);
  const update = bgpMessage(2, new Uint8Array([0, 0, 0, 0]));

  it('cuts messages at any chunking', () => {
    const stream = concat(keepalive, update, keepalive);
    for (let cut = 1; cut < stream.length; cut++) {
      const splitter = new BgpStreamSplitter();
      const events = [
        ...splitter.push(0, stream.subarray(0, cut)),
        ...splitter.push(cut, stream.subarray(cut)),
      ];
      expect(events.map((event) => (event.kind === 'message' ? event.bytes[18] : event.kind))).toEqual([
        4, 2, 4,
      ]);
    }
  });

  it('resynchronises on the marker after a gap', () => {
    const splitter = new BgpStreamSplitter();
    const first = splitter.push(0, concat(keepalive, update.subarray(0, 10)));
    const gap = splitter.gap(29, 7);
    const rest = splitter.push(36, concat(update.subarray(17), keepalive, update));
    expect(first.map((event) => event.kind)).toEqual(['message']);
    expect(gap).toEqual([{ kind: 'gap', offset: 29, length: 7 }]);
    expect(rest.map((event) => event.kind)).toEqual(['framing-error', 'message', 'message']);
    expect(rest[1]).toMatchObject({ kind: 'message', offset: 42 });
  });

  it('reports a corrupted header and carries on at the next message', () => {
    const corrupted = keepalive.slice();
    corrupted[3] = 0;
    const events = splitRawMessages(concat(keepalive, corrupted, update));
    expect(events.map((event) => event.kind)).toEqual([
      'message',
      'framing-error',
      'framing-error',
      'message',
    ]);
    expect(events[1]).toMatchObject({ reason: 'bad marker byte 0x0 at header offset 3', offset: 19 });
  });

  it('reports a file that ends inside a message', () => {
    const events = splitRawMessages(concat(keepalive, update.subarray(0, 20)));
    expect(events.at(-1)).toMatchObject({
      kind: 'framing-error',
      reason: 'file ends inside a message (20 bytes of it present)',
    });
  });
});

describe('captureBgpEvents on the real BIRD ↔ GoBGP fixtures', () => {
  it('ipv4-as4: every byte of both directions frames into messages, 4-octet AS negotiated', () => {
    const events = captureBgpEvents(parseCaptureBytes(fixture('ipv4-as4.pcap')));
    expect(events.filter((event) => event.kind !== 'message')).toEqual([]);
    const messages = messagesOf(events);
    expect(new Set(messages.map((message) => message.connection)).size).toBe(1);
    expect(messages[0]?.connection).toMatch(/^10\.255\.0\.1:\d+ → 10\.255\.0\.2:179$/);
    const types = messages.map((message) => message.bytes[18]);
    expect(types.filter((type) => type === 1)).toHaveLength(2);
    expect(types).toContain(5); // BIRD's ROUTE-REFRESH (birdc reload in)
    expect(types.at(-1)).toBe(3); // BIRD's Cease
    const bird = messages.find(
      (message) => message.bytes[18] === 1 && message.sender.startsWith('10.255.0.1'),
    );
    const gobgp = messages.find(
      (message) => message.bytes[18] === 1 && message.sender.startsWith('10.255.0.2'),
    );
    expect(summariseOpen(bird?.bytes ?? new Uint8Array())).toMatchObject({
      fourOctetAs: 4200000001,
      myAutonomousSystem: 23456,
    });
    expect(summariseOpen(gobgp?.bytes ?? new Uint8Array())).toMatchObject({
      fourOctetAs: 65001,
      myAutonomousSystem: 65001,
    });
    for (const message of messages.filter((message) => message.bytes[18] === 2)) {
      expect(message.context).toEqual({ fourOctetAs: true, extendedMessage: false, addPathFamilies: [] });
    }
  });

  it('the gzipped pcapng re-wrap gives exactly the events of the pcap', () => {
    expect(captureBgpEvents(parseCaptureBytes(fixture('ipv4-as4.pcapng.gz')))).toEqual(
      captureBgpEvents(parseCaptureBytes(fixture('ipv4-as4.pcap'))),
    );
  });

  it('ipv6-mp: the connection runs over IPv6 transport', () => {
    const messages = messagesOf(captureBgpEvents(parseCaptureBytes(fixture('ipv6-mp.pcap'))));
    expect(messages[0]?.connection).toMatch(/^\[fd00:caca::1\]:\d+ → \[fd00:caca::2\]:179$/);
    expect(messages.filter((message) => message.bytes[18] === 2).length).toBeGreaterThanOrEqual(6);
  });

  it('ipv4-add-path: both directions carry IPv4 unicast path identifiers (both advertised send and receive)', () => {
    const messages = messagesOf(captureBgpEvents(parseCaptureBytes(fixture('ipv4-add-path.pcap'))));
    const opens = messages
      .filter((message) => message.bytes[18] === 1)
      .map((message) => summariseOpen(message.bytes));
    for (const open of opens) expect(open?.addPath).toContainEqual({ afi: 1, safi: 1, sendReceive: 3 });
    for (const message of messages.filter((message) => message.bytes[18] === 2)) {
      expect(message.context.addPathFamilies).toEqual([{ afi: 1, safi: 1 }]);
    }
  });

  it('the raw per-direction files hold exactly the messages of the capture', () => {
    const messages = messagesOf(captureBgpEvents(parseCaptureBytes(fixture('ipv4-as4.pcap'))));
    const fromBird = messages.filter((message) => message.sender.startsWith('10.255.0.1:'));
    expect(fixture('ipv4-as4.from-10.255.0.1.bgp')).toEqual(
      concat(...fromBird.map((message) => message.bytes)),
    );
  });

  it('resynchronises after a segment missing from the capture', () => {
    const frames = parseCaptureBytes(fixture('ipv4-as4.pcap'));
    // Drop the first frame carrying more than one KEEPALIVE's worth of BGP payload.
    const index = frames.findIndex((frame) => frame.data.length > 14 + 20 + 32 + 40);
    const withHole = frames.filter((_, i) => i !== index);
    const events = captureBgpEvents(withHole);
    expect(events.some((event) => event.kind === 'gap')).toBe(true);
    const complete = messagesOf(captureBgpEvents(frames)).length;
    const decoded = messagesOf(events).length;
    expect(decoded).toBeLessThan(complete);
    expect(decoded).toBeGreaterThanOrEqual(complete - 3);
  });
});

describe('direction context', () => {
  const open = (capabilities: number[]) => {
    const parameters = [2, capabilities.length, ...capabilities];
    return bgpMessage(
      1,
      new Uint8Array([4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, parameters.length, ...parameters]),
    );
  };
  const as4 = [65, 4, 0, 0, 0xfd, 0xe9];
  const addPath = (sendReceive: number) => [69, 4, 0, 2, 1, sendReceive];

  it('takes ADD-PATH per direction: sender send + receiver receive', () => {
    const sendsOnly = summariseOpen(open([...as4, ...addPath(2)]));
    const receivesOnly = summariseOpen(open([...addPath(1), 6, 0]));
    if (!sendsOnly || !receivesOnly) throw new Error('not an OPEN');
    expect(negotiateDirectionContext(sendsOnly, receivesOnly)).toEqual({
      fourOctetAs: false,
      extendedMessage: false,
      addPathFamilies: [{ afi: 2, safi: 1 }],
    });
    expect(negotiateDirectionContext(receivesOnly, sendsOnly).addPathFamilies).toEqual([]);
    expect(inferDirectionContext(sendsOnly)).toEqual({
      fourOctetAs: true,
      extendedMessage: false,
      addPathFamilies: [{ afi: 2, safi: 1 }],
    });
  });

  it('only summarises OPENs', () => {
    expect(summariseOpen(bgpMessage(4))).toBeUndefined();
  });

  it('follows a connection whose segments arrive out of order in the capture', () => {
    const segment = (sequence: number, payload: Uint8Array, syn = false) =>
      linkFrame(
        1,
        ipv4Packet({
          sourceAddress: '192.0.2.1',
          destinationAddress: '192.0.2.2',
          sourcePort: 50000,
          destinationPort: 179,
          sequence,
          payload,
          syn,
        }),
      );
    const stream = concat(open(as4), bgpMessage(4));
    const syn = segment(999, new Uint8Array(0), true);
    const frames = [syn, segment(1000 + 20, stream.subarray(20)), segment(1000, stream.subarray(0, 20))].map(
      (data, i) => ({
        timestampNs: BigInt(i),
        linkType: 1,
        data,
      }),
    );
    const events = captureBgpEvents(
      parseCaptureBytes(writePcap(frames, { littleEndian: true, nanoseconds: false, linkType: 1 })),
    );
    expect(events.map((event) => (event.kind === 'message' ? event.bytes[18] : event.kind))).toEqual([1, 4]);
  });
});
