// peerAddressKey, the decision process's last tie-breaker (lowest peer address) and the ECMP order: keys
// compared as strings order addresses as numbers, IPv4 before IPv6, one key per address whatever its
// spelling; text that is no address is refused with @caracal/ip's reason.
import { formatIp, type IpAddress, IpParseError, parseIp } from '@caracal/ip';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { peerAddressKey } from '../../src/rib/path.js';

const ipv4 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }).map((value): IpAddress => ({ version: 4, value }));
const ipv6 = fc
  .bigInt({ min: 0n, max: (1n << 128n) - 1n })
  .map((value): IpAddress => ({ version: 6, value }));
/** IPv6 addresses with runs of zero groups (compressed text) as often as not. */
const sparseIpv6 = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((groups): IpAddress => ({ version: 6, value: groups.reduce((n, g) => (n << 16n) | BigInt(g), 0n) }));
const address = fc.oneof(ipv4, ipv6, sparseIpv6);

/** The full, upper-case, uncompressed text of an IPv6 address ("FD00:0:0:0:0:0:0:1"). */
function expandedUpperCase(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(':').toUpperCase();
}

describe('peerAddressKey', () => {
  it.each([
    ['10.0.0.1', '0a000001'],
    ['255.255.255.255', 'ffffffff'],
    ['0.0.0.0', '00000000'],
    ['fd00::1', 'zfd000000000000000000000000000001'],
    ['FD00:0::1', 'zfd000000000000000000000000000001'],
    ['::', 'z00000000000000000000000000000000'],
    ['2001:db8:0:1::a', 'z20010db800000001000000000000000a'],
    ['::ffff:10.0.0.1', 'z00000000000000000000ffff0a000001'],
    ['1:2:3:4:5:6:7:8', 'z00010002000300040005000600070008'],
  ])('%s → %s', (text, key) => {
    expect(peerAddressKey(text)).toBe(key);
  });

  it('orders keys as the addresses are ordered, IPv4 before IPv6', () => {
    fc.assert(
      fc.property(address, address, (a, b) => {
        const keyA = peerAddressKey(formatIp(a));
        const keyB = peerAddressKey(formatIp(b));
        const byKey = keyA < keyB ? -1 : keyA > keyB ? 1 : 0;
        const byAddress =
          a.version !== b.version
            ? a.version === 4
              ? -1
              : 1
            : a.value < b.value
              ? -1
              : a.value > b.value
                ? 1
                : 0;
        expect(byKey).toBe(byAddress);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives every spelling of an IPv6 address the key of its canonical text', () => {
    fc.assert(
      fc.property(fc.oneof(ipv6, sparseIpv6), (a) => {
        expect(peerAddressKey(expandedUpperCase(a.value))).toBe(peerAddressKey(formatIp(a)));
        expect(parseIp(expandedUpperCase(a.value)).value).toBe(a.value);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['010.0.0.1', '"010.0.0.1": octet 1 "010" has a leading zero (ambiguous: inet_aton reads it as octal)'],
    ['10.0.0.256', '"10.0.0.256": octet 4 is 256, more than 255'],
    ['fe80::1%eth0', '"fe80::1%eth0": group 2 "1%eth0" is not hexadecimal'],
    ['peer-a', '"peer-a": not an IPv4 (a.b.c.d) or IPv6 (x:x::x) address'],
  ])('refuses %s: %s', (text, message) => {
    expect(() => peerAddressKey(text)).toThrow(IpParseError);
    expect(() => peerAddressKey(text)).toThrow(message);
  });
});
