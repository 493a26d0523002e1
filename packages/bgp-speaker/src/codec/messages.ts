// BGP messages (RFC 4271 §4): header, OPEN (RFC 5492 capabilities, RFC 9072 extended optional parameters
// length), KEEPALIVE, NOTIFICATION (RFC 8203/9003 shutdown communication), ROUTE-REFRESH (RFC 2918/7313),
// and the whole-message decode/encode dispatch (UPDATE lives in update.ts).

import type { BgpPathAttribute } from './attributes.js';
import {
  type BgpCapability,
  capabilityCode,
  decodeCapability,
  encodeCapabilityValue,
} from './capabilities.js';
import {
  type BgpCodecContext,
  type BgpDecodeError,
  BgpEncodeError,
  maxMessageLength,
  sessionReset,
  twoOctets,
} from './errors.js';
import { type BgpPrefix, ipv4ToString, parseIpv4 } from './prefix.js';
import {
  type BgpUpdate,
  decodeUpdateBody,
  decodeUpdateBodyAt,
  encodeUpdateBody,
  encodeUpdateParts,
  makeUpdate,
  updateBodyLength,
} from './update.js';

export const BGP_HEADER_LENGTH = 19;
export const BgpMessageTypes = {
  open: 1,
  update: 2,
  notification: 3,
  keepalive: 4,
  'route-refresh': 5,
} as const;
/** Minimum total length per message type (RFC 4271 §4, RFC 2918). */
export const BGP_MIN_MESSAGE_LENGTH: Readonly<Record<number, number>> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 23 };

export type BgpOptionalParameter =
  | { readonly type: 2; readonly capabilities: readonly BgpCapability[] }
  | { readonly type: number; readonly value: Uint8Array };

export interface BgpOpen {
  readonly type: 'open';
  readonly version: number;
  /** "My Autonomous System" (2 octets; AS_TRANS 23456 when the real ASN needs 4 octets). */
  readonly myAs: number;
  readonly holdTime: number;
  readonly bgpIdentifier: string;
  readonly optionalParameters: readonly BgpOptionalParameter[];
  /** Encoded with the RFC 9072 extended optional parameters length (255, 255, 2-octet length). */
  readonly extendedParameters?: boolean;
}

export interface BgpKeepalive {
  readonly type: 'keepalive';
}

export interface BgpNotification {
  readonly type: 'notification';
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  /** Cease/2 and Cease/4 shutdown communication (RFC 9003), decoded from data when well formed. */
  readonly shutdownCommunication?: string;
}

export interface BgpRouteRefresh {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  /** RFC 7313 message subtype: 0 normal request, 1 BoRR, 2 EoRR (other values kept). */
  readonly subtype: number;
}

export type BgpMessage = BgpOpen | BgpUpdate | BgpKeepalive | BgpNotification | BgpRouteRefresh;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------- OPEN

