// JSON description of one framed BGP message for `caracal-bgp decode`. The full attribute decoding is the
// codec's (src/codec, messageToJson); until it is available to the CLI this module describes messages
// structurally: header, OPEN capabilities, NOTIFICATION code/subcode, ROUTE-REFRESH family, and for an
// UPDATE the withdrawn and announced prefixes (IPv4 and MP-BGP IPv4/IPv6 unicast, with ADD-PATH path
// identifiers) plus each path attribute: ORIGIN, AS_PATH/AS4_PATH, NEXT_HOP, MED, LOCAL_PREF, ORIGINATOR_ID,
// COMMUNITIES and LARGE_COMMUNITIES readable, every attribute also as raw hex. Structural problems are
// reported as `{ type: 'error', ... }` with the RFC 7606 action they would trigger.
import { formatIpv6 } from '../capture/packet.js';
import {
  AFI_IPV4,
  AFI_IPV6,
  type DirectionDecodeContext,
  SAFI_UNICAST,
  summariseOpen,
} from '../capture/session-context.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const TYPE_NAMES: Record<number, string> = {
  1: 'open',
  2: 'update',
  3: 'notification',
  4: 'keepalive',
  5: 'route-refresh',
};
const ATTRIBUTE_NAMES: Record<number, string> = {
  1: 'origin',
  2: 'as_path',
  3: 'next_hop',
  4: 'med',
  5: 'local_pref',
  6: 'atomic_aggregate',
  7: 'aggregator',
  8: 'communities',
  9: 'originator_id',
  10: 'cluster_list',
  14: 'mp_reach_nlri',
  15: 'mp_unreach_nlri',
  16: 'extended_communities',
  17: 'as4_path',
  18: 'as4_aggregator',
  32: 'large_communities',
};

export function familyName(afi: number, safi: number): string {
  const afiName = afi === AFI_IPV4 ? 'ipv4' : afi === AFI_IPV6 ? 'ipv6' : `afi${afi}`;
  const safiName = safi === SAFI_UNICAST ? 'unicast' : safi === 2 ? 'multicast' : `safi${safi}`;
  return `${afiName}-${safiName}`;
}

/** A structural problem in a message: what is wrong, and the RFC 7606 / RFC 4271 reaction. */
export class MessageStructureError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly subcode: number,
    readonly action: 'session-reset' | 'treat-as-withdraw' | 'attribute-discard' | 'afi-safi-disable',
  ) {
    super(message);
    this.name = 'MessageStructureError';
  }
}

/** Describes one whole BGP message (header included) as JSON. */
export function describeMessage(message: Uint8Array, context: DirectionDecodeContext): JsonObject {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const type = message[18] ?? 0;
  const length = view.getUint16(16);
  const name = TYPE_NAMES[type];
  if (name === undefined)
    throw new MessageStructureError(`unknown message type ${type}`, 1, 3, 'session-reset');
  const maxLength = context.extendedMessage || type === 1 || type === 4 ? 65535 : 4096;
  if (length > maxLength)
    throw new MessageStructureError(`message length ${length} exceeds ${maxLength}`, 1, 2, 'session-reset');
  const body = message.subarray(19);
  switch (type) {
    case 1: {
      const open = summariseOpen(message);
      if (open === undefined || body.length < 10)
        throw new MessageStructureError(`OPEN of ${length} octets is too short`, 1, 2, 'session-reset');
      return {
        type: name,
        version: body[0] ?? 0,
        my_as: open.myAutonomousSystem,
        as4: open.fourOctetAs ?? null,
        hold_time: open.holdTime,
        bgp_id: open.bgpIdentifier,
        multiprotocol: open.multiprotocol.map(({ afi, safi }) => familyName(afi, safi)),
        add_path: open.addPath.map(({ afi, safi, sendReceive }) => ({
          family: familyName(afi, safi),
          send_receive: (['none', 'receive', 'send', 'both'] as const)[sendReceive & 3] ?? 'none',
        })),
        extended_message: open.extendedMessage,
      };
    }
    case 3:
      if (body.length < 2)
        throw new MessageStructureError('NOTIFICATION shorter than 21 octets', 1, 2, 'session-reset');
      return {
        type: name,
        code: body[0] ?? 0,
        subcode: body[1] ?? 0,
        data: Buffer.from(body.subarray(2)).toString('hex'),
      };
    case 4:
      if (length !== 19)
        throw new MessageStructureError(`KEEPALIVE of ${length} octets (must be 19)`, 1, 2, 'session-reset');
      return { type: name };
    case 5: {
      if (body.length < 4)
        throw new MessageStructureError('ROUTE-REFRESH shorter than 23 octets', 1, 2, 'session-reset');
      const subtype = body[2] ?? 0;
      return {
        type: name,
        family: familyName(view.getUint16(19), body[3] ?? 0),
        subtype:
          subtype === 0 ? 'refresh' : subtype === 1 ? 'begin-of-rib' : subtype === 2 ? 'end-of-rib' : subtype,
      };
    }
    default:
      return describeUpdate(body, context);
  }
}

