// CIDRs of both families: parse(format(x)) === x for every prefix, host-bit handling, bare addresses,
// containment and overlap against address-set arithmetic, and the exact error texts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalCidr,
  cidrContainsCidr,
  cidrContainsIp,
  cidrLast,
  cidrSize,
  cidrsOverlap,
  compareCidr,
  compareIp,
  formatCidr,
  formatIp,
  formatIpv4,
  formatIpv6,
  type IpAddress,
  type IpCidr,
  ipFromBytes,
  ipToBytes,
  ipVersionOf,
  parseAddressWithLength,
  parseCidr,
  parseIp,
  parseIpBytes,
  parseIpv4Cidr,
  parseIpv6Cidr,
  prefixMask,
} from '../src/index.js';
import { expectParseErrors, expectRoundTrips } from './expect-ip.js';

const ipv4Cidr: fc.Arbitrary<IpCidr> = fc
  .tuple(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), fc.integer({ min: 0, max: 32 }))
  .map(([value, length]) => ({ version: 4, network: value & prefixMask(4, length), length }));
const ipv6Cidr: fc.Arbitrary<IpCidr> = fc
  .tuple(
    fc.array(fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 0xffffn })), { minLength: 8, maxLength: 8 }),
    fc.integer({ min: 0, max: 128 }),
  )
  .map(([groups, length]) => {
    const value = groups.reduce((sum, group) => (sum << 16n) | group, 0n);
    return { version: 6, network: value & prefixMask(6, length), length };
  });
const anyCidr = fc.oneof(ipv4Cidr, ipv6Cidr);

describe('CIDR parse and format', () => {
  it('parse(format(x)) === x for every IPv4 and IPv6 prefix; format is canonical', () => {
    expectRoundTrips(
      anyCidr,
      formatCidr,
      (text) => parseCidr(text),
      (cidr, text) => {
        expect(canonicalCidr(text)).toBe(text);
        const [address, length] = text.split('/') as [string, string];
        expect(formatIp(parseIp(address))).toBe(address);
        expect(Number(length)).toBe(cidr.length);
      },
    );
  });

  it('the number and byte parsers agree with the bigint one', () => {
    fc.assert(
      fc.property(anyCidr, (cidr) => {
        const text = formatCidr(cidr);
        if (cidr.version === 4) {
          const parsed = parseIpv4Cidr(text);
          expect(BigInt(parsed.address)).toBe(cidr.network);
          expect(`${formatIpv4(parsed.address)}/${parsed.length}`).toBe(text);
          expect(() => parseIpv6Cidr(text)).toThrow('an IPv4 CIDR where IPv6 is expected');
        } else {
          const parsed = parseIpv6Cidr(text);
          expect(parsed.address).toEqual(ipToBytes({ version: 6, value: cidr.network }));
          expect(`${formatIpv6(parsed.address)}/${parsed.length}`).toBe(text);
          expect(() => parseIpv4Cidr(text)).toThrow('an IPv6 CIDR where IPv4 is expected');
        }
        expect(parseCidr(text).length).toBe(cidr.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('clears host bits on request, and reads an address with its length as written', () => {
    expect(formatCidr(parseCidr('10.1.2.3/16', { hostBits: 'clear' }))).toBe('10.1.0.0/16');
    expect(formatCidr(parseCidr('FD00:0::1/64', { hostBits: 'clear' }))).toBe('fd00::/64');
    expect(parseIpv4Cidr('10.1.2.3/16', { hostBits: 'clear' })).toEqual({ address: 0x0a010000, length: 16 });
    expect(formatIpv6(parseIpv6Cidr('fd00::ff:ffff/119', { hostBits: 'clear' }).address)).toBe(
      'fd00::ff:fe00',
    );
    expect(parseAddressWithLength('10.0.0.5/24')).toEqual({
      address: { version: 4, value: 0x0a000005n },
      length: 24,
    });
  });

  it('takes a bare address as its host route only when allowed', () => {
    expect(canonicalCidr('10.0.0.1', { allowBareAddress: true })).toBe('10.0.0.1/32');
    expect(canonicalCidr('2001:DB8::1', { allowBareAddress: true })).toBe('2001:db8::1/128');
    expect(parseIpv4Cidr('10.0.0.1', { allowBareAddress: true })).toEqual({
      address: 0x0a000001,
      length: 32,
    });
    expect(parseIpv6Cidr('::1', { allowBareAddress: true }).length).toBe(128);
    for (const parse of [parseCidr, parseIpv4Cidr, canonicalCidr])
      expect(() => parse('10.0.0.1')).toThrow('"10.0.0.1": no prefix length (expected address/length)');
    expect(() => parseIpv6Cidr('::1')).toThrow('"::1": no prefix length (expected address/length)');
  });

  it('names what is wrong, the same in the bigint and the number/byte parsers', () => {
    const ipv4Messages = [
      '"10.0.0.300/24": octet 4 is 300, more than 255',
      '"10.0.0.1/24": host bits set beyond /24 (the network is 10.0.0.0/24)',
      '"10.0.0.0/33": prefix length must be 0..32 for IPv4, not 33',
      '"10.0.0.0/": the prefix length after "/" is empty',
      '"10.0.0.0/8/8": prefix length "8/8" is not a decimal number',
      '"10.0.0.0/-1": prefix length "-1" is not a decimal number',
      '"10.0.0/8": expected 4 dotted octets, got 3',
      '"banana/8": not an IPv4 (a.b.c.d) or IPv6 (x:x::x) address',
      '"/8": the address is empty',
    ];
    const ipv6Messages = [
      '"fd00::1/64": host bits set beyond /64 (the network is fd00::/64)',
      '"fd00::/129": prefix length must be 0..128 for IPv6, not 129',
      '"1::2::3/64": more than one "::"',
    ];
    expectParseErrors((text) => parseCidr(text), [...ipv4Messages, ...ipv6Messages]);
    expectParseErrors((text) => parseIpv4Cidr(text), ipv4Messages);
    expectParseErrors((text) => parseIpv6Cidr(text), ipv6Messages);
  });
});

describe('addresses of either family', () => {
  it('bytes round trip and version', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ minLength: 4, maxLength: 4 }),
          fc.uint8Array({ minLength: 16, maxLength: 16 }),
        ),
        (bytes) => {
          const address = ipFromBytes(bytes);
          expect(ipToBytes(address)).toEqual(bytes);
          const text = formatIp(address);
          expect(parseIpBytes(text)).toEqual(bytes);
          expect(ipVersionOf(text)).toBe(bytes.length === 4 ? 4 : 6);
        },
      ),
    );
    expect(() => ipFromBytes(new Uint8Array(5))).toThrow('an IP address has 4 or 16 bytes, not 5');
  });
});

