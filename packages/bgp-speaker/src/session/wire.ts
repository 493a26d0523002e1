// The session layer's message wire format: the 19-octet header framer (RFC 4271 §4.1, RFC 8654 maximum)
// and OPEN (with the capabilities of src/fsm/open.ts), KEEPALIVE and NOTIFICATION encode/decode. UPDATE
// and ROUTE-REFRESH bodies pass through untouched for the codec (src/codec) to decode.

import {
  type AddPathDirection,
  type Capability,
  CapabilityCode,
  parseRouterId,
  type ReceivedOpen,
} from '../fsm/open.js';
import type { NotificationError } from '../fsm/types.js';

export const MessageType = { Open: 1, Update: 2, Notification: 3, Keepalive: 4, RouteRefresh: 5 } as const;
export type MessageTypeName = 'open' | 'update' | 'notification' | 'keepalive' | 'routeRefresh';

export const HEADER_LENGTH = 19;
const MIN_LENGTH: Record<number, number> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 23 };

export function messageTypeName(type: number): MessageTypeName {
  switch (type) {
    case MessageType.Open:
      return 'open';
    case MessageType.Update:
      return 'update';
    case MessageType.Notification:
      return 'notification';
    case MessageType.Keepalive:
      return 'keepalive';
    default:
      return 'routeRefresh';
  }
}

/** One framed message: its type and the whole message including the header. */
export interface FramedMessage {
  readonly type: number;
  readonly message: Uint8Array;
}

/** A header error with the NOTIFICATION that reports it (RFC 4271 §6.1). */
export class MessageHeaderError extends Error {
  constructor(
    readonly notification: NotificationError,
    reason: string,
  ) {
    super(reason);
    this.name = 'MessageHeaderError';
  }
}

/** Reassembles TCP bytes into BGP messages, checking each header. */
export class MessageFramer {
  private buffer: Uint8Array = new Uint8Array(0);

  constructor(public maxMessageLength = 4096) {}

  /** Appends bytes and returns every complete message; throws MessageHeaderError on a bad header. */
  push(chunk: Uint8Array): FramedMessage[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer, 0);
    joined.set(chunk, this.buffer.length);
    const out: FramedMessage[] = [];
    let offset = 0;
    while (joined.length - offset >= HEADER_LENGTH) {
      for (let i = 0; i < 16; i++) {
        if (joined[offset + i] !== 0xff) {
          throw new MessageHeaderError({ code: 1, subcode: 1 }, 'connection not synchronized (bad marker)');
        }
      }
      const length = (joined[offset + 16]! << 8) | joined[offset + 17]!;
      const type = joined[offset + 18]!;
      const lengthData = Uint8Array.from([joined[offset + 16]!, joined[offset + 17]!]);
      if (type < 1 || type > 5) {
        throw new MessageHeaderError(
          { code: 1, subcode: 3, data: Uint8Array.from([type]) },
          `bad message type ${type}`,
        );
      }
      const max = type === MessageType.Open || type === MessageType.Keepalive ? 4096 : this.maxMessageLength;
      if (length < (MIN_LENGTH[type] ?? HEADER_LENGTH) || length > max || (type === 4 && length !== 19)) {
        throw new MessageHeaderError(
          { code: 1, subcode: 2, data: lengthData },
          `bad message length ${length} for ${messageTypeName(type)}`,
        );
      }
      if (joined.length - offset < length) break;
      out.push({ type, message: joined.slice(offset, offset + length) });
      offset += length;
    }
    this.buffer = joined.slice(offset);
    return out;
  }
}

function header(type: number, bodyLength: number): Uint8Array {
  const length = HEADER_LENGTH + bodyLength;
  const out = new Uint8Array(length);
  out.fill(0xff, 0, 16);
  out[16] = length >> 8;
  out[17] = length & 0xff;
  out[18] = type;
  return out;
}

export function encodeKeepalive(): Uint8Array {
  return header(MessageType.Keepalive, 0);
}

export function encodeNotification(
  code: number,
  subcode: number,
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = header(MessageType.Notification, 2 + data.length);
  out[19] = code;
  out[20] = subcode;
  out.set(data, 21);
  return out;
}

export function decodeNotification(message: Uint8Array): NotificationError {
  return { code: message[19] ?? 0, subcode: message[20] ?? 0, data: message.slice(21) };
}

const u16 = (n: number): number[] => [(n >> 8) & 255, n & 255];
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

function encodeCapability(cap: Capability): number[] {
  const tlv = (code: number, value: number[]): number[] => [code, value.length, ...value];
  switch (cap.kind) {
    case 'multiprotocol':
      return tlv(CapabilityCode.Multiprotocol, [...u16(cap.family.afi), 0, cap.family.safi]);
    case 'routeRefresh':
      return tlv(CapabilityCode.RouteRefresh, []);
    case 'enhancedRouteRefresh':
      return tlv(CapabilityCode.EnhancedRouteRefresh, []);
    case 'extendedMessage':
      return tlv(CapabilityCode.ExtendedMessage, []);
    case 'fourOctetAs':
      return tlv(CapabilityCode.FourOctetAs, u32(cap.asNumber));
    case 'gracefulRestart': {
      const flags =
        (cap.restartState ? 0x8000 : 0) | (cap.notification ? 0x4000 : 0) | (cap.restartTime & 0x0fff);
      return tlv(CapabilityCode.GracefulRestart, [
        ...u16(flags),
        ...cap.families.flatMap((f) => [...u16(f.afi), f.safi, f.forwardingPreserved ? 0x80 : 0]),
      ]);
    }
    case 'addPath':
      return tlv(
        CapabilityCode.AddPath,
        cap.families.flatMap((f) => [...u16(f.afi), f.safi, f.direction]),
      );
    case 'unknown':
      return tlv(cap.code, [...cap.value]);
  }
}

