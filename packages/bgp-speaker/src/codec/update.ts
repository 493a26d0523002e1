// The UPDATE message (RFC 4271 §4.3) with RFC 7606 revised error handling: structural errors throw a
// session-reset BgpDecodeError; attribute-level errors are carried in `errors` (treat-as-withdraw,
// attribute-discard, afi-safi-disable) so the speaker can keep the session.

import {
  attributesEncodedLength,
  type BgpPathAttribute,
  decodePathAttribute,
  writeAttribute,
} from './attributes.js';
import { type BgpCodecContext, BgpDecodeError, hasAddPath, sessionReset } from './errors.js';
import { decodeCommonAttribute } from './hot-path.js';
import { type BgpPrefix, nlriEncodedLength, readNlri, singleIpv4Nlri, writeNlri } from './prefix.js';

export interface BgpUpdate {
  readonly type: 'update';
  /** Classic IPv4 withdrawn routes. */
  readonly withdrawn: readonly BgpPrefix[];
  /** Attributes in wire order (MP_REACH/MP_UNREACH included); discarded ones are absent. */
  readonly attributes: readonly BgpPathAttribute[];
  /** Classic IPv4 NLRI. */
  readonly nlri: readonly BgpPrefix[];
  /** Attribute-level errors found on decode (RFC 7606); empty for a clean or locally built UPDATE. */
  readonly errors: readonly BgpDecodeError[];
  /** True when an error requires treat-as-withdraw: every NLRI of this UPDATE is to be withdrawn. */
  readonly treatAsWithdraw: boolean;
}

// Empty lists shared by every UPDATE that has none (most decoded UPDATEs have no errors and no withdrawn
// routes): one frozen array instead of a fresh allocation per message. The fields are readonly anyway.
const NO_PREFIXES: readonly BgpPrefix[] = Object.freeze([]);
const NO_ATTRIBUTES: readonly BgpPathAttribute[] = Object.freeze([]);
const NO_ERRORS: readonly BgpDecodeError[] = Object.freeze([]);

export function makeUpdate(parts: {
  withdrawn?: readonly BgpPrefix[];
  attributes?: readonly BgpPathAttribute[];
  nlri?: readonly BgpPrefix[];
}): BgpUpdate {
  return {
    type: 'update',
    withdrawn: parts.withdrawn ?? NO_PREFIXES,
    attributes: parts.attributes ?? NO_ATTRIBUTES,
    nlri: parts.nlri ?? NO_PREFIXES,
    errors: NO_ERRORS,
    treatAsWithdraw: false,
  };
}

/**
 * Attribute codes 32..255 seen in the UPDATE being decoded, as the decode generation that saw them (reused:
 * decoding is synchronous and not re-entrant). Bumping the generation replaces clearing 224 entries per
 * message. Codes 0..31 (every attribute nearly all UPDATEs carry) are tracked in a local bit mask instead,
 * which also answers the mandatory-attribute check in one comparison.
 */
const seenInGeneration = new Uint32Array(256);
let generation = 0;

/** A fresh generation for seenInGeneration (clearing the table once every 2^32 - 1 generations). */
function nextGeneration(): number {
  if (generation === 0xffffffff) {
    seenInGeneration.fill(0);
    generation = 0;
  }
  return ++generation;
}

/** `errors` with `error` appended, creating the list on the first error (clean UPDATEs allocate none). */
function appendError(errors: BgpDecodeError[] | undefined, error: BgpDecodeError): BgpDecodeError[] {
  if (errors === undefined) return [error];
  errors.push(error);
  return errors;
}

/**
 * How many attribute headers bytes[start, end) holds (the last one possibly truncated or overrunning): the
 * most attributes the decode loop can keep.
 */
function countAttributes(bytes: Uint8Array, start: number, end: number): number {
  let count = 0;
  let at = start;
  while (at < end) {
    count++;
    if (bytes[at]! & 0x10) {
      if (at + 4 > end) break;
      at += 4 + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
    } else {
      if (at + 3 > end) break;
      at += 3 + bytes[at + 2]!;
    }
  }
  return count;
}

/**
 * Well-known mandatory attribute codes (RFC 4271 §5) as bits of the seen-code mask: ORIGIN, AS_PATH and
 * NEXT_HOP with classic NLRI; ORIGIN and AS_PATH with MP_REACH_NLRI only.
 */
const MANDATORY_WITH_NLRI = (1 << 1) | (1 << 2) | (1 << 3);
const MANDATORY_MP_ONLY = (1 << 1) | (1 << 2);
const MP_REACH_BIT = 1 << 14;
const MANDATORY_NAMES = ['', 'ORIGIN', 'AS_PATH', 'NEXT_HOP'] as const;