function hasAddPath(context: DirectionDecodeContext, afi: number, safi: number): boolean {
  return context.addPathFamilies.some((family) => family.afi === afi && family.safi === safi);
}

/** Reads NLRI (RFC 4271 §4.3 / RFC 7911) as prefix strings, `path_id:prefix` with ADD-PATH. */
function readPrefixes(bytes: Uint8Array, afi: number, addPath: boolean, what: string): string[] {
  const prefixes: string[] = [];
  const maxLength = afi === AFI_IPV6 ? 128 : 32;
  let offset = 0;
  while (offset < bytes.length) {
    let pathId: number | undefined;
    if (addPath) {
      if (offset + 4 > bytes.length)
        throw new MessageStructureError(`${what}: path identifier cut short`, 3, 10, 'session-reset');
      pathId = new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0);
      offset += 4;
    }
    const bits = bytes[offset] ?? 0;
    if (bits > maxLength)
      throw new MessageStructureError(
        `${what}: prefix length ${bits} exceeds ${maxLength}`,
        3,
        10,
        'session-reset',
      );
    const octets = Math.ceil(bits / 8);
    if (offset + 1 + octets > bytes.length)
      throw new MessageStructureError(
        `${what}: prefix of /${bits} overruns the field`,
        3,
        10,
        'session-reset',
      );
    const address = new Uint8Array(afi === AFI_IPV6 ? 16 : 4);
    address.set(bytes.subarray(offset + 1, offset + 1 + octets));
    const text = afi === AFI_IPV6 ? formatIpv6(address) : address.join('.');
    prefixes.push(pathId === undefined ? `${text}/${bits}` : `${pathId}:${text}/${bits}`);
    offset += 1 + octets;
  }
  return prefixes;
}

