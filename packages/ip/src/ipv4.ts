// IPv4 addresses as unsigned 32-bit numbers: a quick scanner for canonical dotted quads, the reason a text
// is not one (only computed on failure), parsing, formatting and prefix masks.

import { IpParseError } from './errors.js';

const DOT = 46;
const DIGIT_ZERO = 48;

/**
 * The value of the canonical dotted quad in text[start, end) (four decimal octets 0..255, no leading
 * zeros), as an unsigned 32-bit number; -1 when it is not one. Allocates nothing.
 */
export function scanIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === DOT) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
      continue;
    }
    const digit = code - DIGIT_ZERO;
    if (digit < 0 || digit > 9) return -1;
    if (digits === 1 && octet === 0) return -1; // a leading zero
    octet = octet * 10 + digit;
    if (octet > 255) return -1;
    digits++;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/**
 * Why text[start, end) is not a canonical dotted quad (the first problem, octets counted from 1), or
 * undefined when it is one. The slow path behind scanIpv4's -1.
 */
export function ipv4Problem(text: string, start: number, end: number): string | undefined {
  const body = text.slice(start, end);
  if (body === '') return 'the address is empty';
  const octets = body.split('.');
  if (octets.length !== 4) return `expected 4 dotted octets, got ${octets.length}`;
  for (let index = 0; index < 4; index++) {
    const octet = octets[index]!;
    const which = `octet ${index + 1}`;
    if (octet === '') return `${which} is empty`;
    if (!/^[0-9]+$/.test(octet)) return `${which} ${JSON.stringify(octet)} is not a decimal number`;
    if (octet.length > 1 && octet.startsWith('0'))
      return `${which} "${octet}" has a leading zero (ambiguous: inet_aton reads it as octal)`;
    if (Number(octet) > 255) return `${which} is ${octet}, more than 255`;
  }
  return undefined;
}

/** Parses a dotted quad ("10.0.0.1") into an unsigned 32-bit number; throws IpParseError naming the problem. */
export function parseIpv4(text: string): number {
  const value = scanIpv4(text, 0, text.length);
  if (value < 0) throw new IpParseError(text, ipv4Problem(text, 0, text.length) ?? 'not an IPv4 address');
  return value;
}

/** The dotted quad of an unsigned 32-bit number (0x0a000001 → "10.0.0.1"). */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

const IPV4_MASKS = new Uint32Array(33);
for (let length = 1; length <= 32; length++) IPV4_MASKS[length] = (0xffffffff << (32 - length)) >>> 0;

/** The netmask of a prefix length 0..32 as an unsigned 32-bit number (24 → 0xffffff00); 0 outside 0..32. */
export function ipv4Mask(length: number): number {
  return IPV4_MASKS[length] ?? 0;
}