/** `errors` with a missing-mandatory-attribute error (RFC 7606 §3 d: treat-as-withdraw) per missing bit. */
function appendMissingMandatory(errors: BgpDecodeError[] | undefined, missing: number): BgpDecodeError[] {
  let out = errors;
  for (let code = 1; code <= 3; code++)
    if (missing & (1 << code))
      out = appendError(
        out,
        new BgpDecodeError(
          3,
          3,
          Uint8Array.of(code),
          'treat-as-withdraw',
          `UPDATE: missing well-known mandatory attribute ${code} (${MANDATORY_NAMES[code]})`,
        ),
      );
  return out ?? [];
}

export function decodeUpdateBody(body: Uint8Array, context: BgpCodecContext): BgpUpdate {
  return decodeUpdateBodyAt(body, 0, context);
}

/**
 * decodeUpdateBody of the body at bytes[start..] (to the end of `bytes`): lets decodeBgpMessage decode an
 * UPDATE in place, without a view of its body. Offsets in error messages are relative to the body.
 */
export function decodeUpdateBodyAt(bytes: Uint8Array, start: number, context: BgpCodecContext): BgpUpdate {
  const body = bytes;
  const total = bytes.length - start;
  if (total < 4) throw sessionReset(3, 1, new Uint8Array(0), `UPDATE: body ${total} octets < 4`);
  const withdrawnLength = (body[start]! << 8) | body[start + 1]!;
  if (2 + withdrawnLength + 2 > total)
    throw sessionReset(
      3,
      1,
      new Uint8Array(0),
      `UPDATE: withdrawn routes length ${withdrawnLength} overruns the message`,
    );
  const attributesStart = start + 4 + withdrawnLength;
  const attributesLength = (body[attributesStart - 2]! << 8) | body[attributesStart - 1]!;
  const attributesEnd = attributesStart + attributesLength;
  if (attributesEnd > bytes.length)
    throw sessionReset(
      3,
      1,
      new Uint8Array(0),
      `UPDATE: total path attribute length ${attributesLength} overruns the message (${bytes.length - attributesStart} octets left)`,
    );
  const addPathV4 = context.addPath !== undefined && hasAddPath(context, 1, 1);
  const withdrawn =
    withdrawnLength === 0
      ? NO_PREFIXES
      : readNlri(
          body,
          start + 2,
          start + 2 + withdrawnLength,
          1,
          addPathV4,
          'UPDATE withdrawn routes',
          start,
        );

  // Sized to the attribute headers present (an upper bound: discarded ones are dropped below) instead of
  // growing from empty, which allocates a 16-slot backing store for the usual five or so attributes.
  const attributes: BgpPathAttribute[] = new Array(countAttributes(body, attributesStart, attributesEnd));
  let attributeCount = 0;
  // Allocated on the first error only: a clean UPDATE shares NO_ERRORS.
  let errors: BgpDecodeError[] | undefined;
  // Codes 0..31 as bits of a local mask; 32..255 in the generation table (bumped only when one occurs).
  let seenLow = 0;
  let current = 0;
  const as4 = context.as4;
  let at = attributesStart;
  while (at < attributesEnd) {
    const left = attributesEnd - at;
    const flags = body[at]!;
    const headerLength = flags & 0x10 ? 4 : 3;
    if (left < headerLength) {
      errors = appendError(
        errors,
        new BgpDecodeError(
          3,
          1,
          body.subarray(at, attributesEnd),
          'treat-as-withdraw',
          `UPDATE: attribute header at offset ${at - attributesStart} of the attribute block truncated (${left} octets left)`,
        ),
      );
      break;
    }
    const code = body[at + 1]!;
    const valueLength = headerLength === 4 ? (body[at + 2]! << 8) | body[at + 3]! : body[at + 2]!;
    const valueStart = at + headerLength;
    const end = valueStart + valueLength;
    if (end > attributesEnd) {
      errors = appendError(
        errors,
        new BgpDecodeError(
          3,
          5,
          body.subarray(at, attributesEnd),
          'treat-as-withdraw',
          `UPDATE: attribute ${code} length ${valueLength} overruns the attribute block by ${end - attributesEnd} octets`,
        ),
      );
      break;
    }
    const attributeStart = at;
    at = end;
    let repeated: boolean;
    if (code < 32) {
      const bit = 1 << code;
      repeated = (seenLow & bit) !== 0;
      seenLow |= bit;
    } else {
      if (current === 0) current = nextGeneration();
      repeated = seenInGeneration[code] === current;
      seenInGeneration[code] = current;
    }
    if (repeated) {
      if (code === 14 || code === 15)
        throw sessionReset(
          3,
          1,
          new Uint8Array(0),
          `UPDATE: ${code === 14 ? 'MP_REACH_NLRI' : 'MP_UNREACH_NLRI'} appears more than once`,
        );
      errors = appendError(
        errors,
        new BgpDecodeError(
          3,
          1,
          body.subarray(attributeStart, end),
          'attribute-discard',
          `UPDATE: attribute ${code} repeated; the first is kept`,
        ),
      );
      continue;
    }
    // Common well-formed attributes are read in place; the rest (and every malformed one) take the
    // general path, which needs a view of the value.
    const common = decodeCommonAttribute(flags, code, body, valueStart, end, as4);
    if (common !== undefined) {
      attributes[attributeCount++] = common;
      continue;
    }
    const decoded = decodePathAttribute(flags, code, body.subarray(valueStart, end), context);
    if (decoded instanceof BgpDecodeError) errors = appendError(errors, decoded);
    else attributes[attributeCount++] = decoded;
  }
  if (attributeCount < attributes.length) attributes.length = attributeCount;

  const nlri =
    (addPathV4 ? undefined : singleIpv4Nlri(body, attributesEnd, bytes.length)) ??
    readNlri(body, attributesEnd, bytes.length, 1, addPathV4, 'UPDATE NLRI', start);
  const required = nlri.length > 0 ? MANDATORY_WITH_NLRI : seenLow & MP_REACH_BIT ? MANDATORY_MP_ONLY : 0;
  if ((seenLow & required) !== required) errors = appendMissingMandatory(errors, required & ~seenLow);
  if (errors === undefined)
    return { type: 'update', withdrawn, attributes, nlri, errors: NO_ERRORS, treatAsWithdraw: false };
  let treatAsWithdraw = false;
  for (const error of errors) if (error.action === 'treat-as-withdraw') treatAsWithdraw = true;
  return { type: 'update', withdrawn, attributes, nlri, errors, treatAsWithdraw };
}

