// Per-run IPv6 unique local prefixes for lab tests, so that runs on one machine never share addresses:
// a random /48 under fd00::/8 written in canonical text, ready for the caller to append groups to.

import { randomBytes } from 'node:crypto';

/**
 * The first three groups of a random ULA /48, canonical (`fd3c:1a7:9e1`). No group is zero, so an address
 * or prefix built by appending groups (`${ula}:ffff::2`, `${ula}::/64`) stays in the canonical form the
 * kernel and @caracal/ip print: a zero group could be compressed into `::` and the texts would differ.
 */
export function perRunUla48(): string {
  const group = () => (randomBytes(2).readUInt16BE(0) | 1).toString(16);
  return `fd${randomBytes(1).toString('hex')}:${group()}:${group()}`;
}
