// Unit tests of address and CIDR parsing/formatting (canonical forms, host bits, errors), and of
// parseCidr's quick IPv4 path against an independent reading of the text on generated inputs.
import { isIPv4 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressToBytes, bytesToAddress, canonicalCidr, parseCidr } from '../src/address.js';

describe('addresses', () => {
  it('round-trips IPv4 and IPv6 in canonical form', () => {
    for (const a of [
      '10.0.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '2001:db8::1',
      '::',
      '::1',
      'fe80::1:2',
      '1:0:0:1::1',
    ]) {
      expect(bytesToAddress(addressToBytes(a))).toBe(a);
    }
    expect(bytesToAddress(addressToBytes('2001:0db8:0000:0000:0000:0000:0000:0001'))).toBe('2001:db8::1');
    expect(bytesToAddress(addressToBytes('1:0:0:2:0:0:0:3'))).toBe('1:0:0:2::3');
    expect(bytesToAddress(addressToBytes('::ffff:1.2.3.4'))).toBe('::ffff:102:304');
  });

  it('parses CIDRs and refuses host bits and bad lengths with the reason', () => {
    expect(parseCidr('10.65.0.64/26')).toEqual({ family: 4, address: '10.65.0.64', length: 26 });
    expect(canonicalCidr('2001:DB8::/32')).toBe('2001:db8::/32');
    expect(canonicalCidr('10.0.0.1')).toBe('10.0.0.1/32');
    expect(() => parseCidr('10.65.0.65/26')).toThrow(
      '"10.65.0.65/26": host bits set beyond /26 (the network is 10.65.0.64/26)',
    );
    expect(() => parseCidr('10.0.0.0/33')).toThrow(
      '"10.0.0.0/33": prefix length must be 0..32 for IPv4, not 33',
    );
    expect(() => parseCidr('10.0.0/8')).toThrow('"10.0.0/8": expected 4 dotted octets, got 3');
  });

  it('parses IPv4 CIDRs, canonical or not, as an independent reading of the text says', () => {
    const octet = fc.oneof(
      fc.integer({ min: 0, max: 255 }).map(String),
      fc.integer({ min: 0, max: 99 }).map((n) => `0${n}`), // leading zero: not canonical
      fc.integer({ min: 256, max: 999 }).map(String),
    );
    const lengthText = fc.oneof(
      fc.integer({ min: 0, max: 32 }).map(String),
      fc.integer({ min: 0, max: 9 }).map((n) => `0${n}`),
      fc.integer({ min: 33, max: 200 }).map(String),
      fc.constant(''),
    );
    fc.assert(
      fc.property(
        fc.array(octet, { minLength: 4, maxLength: 4 }),
        fc.option(lengthText),
        (octets, length) => {
          const address = octets.join('.');
          const text = length === null ? address : `${address}/${length}`;
          // The oracle: node's isIPv4 for the address, then integer arithmetic on its octets.
          let expected: { family: 4; address: string; length: number } | 'error';
          const bits = length === null ? 32 : /^\d+$/.test(length) ? Number(length) : Number.NaN;
          if (!isIPv4(address) || !(bits >= 0 && bits <= 32)) {
            expected = 'error';
          } else {
            const value = octets.reduce((sum, o) => sum * 256 + Number(o), 0);
            const hostBits = bits === 32 ? 0 : value % 2 ** (32 - bits);
            expected =
              hostBits === 0 ? { family: 4, address: octets.map(Number).join('.'), length: bits } : 'error';
          }
          let actual: unknown;
          try {
            actual = parseCidr(text);
          } catch (error) {
            expect((error as Error).name).toBe('AddressError');
            actual = 'error';
          }
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
