// caracal-bgpd configuration: the documented example is accepted as it stands, invalid configurations
// get precise issues (file, path, line:column, reason), unknown keys a suggestion.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  type ConfigIssue,
  formatConfigIssue,
  loadConfigFile,
  parseConfig,
} from '../../src/config/index.js';

const EXAMPLE = `asNumber: 64512
routerId: 10.0.0.1
listen: { address: 10.0.0.1, port: 179 }
kernel: { install: true }
gracefulRestart: { enabled: true, restartTime: 120 }
originate:
  - { prefix: 10.10.0.0/26, blackhole: true }
peers:
  - name: upstream
    address: 10.0.0.2
    asNumber: 64513
    holdTime: 90
    families: [ipv4-unicast, ipv6-unicast]
    import: { action: accept }
    export: { action: accept }
control: { socket: /run/caracal/bgpd.sock }
metrics: { port: 9092 }
`;

function issues(text: string): ConfigIssue[] {
  const result = parseConfig(text, 'bgpd.yaml');
  if (result.ok) throw new Error('expected the configuration to be rejected');
  return [...result.issues];
}

const MINIMAL = 'asNumber: 64512\nrouterId: 10.0.0.1\n';

describe('listen addresses', () => {
  function listenOf(yaml: string) {
    const result = parseConfig(`${MINIMAL}${yaml}`, 'bgpd.yaml');
    if (!result.ok) throw new Error(result.issues.map(formatConfigIssue).join('\n'));
    return result.config.listen;
  }
  function reasons(yaml: string): string[] {
    return issues(`${MINIMAL}${yaml}`).map((issue) => `${issue.path}: ${issue.reason}`);
  }

  it('defaults to 0.0.0.0 alone; one address or a list, address being the first of addresses', () => {
    expect(listenOf('')).toEqual({ address: '0.0.0.0', addresses: ['0.0.0.0'], port: 179, enabled: true });
    expect(listenOf('listen: { address: "fd00::5" }\n').addresses).toEqual(['fd00::5']);
    expect(listenOf('listen: { addresses: [10.0.0.5, "fd00::5"], port: 1179 }\n')).toEqual({
      address: '10.0.0.5',
      addresses: ['10.0.0.5', 'fd00::5'],
      port: 1179,
      enabled: true,
    });
    expect(listenOf('listen: { addresses: ["::"] }\n').addresses).toEqual(['::']);
  });

  it('refuses both forms, an empty list, one address twice, a wildcard with others, and a bad entry', () => {
    expect(reasons('listen: { address: 10.0.0.5, addresses: [10.0.0.5] }\n')).toEqual([
      'listen: give either "address" (one) or "addresses" (a list), not both',
    ]);
    expect(reasons('listen: { addresses: [] }\n')).toEqual([
      'listen.addresses: must list at least one address (or leave "addresses" out for 0.0.0.0)',
    ]);
    expect(reasons('listen: { addresses: ["fd00::5", "FD00:0::5"] }\n')).toEqual([
      'listen.addresses[1]: "FD00:0::5" is the address of entry 0 again',
    ]);
    expect(reasons('listen: { addresses: [10.0.0.5, "::"] }\n')).toEqual([
      'listen.addresses[1]: "::" (every address) cannot be listed with other addresses: list it alone, or only specific addresses',
    ]);
    expect(reasons('listen: { addresses: [10.0.0.5, "fd00::5%eth0"] }\n')).toEqual([
      'listen.addresses[1]: must be an IPv4 or IPv6 address, got "fd00::5%eth0" (group 2 "5%eth0" is not hexadecimal)',
    ]);
    expect(reasons('listen: { addresses: 10.0.0.5 }\n')).toEqual([
      'listen.addresses: must be a list, got "10.0.0.5"',
    ]);
  });
});