describe('containment and overlap', () => {
  /** Small IPv4 prefixes inside 10.0.0.0/24, so that their address sets can be listed. */
  const small = fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 }))
    .map(([last, length]) => parseCidr(`10.0.0.${last}/${length}`, { hostBits: 'clear' }));
  const addresses = (cidr: IpCidr) =>
    Array.from({ length: Number(cidrSize(cidr)) }, (_, i) => cidr.network + BigInt(i));

  it('agree with address-set arithmetic', () => {
    fc.assert(
      fc.property(small, small, fc.integer({ min: 0, max: 255 }), (a, b, last) => {
        const inA = addresses(a);
        const inB = addresses(b);
        expect(cidrsOverlap(a, b)).toBe(inB.some((x) => inA.includes(x)));
        expect(cidrContainsCidr(a, b)).toBe(inB.every((x) => inA.includes(x)));
        const address = parseIp(`10.0.0.${last}`);
        expect(cidrContainsIp(a, address)).toBe(inA.includes(address.value));
        expect(cidrLast(a)).toBe(inA[inA.length - 1]);
      }),
    );
  });

  it('never hold across families', () => {
    const v4 = parseCidr('0.0.0.0/0');
    const v6 = parseCidr('::/0');
    expect(cidrsOverlap(v4, v6)).toBe(false);
    expect(cidrContainsCidr(v6, parseCidr('::/96'))).toBe(true);
    expect(cidrContainsCidr(v6, v4)).toBe(false);
    expect(cidrContainsIp(v6, parseIp('10.0.0.1'))).toBe(false);
    expect(cidrSize(v6)).toBe(1n << 128n);
  });
});

describe('ordering', () => {
  const ipv4: fc.Arbitrary<IpAddress> = fc
    .bigInt({ min: 0n, max: (1n << 32n) - 1n })
    .map((value) => ({ version: 4, value }));
  const ipv6: fc.Arbitrary<IpAddress> = fc
    .bigInt({ min: 0n, max: (1n << 128n) - 1n })
    .map((value) => ({ version: 6, value }));

  it('compareIp sorts IPv4 before IPv6, then numerically: as the 17-byte key (version, 16 value bytes)', () => {
    const key = (address: IpAddress): string =>
      `${address.version}${address.value.toString(16).padStart(32, '0')}`;
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6), fc.oneof(ipv4, ipv6), (a, b) => {
        const expected = key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
        expect(Math.sign(compareIp(a, b))).toBe(expected);
        expect(Math.sign(compareIp(b, a)) + expected).toBe(0);
      }),
      { numRuns: 5000 },
    );
    const texts = ['fd00::1', '10.0.0.10', '::', '10.0.0.9', '255.255.255.255', '0.0.0.0', '::ffff:0.0.0.1'];
    expect(texts.map(parseIp).sort(compareIp).map(formatIp)).toEqual([
      '0.0.0.0',
      '10.0.0.9',
      '10.0.0.10',
      '255.255.255.255',
      '::',
      '::ffff:0:1',
      'fd00::1',
    ]);
  });

  it('compareCidr sorts IPv4 before IPv6, then by network, then shorter first', () => {
    fc.assert(
      fc.property(fc.oneof(ipv4Cidr, ipv6Cidr), fc.oneof(ipv4Cidr, ipv6Cidr), (a, b) => {
        const expected =
          a.version !== b.version
            ? a.version - b.version
            : a.network !== b.network
              ? a.network < b.network
                ? -1
                : 1
              : a.length - b.length;
        expect(Math.sign(compareCidr(a, b))).toBe(Math.sign(expected));
        expect(compareCidr(a, a)).toBe(0);
      }),
      { numRuns: 5000 },
    );
    const texts = [
      '10.0.1.0/24',
      'fd00::/8',
      '10.0.0.0/24',
      '10.0.0.0/8',
      '9.255.0.0/16',
      '::/0',
      '10.0.0.0/32',
    ];
    expect(
      texts
        .map((text) => parseCidr(text))
        .sort(compareCidr)
        .map(formatCidr),
    ).toEqual([
      '9.255.0.0/16',
      '10.0.0.0/8',
      '10.0.0.0/24',
      '10.0.0.0/32',
      '10.0.1.0/24',
      '::/0',
      'fd00::/8',
    ]);
  });
});