export function updateBodyLength(update: BgpUpdate, context: BgpCodecContext): number {
  return (
    4 +
    nlriEncodedLength(update.withdrawn) +
    attributesEncodedLength(update.attributes, context) +
    nlriEncodedLength(update.nlri)
  );
}

/** Writes the UPDATE body at `offset`; returns the offset after it. */
export function encodeUpdateBody(
  update: BgpUpdate,
  context: BgpCodecContext,
  out: Uint8Array,
  offset: number,
): number {
  return encodeUpdateParts(update.withdrawn, update.attributes, update.nlri, context, out, offset);
}

/**
 * The UPDATE body of these withdrawn routes, attributes and NLRI at `offset` (the send path's form: no
 * BgpUpdate object needed); returns the offset after it. Fills in the withdrawn and attribute lengths
 * behind itself, so the body is written in one pass.
 */
export function encodeUpdateParts(
  withdrawn: readonly BgpPrefix[],
  attributes: readonly BgpPathAttribute[],
  nlri: readonly BgpPrefix[],
  context: BgpCodecContext,
  out: Uint8Array,
  offset: number,
): number {
  let at = withdrawn.length === 0 ? offset + 2 : writeNlri(out, offset + 2, withdrawn);
  const withdrawnLength = at - offset - 2;
  out[offset] = withdrawnLength >>> 8;
  out[offset + 1] = withdrawnLength;
  const attributesStart = at + 2;
  at = attributesStart;
  for (let i = 0; i < attributes.length; i++) at = writeAttribute(attributes[i]!, context, out, at);
  const attributesLength = at - attributesStart;
  out[attributesStart - 2] = attributesLength >>> 8;
  out[attributesStart - 1] = attributesLength;
  return writeNlri(out, at, nlri);
}

/** Every prefix an UPDATE announces: classic NLRI then MP_REACH_NLRI NLRI (decoded families). */
export function updateAnnounced(update: BgpUpdate): BgpPrefix[] {
  const out = [...update.nlri];
  const attributes = update.attributes;
  for (let i = 0; i < attributes.length; i++) {
    const attribute = attributes[i]!;
    if (attribute.kind === 'mp-reach') out.push(...attribute.nlri);
  }
  return out;
}

/** Every prefix an UPDATE withdraws: classic withdrawn routes then MP_UNREACH_NLRI withdrawn routes. */
export function updateWithdrawn(update: BgpUpdate): BgpPrefix[] {
  const out = [...update.withdrawn];
  const attributes = update.attributes;
  for (let i = 0; i < attributes.length; i++) {
    const attribute = attributes[i]!;
    if (attribute.kind === 'mp-unreach') out.push(...attribute.withdrawn);
  }
  return out;
}