describe('parseConfig', () => {
  it('accepts the documented example as it stands, with defaults filled in', () => {
    const result = parseConfig(EXAMPLE, 'bgpd.yaml');
    if (!result.ok) throw new Error(result.issues.map(formatConfigIssue).join('\n'));
    const { config } = result;
    expect(config.asNumber).toBe(64512);
    expect(config.listen).toEqual({ address: '10.0.0.1', addresses: ['10.0.0.1'], port: 179, enabled: true });
    expect(config.kernel).toEqual({ install: true, protocol: 201, table: 254, ecmp: true });
    expect(config.gracefulRestart).toEqual({ enabled: true, restartTime: 120 });
    expect(config.originate).toEqual([{ prefix: '10.10.0.0/26', blackhole: true, communities: [] }]);
    expect(config.peers).toHaveLength(1);
    expect(config.peers[0]).toMatchObject({
      name: 'upstream',
      address: '10.0.0.2',
      asNumber: 64513,
      port: 179,
      passive: false,
      holdTime: 90,
      keepaliveTime: 30,
      connectRetryTime: 5,
      families: ['ipv4-unicast', 'ipv6-unicast'],
      nextHop: 'auto',
      gracefulRestart: { enabled: true, restartTime: 120 },
      import: { kind: 'action', action: 'accept' },
      export: { kind: 'action', action: 'accept' },
    });
    expect(config.control.socket).toBe('/run/caracal/bgpd.sock');
    expect(config.metrics.port).toBe(9092);
  });

  it('accepts policies: lists, filters by name and inline terms', () => {
    const text = `${MINIMAL}policy:
  prefixLists:
    pods: [{ prefix: 10.244.0.0/16, ge: 24, le: 26 }, 192.168.0.0/16]
  communityLists:
    internal: ["64512:100", no-export]
  asPathLists:
    customers: ["^64513( 64513)*$"]
  filters:
    from-upstream:
      - match: { prefixList: pods, family: ipv4-unicast }
        then: { setLocalPref: 200, addCommunity: ["64512:1"], action: accept }
      - match: { asPathList: customers }
        then: { prepend: { count: 2 }, setMed: 10 }
      - match: {}
        then: { action: reject }
peers:
  - { name: a, address: 10.0.0.2, asNumber: 64513, import: from-upstream, export: { filter: from-upstream } }
  - name: b
    address: fd00::2
    asNumber: 4200000001
    import:
      - match: { community: "64512:100", largeCommunity: "64512:1:2" }
        then: { removeCommunity: ["64512:100"], action: accept }
`;
    const result = parseConfig(text, 'bgpd.yaml');
    if (!result.ok) throw new Error(result.issues.map(formatConfigIssue).join('\n'));
    expect(result.config.policy.prefixLists.pods).toEqual([
      { prefix: '10.244.0.0/16', ge: 24, le: 26 },
      { prefix: '192.168.0.0/16' },
    ]);
    expect(result.config.peers[0]?.import).toEqual({ kind: 'filter', name: 'from-upstream' });
    expect(result.config.peers[0]?.export).toEqual({ kind: 'filter', name: 'from-upstream' });
    expect(result.config.peers[1]?.import.kind).toBe('terms');
    expect(result.config.policy.filters['from-upstream']?.[1]?.then.prepend).toEqual({ count: 2 });
  });

  it.each([
    // [description, yaml, path, line, column, reason]
    ['missing asNumber', 'routerId: 10.0.0.1\n', '', 1, 1, 'missing required field "asNumber"'],
    [
      'bad router id',
      'asNumber: 64512\nrouterId: 10.0.0.300\n',
      'routerId',
      2,
      11,
      'must be a dotted-quad IPv4 address, got "10.0.0.300" (octet 4 is 300, more than 255)',
    ],
    [
      'zero router id',
      'asNumber: 64512\nrouterId: 0.0.0.0\n',
      'routerId',
      2,
      11,
      'must not be 0.0.0.0 (a BGP identifier is non-zero, RFC 6286)',
    ],
    [
      'AS_TRANS',
      'asNumber: 23456\nrouterId: 10.0.0.1\n',
      'asNumber',
      1,
      11,
      'AS 23456 is AS_TRANS (RFC 6793) and cannot be a real AS number',
    ],
    [
      'AS out of range',
      'asNumber: 4294967296\nrouterId: 10.0.0.1\n',
      'asNumber',
      1,
      11,
      'must be between 1 and 4294967295, got 4294967296',
    ],
    [
      'hold time 2',
      `${MINIMAL}holdTime: 2\n`,
      'holdTime',
      3,
      11,
      'hold time must be 0 or at least 3 seconds (RFC 4271 §4.2), got 2',
    ],
    [
      'peer without address',
      `${MINIMAL}peers:\n  - { name: a, asNumber: 1 }\n`,
      'peers[0]',
      4,
      5,
      'missing required field "address"',
    ],
    [
      'bad peer address',
      `${MINIMAL}peers:\n  - { name: a, address: 10.0.0, asNumber: 1 }\n`,
      'peers[0].address',
      4,
      25,
      'must be an IPv4 or IPv6 address, got "10.0.0" (expected 4 dotted octets, got 3)',
    ],
    [
      'bad family',
      `${MINIMAL}families: [ipv4-unicst]\n`,
      'families[0]',
      3,
      12,
      'must be one of ipv4-unicast, ipv4-multicast, ipv6-unicast, ipv6-multicast, ipv4-mpls-vpn, ipv6-mpls-vpn, l2vpn-evpn, ipv4-flowspec, ipv6-flowspec, got "ipv4-unicst"; did you mean "ipv4-unicast"?',
    ],
    [
      'host bits in prefix',
      `${MINIMAL}originate:\n  - { prefix: 10.10.0.1/26 }\n`,
      'originate[0].prefix',
      4,
      15,
      '"10.10.0.1/26" has host bits set beyond /26 (the network is 10.10.0.0/26)',
    ],
    [
      'prefix length',
      `${MINIMAL}originate:\n  - { prefix: 10.10.0.0/33 }\n`,
      'originate[0].prefix',
      4,
      15,
      'prefix length must be 0-32, got "33" in "10.10.0.0/33"',
    ],
    [
      'IPv6 router id',
      'asNumber: 64512\nrouterId: "fd00::1"\n',
      'routerId',
      2,
      11,
      'must be a dotted-quad IPv4 address, got "fd00::1" (an IPv6 address)',
    ],
    [
      'peer address with a leading zero',
      `${MINIMAL}peers:\n  - { name: a, address: 10.0.0.02, asNumber: 1 }\n`,
      'peers[0].address',
      4,
      25,
      'must be an IPv4 or IPv6 address, got "10.0.0.02" (octet 4 "02" has a leading zero (ambiguous: inet_aton reads it as octal))',
    ],
    [
      'peer address with a zone',
      `${MINIMAL}peers:\n  - { name: a, address: "fe80::1%eth0", asNumber: 1 }\n`,
      'peers[0].address',
      4,
      25,
      'must be an IPv4 or IPv6 address, got "fe80::1%eth0" (group 2 "1%eth0" is not hexadecimal)',
    ],
    [
      'prefix without a length',
      `${MINIMAL}originate:\n  - { prefix: 10.10.0.0 }\n`,
      'originate[0].prefix',
      4,
      15,
      'must be a prefix like 10.0.0.0/24 or fd00::/64, got "10.10.0.0" (no prefix length)',
    ],
    [
      'prefix with a bad address',
      `${MINIMAL}originate:\n  - { prefix: "fd00::g/64" }\n`,
      'originate[0].prefix',
      4,
      15,
      'must be a prefix like 10.0.0.0/24 or fd00::/64, got "fd00::g/64" (group 2 "g" is not hexadecimal)',
    ],
    [
      'IPv6 host bits',
      `${MINIMAL}originate:\n  - { prefix: "fd00:0:0:1::1/64" }\n`,
      'originate[0].prefix',
      4,
      15,
      '"fd00:0:0:1::1/64" has host bits set beyond /64 (the network is fd00:0:0:1::/64)',
    ],
    [
      'IPv6 prefix length',
      `${MINIMAL}originate:\n  - { prefix: "fd00::/129" }\n`,
      'originate[0].prefix',
      4,
      15,
      'prefix length must be 0-128, got "129" in "fd00::/129"',
    ],
    [
      'IPv6 prefix-list bound',
      `${MINIMAL}policy:\n  prefixLists:\n    p: [{ prefix: "fd00::/48", le: 129 }]\n`,
      'policy.prefixLists.p[0].le',
      5,
      36,
      'must be between 48 and 128, got 129',
    ],
    [
      'password',
      `${MINIMAL}peers:\n  - { name: a, address: 10.0.0.2, asNumber: 1, password: x }\n`,
      'peers[0].password',
      4,
      48,
      'TCP-MD5 session passwords (RFC 2385) are not supported yet; remove the password or use a peer that does not need one',
    ],
    [
      'unknown filter',
      `${MINIMAL}peers:\n  - { name: a, address: 10.0.0.2, asNumber: 1, import: nope }\n`,
      'peers[0].import',
      4,
      56,
      'unknown filter "nope"',
    ],
    [
      'bad maxPrefix action',
      `${MINIMAL}peers:\n  - name: a\n    address: 10.0.0.2\n    asNumber: 1\n    maxPrefix: { limit: 10, action: drop }\n`,
      'peers[0].maxPrefix.action',
      7,
      37,
      'must be one of warn, teardown, got "drop"',
    ],
    [
      'ge > le',
      `${MINIMAL}policy:\n  prefixLists:\n    p: [{ prefix: 10.0.0.0/8, ge: 24, le: 16 }]\n`,
      'policy.prefixLists.p[0].ge',
      5,
      35,
      'ge 24 is greater than le 16',
    ],
    [
      'bad regex',
      `${MINIMAL}policy:\n  asPathLists:\n    x: ["(64512"]\n`,
      'policy.asPathLists.x[0]',
      5,
      9,
      'invalid regular expression: Invalid regular expression: /(64512/: Unterminated group',
    ],
    [
      'bad community',
      `${MINIMAL}originate:\n  - { prefix: 10.0.0.0/8, communities: ["70000:1"] }\n`,
      'originate[0].communities[0]',
      4,
      41,
      'must be a community "ASN:value" (each 0-65535) or one of no-export, no-advertise, no-export-subconfed, blackhole, graceful-shutdown, got "70000:1"',
    ],
    [
      'rr client on eBGP',
      `${MINIMAL}peers:\n  - { name: a, address: 10.0.0.2, asNumber: 1, routeReflectorClient: true }\n`,
      'peers[0].routeReflectorClient',
      4,
      70,
      'route reflector clients must be iBGP peers (asNumber 64512)',
    ],
    [
      'keepalive above hold/3',
      `${MINIMAL}peers:\n  - { name: a, address: 10.0.0.2, asNumber: 1, holdTime: 9, keepaliveTime: 5 }\n`,
      'peers[0].keepaliveTime',
      4,
      76,
      'must be at most a third of the hold time (3 s)',
    ],
    [
      'duplicate peer',
      `${MINIMAL}peers:\n  - { name: a, address: 10.0.0.2, asNumber: 1 }\n  - { name: a, address: 10.0.0.3, asNumber: 1 }\n`,
      'peers[1].name',
      5,
      13,
      'duplicate peer name "a" (also peers[0])',
    ],
    [
      'mixed families',
      `${MINIMAL}peers:\n  - { name: a, address: 10.0.0.2, asNumber: 1, localAddress: "fd00::1" }\n`,
      'peers[0].localAddress',
      4,
      62,
      'address family differs from the peer address 10.0.0.2',
    ],
    [
      'wrong type',
      `${MINIMAL}kernel: { install: yes-please }\n`,
      'kernel.install',
      3,
      20,
      'must be true or false, got "yes-please"',
    ],
  ])('%s', (_name, text, path, line, column, reason) => {
    expect(issues(text)).toContainEqual({ file: 'bgpd.yaml', path, line, column, reason });
  });

  it('rejects unknown keys with a suggestion, at the key position', () => {
    expect(
      issues(`${MINIMAL}peers:\n  - { name: a, address: 10.0.0.2, asNumber: 1, holdtime: 30 }\n`),
    ).toEqual([
      {
        file: 'bgpd.yaml',
        path: 'peers[0].holdtime',
        line: 4,
        column: 48,
        reason: 'unknown key "holdtime"; did you mean "holdTime"?',
      },
    ]);
    expect(issues(`${MINIMAL}kernal: { install: true }\n`)[0]?.reason).toBe(
      'unknown key "kernal"; did you mean "kernel"?',
    );
  });

  it('refuses one peer address written twice, whatever the spelling', () => {
    const twice = issues(
      `${MINIMAL}peers:\n  - { name: a, address: "fd00::2", asNumber: 1 }\n  - { name: b, address: "FD00:0::2", asNumber: 1 }\n`,
    );
    expect(twice.map(({ path, reason }) => ({ path, reason }))).toEqual([
      { path: 'peers[1].address', reason: 'duplicate peer address FD00:0::2 (also peers[0])' },
    ]);
  });

  it('collects all errors, not just the first', () => {
    const all = issues('asNumber: 0\nrouterId: x\nholdTime: 1\nbogus: 1\n');
    expect(all.map((i) => i.path)).toEqual(['bogus', 'asNumber', 'routerId', 'holdTime']);
  });

  it('reports YAML syntax errors with their position', () => {
    const [first] = issues('asNumber: 64512\npeers: [\n');
    expect(first?.reason).toMatch(/^YAML syntax: /);
    expect(first?.line).toBeGreaterThan(1);
  });

  it('rejects duplicate keys', () => {
    expect(issues('asNumber: 1\nasNumber: 2\nrouterId: 10.0.0.1\n')[0]?.reason).toMatch(
      /YAML syntax: .*unique/i,
    );
  });

  it('formats an issue as file:line:column: path: reason', () => {
    expect(formatConfigIssue({ file: 'f.yaml', path: 'a.b', line: 3, column: 4, reason: 'bad' })).toBe(
      'f.yaml:3:4: a.b: bad',
    );
  });
});

describe('loadConfigFile', () => {
  it('loads a file and throws ConfigError naming the file otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'caracal-config-'));
    try {
      const good = join(dir, 'good.yaml');
      await writeFile(good, EXAMPLE);
      expect((await loadConfigFile(good)).routerId).toBe('10.0.0.1');
      const bad = join(dir, 'bad.yaml');
      await writeFile(bad, 'asNumber: 64512\n');
      await expect(loadConfigFile(bad)).rejects.toThrow(
        `${bad}:1:1: (top level): missing required field "routerId"`,
      );
      await expect(loadConfigFile(join(dir, 'missing.yaml'))).rejects.toBeInstanceOf(ConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