export interface OpenToSend {
  readonly myAutonomousSystem: number;
  readonly holdTime: number;
  readonly bgpIdentifier: string;
  readonly capabilities: readonly Capability[];
}

export function encodeOpen(open: OpenToSend): Uint8Array {
  const caps = open.capabilities.flatMap(encodeCapability);
  const params = caps.length > 0 ? [2, caps.length, ...caps] : [];
  if (params.length > 255)
    throw new RangeError(`OPEN optional parameters too long (${params.length} octets)`);
  const body = [
    4,
    ...u16(open.myAutonomousSystem),
    ...u16(open.holdTime),
    ...u32(parseRouterId(open.bgpIdentifier) ?? 0),
    params.length,
    ...params,
  ];
  const out = header(MessageType.Open, body.length);
  out.set(body, HEADER_LENGTH);
  return out;
}

/** An OPEN that cannot be parsed: the NOTIFICATION (2/x) and why. */
export class OpenDecodeError extends Error {
  constructor(
    readonly notification: NotificationError,
    reason: string,
  ) {
    super(reason);
    this.name = 'OpenDecodeError';
  }
}

function decodeCapability(code: number, value: Uint8Array): Capability {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const bad = (): never => {
    throw new OpenDecodeError(
      { code: 2, subcode: 0 },
      `malformed capability ${code} (length ${value.length})`,
    );
  };
  switch (code) {
    case CapabilityCode.Multiprotocol:
      if (value.length !== 4) bad();
      return { kind: 'multiprotocol', family: { afi: view.getUint16(0), safi: value[3]! } };
    case CapabilityCode.RouteRefresh:
      return { kind: 'routeRefresh' };
    case CapabilityCode.EnhancedRouteRefresh:
      return { kind: 'enhancedRouteRefresh' };
    case CapabilityCode.ExtendedMessage:
      return { kind: 'extendedMessage' };
    case CapabilityCode.FourOctetAs:
      if (value.length !== 4) bad();
      return { kind: 'fourOctetAs', asNumber: view.getUint32(0) };
    case CapabilityCode.GracefulRestart: {
      if (value.length < 2 || (value.length - 2) % 4 !== 0) bad();
      const flags = view.getUint16(0);
      const families = [];
      for (let i = 2; i < value.length; i += 4) {
        families.push({
          afi: view.getUint16(i),
          safi: value[i + 2]!,
          forwardingPreserved: (value[i + 3]! & 0x80) !== 0,
        });
      }
      return {
        kind: 'gracefulRestart',
        restartState: (flags & 0x8000) !== 0,
        notification: (flags & 0x4000) !== 0,
        restartTime: flags & 0x0fff,
        families,
      };
    }
    case CapabilityCode.AddPath: {
      if (value.length % 4 !== 0) bad();
      const families = [];
      for (let i = 0; i < value.length; i += 4) {
        const direction = value[i + 3]!;
        if (direction < 1 || direction > 3) bad();
        families.push({
          afi: view.getUint16(i),
          safi: value[i + 2]!,
          direction: direction as AddPathDirection,
        });
      }
      return { kind: 'addPath', families };
    }
    default:
      return { kind: 'unknown', code, value: value.slice() };
  }
}

/** Decodes a whole OPEN message (header included), including RFC 9072 extended optional parameters. */
export function decodeOpen(message: Uint8Array): ReceivedOpen {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const version = message[19]!;
  const myAutonomousSystem = view.getUint16(20);
  const holdTime = view.getUint16(22);
  const bgpIdentifier = [...message.slice(24, 28)].join('.');
  let paramsLength = message[28]!;
  let offset = 29;
  let extended = false;
  if (paramsLength === 255 && message[29] === 255) {
    extended = true;
    paramsLength = view.getUint16(30);
    offset = 32;
  }
  if (offset + paramsLength !== message.length) {
    throw new OpenDecodeError(
      { code: 2, subcode: 0 },
      `optional parameters length ${paramsLength} disagrees with the message length ${message.length}`,
    );
  }
  const capabilities: Capability[] = [];
  const end = offset + paramsLength;
  while (offset < end) {
    const type = message[offset]!;
    const length = extended ? view.getUint16(offset + 1) : message[offset + 1]!;
    const start = offset + (extended ? 3 : 2);
    if (start + length > end)
      throw new OpenDecodeError({ code: 2, subcode: 0 }, 'optional parameter overruns the OPEN');
    if (type !== 2) {
      throw new OpenDecodeError({ code: 2, subcode: 4 }, `unsupported optional parameter type ${type}`);
    }
    let c = start;
    while (c < start + length) {
      const code = message[c]!;
      const capLength = message[c + 1];
      if (capLength === undefined || c + 2 + capLength > start + length) {
        throw new OpenDecodeError({ code: 2, subcode: 0 }, 'capability overruns its optional parameter');
      }
      capabilities.push(decodeCapability(code, message.slice(c + 2, c + 2 + capLength)));
      c += 2 + capLength;
    }
    offset = start + length;
  }
  return { version, myAutonomousSystem, holdTime, bgpIdentifier, capabilities };
}
