// The session layer's bridge to the wire codec (../codec): OPEN/KEEPALIVE/NOTIFICATION encoding and
// decoding through the codec, and conversion between the codec's capability model and the one the
// OPEN checks and negotiation in ../fsm work on.
import {
  type BgpCapability,
  type BgpCodecContext,
  BgpDecodeError,
  capabilityCode,
  decodeBgpMessage,
  encodeBgpMessage,
  encodeCapabilityValue,
} from '../codec/index.js';
import type { AddPathDirection, Capability, ReceivedOpen } from '../fsm/open.js';
import type { NotificationError } from '../fsm/types.js';

/** Context for OPEN/KEEPALIVE/NOTIFICATION, which do not depend on negotiated options. */
const SESSION_CONTEXT: BgpCodecContext = { as4: true };

const ADD_PATH_MODES = { 1: 'receive', 2: 'send', 3: 'both' } as const;
const ADD_PATH_DIRECTIONS = { receive: 1, send: 2, both: 3 } as const;

export function toCodecCapability(capability: Capability): BgpCapability {
  switch (capability.kind) {
    case 'multiprotocol':
      return { kind: 'multiprotocol', afi: capability.family.afi, safi: capability.family.safi };
    case 'routeRefresh':
      return { kind: 'route-refresh', code: 2 };
    case 'enhancedRouteRefresh':
      return { kind: 'enhanced-route-refresh' };
    case 'extendedMessage':
      return { kind: 'extended-message' };
    case 'fourOctetAs':
      return { kind: 'four-octet-as', asn: capability.asNumber };
    case 'gracefulRestart':
      return {
        kind: 'graceful-restart',
        restarting: capability.restartState,
        notification: capability.notification,
        restartTime: capability.restartTime,
        families: capability.families.map((f) => ({
          afi: f.afi,
          safi: f.safi,
          forwarding: f.forwardingPreserved,
        })),
      };
    case 'addPath':
      return {
        kind: 'add-path',
        families: capability.families.map((f) => ({
          afi: f.afi,
          safi: f.safi,
          mode: ADD_PATH_MODES[f.direction],
        })),
      };
    case 'unknown':
      return { kind: 'unknown', code: capability.code, value: capability.value };
  }
}

export function fromCodecCapability(capability: BgpCapability): Capability {
  switch (capability.kind) {
    case 'multiprotocol':
      return { kind: 'multiprotocol', family: { afi: capability.afi, safi: capability.safi } };
    case 'route-refresh':
      return { kind: 'routeRefresh' };
    case 'enhanced-route-refresh':
      return { kind: 'enhancedRouteRefresh' };
    case 'extended-message':
      return { kind: 'extendedMessage' };
    case 'four-octet-as':
      return { kind: 'fourOctetAs', asNumber: capability.asn };
    case 'graceful-restart':
      return {
        kind: 'gracefulRestart',
        restartState: capability.restarting,
        notification: capability.notification,
        restartTime: capability.restartTime,
        families: capability.families.map((f) => ({
          afi: f.afi,
          safi: f.safi,
          forwardingPreserved: f.forwarding,
        })),
      };
    case 'add-path':
      return {
        kind: 'addPath',
        families: capability.families.map((f) => ({
          afi: f.afi,
          safi: f.safi,
          direction: ADD_PATH_DIRECTIONS[f.mode] as AddPathDirection,
        })),
      };
    default:
      // Capabilities the negotiation does not use (extended next hop, FQDN, unknown) are kept raw.
      return { kind: 'unknown', code: capabilityCode(capability), value: encodeCapabilityValue(capability) };
  }
}

export interface OpenToSend {
  readonly myAutonomousSystem: number;
  readonly holdTime: number;
  readonly bgpIdentifier: string;
  readonly capabilities: readonly Capability[];
}

export function encodeOpen(open: OpenToSend): Uint8Array {
  return encodeBgpMessage(
    {
      type: 'open',
      version: 4,
      myAs: open.myAutonomousSystem,
      holdTime: open.holdTime,
      bgpIdentifier: open.bgpIdentifier,
      optionalParameters:
        open.capabilities.length > 0
          ? [{ type: 2, capabilities: open.capabilities.map(toCodecCapability) }]
          : [],
    },
    SESSION_CONTEXT,
  );
}

/** An OPEN that cannot be used: the NOTIFICATION to send and why. */
export class OpenRejectedError extends Error {
  constructor(
    readonly notification: NotificationError,
    reason: string,
  ) {
    super(reason);
    this.name = 'OpenRejectedError';
  }
}

/**
 * Decodes a whole OPEN message with the codec. Throws the codec's BgpDecodeError for malformed bytes and
 * OpenRejectedError (2/4) for an optional parameter other than Capabilities (RFC 5492).
 */
export function decodeOpen(message: Uint8Array): ReceivedOpen {
  const decoded = decodeBgpMessage(message, SESSION_CONTEXT);
  if (decoded.type !== 'open') throw new TypeError(`expected an OPEN message, got ${decoded.type}`);
  const capabilities: Capability[] = [];
  for (const parameter of decoded.optionalParameters) {
    if (!('capabilities' in parameter)) {
      throw new OpenRejectedError(
        { code: 2, subcode: 4 },
        `unsupported optional parameter type ${parameter.type}`,
      );
    }
    capabilities.push(...parameter.capabilities.map(fromCodecCapability));
  }
  return {
    version: decoded.version,
    myAutonomousSystem: decoded.myAs,
    holdTime: decoded.holdTime,
    bgpIdentifier: decoded.bgpIdentifier,
    capabilities,
  };
}

export function encodeKeepalive(): Uint8Array {
  return encodeBgpMessage({ type: 'keepalive' }, SESSION_CONTEXT);
}

export function encodeNotification(
  code: number,
  subcode: number,
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return encodeBgpMessage({ type: 'notification', code, subcode, data }, SESSION_CONTEXT);
}

export function decodeNotification(message: Uint8Array): NotificationError {
  const decoded = decodeBgpMessage(message, SESSION_CONTEXT);
  if (decoded.type !== 'notification') throw new TypeError(`expected a NOTIFICATION, got ${decoded.type}`);
  return { code: decoded.code, subcode: decoded.subcode, data: decoded.data };
}

/** The NOTIFICATION a codec decode error maps to. */
export function notificationOf(error: BgpDecodeError): NotificationError {
  return { code: error.code, subcode: error.subcode, data: error.data };
}

export { BgpDecodeError };

/** BGP message type octet (header octet 18) → the name used in statistics. */
export type MessageTypeName = 'open' | 'update' | 'notification' | 'keepalive' | 'routeRefresh';

export function messageTypeName(type: number): MessageTypeName {
  switch (type) {
    case 1:
      return 'open';
    case 2:
      return 'update';
    case 3:
      return 'notification';
    case 4:
      return 'keepalive';
    default:
      return 'routeRefresh';
  }
}