function optionalParameterValue(parameter: BgpOptionalParameter): Uint8Array {
  if ('capabilities' in parameter) {
    const parts = parameter.capabilities.map((capability) => {
      const value = encodeCapabilityValue(capability);
      if (value.length > 255)
        throw new BgpEncodeError(`capability ${capabilityCode(capability)} value over 255 octets`);
      return Uint8Array.of(capabilityCode(capability), value.length, ...value);
    });
    return concat(parts);
  }
  return parameter.value;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function encodeOpenBody(open: BgpOpen): Uint8Array {
  const extended = open.extendedParameters === true;
  const params = open.optionalParameters.map((parameter) => {
    const value = optionalParameterValue(parameter);
    if (extended) return Uint8Array.of(parameter.type, value.length >>> 8, value.length & 0xff, ...value);
    if (value.length > 255) throw new BgpEncodeError(`optional parameter ${parameter.type} over 255 octets`);
    return Uint8Array.of(parameter.type, value.length, ...value);
  });
  const block = concat(params);
  const head = new Uint8Array(extended ? 13 : 10);
  const view = new DataView(head.buffer);
  head[0] = open.version;
  view.setUint16(1, open.myAs);
  view.setUint16(3, open.holdTime);
  view.setUint32(5, parseIpv4(open.bgpIdentifier));
  if (extended) {
    head[9] = 255;
    head[10] = 255;
    view.setUint16(11, block.length);
  } else {
    if (block.length > 255)
      throw new BgpEncodeError('optional parameters over 255 octets need extendedParameters');
    head[9] = block.length;
  }
  return concat([head, block]);
}

function openError(subcode: number, message: string, data = new Uint8Array(0)): BgpDecodeError {
  return sessionReset(2, subcode, data, `OPEN: ${message}`);
}

function decodeCapabilities(value: Uint8Array): BgpCapability[] {
  const capabilities: BgpCapability[] = [];
  let at = 0;
  while (at < value.length) {
    if (at + 2 > value.length) throw openError(0, `capability header at offset ${at} truncated`);
    const code = value[at]!;
    const length = value[at + 1]!;
    if (at + 2 + length > value.length)
      throw openError(0, `capability ${code} length ${length} overruns its optional parameter`);
    capabilities.push(decodeCapability(code, value.subarray(at + 2, at + 2 + length)));
    at += 2 + length;
  }
  return capabilities;
}

export function decodeOpenBody(body: Uint8Array): BgpOpen {
  if (body.length < 10)
    throw sessionReset(1, 2, twoOctets(body.length + 19), `OPEN: body ${body.length} < 10 octets`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const version = body[0]!;
  const myAs = view.getUint16(1);
  const holdTime = view.getUint16(3);
  const bgpIdentifier = ipv4ToString(view.getUint32(5));
  let length = body[9]!;
  let at = 10;
  let extended = false;
  if (length === 255 && body.length >= 13 && body[10] === 255) {
    extended = true;
    length = view.getUint16(11);
    at = 13;
  }
  if (at + length !== body.length)
    throw openError(
      0,
      `optional parameters length ${length} disagrees with the ${body.length - at} octets present`,
    );
  const optionalParameters: BgpOptionalParameter[] = [];
  while (at < body.length) {
    const headerSize = extended ? 3 : 2;
    if (at + headerSize > body.length)
      throw openError(0, `optional parameter header at offset ${at} truncated`);
    const type = body[at]!;
    const valueLength = extended ? view.getUint16(at + 1) : body[at + 1]!;
    const start = at + headerSize;
    if (start + valueLength > body.length)
      throw openError(0, `optional parameter ${type} length ${valueLength} overruns the parameters`);
    const value = body.subarray(start, start + valueLength);
    optionalParameters.push(
      type === 2 ? { type: 2, capabilities: decodeCapabilities(value) } : { type, value },
    );
    at = start + valueLength;
  }
  const open: BgpOpen = { type: 'open', version, myAs, holdTime, bgpIdentifier, optionalParameters };
  return extended ? { ...open, extendedParameters: true } : open;
}

/** All capabilities of an OPEN, in order, across its capability parameters. */
export function openCapabilities(open: BgpOpen): BgpCapability[] {
  const all: BgpCapability[] = [];
  for (const parameter of open.optionalParameters)
    if ('capabilities' in parameter) all.push(...parameter.capabilities);
  return all;
}

// ---------------------------------------------------------------- NOTIFICATION

export function decodeShutdownCommunication(
  code: number,
  subcode: number,
  data: Uint8Array,
): string | undefined {
  if (code !== 6 || (subcode !== 2 && subcode !== 4) || data.length === 0) return undefined;
  const length = data[0]!;
  if (length + 1 !== data.length) return undefined;
  try {
    return utf8Decoder.decode(data.subarray(1));
  } catch {
    return undefined;
  }
}

export function decodeNotificationBody(body: Uint8Array): BgpNotification {
  if (body.length < 2)
    throw sessionReset(1, 2, twoOctets(body.length + 19), `NOTIFICATION: body ${body.length} < 2 octets`);
  const code = body[0]!;
  const subcode = body[1]!;
  const data = body.subarray(2);
  const text = decodeShutdownCommunication(code, subcode, data);
  return text === undefined
    ? { type: 'notification', code, subcode, data }
    : { type: 'notification', code, subcode, data, shutdownCommunication: text };
}

/** A Cease/2 (administrative shutdown) or Cease/4 (administrative reset) with a shutdown communication. */
export function shutdownNotification(subcode: 2 | 4, text: string): BgpNotification {
  const encoded = utf8Encoder.encode(text);
  if (encoded.length > 255)
    throw new BgpEncodeError(`shutdown communication is ${encoded.length} octets > 255`);
  const data = Uint8Array.of(encoded.length, ...encoded);
  return { type: 'notification', code: 6, subcode, data, shutdownCommunication: text };
}

/** A NOTIFICATION message for a decode error (code, subcode, data). */
export function notificationFor(error: BgpDecodeError): BgpNotification {
  return { type: 'notification', code: error.code, subcode: error.subcode, data: error.data };
}

// ---------------------------------------------------------------- ROUTE-REFRESH

/**
 * A ROUTE-REFRESH body must be 4 octets; otherwise RFC 7313 §5 error 7/1 (Invalid Message Length) whose data
 * is the complete message (`whole`, header included, when given).
 */
export function decodeRouteRefreshBody(body: Uint8Array, whole: Uint8Array = body): BgpRouteRefresh {
  if (body.length !== 4)
    throw sessionReset(7, 1, whole, `ROUTE-REFRESH: body ${body.length} octets, expected 4`);
  return { type: 'route-refresh', afi: (body[0]! << 8) | body[1]!, safi: body[3]!, subtype: body[2]! };
}

// ---------------------------------------------------------------- whole messages

/**
 * Checks the 19-octet header at bytes[at..at+19) and returns the message type (the total length is octets
 * 16..17). Returns a number rather than an object so decoding or framing a message allocates nothing for
 * its header.
 */
function checkBgpHeaderAt(bytes: Uint8Array, at: number, context: BgpCodecContext): number {
  // The well-formed case in straight-line code small enough for TurboFan to inline into the decoder and
  // the framer; anything else goes to headerError, which finds the first problem and names it.
  if (bytes.length - at >= BGP_HEADER_LENGTH) {
    // One branch for the 16 marker octets: the AND of all of them.
    const marker =
      bytes[at]! &
      bytes[at + 1]! &
      bytes[at + 2]! &
      bytes[at + 3]! &
      bytes[at + 4]! &
      bytes[at + 5]! &
      bytes[at + 6]! &
      bytes[at + 7]! &
      bytes[at + 8]! &
      bytes[at + 9]! &
      bytes[at + 10]! &
      bytes[at + 11]! &
      bytes[at + 12]! &
      bytes[at + 13]! &
      bytes[at + 14]! &
      bytes[at + 15]!;
    const length = (bytes[at + 16]! << 8) | bytes[at + 17]!;
    const type = bytes[at + 18]!;
    if (marker === 0xff && type >= 1 && type <= 5 && length >= MIN_LENGTH_BY_TYPE[type]!) {
      const max = maxMessageLength(context);
      // OPEN and KEEPALIVE are never longer than 4096 octets (RFC 8654 §4); a KEEPALIVE is exactly 19.
      if (type === 2 || type === 3 || type === 5 ? length <= max : length <= 4096 && length <= max)
        if (type !== 4 || length === 19) return type;
    }
  }
  throw headerError(bytes, at, context);
}

/** BGP_MIN_MESSAGE_LENGTH by type code as an array (index 0 unused): one load in checkBgpHeaderAt. */
const MIN_LENGTH_BY_TYPE = Uint8Array.of(0, 29, 23, 21, 19, 23);

/**
 * The error for a header checkBgpHeaderAt refused, checked in order: too short (1/2), marker (1/1, naming
 * the first octet that is not 0xff), message type (1/3), length for the type (1/2, the length in the data).
 */
function headerError(bytes: Uint8Array, at: number, context: BgpCodecContext): BgpDecodeError {
  if (bytes.length - at < BGP_HEADER_LENGTH)
    return sessionReset(1, 2, twoOctets(bytes.length - at), `header: ${bytes.length - at} octets < 19`);
  for (let i = 0; i < 16; i++)
    if (bytes[at + i] !== 0xff)
      return sessionReset(1, 1, new Uint8Array(0), `header: marker octet ${i} is not 0xff`);
  const length = (bytes[at + 16]! << 8) | bytes[at + 17]!;
  const type = bytes[at + 18]!;
  const max =
    type === 1 || type === 4 ? Math.min(4096, maxMessageLength(context)) : maxMessageLength(context);
  const min = BGP_MIN_MESSAGE_LENGTH[type];
  if (min === undefined)
    return sessionReset(1, 3, Uint8Array.of(type), `header: unknown message type ${type}`);
  if (length < min || length > max || (type === 4 && length !== 19))
    return sessionReset(
      1,
      2,
      bytes.subarray(at + 16, at + 18),
      `header: length ${length} invalid for message type ${type}`,
    );
  throw new Error(
    `headerError: the header at ${at} has no error (checkBgpHeaderAt and headerError disagree)`,
  );
}

/**
 * The total length of the message whose header starts at bytes[at] (for framing a stream in place), after
 * the same checks as decodeBgpHeader; throws its session-reset BgpDecodeErrors.
 */
export function bgpMessageLengthAt(bytes: Uint8Array, at: number, context: BgpCodecContext): number {
  checkBgpHeaderAt(bytes, at, context);
  return (bytes[at + 16]! << 8) | bytes[at + 17]!;
}

/** Reads and checks the 19-octet header at bytes[0..19); returns type and total length. */
export function decodeBgpHeader(
  bytes: Uint8Array,
  context: BgpCodecContext,
): { type: number; length: number } {
  const type = checkBgpHeaderAt(bytes, 0, context);
  return { type, length: (bytes[16]! << 8) | bytes[17]! };
}

/** Decodes one complete message (header included); throws only session-reset BgpDecodeErrors. */
/** Decode, encode and encodedLength of one message type's body (the header is generic). */
export interface BgpMessageCodec<M extends BgpMessage> {
  readonly typeCode: number;
  /** `whole` is the complete message, header included (some errors carry it as data). */
  decode(body: Uint8Array, context: BgpCodecContext, whole: Uint8Array): M;
  bodyLength(message: M, context: BgpCodecContext): number;
  /** Writes the body at `at` (the buffer is exactly header + bodyLength long). */
  writeBody(message: M, context: BgpCodecContext, out: Uint8Array, at: number): void;
}

type MessageCodecTable = {
  readonly [T in BgpMessage['type']]: BgpMessageCodec<Extract<BgpMessage, { type: T }>>;
};

/** One contract per message type. */
export const BGP_MESSAGE_CODECS: MessageCodecTable = {
  open: {
    typeCode: 1,
    decode: (body) => decodeOpenBody(body),
    bodyLength: (message) => encodeOpenBody(message).length,
    writeBody: (message, _context, out, at) => out.set(encodeOpenBody(message), at),
  },
  update: {
    typeCode: 2,
    decode: (body, context) => decodeUpdateBody(body, context),
    bodyLength: (message, context) => updateBodyLength(message, context),
    writeBody: (message, context, out, at) => {
      encodeUpdateBody(message, context, out, at);
    },
  },
  notification: {
    typeCode: 3,
    decode: (body) => decodeNotificationBody(body),
    bodyLength: (message) => 2 + message.data.length,
    writeBody: (message, _context, out, at) => {
      out[at] = message.code;
      out[at + 1] = message.subcode;
      out.set(message.data, at + 2);
    },
  },
  keepalive: {
    typeCode: 4,
    decode: () => ({ type: 'keepalive' }),
    bodyLength: () => 0,
    writeBody: () => {},
  },
  'route-refresh': {
    typeCode: 5,
    decode: (body, _context, whole) => decodeRouteRefreshBody(body, whole),
    bodyLength: () => 4,
    writeBody: (message, _context, out, at) =>
      out.set([message.afi >>> 8, message.afi & 0xff, message.subtype, message.safi], at),
  },
};

/** The code → decoder table (header type octet → message codec). */
const MESSAGE_CODEC_BY_CODE: readonly (BgpMessageCodec<BgpMessage> | undefined)[] = (() => {
  const table: (BgpMessageCodec<BgpMessage> | undefined)[] = new Array(256).fill(undefined);
  for (const codec of Object.values(BGP_MESSAGE_CODECS))
    table[codec.typeCode] = codec as BgpMessageCodec<BgpMessage>;
  return table;
})();

/** Decodes one complete message (header included); throws only session-reset BgpDecodeErrors. */
export function decodeBgpMessage(bytes: Uint8Array, context: BgpCodecContext): BgpMessage {
  const type = checkBgpHeaderAt(bytes, 0, context);
  const length = (bytes[16]! << 8) | bytes[17]!;
  if (length !== bytes.length)
    throw sessionReset(
      1,
      2,
      bytes.subarray(16, 18),
      `header: length ${length} but ${bytes.length} octets given`,
    );
  // UPDATEs (nearly all traffic) are decoded in place: no view of the body, no call through the table.
  if (type === 2) return decodeUpdateBodyAt(bytes, BGP_HEADER_LENGTH, context);
  const codec = MESSAGE_CODEC_BY_CODE[type];
  if (codec === undefined)
    throw sessionReset(1, 3, Uint8Array.of(type), `header: unknown message type ${type}`);
  return codec.decode(bytes.subarray(BGP_HEADER_LENGTH), context, bytes);
}

function codecOf(message: BgpMessage): BgpMessageCodec<BgpMessage> {
  return BGP_MESSAGE_CODECS[message.type] as BgpMessageCodec<BgpMessage>;
}

/** Octets the encoded message (header included) takes. */
export function bgpMessageEncodedLength(message: BgpMessage, context: BgpCodecContext): number {
  return BGP_HEADER_LENGTH + codecOf(message).bodyLength(message, context);
}

/**
 * The encoded length of `message` (header included), checked against the context's maximum. UPDATEs (the
 * message sent by the million) are measured directly rather than through the codec table's closures.
 */
function checkedEncodedLength(message: BgpMessage, context: BgpCodecContext): number {
  const length =
    BGP_HEADER_LENGTH +
    (message.type === 'update'
      ? updateBodyLength(message, context)
      : codecOf(message).bodyLength(message, context));
  const max = maxMessageLength(context);
  if (length > max)
    throw new BgpEncodeError(`${message.type} message of ${length} octets exceeds the maximum ${max}`);
  return length;
}

/** Writes the message, `length` octets as checkedEncodedLength gave, at out[at..at+length). */
function writeMessageAt(
  message: BgpMessage,
  context: BgpCodecContext,
  length: number,
  out: Uint8Array,
  at: number,
): void {
  // The marker by direct stores: for 16 octets this is cheaper than a set() or fill() call.
  for (let i = 0; i < 16; i++) out[at + i] = 0xff;
  out[at + 16] = length >>> 8;
  out[at + 17] = length & 0xff;
  if (message.type === 'update') {
    out[at + 18] = 2;
    encodeUpdateBody(message, context, out, at + BGP_HEADER_LENGTH);
    return;
  }
  const codec = codecOf(message);
  out[at + 18] = codec.typeCode;
  codec.writeBody(message, context, out, at + BGP_HEADER_LENGTH);
}

/** Encodes a message (header included); throws BgpEncodeError if it exceeds the context's maximum length. */
export function encodeBgpMessage(message: BgpMessage, context: BgpCodecContext): Uint8Array {
  const length = checkedEncodedLength(message, context);
  const out = new Uint8Array(length);
  writeMessageAt(message, context, length, out, 0);
  return out;
}

/**
 * Encodes messages back to back into one buffer: the bytes a speaker hands to its socket in one write. Same
 * bytes and checks as encodeBgpMessage per message, without a separate buffer for each one (allocating a
 * Uint8Array per small UPDATE costs more than encoding it).
 */
export function encodeBgpMessages(messages: readonly BgpMessage[], context: BgpCodecContext): Uint8Array {
  const lengths = new Array<number>(messages.length);
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    const length = checkedEncodedLength(messages[i]!, context);
    lengths[i] = length;
    total += length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    const length = lengths[i]!;
    writeMessageAt(messages[i]!, context, length, out, at);
    at += length;
  }
  return out;
}

/**
 * Streaming encoder: `write` appends each message (header included) to a reusable buffer that grows as
 * needed; `take` returns everything written since the last take, as one Uint8Array of back-to-back
 * messages (the caller owns it: nothing the writer does later changes it). For a speaker sending many small
 * UPDATEs (one per distinct attribute set), this is one allocation per batch instead of one per message.
 *
 * Buffer pool (`poolSize` > 0): `take` then always hands the buffer itself over, and the owner gives it back
 * with `recycle(batch)` once it is done with it (for a socket: in the write callback); the next batches are
 * written into given-back buffers, so a writer whose batches come back allocates no new buffer in the
 * steady state. The pool keeps at most `poolSize` buffers, each of at least the initial capacity and at
 * most `maxPooledOctets` (4× the initial capacity, at least 256 KiB): a batch that outgrew that is left to
 * the garbage collector; so are buffers the writer outgrew while writing, when the pool is full. A batch
 * that is not given back costs nothing but the pool's benefit (the writer keeps no reference to it).
 *
 * `reserve`/`commit`/`truncate` are for encoders that assemble messages from pre-encoded parts
 * (packUpdatesInto): reserve room for one message of a known length, write it at `buffer[at..]`, commit.
 */
const NO_OCTETS = new Uint8Array(0);
const MIN_POOLED_LIMIT = 256 * 1024;

/** A DataView over exactly the octets of `bytes`. */
function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The withdrawn routes of an UPDATE that withdraws nothing. */
const NO_PREFIXES: readonly BgpPrefix[] = Object.freeze([]);

export class BgpMessageWriter {
  #buffer: Uint8Array;
  /** A DataView of #buffer (kept with it by #use): the UPDATE header's marker in four 32-bit stores. */
  #view: DataView;
  /** The size of the buffer handed over by the last take, for the next one (pool disabled). */
  #capacity = 0;
  #length = 0;
  /** Octets reserved at #length and not yet committed (0: no reservation). */
  #reserved = 0;
  #context: BgpCodecContext;
  readonly #initialCapacity: number;
  readonly #poolSize: number;
  readonly #maxPooledOctets: number;
  readonly #pool: Uint8Array[] = [];
  /** Batches handed out and not given back: the batch → its whole buffer (null: a copy, nothing to pool). */
  readonly #handedOut = new WeakMap<Uint8Array, Uint8Array | null>();
  /** Batches given back, to tell a second recycle of the same batch from a foreign array. */
  readonly #givenBack = new WeakSet<Uint8Array>();

  constructor(context: BgpCodecContext, initialCapacity = 65536, poolSize = 0) {
    if (!Number.isInteger(initialCapacity) || initialCapacity < 0)
      throw new RangeError(
        `BgpMessageWriter: initialCapacity ${initialCapacity} is not a non-negative integer`,
      );
    if (!Number.isInteger(poolSize) || poolSize < 0)
      throw new RangeError(`BgpMessageWriter: poolSize ${poolSize} is not a non-negative integer`);
    this.#context = context;
    this.#initialCapacity = initialCapacity;
    this.#poolSize = poolSize;
    this.#maxPooledOctets = Math.max(4 * initialCapacity, MIN_POOLED_LIMIT);
    this.#buffer = new Uint8Array(initialCapacity);
    this.#view = viewOf(this.#buffer);
  }

  /** The negotiated options the messages are written with. */
  get context(): BgpCodecContext {
    return this.#context;
  }

  /** Changes the negotiated options for the messages written from now on. */
  setContext(context: BgpCodecContext): void {
    this.#context = context;
  }

  /** Octets written and not yet taken. */
  get length(): number {
    return this.#length;
  }

  /** Given-back buffers waiting for the next batches (at most `poolSize`). */
  get pooled(): number {
    return this.#pool.length;
  }

  /**
   * The buffer the last `reserve` returned an offset into. Valid only until the next write, reserve or
   * take: it is the writer's working buffer, not a batch.
   */
  get buffer(): Uint8Array {
    return this.#buffer;
  }

  /** Appends one message; throws BgpEncodeError (writing nothing) like encodeBgpMessage. */
  write(message: BgpMessage): void {
    this.#reserved = 0;
    if (message.type === 'update') {
      this.#writeUpdate(message);
      return;
    }
    const context = this.#context;
    const length = checkedEncodedLength(message, context);
    const at = this.#length;
    if (this.#buffer.length - at < length) this.#grow(at + length);
    writeMessageAt(message, context, length, this.#buffer, at);
    this.#length = at + length;
  }

  /**
   * Makes room for one message of exactly `length` octets (header included) after what is written and
   * returns its offset in `buffer`; the caller writes every one of those octets (the buffer is reused: they
   * are not zero) and then calls `commit()`. Throws BgpEncodeError when `length` exceeds the context's
   * maximum, RangeError when it is not an integer of at least 19 (a header). Until commit nothing is
   * written: the next write, reserve or take drops the reservation.
   */
  reserve(length: number): number {
    this.#reserved = 0;
    if (!Number.isInteger(length) || length < BGP_HEADER_LENGTH)
      throw new RangeError(
        `BgpMessageWriter.reserve: length ${length} is not an integer of at least ${BGP_HEADER_LENGTH}`,
      );
    const max = maxMessageLength(this.#context);
    if (length > max) throw new BgpEncodeError(`message of ${length} octets exceeds the maximum ${max}`);
    const at = this.#length;
    if (this.#buffer.length - at < length) this.#grow(at + length);
    this.#reserved = length;
    return at;
  }

  /** Counts the reserved message as written. */
  commit(): void {
    if (this.#reserved === 0) throw new Error('BgpMessageWriter.commit: no reservation (call reserve first)');
    this.#length += this.#reserved;
    this.#reserved = 0;
  }

  /** Drops what was written after the first `length` octets since the last take (an encoder's undo). */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.#length)
      throw new RangeError(
        `BgpMessageWriter.truncate: length ${length} is not an integer in 0..${this.#length} (octets written)`,
      );
    this.#length = length;
    this.#reserved = 0;
  }

  /**
   * Everything written since the last take; empties the writer. With a pool, the buffer itself is handed
   * over (a view of its first octets; give it back with `recycle`). Without one, the buffer is handed over
   * when the batch fills at least half of it (the writer starts a new one at the next write) and copied
   * otherwise, so that a small take never pins a large buffer.
   */
  take(): Uint8Array {
    const length = this.#length;
    this.#length = 0;
    this.#reserved = 0;
    let out: Uint8Array;
    if (length === 0) out = new Uint8Array(0);
    else if (this.#poolSize === 0 && length * 2 < this.#buffer.length) out = this.#buffer.slice(0, length);
    else {
      out = this.#buffer.subarray(0, length);
      this.#handedOut.set(out, this.#buffer);
      this.#capacity = this.#buffer.length;
      this.#use(NO_OCTETS);
      return out;
    }
    this.#handedOut.set(out, null);
    return out;
  }

  /**
   * Gives back a batch `take` returned, once its owner is done with it (nothing may read it afterwards: the
   * writer writes over it). Its buffer joins the pool when the pool has room and the buffer is not over
   * `maxPooledOctets`; a copied batch is accepted and simply dropped. Throws an Error naming the batch when
   * it was already given back, or when it is not a batch this writer's `take` returned (a copy or a view of
   * one is not: give back the very Uint8Array `take` returned) — writing over such an array could corrupt
   * bytes someone else still sends.
   */
  recycle(batch: Uint8Array): void {
    const buffer = this.#handedOut.get(batch);
    if (buffer === undefined) {
      if (this.#givenBack.has(batch))
        throw new Error(
          `BgpMessageWriter.recycle: this batch of ${batch.length} octets was already given back`,
        );
      throw new Error(
        `BgpMessageWriter.recycle: a ${batch.length}-octet array at offset ${batch.byteOffset} of a ` +
          `${batch.buffer.byteLength}-octet buffer is not a batch this writer's take() returned`,
      );
    }
    this.#handedOut.delete(batch);
    this.#givenBack.add(batch);
    if (buffer !== null) this.#offerToPool(buffer);
  }

  /** The largest buffer the pool keeps. */
  get maxPooledOctets(): number {
    return this.#maxPooledOctets;
  }

  /**
   * One pass for UPDATEs: with room for a maximum-length message ensured, the body is written straight
   * into the buffer (encodeUpdateBody fills in the withdrawn and attribute lengths behind itself), then the
   * header. An UPDATE over the maximum is detected from where it ended; the octets it wrote past the
   * buffer's end were dropped (typed-array semantics) or made a copy throw RangeError, and either way it is
   * reported as encodeBgpMessage reports it, nothing being added to the output.
   */
  #writeUpdate(update: BgpUpdate): void {
    this.#writeUpdateParts(update.withdrawn, update.attributes, update.nlri, update);
  }

  /**
   * Appends one UPDATE with these withdrawn routes, attributes and NLRI, as `write` does with an UPDATE
   * holding them (same octets, same errors, nothing written on error) but without building the object: the
   * send path's form (packUpdatesInto).
   */
  writeUpdate(
    attributes: readonly BgpPathAttribute[],
    nlri: readonly BgpPrefix[],
    withdrawn: readonly BgpPrefix[] = NO_PREFIXES,
  ): void {
    this.#reserved = 0;
    this.#writeUpdateParts(withdrawn, attributes, nlri, undefined);
  }

  #writeUpdateParts(
    withdrawn: readonly BgpPrefix[],
    attributes: readonly BgpPathAttribute[],
    nlri: readonly BgpPrefix[],
    update: BgpUpdate | undefined,
  ): void {
    const context = this.#context;
    const max = maxMessageLength(context);
    const at = this.#length;
    if (this.#buffer.length - at < max) this.#grow(at + max);
    const out = this.#buffer;
    let end: number;
    try {
      end = encodeUpdateParts(withdrawn, attributes, nlri, context, out, at + BGP_HEADER_LENGTH);
    } catch (error) {
      if (error instanceof RangeError)
        checkedEncodedLength(update ?? makeUpdate({ withdrawn, attributes, nlri }), context);
      throw error;
    }
    const length = end - at;
    if (length > max)
      throw new BgpEncodeError(`update message of ${length} octets exceeds the maximum ${max}`);
    // The marker as four 32-bit stores: a loop of 16 byte stores was a tenth of this path's time.
    const view = this.#view;
    view.setInt32(at, -1);
    view.setInt32(at + 4, -1);
    view.setInt32(at + 8, -1);
    view.setInt32(at + 12, -1);
    out[at + 16] = length >>> 8;
    out[at + 17] = length & 0xff;
    out[at + 18] = 2;
    this.#length = end;
  }

  /**
   * A buffer of at least `needed` octets holding what is written so far: after a handover a pooled one
   * when one is big enough, else a new one; when outgrowing the current buffer, the old one goes to the
   * pool (it was never handed out) if it fits there.
   */
  #grow(needed: number): void {
    const pool = this.#pool;
    if (this.#length === 0) {
      for (let i = pool.length - 1; i >= 0; i--) {
        const pooled = pool[i]!;
        if (pooled.length < needed) continue;
        pool[i] = pool[pool.length - 1]!;
        pool.pop();
        this.#offerToPool(this.#buffer);
        this.#use(pooled);
        return;
      }
    }
    const size =
      this.#poolSize === 0
        ? Math.max(needed, this.#capacity, this.#buffer.length * 2)
        : Math.max(needed, this.#initialCapacity, this.#length === 0 ? 0 : this.#buffer.length * 2);
    const next = new Uint8Array(size);
    if (this.#length > 0) next.set(this.#buffer.subarray(0, this.#length));
    this.#offerToPool(this.#buffer);
    this.#use(next);
  }

  /** Makes `buffer` the working buffer, with its DataView. */
  #use(buffer: Uint8Array): void {
    this.#buffer = buffer;
    this.#view = viewOf(buffer);
  }

  /** Keeps a buffer the writer owns (not handed out) for later, when the pool has room for it. */
  #offerToPool(buffer: Uint8Array): void {
    if (buffer.length === 0 || buffer.length < this.#initialCapacity || buffer.length > this.#maxPooledOctets)
      return;
    if (this.#pool.length < this.#poolSize) this.#pool.push(buffer);
  }
}

export const KEEPALIVE_MESSAGE: BgpKeepalive = { type: 'keepalive' };
