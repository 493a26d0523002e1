// MP-BGP IPv6 through the daemon: two speakers on ::1 (distinct ports) with ipv4-unicast and
// ipv6-unicast negotiated; IPv6 prefixes travel in MP_REACH_NLRI with our session address as next hop,
// are installed and withdrawn; End-of-RIB is exchanged for both families.
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, freePort, peerRow, startSpeakers, stopAll } from './harness.js';

afterEach(stopAll);

function yaml(
  self: { as: number; id: string; port: number },
  peer: { as: number; port: number },
  extra: string,
) {
  return `asNumber: ${self.as}
routerId: ${self.id}
listen: { address: "::1", port: ${self.port} }
${extra}
peers:
  - name: other
    address: "::1"
    port: ${peer.port}
    asNumber: ${peer.as}
    localAddress: "::1"
    holdTime: 9
    connectRetryTime: 1
    families: [ipv4-unicast, ipv6-unicast]
    import: { action: accept }
    export: { action: accept }
`;
}

describe('Speaker: IPv6 unicast', () => {
  it('exchanges, installs and withdraws IPv6 prefixes over an IPv6 session', async () => {
    const a = { as: 65001, id: '10.0.0.1', port: await freePort('::1') };
    const b = { as: 65002, id: '10.0.0.2', port: await freePort('::1') };
    const nodeA = { name: 'a', address: '::1', asNumber: a.as, port: a.port };
    const nodeB = { name: 'b', address: '::1', asNumber: b.as, port: b.port };
    const [sa, sb] = await startSpeakers([
      [nodeA, yaml(a, b, 'originate:\n  - { prefix: "2001:db8:1::/48" }\n  - { prefix: 10.1.0.0/24 }')],
      [nodeB, yaml(b, a, '')],
    ]);
    if (sa === undefined || sb === undefined) throw new Error('speakers missing');
    const v6 = await eventually(
      'b learns 2001:db8:1::/48',
      () => sb.speaker.routes({ prefix: '2001:db8:1::/48' })[0],
    );
    expect(v6).toMatchObject({ family: 'ipv6-unicast', paths: [{ nextHop: '::1', asPath: '65001' }] });
    expect(sb.fib.describe('2001:db8:1::/48')).toBe('::1');
    // IPv4 over an IPv6 session: the next hop is our router id (no IPv4 address on the session).
    const v4 = await eventually(
      'b learns 10.1.0.0/24',
      () => sb.speaker.routes({ prefix: '10.1.0.0/24' })[0],
    );
    expect(v4.paths[0]?.nextHop).toBe('10.0.0.1');
    expect(peerRow(sb, 'other').families).toEqual(['ipv4-unicast', 'ipv6-unicast']);
    // A covering filter finds the /48.
    expect(sb.speaker.routes({ prefix: '2001:db8::/32' }).map((r) => r.prefix)).toEqual(['2001:db8:1::/48']);
    expect(sb.speaker.routes({ prefix: '2001:db8:1:2::5' }).map((r) => r.prefix)).toEqual([
      '2001:db8:1::/48',
    ]);

    sa.speaker.withdraw('2001:db8:1::/48');
    await eventually(
      'b withdraws the /48',
      () => sb.speaker.routes({ prefix: '2001:db8:1::/48' }).length === 0,
    );
    expect(sb.fib.routes.has('2001:db8:1::/48')).toBe(false);
  });
});
