// Unit tests of address arithmetic: IPv4/IPv6 parsing, containment and overlap.
import { describe, expect, it } from 'vitest';
import {
  isReservedInPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixesOverlap,
} from '../src/address.js';

describe('address arithmetic', () => {
  it('parses IPv6 forms to the same value', () => {
    const forms = ['fd00:0:0:1::11', 'fd00::1:0:0:0:11', 'fd00:0000:0000:0001:0000:0000:0000:0011'];
    const values = forms.map((f) => parseAddress(f)?.value);
    expect(new Set(values).size).toBe(1);
    expect(parseAddress('::ffff:10.0.0.1')?.value).toBe((0xffffn << 32n) | 0x0a000001n);
    expect(parseAddress('::')?.value).toBe(0n);
    expect(parseAddress('10.0.0.256')).toBeUndefined();
    expect(parseAddress('fe80::1%eth0')).toBeUndefined();
  });

  it('tells containment and overlap apart by family and length', () => {
    const a = parsePrefix('10.0.0.0/16', true)!;
    const b = parsePrefix('10.0.5.0/24', true)!;
    const c = parsePrefix('10.1.0.0/16', true)!;
    const v6 = parsePrefix('fd00::/8', true)!;
    expect(prefixesOverlap(a, b)).toBe(true);
    expect(prefixesOverlap(b, a)).toBe(true);
    expect(prefixesOverlap(a, c)).toBe(false);
    expect(prefixesOverlap(a, v6)).toBe(false);
    expect(prefixContains(b, parseAddress('10.0.5.200')!)).toBe(true);
    expect(prefixContains(b, parseAddress('10.0.6.1')!)).toBe(false);
    expect(prefixContains(v6, parseAddress('fd12::1')!)).toBe(true);
    expect(prefixContains(v6, parseAddress('10.0.5.1')!)).toBe(false);
  });

  it('rejects host bits in strict mode and bad lengths', () => {
    expect(parsePrefix('10.0.1.5/24', true)).toBeUndefined();
    expect(parsePrefix('10.0.1.5/24', false)?.network).toBe(0x0a000100n);
    expect(parsePrefix('10.0.1.0/33', false)).toBeUndefined();
    expect(parsePrefix('fd00::/129', false)).toBeUndefined();
    expect(parsePrefix('10.0.1.0', false)).toBeUndefined();
    expect(parsePrefix('fd00::1/64', false)).toMatchObject({
      family: 6,
      network: 0xfd00n << 112n,
      length: 64,
    });
    expect(parsePrefix('fd00::1/64', true)).toBeUndefined();
  });

  it('refuses ambiguous IPv4 text and keeps the text as written', () => {
    expect(parseAddress('010.0.0.1')).toBeUndefined();
    expect(parseAddress('10.0.0')).toBeUndefined();
    expect(parseAddress('FD00::1')).toEqual({ family: 6, value: (0xfd00n << 112n) | 1n, text: 'FD00::1' });
  });

  it('reserves the network and broadcast addresses of IPv4 subnets shorter than /31 only', () => {
    const subnet = parsePrefix('10.0.1.0/24', true)!;
    expect(isReservedInPrefix(subnet, parseAddress('10.0.1.0')!)).toBe(true);
    expect(isReservedInPrefix(subnet, parseAddress('10.0.1.255')!)).toBe(true);
    expect(isReservedInPrefix(subnet, parseAddress('10.0.1.1')!)).toBe(false);
    const pointToPoint = parsePrefix('10.9.0.0/31', true)!;
    expect(isReservedInPrefix(pointToPoint, parseAddress('10.9.0.0')!)).toBe(false);
    expect(isReservedInPrefix(parsePrefix('fd00::/64', true)!, parseAddress('fd00::')!)).toBe(false);
  });
});
