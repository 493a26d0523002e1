// Encoder packing: turns one attribute set plus many announced and withdrawn prefixes into as few UPDATEs
// as possible, each filled up to the negotiated maximum length. The shared attribute block is encoded once
// and its bytes copied into every message; IPv4 goes in the classic NLRI/withdrawn fields, IPv6 in
// MP_REACH_NLRI / MP_UNREACH_NLRI (placed first, RFC 7606 §5.1).

import { type BgpPathAttribute, encodeAttributes } from './attributes.js';
import { type BgpCodecContext, BgpEncodeError, maxMessageLength } from './errors.js';
import { type BgpPrefix, prefixEncodedLength, writeNlri } from './prefix.js';

export interface UpdatePackingInput {
  /** Attributes shared by every announced prefix (no MP_REACH/MP_UNREACH; they are built here). */
  readonly attributes: readonly BgpPathAttribute[];
  readonly announced?: readonly BgpPrefix[];
  readonly withdrawn?: readonly BgpPrefix[];
  /** Next hop bytes for IPv6 announcements (16 or 32 octets); required when IPv6 prefixes are announced. */
  readonly ipv6NextHop?: Uint8Array;
}

function header(out: Uint8Array): void {
  out.fill(0xff, 0, 16);
  out[16] = out.length >>> 8;
  out[17] = out.length & 0xff;
  out[18] = 2;
}

/** Splits prefixes[from..] into the longest run whose NLRI fits `room` octets. Returns [end, octets]. */
function fit(prefixes: readonly BgpPrefix[], from: number, room: number): [number, number] {
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
  return [at, used];
}

/** The UPDATE messages (header included) carrying the input; order: withdrawals first, then announcements. */
export function packUpdates(input: UpdatePackingInput, context: BgpCodecContext): Uint8Array[] {
  const max = maxMessageLength(context);
  const messages: Uint8Array[] = [];
  const announced = input.announced ?? [];
  const withdrawn = input.withdrawn ?? [];
  const v4Withdrawn = withdrawn.filter((prefix) => prefix.afi === 1);
  const v6Withdrawn = withdrawn.filter((prefix) => prefix.afi === 2);
  const v4Announced = announced.filter((prefix) => prefix.afi === 1);
  const v6Announced = announced.filter((prefix) => prefix.afi === 2);

  // Classic IPv4 withdrawals: header, withdrawn length, withdrawn, attribute length 0.
  for (let from = 0; from < v4Withdrawn.length; ) {
    const [end, octets] = fit(v4Withdrawn, from, max - 23);
    const out = new Uint8Array(23 + octets);
    header(out);
    out[19] = octets >>> 8;
    out[20] = octets & 0xff;
    writeNlri(out, 21, v4Withdrawn.slice(from, end));
    messages.push(out);
    from = end;
  }
  // IPv6 withdrawals: one MP_UNREACH_NLRI (extended length, flags 0x90) per message.
  for (let from = 0; from < v6Withdrawn.length; ) {
    const [end, octets] = fit(v6Withdrawn, from, max - 23 - 4 - 3);
    const valueLength = 3 + octets;
    const out = new Uint8Array(23 + 4 + valueLength);
    header(out);
    out[21] = (4 + valueLength) >>> 8;
    out[22] = (4 + valueLength) & 0xff;
    out.set([0x90, 15, valueLength >>> 8, valueLength & 0xff, 0, 2, 1], 23);
    writeNlri(out, 30, v6Withdrawn.slice(from, end));
    messages.push(out);
    from = end;
  }
  if (v4Announced.length === 0 && v6Announced.length === 0) return messages;
  const block = encodeAttributes(input.attributes, context);

  for (let from = 0; from < v4Announced.length; ) {
    const [end, octets] = fit(v4Announced, from, max - 23 - block.length);
    const out = new Uint8Array(23 + block.length + octets);
    header(out);
    out[21] = block.length >>> 8;
    out[22] = block.length & 0xff;
    out.set(block, 23);
    writeNlri(out, 23 + block.length, v4Announced.slice(from, end));
    messages.push(out);
    from = end;
  }
  if (v6Announced.length > 0) {
    const nextHop = input.ipv6NextHop;
    if (nextHop === undefined || (nextHop.length !== 16 && nextHop.length !== 32))
      throw new BgpEncodeError('packUpdates: IPv6 announcements need ipv6NextHop of 16 or 32 octets');
    const fixed = 4 + 5 + nextHop.length; // attribute header (extended length) + AFI/SAFI/NH length/NH/reserved
    for (let from = 0; from < v6Announced.length; ) {
      const [end, octets] = fit(v6Announced, from, max - 23 - block.length - fixed);
      const valueLength = 5 + nextHop.length + octets;
      const attributesLength = 4 + valueLength + block.length;
      const out = new Uint8Array(23 + attributesLength);
      header(out);
      out[21] = attributesLength >>> 8;
      out[22] = attributesLength & 0xff;
      out.set([0x90, 14, valueLength >>> 8, valueLength & 0xff, 0, 2, 1, nextHop.length], 23);
      out.set(nextHop, 31);
      out[31 + nextHop.length] = 0;
      const nlriEnd = writeNlri(out, 32 + nextHop.length, v6Announced.slice(from, end));
      out.set(block, nlriEnd);
      messages.push(out);
      from = end;
    }
  }
  return messages;
}
