// The bridge to the codec: OPEN round trip with every capability the negotiation uses, capabilities it
// does not use kept raw, unsupported optional parameters refused with 2/4, header errors from the framer.
import { describe, expect, it } from 'vitest';
import { BgpDecodeError, BgpFramer, encodeBgpMessage } from '../../src/codec/index.js';
import type { Capability } from '../../src/fsm/index.js';
import {
  decodeNotification,
  decodeOpen,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  notificationOf,
  OpenRejectedError,
} from '../../src/session/index.js';

describe('codec adapter', () => {
  it('round-trips an OPEN with every capability kind the negotiation uses', () => {
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
    const decoded = decodeOpen(encodeOpen(open));
    expect(decoded).toMatchObject({
      version: 4,
      myAutonomousSystem: 23456,
      holdTime: 90,
      bgpIdentifier: '192.0.2.1',
    });
    expect(decoded.capabilities.slice(0, 7)).toEqual(capabilities.slice(0, 7));
    expect(decoded.capabilities[7]).toMatchObject({ kind: 'unknown', code: 73 });
  });

  it('refuses an optional parameter other than Capabilities with 2/4', () => {
    const message = encodeBgpMessage(
      {
        type: 'open',
        version: 4,
        myAs: 1,
        holdTime: 90,
        bgpIdentifier: '1.1.1.1',
        optionalParameters: [{ type: 3, value: Uint8Array.from([0]) }],
      },
      { as4: true },
    );
    expect(() => decodeOpen(message)).toThrow(OpenRejectedError);
    try {
      decodeOpen(message);
    } catch (error) {
      expect((error as OpenRejectedError).notification).toEqual({ code: 2, subcode: 4 });
    }
  });

  it('encodes KEEPALIVE and NOTIFICATION', () => {
    expect(encodeKeepalive()).toEqual(Uint8Array.from([...new Array(16).fill(0xff), 0, 19, 4]));
    expect(decodeNotification(encodeNotification(6, 2, Uint8Array.from([0])))).toEqual({
      code: 6,
      subcode: 2,
      data: Uint8Array.from([0]),
    });
  });

  it('maps framer header errors to their NOTIFICATION', () => {
    try {
      new BgpFramer({ as4: true }).push(Uint8Array.from([...new Array(16).fill(0xff), 0, 20, 4, 0]));
      throw new Error('expected a header error');
    } catch (error) {
      if (!(error instanceof BgpDecodeError)) throw error;
      expect(notificationOf(error)).toEqual({ code: 1, subcode: 2, data: Uint8Array.from([0, 20]) });
    }
  });
});
