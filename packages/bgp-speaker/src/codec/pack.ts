// Encoder packing: turns one attribute set plus many announced and withdrawn prefixes into as few UPDATEs
// as possible, each filled up to the negotiated maximum length. IPv4 goes in the classic NLRI/withdrawn
// fields, IPv6 in MP_REACH_NLRI / MP_UNREACH_NLRI (placed first, RFC 7606 §5.1). One packing routine
// writes into a message sink: `packUpdates` collects one Uint8Array per UPDATE, `packUpdatesInto` appends
// the UPDATEs back to back to a BgpMessageWriter (one buffer for many small UPDATEs: the send path).
// The attribute block is written straight into the first message and copied from there into the others.

import { attributesEncodedLength, type BgpPathAttribute, writeAttribute } from './attributes.js';
import { type BgpCodecContext, BgpEncodeError, maxMessageLength } from './errors.js';
import type { BgpMessageWriter } from './messages.js';
import { type BgpPrefix, prefixEncodedLength, writeNlri } from './prefix.js';

export interface UpdatePackingInput {
  /** Attributes shared by every announced prefix (no MP_REACH/MP_UNREACH; they are built here). */
  readonly attributes: readonly BgpPathAttribute[];
  readonly announced?: readonly BgpPrefix[];
  readonly withdrawn?: readonly BgpPrefix[];
  /** Next hop bytes for IPv6 announcements (16 or 32 octets); required when IPv6 prefixes are announced. */
  readonly ipv6NextHop?: Uint8Array;
}

/** Where packed messages go: room for one message of a known length, written in place, then committed. */
interface MessageSink {
  /** Room for `length` octets; returns their offset in `buffer`. */
  reserve(length: number): number;
  readonly buffer: Uint8Array;
  commit(): void;
}

/** One new Uint8Array per message (packUpdates). */
class MessageListSink implements MessageSink {
  readonly messages: Uint8Array[] = [];
  buffer: Uint8Array = NO_PREFIXES_BYTES;
  reserve(length: number): number {
    this.buffer = new Uint8Array(length);
    return 0;
  }
  commit(): void {
    this.messages.push(this.buffer);
  }
}

const NO_PREFIXES: readonly BgpPrefix[] = [];
const NO_PREFIXES_BYTES = new Uint8Array(0);
const UPDATE_FIXED = 23; // header 19 + withdrawn length 2 + attributes length 2

/** Marker, length and type UPDATE at out[at..at+19). */
function header(out: Uint8Array, at: number, length: number): void {
  for (let i = 0; i < 16; i++) out[at + i] = 0xff;
  out[at + 16] = length >>> 8;
  out[at + 17] = length & 0xff;
  out[at + 18] = 2;
}

/**
 * An IPv6 unicast MP_REACH_NLRI (14) or MP_UNREACH_NLRI (15) attribute's first 7 octets at `at`: flags
 * (optional, extended length), code, the value length, AFI 2, SAFI 1.
 */
function mpHeader(out: Uint8Array, at: number, code: 14 | 15, valueLength: number): void {
  out[at] = 0x90;
  out[at + 1] = code;
  out[at + 2] = valueLength >>> 8;
  out[at + 3] = valueLength & 0xff;
  out[at + 4] = 0;
  out[at + 5] = 2;
  out[at + 6] = 1;
}

/** The prefixes of one family: the list itself when they all are (the usual case), else a filtered copy. */
function ofFamily(prefixes: readonly BgpPrefix[], afi: 1 | 2): readonly BgpPrefix[] {
  let count = 0;
  for (let i = 0; i < prefixes.length; i++) if (prefixes[i]!.afi === afi) count++;
  if (count === prefixes.length) return prefixes;
  if (count === 0) return NO_PREFIXES;
  return prefixes.filter((prefix) => prefix.afi === afi);
}

/** prefixes[from..end), without a copy when that is the whole list. */
function run(prefixes: readonly BgpPrefix[], from: number, end: number): readonly BgpPrefix[] {
  return from === 0 && end === prefixes.length ? prefixes : prefixes.slice(from, end);
}

