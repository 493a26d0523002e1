// IPv6 addresses as 16 bytes: parsing of every RFC 4291 §2.2 text form ("::" compression, an embedded
// IPv4 tail) with the exact problem named, and canonical RFC 5952 formatting.

import { IpParseError } from './errors.js';
import { ipv4Problem, scanIpv4 } from './ipv4.js';

const HEX_GROUP = /^[0-9A-Fa-f]+$/;

const COLON = 58;
const DOT = 46;

/**
 * Reads the IPv6 address in text[start, end) into `into` (16 bytes); false when it is not one (then `into`
 * holds garbage). Allocates nothing: the quick path, with ipv6Problem saying why on failure.
 */
export function scanIpv6(text: string, start: number, end: number, into: Uint8Array): boolean {
  if (start === end) return false;
  let groups = 0;
  let compressAt = -1;
  let i = start;
  if (text.charCodeAt(i) === COLON) {
    if (end - i < 2 || text.charCodeAt(i + 1) !== COLON) return false;
    compressAt = 0;
    i += 2;
  }
  // Here a group starts at i, or i === end right after "::".
  while (i < end) {
    const groupStart = i;
    let value = 0;
    for (; i < end; i++) {
      const code = text.charCodeAt(i);
      let digit: number;
      if (code >= 48 && code <= 57) digit = code - 48;
      else if (code >= 97 && code <= 102) digit = code - 87;
      else if (code >= 65 && code <= 70) digit = code - 55;
      else break;
      value = value * 16 + digit;
    }
    const digits = i - groupStart;
    if (i < end && text.charCodeAt(i) === DOT) {
      // An embedded IPv4 address: it runs to the end of the text.
      const embedded = groups <= 6 ? scanIpv4(text, groupStart, end) : -1;
      if (embedded < 0) return false;
      into[groups * 2] = embedded >>> 24;
      into[groups * 2 + 1] = (embedded >>> 16) & 0xff;
      into[groups * 2 + 2] = (embedded >>> 8) & 0xff;
      into[groups * 2 + 3] = embedded & 0xff;
      groups += 2;
      break;
    }
    if (digits === 0 || digits > 4 || groups === 8) return false;
    into[groups * 2] = value >>> 8;
    into[groups * 2 + 1] = value & 0xff;
    groups++;
    if (i === end) break;
    if (text.charCodeAt(i) !== COLON) return false;
    i++;
    if (i < end && text.charCodeAt(i) === COLON) {
      if (compressAt >= 0) return false;
      compressAt = groups;
      i++;
    } else if (i === end) {
      return false; // a trailing single ":"
    }
  }
  if (compressAt < 0) return groups === 8;
  if (groups > 7) return false;
  const tailGroups = groups - compressAt;
  into.copyWithin(16 - tailGroups * 2, compressAt * 2, groups * 2);
  into.fill(0, compressAt * 2, 16 - tailGroups * 2);
  return true;
}

/**
 * Why text[start, end) is not an IPv6 address (the first problem, groups counted from 1 in the order
 * written), or undefined when it is one. The slow path behind scanIpv6's false.
 */
export function ipv6Problem(text: string, start: number, end: number): string | undefined {
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
  let groups = 0;
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
      groups += 2;
    } else if (piece === '') {
      return `${which} is empty`;
    } else if (!HEX_GROUP.test(piece)) {
      return `${which} ${JSON.stringify(piece)} is not hexadecimal`;
    } else if (piece.length > 4) {
      return `${which} "${piece}" has ${piece.length} hex digits, at most 4`;
    } else {
      groups++;
    }
  }
  if (compression < 0 && groups !== 8)
    return `${groups} groups, expected 8 (or fewer with "::" for a run of zero groups)`;
  if (compression >= 0 && groups > 7)
    return `${groups} groups and "::", which must stand for at least one zero group`;
  return undefined;
}

/**
 * Reads the IPv6 address in text[start, end) into `into` (16 bytes); undefined when it is one, else why
 * it is not.
 */
export function readIpv6(text: string, start: number, end: number, into: Uint8Array): string | undefined {
  if (scanIpv6(text, start, end, into)) return undefined;
  return ipv6Problem(text, start, end) ?? 'not an IPv6 address';
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

/**
 * Whether an IPv6 address in canonical text is link-local (fe80::/10: the first group is fe80..febf).
 * Canonical text (formatIpv6, formatIp) is lower case with no leading zeros, which the check relies on.
 */
export function isIpv6LinkLocal(canonicalAddress: string): boolean {
  return /^fe[89ab][0-9a-f]:/.test(canonicalAddress);
}
