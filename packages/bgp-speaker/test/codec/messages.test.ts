// Codec message tests: hand-made byte vectors written from the RFC layouts (RFC 4271 §4, RFC 5492,
// RFC 9072, RFC 8203/9003, RFC 2918/7313), the three round-trip properties, header errors.

import { describe, expect, it } from 'vitest';
import {
  type BgpCodecContext,
  BgpDecodeError,
  type BgpMessage,
  bgpMessageEncodedLength,
  decodeBgpHeader,
  decodeBgpMessage,
  encodeBgpMessage,
  shutdownNotification,
} from '../../src/codec/index.js';

const ctx: BgpCodecContext = { as4: true };
const marker = new Array<number>(16).fill(0xff);
const hex = (text: string) =>
  Uint8Array.from(text.replace(/\s+/g, '').match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const message = (type: number, body: number[]) =>
  Uint8Array.from([...marker, (19 + body.length) >> 8, (19 + body.length) & 0xff, type, ...body]);

function roundTrip(bytes: Uint8Array, context: BgpCodecContext = ctx): BgpMessage {
  const decoded = decodeBgpMessage(bytes, context);
  const encoded = encodeBgpMessage(decoded, context);
  expect(encoded).toEqual(bytes);
  expect(bgpMessageEncodedLength(decoded, context)).toBe(bytes.length);
  expect(decodeBgpMessage(encoded, context)).toEqual(decoded);
  return decoded;
}

function decodeError(bytes: Uint8Array, context: BgpCodecContext = ctx): BgpDecodeError {
  try {
    decodeBgpMessage(bytes, context);
  } catch (error) {
    if (error instanceof BgpDecodeError) return error;
    throw error;
  }
  throw new Error('expected a BgpDecodeError');
}

describe('KEEPALIVE', () => {
  it('is the bare 19-octet header of type 4', () => {
    expect(roundTrip(message(4, []))).toEqual({ type: 'keepalive' });
  });
});

describe('OPEN', () => {
  it('decodes capabilities of RFC 4760, 2918, 6793, 4724, 7911, 8654, 8950 and FQDN', () => {
    const body = [
      4,
      0xfd,
      0xe8,
      0,
      90,
      10,
      0,
      0,
      1, // version 4, AS 65000, hold 90, id 10.0.0.1
      56, // optional parameters length
      2,
      54, // one capability parameter
      1,
      4,
      0,
      1,
      0,
      1, // MP IPv4 unicast
      2,
      0, // route refresh
      128,
      0, // old Cisco route refresh
      70,
      0, // enhanced route refresh
      65,
      4,
      0,
      1,
      0x11,
      0x70, // 4-octet AS 70000
      64,
      6,
      0x80 | 0x00,
      120,
      0,
      1,
      1,
      0x80, // GR restarting, 120 s, IPv4/unicast forwarding
      69,
      4,
      0,
      2,
      1,
      3, // ADD-PATH IPv6 unicast both
      6,
      0, // extended message
      5,
      6,
      0,
      1,
      0,
      1,
      0,
      2, // ext next hop IPv4 unicast over IPv6
      73,
      7,
      2,
      0x72,
      0x31,
      3,
      0x6c,
      0x61,
      0x62, // FQDN r1 lab
      99,
      1,
      7, // unknown capability 99
    ];
    const open = roundTrip(message(1, body));
    expect(open).toEqual({
      type: 'open',
      version: 4,
      myAs: 65000,
      holdTime: 90,
      bgpIdentifier: '10.0.0.1',
      optionalParameters: [
        {
          type: 2,
          capabilities: [
            { kind: 'multiprotocol', afi: 1, safi: 1 },
            { kind: 'route-refresh', code: 2 },
            { kind: 'route-refresh', code: 128 },
            { kind: 'enhanced-route-refresh' },
            { kind: 'four-octet-as', asn: 70000 },
            {
              kind: 'graceful-restart',
              restarting: true,
              notification: false,
              restartTime: 120,
              families: [{ afi: 1, safi: 1, forwarding: true }],
            },
            { kind: 'add-path', families: [{ afi: 2, safi: 1, mode: 'both' }] },
            { kind: 'extended-message' },
            { kind: 'extended-next-hop', families: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
            { kind: 'fqdn', hostname: 'r1', domain: 'lab' },
            { kind: 'unknown', code: 99, value: Uint8Array.of(7) },
          ],
        },
      ],
    });
  });

  it('keeps a malformed known capability as unknown raw bytes', () => {
    const body = [4, 0, 1, 0, 3, 1, 1, 1, 1, 5, 2, 3, 65, 1, 9];
    const open = roundTrip(message(1, body));
    expect(open.type === 'open' && open.optionalParameters[0]).toEqual({
      type: 2,
      capabilities: [{ kind: 'unknown', code: 65, value: Uint8Array.of(9) }],
    });
  });

  it('reads and writes the RFC 9072 extended optional parameters length', () => {
    const body = [4, 0, 1, 0, 3, 1, 1, 1, 1, 255, 255, 0, 9, 2, 0, 6, 65, 4, 0, 0, 0, 1];
    const open = roundTrip(message(1, body));
    expect(open).toMatchObject({
      extendedParameters: true,
      optionalParameters: [{ type: 2, capabilities: [{ kind: 'four-octet-as', asn: 1 }] }],
    });
  });

  it('rejects an optional parameters length that disagrees with the message', () => {
    const error = decodeError(message(1, [4, 0, 1, 0, 3, 1, 1, 1, 1, 4, 2, 0]));
    expect([error.code, error.action]).toEqual([2, 'session-reset']);
    expect(error.message).toMatch(/optional parameters length 4/);
  });
});

describe('NOTIFICATION', () => {
  it('carries code, subcode and data', () => {
    expect(roundTrip(message(3, [3, 1, 0xaa]))).toEqual({
      type: 'notification',
      code: 3,
      subcode: 1,
      data: Uint8Array.of(0xaa),
    });
  });

  it('decodes the RFC 9003 shutdown communication of Cease/2 and Cease/4', () => {
    const text = 'maintenance ✓';
    const utf8 = [...new TextEncoder().encode(text)];
    for (const subcode of [2, 4] as const) {
      const decoded = roundTrip(message(3, [6, subcode, utf8.length, ...utf8]));
      expect(decoded).toEqual(shutdownNotification(subcode, text));
    }
  });

  it('refuses a shutdown communication over 255 octets when building one', () => {
    expect(() => shutdownNotification(2, 'x'.repeat(256))).toThrow(/256 octets > 255/);
  });
});

describe('ROUTE-REFRESH', () => {
  it('decodes AFI, SAFI and the RFC 7313 subtype (BoRR = 1, EoRR = 2)', () => {
    expect(roundTrip(message(5, [0, 2, 1, 1]))).toEqual({
      type: 'route-refresh',
      afi: 2,
      safi: 1,
      subtype: 1,
    });
    expect(roundTrip(message(5, [0, 1, 2, 1]))).toEqual({
      type: 'route-refresh',
      afi: 1,
      safi: 1,
      subtype: 2,
    });
  });
});

describe('ROUTE-REFRESH length error', () => {
  it('a body other than 4 octets is 7/1 (RFC 7313 §5) with the complete message as data', () => {
    const bytes = message(5, [0, 1, 0, 1, 0]);
    expect(decodeError(bytes)).toMatchObject({ code: 7, subcode: 1, data: bytes, action: 'session-reset' });
    expect(decodeError(message(5, [0, 1, 0]))).toMatchObject({ code: 1, subcode: 2 });
  });
});

describe('header errors', () => {
  it('bad marker is 1/1', () => {
    const bytes = message(4, []);
    bytes[3] = 0;
    expect(decodeError(bytes)).toMatchObject({ code: 1, subcode: 1, action: 'session-reset' });
  });
  it('bad length is 1/2 with the 2-octet length in the data', () => {
    const bytes = message(4, [0]);
    expect(decodeError(bytes)).toMatchObject({ code: 1, subcode: 2, data: Uint8Array.of(0, 20) });
    const long = hex(`${'ff'.repeat(16)} 1001 02`);
    expect(decodeError(long)).toMatchObject({ code: 1, subcode: 2, data: Uint8Array.of(0x10, 0x01) });
  });
  it('unknown type is 1/3 with the type in the data', () => {
    expect(decodeError(message(9, []))).toMatchObject({ code: 1, subcode: 3, data: Uint8Array.of(9) });
  });
  it('accepts up to 65535 octets for UPDATE only with extended messages', () => {
    const body = [0, 0, 0, 0];
    const big = new Uint8Array(5000);
    big.set(message(2, body));
    big[16] = 5000 >> 8;
    big[17] = 5000 & 0xff;
    expect(decodeError(big)).toMatchObject({ code: 1, subcode: 2 });
    const extended: BgpCodecContext = { as4: true, extendedMessage: true };
    expect(decodeBgpHeader(big, extended)).toEqual({ type: 2, length: 5000 });
  });
  it('refuses an OPEN or KEEPALIVE over 4096 octets even with extended messages (RFC 8654 §4)', () => {
    const extended: BgpCodecContext = { as4: true, extendedMessage: true };
    for (const type of [1, 4]) {
      const header = message(type, []);
      header[16] = 5000 >> 8;
      header[17] = 5000 & 0xff;
      expect(() => decodeBgpHeader(header, extended)).toThrow(`length 5000 invalid for message type ${type}`);
    }
    const notification = message(3, []);
    notification[16] = 5000 >> 8;
    notification[17] = 5000 & 0xff;
    expect(decodeBgpHeader(notification, extended)).toEqual({ type: 3, length: 5000 });
  });
  it('names the first marker octet that is not 0xff, before any length or type problem', () => {
    const bytes = message(9, []);
    bytes[7] = 0xfe;
    bytes[12] = 0;
    expect(decodeError(bytes).message).toMatch(/marker octet 7 is not 0xff/);
  });
});
