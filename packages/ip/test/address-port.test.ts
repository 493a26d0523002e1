// Addresses with an optional port: round trips over every address and port, the address and port compared
// with node's WHATWG URL parser (which reads `host:port` and `[v6]:port` the same way), acceptance of
// generated near-valid texts compared with an oracle built on node's own parsers, and the exact error texts.
import { isIPv4 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AddressWithPort,
  formatAddressWithPort,
  formatIp,
  type IpAddress,
  parseAddressWithPort,
  parseIp,
} from '../src/index.js';
import { expectParseErrors, expectRoundTrips } from './expect-ip.js';

const ipv4Address: fc.Arbitrary<IpAddress> = fc
  .bigInt({ min: 0n, max: 0xffffffffn })
  .map((value) => ({ version: 4, value }));
/** IPv6 values made of groups that are often zero, so compressed forms of every shape occur. */
const ipv6Address: fc.Arbitrary<IpAddress> = fc
  .array(fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 0xffffn })), { minLength: 8, maxLength: 8 })
  .map((groups) => ({ version: 6, value: groups.reduce((value, group) => (value << 16n) | group, 0n) }));
const port = fc.integer({ min: 1, max: 65535 });
const addressWithPort: fc.Arbitrary<AddressWithPort> = fc.record({
  address: fc.oneof(ipv4Address, ipv6Address),
  port: fc.option(port, { nil: undefined }),
});

/** Host and port as node's URL parser reads `http://<text>/` (port 80 is the scheme's default: ''). */
function urlHostPort(text: string): { host: string; port: number | undefined } | undefined {
  try {
    const url = new URL(`http://${text}/`);
    return {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? undefined : Number(url.port),
    };
  } catch {
    return undefined;
  }
}

/** The canonical IPv6 text node's URL parser makes of an address, or undefined when it refuses it. */
function urlIpv6(text: string): string | undefined {
  if (/[[\]/?#%@]/.test(text)) return undefined;
  const read = urlHostPort(`[${text}]`);
  return read?.host;
}

/**
 * The grammar written out with node's parsers: `[v6]:port`; no colon: IPv4; one colon: IPv4:port; two or
 * more: one IPv6 address. Ports decimal 1..65535 without leading zeros. The canonical text, or undefined.
 */
function oracle(text: string): string | undefined {
  const portOk = (digits: string) => /^[1-9][0-9]{0,4}$/.test(digits) && Number(digits) <= 65535;
  const bracketed = /^\[([^\]]*)\]:([^\]]*)$/.exec(text);
  if (bracketed) {
    const v6 = urlIpv6(bracketed[1] as string);
    return v6 !== undefined && portOk(bracketed[2] as string) ? `[${v6}]:${bracketed[2]}` : undefined;
  }
  if (text.includes('[') || text.includes(']')) return undefined;
  const colons = text.split(':').length - 1;
  if (colons === 0) return isIPv4(text) ? text : undefined;
  if (colons === 1) {
    const [host, digits] = text.split(':') as [string, string];
    return isIPv4(host) && portOk(digits) ? text : undefined;
  }
  return urlIpv6(text);
}

const nearValidText = fc
  .tuple(
    fc.constantFrom('', '', '[', ']'),
    fc.oneof(
      ipv4Address.map(formatIp),
      ipv6Address.map(formatIp),
      ipv6Address.map((a) => formatIp(a).toUpperCase()),
      fc.constantFrom(
        '010.0.0.1',
        '10.0.0',
        '::ffff:10.0.0.1',
        'fd00::1:2:3:4:5:6:7',
        'fd00:',
        '1::2::3',
        '',
      ),
    ),
    fc.constantFrom('', '', ']', '['),
    fc.oneof(
      fc.constant(''),
      port.map((p) => `:${p}`),
      fc.constantFrom(':', ':0', ':65536', ':0179', ':bgp', ':1:2', '::1'),
    ),
  )
  .map((parts) => parts.join(''));

