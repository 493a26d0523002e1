// IPv6 addresses as 16 bytes: parsing of every RFC 4291 §2.2 text form ("::" compression, an embedded
// IPv4 tail) with the exact problem named, and canonical RFC 5952 formatting.

import { IpParseError } from './errors.js';
import { ipv4Problem, scanIpv4 } from './ipv4.js';

const HEX_GROUP = /^[0-9A-Fa-f]+$/;

/**
 * Why text[start, end) is not an IPv6 address, or undefined when it is one; when it is, its bytes are
 * written to `into` (16 bytes). Groups are counted from 1 in the order written.
 */
export function readIpv6(text: string, start: number, end: number, into: Uint8Array): string | undefined {
  const body = text.slice(start, end);
  if (body === '') return 'the address is empty';
  if (body.includes(':::')) return 'three colons in a row';
  const compression = body.indexOf('::');
  if (compression >= 0 && body.indexOf('::', compression + 1) >= 0) return 'more than one "::"';
  const head = compression < 0 ? body : body.slice(0, compression);
  const tail = compression < 0 ? '' : body.slice(compression + 2);
  const headPieces = head === '' ? [] : head.split(':');
  const tailPieces = tail === '' ? [] : tail.split(':');
  const pieces = headPieces.concat(tailPieces);
  const groups: number[] = [];
  for (let index = 0; index < pieces.length; index++) {
    const piece = pieces[index]!;
    const which = `group ${index + 1}`;
    if (piece.includes('.')) {
      const endsTheAddress = index === pieces.length - 1 && (compression < 0 || tailPieces.length > 0);
      if (!endsTheAddress)
        return `${which} "${piece}" is an IPv4 address, which may only end an IPv6 address`;
      const embedded = scanIpv4(piece, 0, piece.length);
      if (embedded < 0)
        return `embedded IPv4 address "${piece}": ${ipv4Problem(piece, 0, piece.length) ?? 'invalid'}`;
      groups.push(embedded >>> 16, embedded & 0xffff);
    } else if (piece === '') {
      return `${which} is empty`;
    } else if (!HEX_GROUP.test(piece)) {
      return `${which} ${JSON.stringify(piece)} is not hexadecimal`;
    } else if (piece.length > 4) {
      return `${which} "${piece}" has ${piece.length} hex digits, at most 4`;
    } else {
      groups.push(Number.parseInt(piece, 16));
    }
  }
  if (compression < 0 && groups.length !== 8)
    return `${groups.length} groups, expected 8 (or fewer with "::" for a run of zero groups)`;
  if (compression >= 0 && groups.length > 7)
    return `${groups.length} groups and "::", which must stand for at least one zero group`;
  const tailGroups = compression < 0 ? 0 : tailPieces.length + (tail.includes('.') ? 1 : 0);
  into.fill(0);
  for (let index = 0; index < groups.length; index++) {
    const slot = index < groups.length - tailGroups ? index : 8 - (groups.length - index);
    const group = groups[index]!;
    into[slot * 2] = group >>> 8;
    into[slot * 2 + 1] = group & 0xff;
  }
  return undefined;
}

/** Parses an IPv6 address ("2001:db8::1", "::ffff:10.0.0.1") into 16 bytes; throws IpParseError naming the problem. */
export function parseIpv6(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  const problem = readIpv6(text, 0, text.length, bytes);
  if (problem !== undefined) throw new IpParseError(text, problem);
  return bytes;
}

/**
 * The canonical RFC 5952 text of 16 bytes: lower-case hex, no leading zeros, the longest run of two or
 * more zero groups (the first of equal runs) written "::". An IPv4-mapped tail is written in hex too
 * (::ffff:a00:1), so every address has exactly one text.
 */
export function formatIpv6(bytes: Uint8Array): string {
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let group = 0; group < 8; group++) {
    if (bytes[group * 2] === 0 && bytes[group * 2 + 1] === 0) {
      if (runStart < 0) runStart = group;
      if (group - runStart + 1 > bestLength) {
        bestStart = runStart;
        bestLength = group - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  let text = '';
  for (let group = 0; group < 8; group++) {
    if (group === bestStart) {
      text += group === 0 ? '::' : ':';
      group += bestLength - 1;
      continue;
    }
    text += (((bytes[group * 2] ?? 0) << 8) | (bytes[group * 2 + 1] ?? 0)).toString(16);
    if (group < 7) text += ':';
  }
  return text;
}
