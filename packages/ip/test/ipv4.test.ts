// IPv4: round trips over every 32-bit value, agreement with node's own parser (net.isIPv4) on generated
// dotted texts, canonical output, masks, and the exact error texts.
import { isIPv4 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv4, IpParseError, ipv4Mask, ipv4Problem, parseIpv4, scanIpv4 } from '../src/index.js';
import { expectParseErrors, expectRoundTrips } from './expect-ip.js';

const uint32 = fc.integer({ min: 0, max: 0xffffffff });

/** Dotted texts, mostly near-valid: octets with leading zeros, over 255, empty, not digits, 3 or 5 parts. */
const dottedText = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }).map(String),
      fc.integer({ min: 0, max: 99 }).map((n) => `0${n}`),
      fc.integer({ min: 256, max: 99999 }).map(String),
      fc.constantFrom('', 'a', '1a', ' 1', '+1', '-1', '0x1'),
    ),
    { minLength: 3, maxLength: 5 },
  )
  .map((octets) => octets.join('.'));

describe('IPv4', () => {
  it('parse(format(x)) === x for every 32-bit value, and the text is the canonical dotted quad', () => {
    expectRoundTrips(uint32, formatIpv4, parseIpv4, (value, text) => {
      const octets = [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
      expect(text).toBe(octets.join('.'));
    });
    for (const value of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff])
      expect(parseIpv4(formatIpv4(value))).toBe(value);
  });

  it('accepts exactly what node accepts as IPv4 (net.isIPv4), with the value of its octets', () => {
    fc.assert(
      fc.property(dottedText, (text) => {
        const value = scanIpv4(text, 0, text.length);
        expect(value >= 0, text).toBe(isIPv4(text));
        expect(ipv4Problem(text, 0, text.length) === undefined, text).toBe(isIPv4(text));
        if (value >= 0)
          expect(value).toBe(text.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0));
        else expect(() => parseIpv4(text)).toThrow(IpParseError);
      }),
      { numRuns: 5000 },
    );
  });

  it('scans a range of a longer text', () => {
    expect(scanIpv4('x10.1.2.3/24', 1, 9)).toBe(0x0a010203);
    expect(scanIpv4('x10.1.2.3/24', 1, 10)).toBe(-1);
  });

  it('names the octet and the problem', () => {
    expectParseErrors(parseIpv4, [
      '"10.0.0.300": octet 4 is 300, more than 255',
      '"10.0.0": expected 4 dotted octets, got 3',
      '"1.2.3.4.5": expected 4 dotted octets, got 5',
      '"10..0.1": octet 2 is empty',
      '"10.0.x.1": octet 3 "x" is not a decimal number',
      '"010.0.0.1": octet 1 "010" has a leading zero (ambiguous: inet_aton reads it as octal)',
      '"": the address is empty',
    ]);
    expect(() => parseIpv4('1.2.3.256')).toThrow(
      expect.objectContaining({ input: '1.2.3.256', reason: 'octet 4 is 256, more than 255' }),
    );
  });

  it('masks', () => {
    expect(ipv4Mask(0)).toBe(0);
    expect(ipv4Mask(8)).toBe(0xff000000);
    expect(ipv4Mask(31)).toBe(0xfffffffe);
    expect(ipv4Mask(32)).toBe(0xffffffff);
    expect(ipv4Mask(33)).toBe(0);
  });
});