describe('parseAddressWithPort / formatAddressWithPort', () => {
  it('parse(format(x)) equals x for every address with and without a port; IPv6 takes brackets only with a port', () => {
    expectRoundTrips(addressWithPort, formatAddressWithPort, parseAddressWithPort, (value, text) => {
      const address = formatIp(value.address);
      if (value.port === undefined) expect(text).toBe(address);
      else if (value.address.version === 4) expect(text).toBe(`${address}:${value.port}`);
      else expect(text).toBe(`[${address}]:${value.port}`);
    });
  });

  it('reads the same address and port as node’s URL parser for every host:port and [v6]:port text', () => {
    fc.assert(
      fc.property(fc.oneof(ipv4Address, ipv6Address), port, (address, portNumber) => {
        const text = formatAddressWithPort({ address, port: portNumber });
        const spelled = address.version === 6 ? text.toUpperCase() : text; // any spelling of IPv6 alike
        const url = urlHostPort(spelled);
        const parsed = parseAddressWithPort(spelled);
        expect(url, spelled).toBeDefined();
        expect(formatIp(parsed.address)).toBe(url?.host);
        expect(parsed.port).toBe(url?.port ?? 80);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts exactly the texts of the grammar (oracle on node’s parsers), with their canonical value', () => {
    fc.assert(
      fc.property(nearValidText, (text) => {
        const expected = oracle(text);
        let parsed: AddressWithPort | undefined;
        try {
          parsed = parseAddressWithPort(text);
        } catch {
          parsed = undefined;
        }
        expect(parsed === undefined ? undefined : formatAddressWithPort(parsed), text).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('the four BGPPeer forms, and an unbracketed IPv6 address is never split into address and port', () => {
    const read = (text: string) => {
      const { address, port } = parseAddressWithPort(text);
      return [formatIp(address), port];
    };
    expect(read('10.0.0.1')).toEqual(['10.0.0.1', undefined]);
    expect(read('10.0.0.1:1179')).toEqual(['10.0.0.1', 1179]);
    expect(read('fd00::1')).toEqual(['fd00::1', undefined]);
    expect(read('[fd00::1]:1179')).toEqual(['fd00::1', 1179]);
    expect(read('FD00:0::1')).toEqual(['fd00::1', undefined]);
    expect(read('fd00::1:179')).toEqual(['fd00::1:179', undefined]);
    expect(read('::ffff:10.0.0.1')).toEqual(['::ffff:a00:1', undefined]);
    expect(read('[::ffff:10.0.0.1]:179')).toEqual(['::ffff:a00:1', 179]);
    expect(read('10.0.0.1:65535')).toEqual(['10.0.0.1', 65535]);
    expect(parseAddressWithPort('fd00::1').address).toEqual(parseIp('fd00::1'));
  });

  it('names what is wrong', () => {
    expectParseErrors(parseAddressWithPort, [
      '"": the address is empty',
      '"10.0.0.1:": the port after ":" is empty (expected 1-65535)',
      '"10.0.0.1:0": port 0 is not 1-65535',
      '"10.0.0.1:65536": port 65536 is not 1-65535',
      '"10.0.0.1:0179": port "0179" has a leading zero',
      '"10.0.0.1:bgp": port "bgp" is not a decimal number',
      '"10.0.0.300:179": octet 4 is 300, more than 255',
      '"010.0.0.1": octet 1 "010" has a leading zero (ambiguous: inet_aton reads it as octal)',
      '"[fd00::1": "[" without a closing "]"',
      '"fd00::1]:179": "]" without an opening "["',
      '"[fd00::1]": an IPv6 address in brackets must be followed by ":<port>"; without a port write it bare: fd00::1',
      '"[fd00::1]179": expected ":<port>" after "]", found "179"',
      '"[FD00::1]:": the port after ":" is empty (expected 1-65535)',
      '"[10.0.0.1]:179": brackets are only for an IPv6 address; write the IPv4 address without them: 10.0.0.1:179',
      '"[fd00::g]:179": group 2 "g" is not hexadecimal',
      '"fd00:1:2:3:4:5:6:7:179": 9 groups, expected 8 (or fewer with "::" for a run of zero groups); an IPv6 address with a port is written in brackets: [fd00:1:2:3:4:5:6:7]:179',
      '"::ffff:10.0.0.1:179": group 2 "10.0.0.1" is an IPv4 address, which may only end an IPv6 address; an IPv6 address with a port is written in brackets: [::ffff:10.0.0.1]:179',
      '"fd00::1::179": more than one "::"',
      '"fe80::1%eth0": group 2 "1%eth0" is not hexadecimal',
      '"fd00:1": not an IPv4 (a.b.c.d) or IPv6 (x:x::x) address',
    ]);
  });

  it('refuses to format a port outside 1..65535', () => {
    const address = parseIp('10.0.0.1');
    expect(() => formatAddressWithPort({ address, port: 0 })).toThrow('a port is an integer 1-65535, not 0');
    expect(() => formatAddressWithPort({ address, port: 1.5 })).toThrow(RangeError);
    expect(formatAddressWithPort({ address, port: undefined })).toBe('10.0.0.1');
  });
});
