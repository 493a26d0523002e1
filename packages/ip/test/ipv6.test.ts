// IPv6: round trips over random 128-bit values with zero runs, canonical RFC 5952 text checked against
// the WHATWG URL host serializer built into node, parsing checked against the URL parser on generated
// texts (compressed, upper case, embedded IPv4, malformed), and the exact error texts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv6, ipv6Problem, isIpv6LinkLocal, parseIpv6, readIpv6, scanIpv6 } from '../src/index.js';
import { expectParseErrors, expectRoundTrips } from './expect-ip.js';

/** 16 bytes made of groups that are often zero, so that zero runs of every length and position occur. */
const ipv6Bytes = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8,
  })
  .map((groups) => {
    const bytes = new Uint8Array(16);
    groups.forEach((group, index) => {
      bytes[index * 2] = group >>> 8;
      bytes[index * 2 + 1] = group & 0xff;
    });
    return bytes;
  });

/** The address as node's WHATWG URL parser reads it, in its canonical text; undefined when it refuses. */
function urlCanonical(text: string): string | undefined {
  try {
    const host = new URL(`http://[${text}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return undefined;
  }
}

const fullForm = (bytes: Uint8Array) =>
  Array.from({ length: 8 }, (_, i) =>
    (((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0)).toString(16),
  ).join(':');

describe('IPv6', () => {
  it('parse(format(x)) equals x, and format is canonical RFC 5952 (as the URL serializer writes it)', () => {
    expectRoundTrips(ipv6Bytes, formatIpv6, parseIpv6, (bytes, text) => {
      expect(text).toBe(urlCanonical(fullForm(bytes)));
      expect(text).toBe(text.toLowerCase());
      expect(text).not.toMatch(/(^|:)0[0-9a-f]/); // no leading zeros
    });
  });

  it('RFC 5952 examples: longest run, the first of equal runs, never a single zero group', () => {
    const canonicalOf: Record<string, string> = {
      '2001:db8:0:0:0:0:2:1': '2001:db8::2:1',
      '2001:db8:0:1:1:1:1:1': '2001:db8:0:1:1:1:1:1',
      '2001:0:0:1:0:0:0:1': '2001:0:0:1::1',
      '2001:db8:0:0:1:0:0:1': '2001:db8::1:0:0:1',
      '2001:DB8::AAAA': '2001:db8::aaaa',
      '0:0:0:0:0:0:0:0': '::',
      '0:0:0:0:0:0:0:1': '::1',
      '1:0:0:0:0:0:0:0': '1::',
      '::ffff:10.0.0.1': '::ffff:a00:1',
    };
    for (const [text, canonical] of Object.entries(canonicalOf))
      expect(formatIpv6(parseIpv6(text)), text).toBe(canonical);
  });

  it('reads generated texts exactly as the URL parser does', () => {
    const group = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((g) => g.toString(16)),
      fc.integer({ min: 0, max: 0xffff }).map((g) => g.toString(16).toUpperCase().padStart(4, '0')),
      fc.constantFrom('', '12345', 'g', '0x1', '1.2.3.4', '10.0.0.256', '01.2.3.4', '1.2.3'),
    );
    const text = fc
      .tuple(fc.array(group, { maxLength: 9 }), fc.option(fc.nat({ max: 9 })))
      .map(([groups, at]) => {
        if (at === null) return groups.join(':');
        const cut = Math.min(at, groups.length);
        return `${groups.slice(0, cut).join(':')}::${groups.slice(cut).join(':')}`;
      });
    fc.assert(
      fc.property(text, (candidate) => {
        const bytes = new Uint8Array(16);
        const problem = readIpv6(candidate, 0, candidate.length, bytes);
        const expected = urlCanonical(candidate);
        // The quick scanner and the explaining reader agree on what is an address.
        expect(scanIpv6(candidate, 0, candidate.length, new Uint8Array(16)), candidate).toBe(
          ipv6Problem(candidate, 0, candidate.length) === undefined,
        );
        if (expected === undefined) expect(problem, candidate).toBeTypeOf('string');
        else {
          expect(problem, candidate).toBeUndefined();
          expect(formatIpv6(bytes)).toBe(expected);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('scans a range of a longer text, into a reused buffer', () => {
    const into = new Uint8Array(16).fill(0xee);
    expect(scanIpv6('[2001:db8::1]:179', 1, 12, into)).toBe(true);
    expect(formatIpv6(into)).toBe('2001:db8::1');
    expect(scanIpv6('[2001:db8::1]:179', 1, 13, into)).toBe(false);
  });

  it('names the group and the problem', () => {
    expectParseErrors(parseIpv6, [
      '"1::2::3": more than one "::"',
      '":::": three colons in a row',
      '"fffff::": group 1 "fffff" has 5 hex digits, at most 4',
      '"fe80::1%eth0": group 2 "1%eth0" is not hexadecimal',
      '"1:2:3:4:5:6:7": 7 groups, expected 8 (or fewer with "::" for a run of zero groups)',
      '"1:2:3:4:5:6:7:8:9": 9 groups, expected 8 (or fewer with "::" for a run of zero groups)',
      '"1:2:3:4::5:6:7:8": 8 groups and "::", which must stand for at least one zero group',
      '"1:2:": group 3 is empty',
      '"1.2.3.4::": group 1 "1.2.3.4" is an IPv4 address, which may only end an IPv6 address',
      '"::ffff:1.2.3.256": embedded IPv4 address "1.2.3.256": octet 4 is 256, more than 255',
      '"": the address is empty',
    ]);
  });
});

describe('isIpv6LinkLocal', () => {
  it('is fe80::/10 in canonical text', () => {
    for (const address of ['fe80::1', 'fe80::ecee:eeff:feee:eeee', 'febf:ffff::1', 'fe9a::2'])
      expect(isIpv6LinkLocal(formatIpv6(parseIpv6(address)))).toBe(true);
    for (const address of ['fec0::1', 'fe7f::1', 'fd00::1', '2001:db8::1', '::1', '::'])
      expect(isIpv6LinkLocal(formatIpv6(parseIpv6(address)))).toBe(false);
  });
});
