// Unit tests of the FIB's translation of entries to kernel routes (src/fib/routes.ts): the quick path for
// canonical IPv4 prefixes gives exactly what the kernel package's generic parser gives (or the same
// refusal) for any IPv4-looking text; a next hop checked once is still checked against the family of
// every later prefix; single, ECMP and blackhole entries become the kernel routes they always did.
import { canonicalCidr } from '@caracal/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalFibPrefix, FibEntryError, kernelRouteFor } from '../../src/fib/index.js';

const OWNER = { protocol: 201, table: 254 };

function outcome(run: () => string): string {
  try {
    return run();
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

describe('canonicalFibPrefix', () => {
  it('agrees with the generic parser on any IPv4-looking text (quick path or the precise refusal)', () => {
    const octet = fc.oneof(
      fc.integer({ min: 0, max: 255 }).map(String),
      fc.integer({ min: 0, max: 300 }).map((n) => `0${n}`),
      fc.constantFrom('256', '', 'x', '-1'),
    );
    const length = fc.oneof(
      fc.integer({ min: 0, max: 32 }).map(String),
      fc.constantFrom('33', '00', '08', '', '100', 'a', '+8'),
    );
    fc.assert(
      fc.property(fc.tuple(octet, octet, octet, octet), length, fc.boolean(), (octets, bits, slash) => {
        const text = slash ? `${octets.join('.')}/${bits}` : octets.join('.');
        const expected = outcome(() => canonicalCidr(text)).replace(
          /^AddressError: /,
          'FibEntryError: FIB prefix: ',
        );
        expect(outcome(() => canonicalFibPrefix(text))).toBe(expected);
      }),
      { numRuns: 5000 },
    );
    // Networks with host bits clear take the quick path and come back as they are.
    expect(canonicalFibPrefix('10.64.3.0/24')).toBe('10.64.3.0/24');
    expect(canonicalFibPrefix('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(() => canonicalFibPrefix('10.64.3.1/24')).toThrow(FibEntryError);
  });
});

describe('kernelRouteFor', () => {
  it('checks a next hop against each prefix, even when the same hop was already checked for another', () => {
    const hop = { kind: 'unicast' as const, nextHops: [{ gateway: '192.0.2.1' }] };
    expect(kernelRouteFor('10.0.0.0/24', hop, OWNER)).toEqual({
      dst: '10.0.0.0/24',
      table: 254,
      protocol: 201,
      scope: 'universe',
      type: 'unicast',
      gateway: '192.0.2.1',
    });
    expect(() => kernelRouteFor('2001:db8::/32', hop, OWNER)).toThrow(
      '2001:db8::/32: nextHops[0].gateway 192.0.2.1 is IPv4 but the prefix is IPv6',
    );
    const linkLocal = { kind: 'unicast' as const, nextHops: [{ gateway: 'fe80::1', device: 'eth0' }] };
    expect(kernelRouteFor('2001:db8::/32', linkLocal, OWNER)).toMatchObject({
      gateway: 'fe80::1',
      device: 'eth0',
    });
    expect(() =>
      kernelRouteFor('2001:db8::/32', { kind: 'unicast', nextHops: [{ gateway: 'fe80::1' }] }, OWNER),
    ).toThrow('2001:db8::/32: nextHops[0].gateway fe80::1 is link-local: a device is required');
    // Non-canonical gateway text is written canonically, from the cache as from the first check.
    for (let i = 0; i < 2; i++) {
      expect(
        kernelRouteFor('2001:db8::/32', { kind: 'unicast', nextHops: [{ gateway: '2001:DB8::0:1' }] }, OWNER)
          .gateway,
      ).toBe('2001:db8::1');
    }
  });

  it('writes ECMP hops deduplicated in a stable order, and blackholes without hops', () => {
    const ecmp = kernelRouteFor(
      '10.9.0.0/16',
      {
        kind: 'unicast',
        nextHops: [{ gateway: '192.0.2.9' }, { gateway: '192.0.2.1' }, { gateway: '192.0.2.9' }],
      },
      OWNER,
    );
    expect(ecmp.nextHops).toEqual([{ gateway: '192.0.2.1' }, { gateway: '192.0.2.9' }]);
    expect(ecmp.gateway).toBeUndefined();
    expect(kernelRouteFor('10.9.0.0/16', { kind: 'blackhole' }, OWNER)).toEqual({
      dst: '10.9.0.0/16',
      table: 254,
      protocol: 201,
      scope: 'universe',
      type: 'blackhole',
    });
  });
});
