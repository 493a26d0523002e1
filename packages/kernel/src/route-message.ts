// Encoding of KernelRoutes as rtnetlink RTM_NEWROUTE / RTM_DELROUTE requests (netlink header + rtmsg +
// attributes, RTA_MULTIPATH included), written straight into one Buffer per request so that many of them
// can be concatenated into a single sendmsg; decoding of the kernel's NLMSG_ERROR acknowledgements, and of
// route messages (dump replies and notifications) without the package's generic attribute parser.
// The bytes are the same request the `netlink` package builds for newRoute/delRoute (a unit test checks
// this with the package's own parser); only the per-request JavaScript objects are gone.

import { getSystemErrorName } from 'node:util';
import { addressToBytes, parseCidr, quickIPv4 } from './address.js';
import { KernelError, type KernelRoute, type NextHop, type RouteScope, type RouteType } from './routes.js';

export const NLMSG_HEADER_LENGTH = 16;
export const NLMSG_ERROR = 2;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_CREATE = 0x400;

const RTMSG_LENGTH = 12;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_MULTIPATH = 9;
const RTA_TABLE = 15;
/** rtm_table holds 8 bits; larger tables go in RTA_TABLE with rtm_table = RT_TABLE_COMPAT. */
const RT_TABLE_COMPAT = 252;
export const RTNH_F_ONLINK = 4;
const AF_INET = 2;
const AF_INET6 = 10;

const KERNEL_TYPE: Record<RouteType, number> = { unicast: 1, blackhole: 6, unreachable: 7, prohibit: 8 };
const KERNEL_SCOPE: Record<RouteScope, number> = { universe: 0, link: 253, host: 254 };

/** Interface name -> ifindex; throws a KernelError ENODEV for an unknown name. */
export type InterfaceIndex = (name: string) => number;

export type RouteRequestKind = 'replace' | 'delete';

/**
 * One complete netlink request for `route` (sequence number 0: the writer stamps it when sending).
 * replace = RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE; delete = RTM_DELROUTE keyed by table, dst,
 * metric, type, scope and protocol (no next hops), exactly like the single-request path always did.
 * Throws AddressError for a bad dst/gateway and KernelError ENODEV for an unknown interface.
 */
export function encodeRouteRequest(
  kind: RouteRequestKind,
  route: KernelRoute,
  interfaceIndex: InterfaceIndex,
  portId: number,
): Buffer {
  checkRouteNumbers(route);
  const dst = destinationBytes(route.dst);
  const family = dst.length === 4 ? AF_INET : AF_INET6;
  const forDelete = kind === 'delete';
  const gateway = !forDelete && route.gateway ? gatewayBytes(route.gateway) : undefined;
  const oif = !forDelete && route.device ? interfaceIndex(route.device) : undefined;
  const multipath =
    !forDelete && route.nextHops && route.nextHops.length > 0
      ? encodeMultipath(route.nextHops, interfaceIndex)
      : undefined;

  let length = NLMSG_HEADER_LENGTH + RTMSG_LENGTH + attributeSize(dst.length) + attributeSize(4);
  if (route.metric !== undefined) length += attributeSize(4);
  if (gateway) length += attributeSize(gateway.length);
  if (oif !== undefined) length += attributeSize(4);
  if (multipath) length += attributeSize(multipath.length);

  // From the shared pool, zeroed: reserved fields and attribute padding must be 0.
  const buffer = Buffer.allocUnsafe(length).fill(0);
  buffer.writeUInt32LE(length, 0);
  buffer.writeUInt16LE(forDelete ? RTM_DELROUTE : RTM_NEWROUTE, 4);
  buffer.writeUInt16LE(
    forDelete ? NLM_F_REQUEST | NLM_F_ACK : NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
    6,
  );
  // bytes 8..11: sequence number, stamped at send time
  buffer.writeUInt32LE(portId >>> 0, 12);
  let offset = NLMSG_HEADER_LENGTH;
  buffer[offset] = family;
  buffer[offset + 1] = dst.prefixLength;
  // src_len, tos: 0
  buffer[offset + 4] = route.table < 256 ? route.table : RT_TABLE_COMPAT;
  buffer[offset + 5] = route.protocol;
  buffer[offset + 6] = KERNEL_SCOPE[route.scope];
  buffer[offset + 7] = KERNEL_TYPE[route.type];
  buffer.writeUInt32LE(!forDelete && route.onlink ? RTNH_F_ONLINK : 0, offset + 8);
  offset += RTMSG_LENGTH;
  offset = putAttribute(buffer, offset, RTA_DST, dst);
  offset = putU32Attribute(buffer, offset, RTA_TABLE, route.table);
  if (route.metric !== undefined) offset = putU32Attribute(buffer, offset, RTA_PRIORITY, route.metric);
  if (gateway) offset = putAttribute(buffer, offset, RTA_GATEWAY, gateway);
  if (oif !== undefined) offset = putU32Attribute(buffer, offset, RTA_OIF, oif);
  if (multipath) putAttribute(buffer, offset, RTA_MULTIPATH, multipath);
  return buffer;
}

