// Unit tests of address and CIDR parsing/formatting (canonical forms, host bits, errors).
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
      "'10.65.0.65/26': host bits are set (the network is 10.65.0.64/26)",
    );
    expect(() => parseCidr('10.0.0.0/33')).toThrow('prefix length must be 0..32');
    expect(() => parseCidr('10.0.0/8')).toThrow("'10.0.0' is not an IPv4 or IPv6 address");
  });
});
