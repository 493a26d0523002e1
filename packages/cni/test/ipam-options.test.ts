// Unit tests of caracal-ipam's Calico options: assign_ipv4/assign_ipv6 as strings or booleans with Calico's
// defaults, refusals naming the field and value, and the pool restriction from ipv4_pools/ipv6_pools.
import type { IpamPool } from '@caracal/ipam';
import { describe, expect, it } from 'vitest';
import { parseIpamAssignOptions, poolRestriction } from '../src/ipam-options.js';
import { CniError, CniErrorCode } from '../src/spec.js';

function refusal(run: () => unknown): CniError {
  try {
    run();
  } catch (error) {
    if (error instanceof CniError) return error;
    throw error;
  }
  throw new Error('expected a CniError');
}

const pools: IpamPool[] = [
  { name: 'v4-a', cidr: '10.65.0.0/16' },
  { name: 'v4-b', cidr: '10.66.0.0/16' },
  { name: 'v6-a', cidr: 'fd00:65::/64' },
  { name: 'v6-b', cidr: 'fd00:66::/64' },
];

describe('parseIpamAssignOptions', () => {
  it('defaults to IPv4 only, as Calico', () => {
    expect(parseIpamAssignOptions({ type: 'caracal-ipam' })).toEqual({ assignIpv4: true, assignIpv6: false });
  });

  it('reads Calico strings and JSON booleans', () => {
    expect(parseIpamAssignOptions({ assign_ipv4: 'true', assign_ipv6: 'true' })).toEqual({
      assignIpv4: true,
      assignIpv6: true,
    });
    expect(parseIpamAssignOptions({ assign_ipv4: false, assign_ipv6: true })).toEqual({
      assignIpv4: false,
      assignIpv6: true,
    });
    expect(
      parseIpamAssignOptions({ assign_ipv6: 'true', ipv4_pools: [' v4-a '], ipv6_pools: ['fd00:66::/64'] }),
    ).toEqual({ assignIpv4: true, assignIpv6: true, ipv4Pools: ['v4-a'], ipv6Pools: ['fd00:66::/64'] });
  });

  it('refuses bad values with code 7 naming the field and the value', () => {
    const yes = refusal(() => parseIpamAssignOptions({ assign_ipv6: 'yes' }));
    expect(yes.code).toBe(CniErrorCode.InvalidNetworkConfig);
    expect(yes.message).toBe(
      'invalid IPAM configuration: ipam.assign_ipv6 must be "true" or "false" (or a boolean), got "yes"',
    );
    expect(refusal(() => parseIpamAssignOptions({ assign_ipv4: 1 })).message).toContain(
      'ipam.assign_ipv4 must be "true" or "false" (or a boolean), got 1',
    );
    expect(refusal(() => parseIpamAssignOptions({ assign_ipv4: 'false' })).message).toContain(
      'ipam.assign_ipv4 and ipam.assign_ipv6 are both "false"',
    );
    expect(refusal(() => parseIpamAssignOptions({ ipv6_pools: 'fd00::/64' })).message).toContain(
      'ipam.ipv6_pools must be a list of pool names or CIDRs, got "fd00::/64"',
    );
    expect(refusal(() => parseIpamAssignOptions({ ipv4_pools: ['v4-a', 7] })).message).toContain(
      'ipam.ipv4_pools[1] must be a pool name or CIDR, got 7',
    );
  });
});

describe('poolRestriction', () => {
  it('is absent without lists, so IPAM uses every enabled pool', () => {
    expect(poolRestriction(parseIpamAssignOptions({ assign_ipv6: 'true' }), pools)).toBeUndefined();
  });

  it('restricts only the family that has a list, by name or by CIDR in any spelling', () => {
    expect(poolRestriction(parseIpamAssignOptions({ ipv4_pools: ['10.66.0.0/16'] }), pools)).toEqual([
      'v4-b',
      'v6-a',
      'v6-b',
    ]);
    expect(
      poolRestriction(
        parseIpamAssignOptions({ assign_ipv6: true, ipv6_pools: ['FD00:0066:0::/64', 'v6-a'] }),
        pools,
      ),
    ).toEqual(['v4-a', 'v4-b', 'v6-b', 'v6-a']);
  });

  it('refuses an unknown pool and a pool of the other family, naming the entry', () => {
    expect(
      refusal(() => poolRestriction(parseIpamAssignOptions({ ipv6_pools: ['nope'] }), pools)).message,
    ).toBe(
      'invalid IPAM configuration: ipam.ipv6_pools[0] "nope" names no IPPool (known: v4-a 10.65.0.0/16, v4-b 10.66.0.0/16, v6-a fd00:65::/64, v6-b fd00:66::/64)',
    );
    const crossed = refusal(() =>
      poolRestriction(parseIpamAssignOptions({ ipv4_pools: ['v4-a', 'v6-a'] }), pools),
    );
    expect(crossed.code).toBe(CniErrorCode.InvalidNetworkConfig);
    expect(crossed.message).toBe(
      'invalid IPAM configuration: ipam.ipv4_pools[1] "v6-a" is IPPool v6-a (fd00:65::/64), not an IPv4 pool',
    );
  });
});
