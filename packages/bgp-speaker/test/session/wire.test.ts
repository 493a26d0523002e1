// Session wire format: framing across chunk boundaries, header errors with their NOTIFICATION data,
// and OPEN encode/decode of every capability the negotiation understands.
import { describe, expect, it } from 'vitest';
import type { Capability } from '../../src/fsm/index.js';
import {
  decodeNotification,
  decodeOpen,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  MessageFramer,
  MessageHeaderError,
  OpenDecodeError,
} from '../../src/session/index.js';

function headerError(bytes: number[]): MessageHeaderError {
  try {
    new MessageFramer().push(Uint8Array.from(bytes));
  } catch (error) {
    if (error instanceof MessageHeaderError) return error;
    throw error;
  }
  throw new Error('expected a header error');
}

const marker = new Array(16).fill(0xff);

describe('MessageFramer', () => {
  it('reassembles messages split across chunks and several in one chunk', () => {
    const framer = new MessageFramer();
    const two = [...encodeKeepalive(), ...encodeNotification(6, 2)];
    expect(framer.push(Uint8Array.from(two.slice(0, 10)))).toEqual([]);
    const messages = framer.push(Uint8Array.from(two.slice(10)));
    expect(messages.map((m) => m.type)).toEqual([4, 3]);
    expect(decodeNotification(messages[1]!.message)).toMatchObject({ code: 6, subcode: 2 });
  });

  it('1/1 on a bad marker', () => {
    expect(headerError([...new Array(16).fill(0), 0, 19, 4]).notification).toMatchObject({
      code: 1,
      subcode: 1,
    });
  });

  it('1/2 with the length in the data for a KEEPALIVE longer than 19', () => {
    const error = headerError([...marker, 0, 20, 4, 0]);
    expect([
      error.notification.code,
      error.notification.subcode,
      [...(error.notification.data ?? [])],
    ]).toEqual([1, 2, [0, 20]]);
  });

  it('1/2 for an UPDATE over 4096 unless extended messages were negotiated', () => {
    expect(headerError([...marker, 0x10, 0x01, 2]).notification.subcode).toBe(2);
    expect(new MessageFramer(65535).push(Uint8Array.from([...marker, 0x10, 0x01, 2]))).toEqual([]);
  });

  it('1/3 with the type in the data for an unknown type', () => {
    const error = headerError([...marker, 0, 19, 9]);
    expect([error.notification.subcode, [...(error.notification.data ?? [])]]).toEqual([3, [9]]);
  });
});

describe('OPEN', () => {
  it('round-trips every capability kind', () => {
    const capabilities: Capability[] = [
      { kind: 'multiprotocol', family: { afi: 2, safi: 1 } },
      { kind: 'routeRefresh' },
      { kind: 'enhancedRouteRefresh' },
      { kind: 'extendedMessage' },
      { kind: 'fourOctetAs', asNumber: 4200000001 },
      {
        kind: 'gracefulRestart',
        restartState: true,
        notification: true,
        restartTime: 120,
        families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
      },
      { kind: 'addPath', families: [{ afi: 1, safi: 1, direction: 3 }] },
      { kind: 'unknown', code: 73, value: Uint8Array.from([1, 2]) },
    ];
    const open = { myAutonomousSystem: 23456, holdTime: 90, bgpIdentifier: '192.0.2.1', capabilities };
    expect(decodeOpen(encodeOpen(open))).toEqual({ version: 4, ...open });
  });

  it('rejects an unsupported optional parameter type with 2/4', () => {
    const message = encodeOpen({
      myAutonomousSystem: 1,
      holdTime: 90,
      bgpIdentifier: '1.1.1.1',
      capabilities: [],
    });
    const withParam = Uint8Array.from([...message.slice(0, 28), 3, 1, 1, 0]);
    withParam[17] = withParam.length;
    expect(() => decodeOpen(withParam)).toThrow(OpenDecodeError);
    try {
      decodeOpen(withParam);
    } catch (error) {
      expect((error as OpenDecodeError).notification).toMatchObject({ code: 2, subcode: 4 });
    }
  });

  it('rejects a malformed 4-octet AS capability', () => {
    const message = encodeOpen({
      myAutonomousSystem: 1,
      holdTime: 90,
      bgpIdentifier: '1.1.1.1',
      capabilities: [{ kind: 'unknown', code: 65, value: Uint8Array.from([0, 1]) }],
    });
    expect(() => decodeOpen(message)).toThrow('malformed capability 65 (length 2)');
  });
});
