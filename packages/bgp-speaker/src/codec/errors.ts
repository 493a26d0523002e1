// The codec's typed decode error (RFC 4271 §6 NOTIFICATION code/subcode/data plus the RFC 7606 action)
// and the negotiated options every decode/encode call receives (never global state).

/** What the receiving speaker must do about an error (RFC 7606 §2). */
export type BgpErrorAction = 'session-reset' | 'afi-safi-disable' | 'treat-as-withdraw' | 'attribute-discard';

/** A decode problem: the NOTIFICATION it maps to, the RFC 7606 action and a message naming the field. */
export class BgpDecodeError extends Error {
  override readonly name = 'BgpDecodeError';
  constructor(
    readonly code: number,
    readonly subcode: number,
    readonly data: Uint8Array,
    readonly action: BgpErrorAction,
    message: string,
  ) {
    super(message);
  }
}

/** A model that cannot be encoded (value out of range, message over the maximum length). */
export class BgpEncodeError extends Error {
  override readonly name = 'BgpEncodeError';
}

/** An address family as carried on the wire (AFI 1 = IPv4, 2 = IPv6; SAFI 1 = unicast, 2 = multicast). */
export interface BgpFamily {
  readonly afi: number;
  readonly safi: number;
}

/** Options negotiated in the OPEN exchange that change the wire format. */
export interface BgpCodecContext {
  /** Both sides announced the 4-octet AS capability (RFC 6793): AS_PATH/AGGREGATOR carry 4-octet ASNs. */
  readonly as4: boolean;
  /** Families whose NLRI carry ADD-PATH path identifiers in this direction (RFC 7911). */
  readonly addPath?: readonly BgpFamily[];
  /** Extended messages negotiated (RFC 8654): maximum length 65535 instead of 4096. */
  readonly extendedMessage?: boolean;
  /** Explicit maximum message length; overrides extendedMessage. */
  readonly maxLength?: number;
}

export const BGP_DEFAULT_CONTEXT: BgpCodecContext = { as4: true };

export const BGP_MAX_MESSAGE_LENGTH = 4096;
export const BGP_EXTENDED_MAX_MESSAGE_LENGTH = 65535;

export function maxMessageLength(context: BgpCodecContext): number {
  if (context.maxLength !== undefined) return context.maxLength;
  return context.extendedMessage ? BGP_EXTENDED_MAX_MESSAGE_LENGTH : BGP_MAX_MESSAGE_LENGTH;
}

export function hasAddPath(context: BgpCodecContext, afi: number, safi: number): boolean {
  const families = context.addPath;
  if (families === undefined) return false;
  for (let i = 0; i < families.length; i++) {
    const family = families[i]!;
    if (family.afi === afi && family.safi === safi) return true;
  }
  return false;
}

/** NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313). */
export const BgpErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FsmError: 5,
  Cease: 6,
  RouteRefreshMessage: 7,
} as const;

/** UPDATE Message Error subcodes (RFC 4271 §6.3). */
export const BgpUpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOrigin: 6,
  InvalidNextHop: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

export function sessionReset(
  code: number,
  subcode: number,
  data: Uint8Array,
  message: string,
): BgpDecodeError {
  return new BgpDecodeError(code, subcode, data, 'session-reset', message);
}

export function twoOctets(value: number): Uint8Array {
  return Uint8Array.of((value >>> 8) & 0xff, value & 0xff);
}