/** NLRI octets of the run `fit` found last (kept out of its return value: no tuple per message). */
let fittedOctets = 0;

/** The end of the longest run of prefixes[from..] whose NLRI fits `room` octets (octets in fittedOctets). */
function fit(prefixes: readonly BgpPrefix[], from: number, room: number): number {
  let used = 0;
  let at = from;
  while (at < prefixes.length) {
    const size = prefixEncodedLength(prefixes[at]!);
    if (used + size > room) break;
    used += size;
    at++;
  }
  if (at === from)
    throw new BgpEncodeError(`no room for one prefix in an UPDATE (${room} octets left for NLRI)`);
  fittedOctets = used;
  return at;
}

/** The shared attribute block: written in place into the first message, copied from there afterwards. */
class AttributeBlock {
  readonly length: number;
  #copy: Uint8Array | null = null;
  constructor(
    readonly attributes: readonly BgpPathAttribute[],
    readonly context: BgpCodecContext,
  ) {
    this.length = attributesEncodedLength(attributes, context);
  }

  /** Writes the block at out[at..]; `keep`: later messages need it again. */
  write(out: Uint8Array, at: number, keep: boolean): void {
    if (this.#copy !== null) {
      out.set(this.#copy, at);
      return;
    }
    let end = at;
    for (let i = 0; i < this.attributes.length; i++)
      end = writeAttribute(this.attributes[i]!, this.context, out, end);
    if (end - at !== this.length)
      throw new BgpEncodeError(`attribute block wrote ${end - at} of ${this.length} octets`);
    if (keep) this.#copy = out.slice(at, end);
  }
}

/** The packing itself: UPDATEs into `sink`, withdrawals first, then announcements; returns how many. */
function packInto(sink: MessageSink, input: UpdatePackingInput, context: BgpCodecContext): number {
  const max = maxMessageLength(context);
  const announced = input.announced ?? NO_PREFIXES;
  const withdrawn = input.withdrawn ?? NO_PREFIXES;
  const v4Withdrawn = ofFamily(withdrawn, 1);
  const v6Withdrawn = ofFamily(withdrawn, 2);
  const v4Announced = ofFamily(announced, 1);
  const v6Announced = ofFamily(announced, 2);
  const nextHop = input.ipv6NextHop;
  if (v6Announced.length > 0 && (nextHop === undefined || (nextHop.length !== 16 && nextHop.length !== 32)))
    throw new BgpEncodeError('packUpdates: IPv6 announcements need ipv6NextHop of 16 or 32 octets');
  let count = 0;

  // Classic IPv4 withdrawals: header, withdrawn length, withdrawn, attribute length 0.
  for (let from = 0; from < v4Withdrawn.length; count++) {
    const end = fit(v4Withdrawn, from, max - UPDATE_FIXED);
    const octets = fittedOctets;
    const length = UPDATE_FIXED + octets;
    const at = sink.reserve(length);
    const out = sink.buffer;
    header(out, at, length);
    out[at + 19] = octets >>> 8;
    out[at + 20] = octets & 0xff;
    writeNlri(out, at + 21, run(v4Withdrawn, from, end));
    out[at + length - 2] = 0;
    out[at + length - 1] = 0;
    sink.commit();
    from = end;
  }
  // IPv6 withdrawals: one MP_UNREACH_NLRI (extended length, flags 0x90) per message.
  for (let from = 0; from < v6Withdrawn.length; count++) {
    const end = fit(v6Withdrawn, from, max - UPDATE_FIXED - 4 - 3);
    const valueLength = 3 + fittedOctets;
    const length = UPDATE_FIXED + 4 + valueLength;
    const at = sink.reserve(length);
    const out = sink.buffer;
    header(out, at, length);
    out[at + 19] = 0;
    out[at + 20] = 0;
    out[at + 21] = (4 + valueLength) >>> 8;
    out[at + 22] = (4 + valueLength) & 0xff;
    mpHeader(out, at + 23, 15, valueLength);
    writeNlri(out, at + 30, run(v6Withdrawn, from, end));
    sink.commit();
    from = end;
  }
  if (v4Announced.length === 0 && v6Announced.length === 0) return count;
  const block = new AttributeBlock(input.attributes, context);

  for (let from = 0; from < v4Announced.length; count++) {
    const end = fit(v4Announced, from, max - UPDATE_FIXED - block.length);
    const length = UPDATE_FIXED + block.length + fittedOctets;
    const at = sink.reserve(length);
    const out = sink.buffer;
    header(out, at, length);
    out[at + 19] = 0;
    out[at + 20] = 0;
    out[at + 21] = block.length >>> 8;
    out[at + 22] = block.length & 0xff;
    block.write(out, at + UPDATE_FIXED, end < v4Announced.length || v6Announced.length > 0);
    writeNlri(out, at + UPDATE_FIXED + block.length, run(v4Announced, from, end));
    sink.commit();
    from = end;
  }
  if (v6Announced.length > 0) {
    const hop = nextHop!;
    const fixed = 4 + 5 + hop.length; // attribute header (extended length) + AFI/SAFI/NH length/NH/reserved
    for (let from = 0; from < v6Announced.length; count++) {
      const end = fit(v6Announced, from, max - UPDATE_FIXED - block.length - fixed);
      const valueLength = 5 + hop.length + fittedOctets;
      const attributesLength = 4 + valueLength + block.length;
      const length = UPDATE_FIXED + attributesLength;
      const at = sink.reserve(length);
      const out = sink.buffer;
      header(out, at, length);
      out[at + 19] = 0;
      out[at + 20] = 0;
      out[at + 21] = attributesLength >>> 8;
      out[at + 22] = attributesLength & 0xff;
      mpHeader(out, at + 23, 14, valueLength);
      out[at + 30] = hop.length;
      out.set(hop, at + 31);
      out[at + 31 + hop.length] = 0;
      const nlriEnd = writeNlri(out, at + 32 + hop.length, run(v6Announced, from, end));
      block.write(out, nlriEnd, end < v6Announced.length);
      sink.commit();
      from = end;
    }
  }
  return count;
}

/** The UPDATE messages (header included) carrying the input; order: withdrawals first, then announcements. */
export function packUpdates(input: UpdatePackingInput, context: BgpCodecContext): Uint8Array[] {
  const sink = new MessageListSink();
  packInto(sink, input, context);
  return sink.messages;
}

/** Prefixes the one-message shortcut of packUpdatesInto takes at most (their NLRI is then ≤ 160 octets). */
const ONE_MESSAGE_PREFIXES = 32;

/** Whether the input is only IPv4 announcements, at most ONE_MESSAGE_PREFIXES of them. */
function fitsOneClassicUpdate(input: UpdatePackingInput): boolean {
  const announced = input.announced;
  if (announced === undefined || announced.length === 0 || announced.length > ONE_MESSAGE_PREFIXES)
    return false;
  if (input.withdrawn !== undefined && input.withdrawn.length > 0) return false;
  for (let i = 0; i < announced.length; i++) if (announced[i]!.afi !== 1) return false;
  return true;
}

/**
 * The same UPDATEs as packUpdates (same bytes, same order), appended back to back to `writer` under its
 * context; returns how many were written. All or nothing: on a BgpEncodeError nothing of this input stays
 * in the writer.
 */
export function packUpdatesInto(writer: BgpMessageWriter, input: UpdatePackingInput): number {
  if (fitsOneClassicUpdate(input)) {
    // A few IPv4 prefixes and no withdrawals (one route per distinct attribute set, as a route reflector
    // sends): the writer's one-pass UPDATE encoder writes the same octets as the packing below without
    // measuring the attribute block first. An attribute set too long for one message with them makes the
    // writer throw before writing anything; the packing then splits the prefixes.
    try {
      writer.writeUpdate(input.attributes, input.announced!);
      return 1;
    } catch (error) {
      if (!(error instanceof BgpEncodeError)) throw error;
    }
  }
  const start = writer.length;
  try {
    return packInto(writer, input, writer.context);
  } catch (error) {
    writer.truncate(start);
    throw error;
  }
}
