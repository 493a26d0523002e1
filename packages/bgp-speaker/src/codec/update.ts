// The UPDATE message (RFC 4271 §4.3) with RFC 7606 revised error handling: structural errors throw a
// session-reset BgpDecodeError; attribute-level errors are carried in `errors` (treat-as-withdraw,
// attribute-discard, afi-safi-disable) so the speaker can keep the session.

import {
  attributesEncodedLength,
  type BgpPathAttribute,
  decodePathAttribute,
  writeAttribute,
} from './attributes.js';
import { type BgpCodecContext, BgpDecodeError, hasAddPath, sessionReset, twoOctets } from './errors.js';
import { type BgpPrefix, nlriEncodedLength, readNlri, writeNlri } from './prefix.js';

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

export function makeUpdate(parts: {
  withdrawn?: readonly BgpPrefix[];
  attributes?: readonly BgpPathAttribute[];
  nlri?: readonly BgpPrefix[];
}): BgpUpdate {
  return {
    type: 'update',
    withdrawn: parts.withdrawn ?? [],
    attributes: parts.attributes ?? [],
    nlri: parts.nlri ?? [],
    errors: [],
    treatAsWithdraw: false,
  };
}

/** Attribute codes seen in the UPDATE being decoded (reused: decoding is synchronous and not re-entrant). */
const seenCodes = new Uint8Array(256);

export function decodeUpdateBody(body: Uint8Array, context: BgpCodecContext): BgpUpdate {
  const total = body.length;
  if (total < 4) throw sessionReset(3, 1, new Uint8Array(0), `UPDATE: body ${total} octets < 4`);
  const withdrawnLength = (body[0]! << 8) | body[1]!;
  if (2 + withdrawnLength + 2 > total)
    throw sessionReset(
      3,
      1,
      new Uint8Array(0),
      `UPDATE: withdrawn routes length ${withdrawnLength} overruns the message`,
    );
  const attributesStart = 4 + withdrawnLength;
  const attributesLength = (body[attributesStart - 2]! << 8) | body[attributesStart - 1]!;
  const attributesEnd = attributesStart + attributesLength;
  if (attributesEnd > total)
    throw sessionReset(
      3,
      1,
      new Uint8Array(0),
      `UPDATE: total path attribute length ${attributesLength} overruns the message (${total - attributesStart} octets left)`,
    );
  const addPathV4 = hasAddPath(context, 1, 1);
  const withdrawn = readNlri(body, 2, 2 + withdrawnLength, 1, addPathV4, 'UPDATE withdrawn routes');

  const attributes: BgpPathAttribute[] = [];
  const errors: BgpDecodeError[] = [];
  const seen = seenCodes;
  seen.fill(0);
  let at = attributesStart;
  while (at < attributesEnd) {
    const left = attributesEnd - at;
    const flags = body[at]!;
    const headerLength = flags & 0x10 ? 4 : 3;
    if (left < headerLength) {
      errors.push(
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
      errors.push(
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
    if (seen[code]) {
      if (code === 14 || code === 15)
        throw sessionReset(
          3,
          1,
          new Uint8Array(0),
          `UPDATE: ${code === 14 ? 'MP_REACH_NLRI' : 'MP_UNREACH_NLRI'} appears more than once`,
        );
      errors.push(
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
    seen[code] = 1;
    const decoded = decodePathAttribute(flags, code, body.subarray(valueStart, end), context);
    if (decoded instanceof BgpDecodeError) errors.push(decoded);
    else attributes.push(decoded);
  }

  const nlri = readNlri(body, attributesEnd, total, 1, addPathV4, 'UPDATE NLRI');
  if (nlri.length > 0 || seen[14]) {
    const required = nlri.length > 0 ? [1, 2, 3] : [1, 2];
    for (const code of required)
      if (!seen[code])
        errors.push(
          new BgpDecodeError(
            3,
            3,
            Uint8Array.of(code),
            'treat-as-withdraw',
            `UPDATE: missing well-known mandatory attribute ${code} (${code === 1 ? 'ORIGIN' : code === 2 ? 'AS_PATH' : 'NEXT_HOP'})`,
          ),
        );
  }
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
  let at = writeNlri(out, offset + 2, update.withdrawn);
  const withdrawnLength = at - offset - 2;
  out[offset] = withdrawnLength >>> 8;
  out[offset + 1] = withdrawnLength;
  const attributesStart = at + 2;
  at = attributesStart;
  for (const attribute of update.attributes) at = writeAttribute(attribute, context, out, at);
  const attributesLength = at - attributesStart;
  out.set(twoOctets(attributesLength), attributesStart - 2);
  return writeNlri(out, at, update.nlri);
}

/** Every prefix an UPDATE announces: classic NLRI then MP_REACH_NLRI NLRI (decoded families). */
export function updateAnnounced(update: BgpUpdate): BgpPrefix[] {
  const out = [...update.nlri];
  for (const attribute of update.attributes) if (attribute.kind === 'mp-reach') out.push(...attribute.nlri);
  return out;
}

/** Every prefix an UPDATE withdraws: classic withdrawn routes then MP_UNREACH_NLRI withdrawn routes. */
export function updateWithdrawn(update: BgpUpdate): BgpPrefix[] {
  const out = [...update.withdrawn];
  for (const attribute of update.attributes)
    if (attribute.kind === 'mp-unreach') out.push(...attribute.withdrawn);
  return out;
}