/** RTA_MULTIPATH payload: one rtnexthop (len, flags, hops = weight-1, ifindex) + RTA_GATEWAY per hop. */
export function encodeMultipath(hops: readonly NextHop[], interfaceIndex: InterfaceIndex): Buffer {
  const chunks: Buffer[] = [];
  for (const hop of hops) {
    const gateway = hop.gateway ? addressToBytes(hop.gateway) : undefined;
    const attrLength = gateway ? 4 + gateway.length : 0;
    const buffer = Buffer.alloc(8 + align4(attrLength));
    buffer.writeUInt16LE(8 + attrLength, 0);
    buffer.writeUInt8(hop.onlink ? RTNH_F_ONLINK : 0, 2);
    buffer.writeUInt8((hop.weight ?? 1) - 1, 3);
    buffer.writeInt32LE(hop.device ? interfaceIndex(hop.device) : 0, 4);
    if (gateway) {
      buffer.writeUInt16LE(attrLength, 8);
      buffer.writeUInt16LE(RTA_GATEWAY, 10);
      buffer.set(gateway, 12);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** The fields of an rtmsg and the route attributes Caracal reads, raw (see decodeRouteMessage). */
export interface RouteMessageFields {
  readonly family: number;
  readonly dstLen: number;
  /** RTA_TABLE when present (tables above 255), else rtm_table. */
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly flags: number;
  readonly dst?: Buffer;
  readonly oif?: number;
  readonly gateway?: Buffer;
  readonly priority?: number;
  readonly multipath?: Buffer;
}

/**
 * Decodes the body (after the netlink header) of an RTM_NEWROUTE/RTM_DELROUTE message: a dump reply or a
 * notification. Only the attributes above are read; undefined for a body too short to be an rtmsg.
 */
export function decodeRouteMessage(body: Buffer): RouteMessageFields | undefined {
  if (body.length < RTMSG_LENGTH) return undefined;
  let table = body[4]!;
  let dst: Buffer | undefined;
  let oif: number | undefined;
  let gateway: Buffer | undefined;
  let priority: number | undefined;
  let multipath: Buffer | undefined;
  let offset = RTMSG_LENGTH;
  while (offset + 4 <= body.length) {
    const length = body.readUInt16LE(offset);
    if (length < 4 || offset + length > body.length) break;
    const payload = body.subarray(offset + 4, offset + length);
    switch (body.readUInt16LE(offset + 2) & 0x3fff) {
      case RTA_DST:
        dst = payload;
        break;
      case RTA_OIF:
        if (payload.length >= 4) oif = payload.readUInt32LE(0);
        break;
      case RTA_GATEWAY:
        gateway = payload;
        break;
      case RTA_PRIORITY:
        if (payload.length >= 4) priority = payload.readUInt32LE(0);
        break;
      case RTA_TABLE:
        if (payload.length >= 4) table = payload.readUInt32LE(0);
        break;
      case RTA_MULTIPATH:
        multipath = payload;
        break;
    }
    offset += align4(length);
  }
  // One shape for every message (absent attributes are left out, not undefined): cheaper than spreads
  // for the 100k notifications of a bulk install.
  const fields: Mutable<RouteMessageFields> = {
    family: body[0]!,
    dstLen: body[1]!,
    table,
    protocol: body[5]!,
    scope: body[6]!,
    type: body[7]!,
    flags: body.readUInt32LE(8),
  };
  if (dst) fields.dst = dst;
  if (oif !== undefined) fields.oif = oif;
  if (gateway) fields.gateway = gateway;
  if (priority !== undefined) fields.priority = priority;
  if (multipath) fields.multipath = multipath;
  return fields;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Calls `onMessage` with the type and body of each complete netlink message of a datagram. */
export function forEachMessage(datagram: Buffer, onMessage: (type: number, body: Buffer) => void): void {
  let offset = 0;
  while (offset + NLMSG_HEADER_LENGTH <= datagram.length) {
    const length = datagram.readUInt32LE(offset);
    if (length < NLMSG_HEADER_LENGTH || offset + length > datagram.length) break;
    onMessage(
      datagram.readUInt16LE(offset + 4),
      datagram.subarray(offset + NLMSG_HEADER_LENGTH, offset + length),
    );
    offset += align4(length);
  }
}

/** One message of a received datagram, as far as the writer cares. */
export interface NetlinkReply {
  readonly type: number;
  readonly seq: number;
  /** For NLMSG_ERROR: 0 = acknowledgement, else the (positive) errno the kernel refused with. */
  readonly errno: number;
}

/**
 * Walks the netlink messages of one datagram (a truncated datagram still yields its complete headers and
 * the errno of an NLMSG_ERROR, which is all an acknowledgement carries that we need).
 */
export function parseReplies(datagram: Buffer, onReply: (reply: NetlinkReply) => void): void {
  let offset = 0;
  while (offset + NLMSG_HEADER_LENGTH <= datagram.length) {
    const length = datagram.readUInt32LE(offset);
    const type = datagram.readUInt16LE(offset + 4);
    const seq = datagram.readUInt32LE(offset + 8);
    const errno =
      type === NLMSG_ERROR && offset + NLMSG_HEADER_LENGTH + 4 <= datagram.length
        ? -datagram.readInt32LE(offset + NLMSG_HEADER_LENGTH) | 0
        : 0;
    onReply({ type, seq, errno });
    if (length < NLMSG_HEADER_LENGTH) break;
    offset += align4(length);
  }
}

/** `ENETUNREACH` for 101, or the number as text when the platform has no name for it. */
export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return String(errno);
  }
}

/** The KernelError of a refused request, worded as the single-request path always worded it. */
export function refusal(context: string, errno: number): KernelError {
  const name = errnoName(errno);
  return new KernelError(`${context}: Request rejected: ${name}`, name);
}

/** The network's bytes and prefix length; a quick path for canonical IPv4, parseCidr for the rest. */
function destinationBytes(text: string): Uint8Array & { prefixLength: number } {
  const slash = text.indexOf('/');
  const quick = slash > 0 ? quickIPv4(text, 0, slash) : undefined;
  if (quick !== undefined) {
    const lengthText = text.slice(slash + 1);
    const length = lengthText.length <= 2 && /^(?:0|[1-9]\d?)$/.test(lengthText) ? Number(lengthText) : 99;
    const hostMask = length >= 32 ? 0 : 0xffffffff >>> length;
    if (length <= 32 && (quick & hostMask) === 0) {
      const bytes = Object.assign(new Uint8Array(4), { prefixLength: length });
      bytes[0] = quick >>> 24;
      bytes[1] = (quick >>> 16) & 255;
      bytes[2] = (quick >>> 8) & 255;
      bytes[3] = quick & 255;
      return bytes;
    }
  }
  const cidr = parseCidr(text); // throws the precise AddressError
  return Object.assign(addressToBytes(cidr.address), { prefixLength: cidr.length });
}

function gatewayBytes(text: string): Uint8Array {
  const quick = quickIPv4(text, 0, text.length);
  if (quick === undefined) return addressToBytes(text);
  return Uint8Array.of(quick >>> 24, (quick >>> 16) & 255, (quick >>> 8) & 255, quick & 255);
}

/** Numbers that would be silently truncated on the wire are refused with the field and value named. */
function checkRouteNumbers(route: KernelRoute): void {
  if (route.table !== undefined) checkInteger(route, 'table', route.table, 0, 0xffffffff);
  if (route.protocol !== undefined) checkInteger(route, 'protocol', route.protocol, 0, 255);
  if (route.metric !== undefined) checkInteger(route, 'metric', route.metric, 0, 0xffffffff);
  const hops = route.nextHops;
  if (hops !== undefined) {
    for (let i = 0; i < hops.length; i++) {
      const weight = hops[i]!.weight;
      if (weight !== undefined) checkInteger(route, `nextHops[${i}].weight`, weight, 1, 256);
    }
  }
  if (!Object.hasOwn(KERNEL_TYPE, route.type))
    throw new RangeError(`route ${route.dst}: unknown type '${route.type}'`);
  if (!Object.hasOwn(KERNEL_SCOPE, route.scope))
    throw new RangeError(`route ${route.dst}: unknown scope '${route.scope}'`);
}

function checkInteger(route: KernelRoute, field: string, value: number, min: number, max: number): void {
  if (Number.isInteger(value) && value >= min && value <= max) return;
  throw new RangeError(`route ${route.dst}: ${field} must be an integer ${min}..${max}, got ${value}`);
}

function attributeSize(payloadLength: number): number {
  return align4(4 + payloadLength);
}

function putAttribute(buffer: Buffer, offset: number, type: number, payload: Uint8Array): number {
  buffer.writeUInt16LE(4 + payload.length, offset);
  buffer.writeUInt16LE(type, offset + 2);
  buffer.set(payload, offset + 4);
  return offset + attributeSize(payload.length);
}

function putU32Attribute(buffer: Buffer, offset: number, type: number, value: number): number {
  buffer.writeUInt16LE(8, offset);
  buffer.writeUInt16LE(type, offset + 2);
  buffer.writeUInt32LE(value >>> 0, offset + 4);
  return offset + 8;
}

export function align4(n: number): number {
  return (n + 3) & ~3;
}
