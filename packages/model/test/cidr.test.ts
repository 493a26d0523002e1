// IP/CIDR helpers: strict parsing, normalisation of host bits, IPv6 compression, containment and overlap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  cidrsOverlap,
  formatIp,
  normalizeCidr,
  parseCidr,
  parseCidrDetailed,
  parseIp,
} from '../src/index.js';

describe('IP parsing', () => {
  it('accepts canonical IPv4 and refuses malformed ones', () => {
    expect(parseIp('10.0.0.1')).toEqual({ version: 4, value: 0x0a000001n });
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '1.2.3.4.5', '', 'a.b.c.d'])
      expect(parseIp(bad), bad).toBeUndefined();
  });
  it('parses and compresses IPv6 like RFC 5952', () => {
    expect(formatIp(parseIp('fd00:0:0:0:0:0:0:1') as never)).toBe('fd00::1');
    expect(formatIp(parseIp('::') as never)).toBe('::');
    expect(formatIp(parseIp('2001:db8:0:1:0:0:0:0') as never)).toBe('2001:db8:0:1::');
    expect(formatIp(parseIp('1:0:1:0:1:0:1:0') as never)).toBe('1:0:1:0:1:0:1:0');
    expect(formatIp(parseIp('::ffff:10.0.0.1') as never)).toBe('::ffff:a00:1');
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', 'fffff::', ':::', '1:2:3:4:5:6:7'])
      expect(parseIp(bad), bad).toBeUndefined();
  });
  it('IPv6 format → parse round trip', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
        expect(parseIp(formatIp({ version: 6, value }))).toEqual({ version: 6, value });
      }),
    );
  });
});

describe('CIDRs', () => {
  it('normalises host bits (as Calico does) and says when it did', () => {
    expect(normalizeCidr('10.1.2.3/16')).toBe('10.1.0.0/16');
    expect(normalizeCidr('fd00:0::1/64')).toBe('fd00::/64');
    const detailed = parseCidrDetailed('10.1.2.3/16');
    expect(detailed.ok && detailed.hostBitsSet).toBe(true);
  });
  it('explains bad CIDRs', () => {
    expect(parseCidrDetailed('10.0.0.0')).toEqual({
      ok: false,
      reason: '"10.0.0.0": no prefix length (expected address/length)',
    });
    expect(parseCidrDetailed('10.0.0.0/33')).toEqual({
      ok: false,
      reason: '"10.0.0.0/33": prefix length must be 0..32 for IPv4, not 33',
    });
    expect(parseCidrDetailed('10.0.0/8')).toEqual({
      ok: false,
      reason: '"10.0.0/8": expected 4 dotted octets, got 3',
    });
  });
  it('containment and overlap', () => {
    const pool = parseCidr('10.0.0.0/16');
    expect(cidrContains(pool, parseCidr('10.0.3.0/26'))).toBe(true);
    expect(cidrContains(pool, parseCidr('10.0.0.0/8'))).toBe(false);
    expect(cidrContains(pool, parseIp('10.0.255.255') as never)).toBe(true);
    expect(cidrContains(pool, parseIp('10.1.0.0') as never)).toBe(false);
    expect(cidrContains(pool, parseCidr('fd00::/120'))).toBe(false);
    expect(cidrsOverlap(pool, parseCidr('10.0.255.0/24'))).toBe(true);
    expect(cidrsOverlap(pool, parseCidr('10.1.0.0/24'))).toBe(false);
  });
  it('overlap agrees with address-set intersection on small IPv4 prefixes', () => {
    const smallCidr = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 }))
      .map(([last, len]) => parseCidr(`10.0.0.${last}/${len}`));
    fc.assert(
      fc.property(smallCidr, smallCidr, (a, b) => {
        const addresses = (c: typeof a) =>
          Array.from({ length: 2 ** (32 - c.prefixLength) }, (_, i) => c.network + BigInt(i));
        const shared = addresses(a).some((x) => addresses(b).includes(x));
        expect(cidrsOverlap(a, b)).toBe(shared);
        expect(cidrContains(a, b)).toBe(addresses(b).every((x) => addresses(a).includes(x)));
      }),
    );
  });
});