function describeUpdate(body: Uint8Array, context: DirectionDecodeContext): JsonObject {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body.length < 4)
    throw new MessageStructureError('UPDATE shorter than 23 octets', 1, 2, 'session-reset');
  const withdrawnLength = view.getUint16(0);
  if (2 + withdrawnLength + 2 > body.length) {
    throw new MessageStructureError(
      `withdrawn routes length ${withdrawnLength} overruns the message`,
      3,
      1,
      'session-reset',
    );
  }
  const attributesLength = view.getUint16(2 + withdrawnLength);
  const attributesStart = 4 + withdrawnLength;
  if (attributesStart + attributesLength > body.length) {
    throw new MessageStructureError(
      `total path attribute length ${attributesLength} overruns the message`,
      3,
      1,
      'session-reset',
    );
  }
  const ipv4AddPath = hasAddPath(context, AFI_IPV4, SAFI_UNICAST);
  const withdrawn = readPrefixes(
    body.subarray(2, 2 + withdrawnLength),
    AFI_IPV4,
    ipv4AddPath,
    'withdrawn routes',
  );
  const announced = readPrefixes(
    body.subarray(attributesStart + attributesLength),
    AFI_IPV4,
    ipv4AddPath,
    'NLRI',
  );
  const attributes: JsonObject[] = [];
  const mpAnnounced: JsonObject[] = [];
  const mpWithdrawn: JsonObject[] = [];
  let offset = attributesStart;
  const end = attributesStart + attributesLength;
  while (offset < end) {
    if (offset + 3 > end)
      throw new MessageStructureError(
        'path attribute header overruns the attribute block',
        3,
        1,
        'treat-as-withdraw',
      );
    const flags = body[offset] ?? 0;
    const typeCode = body[offset + 1] ?? 0;
    const extended = (flags & 0x10) !== 0;
    const length = extended ? view.getUint16(offset + 2) : (body[offset + 2] ?? 0);
    const valueStart = offset + (extended ? 4 : 3);
    if (valueStart + length > end) {
      throw new MessageStructureError(
        `attribute ${typeCode} of ${length} octets overruns the attribute block`,
        3,
        1,
        'treat-as-withdraw',
      );
    }
    const value = body.subarray(valueStart, valueStart + length);
    const valueView = new DataView(value.buffer, value.byteOffset, value.byteLength);
    if ((typeCode === 14 || typeCode === 15) && value.length >= 3) {
      const afi = valueView.getUint16(0);
      const safi = value[2] ?? 0;
      const addPath = hasAddPath(context, afi, safi);
      if (typeCode === 14) {
        const nextHopLength = value[3] ?? 0;
        const nextHop = value.subarray(4, 4 + nextHopLength);
        const nextHops =
          afi === AFI_IPV6
            ? [
                formatIpv6(nextHop.subarray(0, 16)),
                ...(nextHopLength === 32 ? [formatIpv6(nextHop.subarray(16, 32))] : []),
              ]
            : [nextHop.join('.')];
        const nlri = value.subarray(4 + nextHopLength + 1);
        mpAnnounced.push({
          family: familyName(afi, safi),
          next_hops: nextHops,
          prefixes: afi <= 2 ? readPrefixes(nlri, afi, addPath, 'MP_REACH_NLRI') : [],
        });
      } else {
        mpWithdrawn.push({
          family: familyName(afi, safi),
          prefixes: afi <= 2 ? readPrefixes(value.subarray(3), afi, addPath, 'MP_UNREACH_NLRI') : [],
        });
      }
    } else {
      const decoded = attributeValue(typeCode, value, context);
      attributes.push({
        type: ATTRIBUTE_NAMES[typeCode] ?? `attribute-${typeCode}`,
        flags,
        ...(decoded === undefined ? {} : { value: decoded }),
        hex: Buffer.from(value).toString('hex'),
      });
    }
    offset = valueStart + length;
  }
  return {
    type: 'update',
    withdrawn,
    announced,
    mp_reach: mpAnnounced,
    mp_unreach: mpWithdrawn,
    attributes,
  };
}

/**
 * The readable value of the common attributes (RFC 4271, 1997, 8092); undefined (hex only) for the
 * others or when the value's length is wrong for its type.
 */
function attributeValue(
  typeCode: number,
  value: Uint8Array,
  context: DirectionDecodeContext,
): JsonValue | undefined {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  switch (typeCode) {
    case 1:
      return value.length === 1 ? (['igp', 'egp', 'incomplete'][value[0] ?? 3] ?? null) : undefined;
    case 2:
    case 17: {
      const asSize = typeCode === 17 || context.fourOctetAs ? 4 : 2;
      const segments: JsonObject[] = [];
      for (let offset = 0; offset < value.length; ) {
        const segmentType = value[offset] ?? 0;
        const count = value[offset + 1] ?? 0;
        if (offset + 2 + count * asSize > value.length) return undefined;
        const numbers: number[] = [];
        for (let i = 0; i < count; i++) {
          numbers.push(
            asSize === 4 ? view.getUint32(offset + 2 + i * 4) : view.getUint16(offset + 2 + i * 2),
          );
        }
        segments.push({
          [segmentType === 1 ? 'set' : segmentType === 2 ? 'sequence' : `segment-${segmentType}`]: numbers,
        });
        offset += 2 + count * asSize;
      }
      return segments;
    }
    case 3:
    case 9:
      return value.length === 4 ? value.join('.') : undefined;
    case 4:
    case 5:
      return value.length === 4 ? view.getUint32(0) : undefined;
    case 8: {
      if (value.length % 4 !== 0) return undefined;
      const communities: string[] = [];
      for (let offset = 0; offset < value.length; offset += 4)
        communities.push(`${view.getUint16(offset)}:${view.getUint16(offset + 2)}`);
      return communities;
    }
    case 32: {
      if (value.length % 12 !== 0) return undefined;
      const communities: string[] = [];
      for (let offset = 0; offset < value.length; offset += 12) {
        communities.push(
          `${view.getUint32(offset)}:${view.getUint32(offset + 4)}:${view.getUint32(offset + 8)}`,
        );
      }
      return communities;
    }
    default:
      return undefined;
  }
}
