// The decoding context of each direction of a BGP connection, taken from the two OPENs the way the
// session itself negotiated it: 4-octet AS numbers when both sides advertised capability 65 (RFC 6793),
// extended messages when both advertised capability 6 (RFC 8654), and ADD-PATH per family and direction
// (RFC 7911): a direction carries path identifiers for a family when its sender advertised "send" and its
// receiver advertised "receive".

export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}

/** What one side's OPEN advertised, as far as decoding the other messages is concerned. */
export interface OpenCapabilitySummary {
  readonly myAutonomousSystem: number;
  readonly holdTime: number;
  readonly bgpIdentifier: string;
  readonly fourOctetAs: number | undefined;
  readonly extendedMessage: boolean;
  /** ADD-PATH per family: 1 receive, 2 send, 3 both (RFC 7911 Send/Receive field). */
  readonly addPath: ReadonlyArray<AfiSafi & { readonly sendReceive: number }>;
  readonly multiprotocol: readonly AfiSafi[];
}

/** How to decode the messages of one direction. */
export interface DirectionDecodeContext {
  readonly fourOctetAs: boolean;
  readonly extendedMessage: boolean;
  /** Families whose NLRI carry a 4-octet path identifier in this direction. */
  readonly addPathFamilies: readonly AfiSafi[];
}

export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export const SAFI_UNICAST = 1;

const BGP_HEADER_LENGTH = 19;
const BGP_TYPE_OPEN = 1;
const OPTIONAL_PARAMETER_CAPABILITIES = 2;
const CAPABILITY_MULTIPROTOCOL = 1;
const CAPABILITY_EXTENDED_MESSAGE = 6;
const CAPABILITY_FOUR_OCTET_AS = 65;
const CAPABILITY_ADD_PATH = 69;

/** Reads the capabilities out of a whole OPEN message (header included); undefined when it is not one. */
export function summariseOpen(message: Uint8Array): OpenCapabilitySummary | undefined {
  if (message.length < BGP_HEADER_LENGTH + 10 || message[18] !== BGP_TYPE_OPEN) return undefined;
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  let fourOctetAs: number | undefined;
  let extendedMessage = false;
  const addPath: Array<AfiSafi & { sendReceive: number }> = [];
  const multiprotocol: AfiSafi[] = [];
  let offset = BGP_HEADER_LENGTH + 9;
  let parametersLength = view.getUint8(offset);
  let parameterLengthSize = 1;
  offset += 1;
  // RFC 9072 extended optional parameters: length 255 then type 255 then a 2-octet length.
  if (parametersLength === 255 && offset + 3 <= message.length && view.getUint8(offset) === 255) {
    parametersLength = view.getUint16(offset + 1);
    offset += 3;
    parameterLengthSize = 2;
  }
  const end = Math.min(message.length, offset + parametersLength);
  while (offset + 1 + parameterLengthSize <= end) {
    const type = view.getUint8(offset);
    const length = parameterLengthSize === 2 ? view.getUint16(offset + 1) : view.getUint8(offset + 1);
    let capability = offset + 1 + parameterLengthSize;
    const parameterEnd = Math.min(end, capability + length);
    if (type === OPTIONAL_PARAMETER_CAPABILITIES) {
      while (capability + 2 <= parameterEnd) {
        const code = view.getUint8(capability);
        const valueLength = view.getUint8(capability + 1);
        const value = capability + 2;
        if (value + valueLength > parameterEnd) break;
        if (code === CAPABILITY_FOUR_OCTET_AS && valueLength >= 4) fourOctetAs = view.getUint32(value);
        if (code === CAPABILITY_EXTENDED_MESSAGE) extendedMessage = true;
        if (code === CAPABILITY_MULTIPROTOCOL && valueLength >= 4) {
          multiprotocol.push({ afi: view.getUint16(value), safi: view.getUint8(value + 3) });
        }
        if (code === CAPABILITY_ADD_PATH) {
          for (let entry = value; entry + 4 <= value + valueLength; entry += 4) {
            addPath.push({
              afi: view.getUint16(entry),
              safi: view.getUint8(entry + 2),
              sendReceive: view.getUint8(entry + 3),
            });
          }
        }
        capability = value + valueLength;
      }
    }
    offset = parameterEnd;
  }
  return {
    myAutonomousSystem: view.getUint16(BGP_HEADER_LENGTH + 1),
    holdTime: view.getUint16(BGP_HEADER_LENGTH + 3),
    bgpIdentifier: message.subarray(BGP_HEADER_LENGTH + 5, BGP_HEADER_LENGTH + 9).join('.'),
    fourOctetAs,
    extendedMessage,
    addPath,
    multiprotocol,
  };
}

const ADD_PATH_RECEIVE = 1;
const ADD_PATH_SEND = 2;

/** The context of the direction `sender` → `receiver`, negotiated from both sides' OPENs. */
export function negotiateDirectionContext(
  sender: OpenCapabilitySummary,
  receiver: OpenCapabilitySummary,
): DirectionDecodeContext {
  const addPathFamilies = sender.addPath
    .filter((offer) => (offer.sendReceive & ADD_PATH_SEND) !== 0)
    .filter((offer) =>
      receiver.addPath.some(
        (accept) =>
          accept.afi === offer.afi &&
          accept.safi === offer.safi &&
          (accept.sendReceive & ADD_PATH_RECEIVE) !== 0,
      ),
    )
    .map(({ afi, safi }) => ({ afi, safi }));
  return {
    fourOctetAs: sender.fourOctetAs !== undefined && receiver.fourOctetAs !== undefined,
    extendedMessage: sender.extendedMessage && receiver.extendedMessage,
    addPathFamilies,
  };
}

/** The context inferred from the sender's OPEN alone (raw message files: the receiver is not known). */
export function inferDirectionContext(sender: OpenCapabilitySummary): DirectionDecodeContext {
  return {
    fourOctetAs: sender.fourOctetAs !== undefined,
    extendedMessage: sender.extendedMessage,
    addPathFamilies: sender.addPath
      .filter((offer) => (offer.sendReceive & ADD_PATH_SEND) !== 0)
      .map(({ afi, safi }) => ({ afi, safi })),
  };
}

/** The context used before (or without) OPENs: 4-octet AS (every modern speaker), nothing else. */
export const DEFAULT_DECODE_CONTEXT: DirectionDecodeContext = {
  fourOctetAs: true,
  extendedMessage: false,
  addPathFamilies: [],
};

/** The same context in the codec's shape (`BgpCodecContext` of src/codec: as4, addPath, extendedMessage). */
export function toCodecContext(context: DirectionDecodeContext): {
  readonly as4: boolean;
  readonly addPath: readonly AfiSafi[];
  readonly extendedMessage: boolean;
} {
  return {
    as4: context.fourOctetAs,
    addPath: context.addPathFamilies,
    extendedMessage: context.extendedMessage,
  };
}
