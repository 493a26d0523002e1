// Unit tests of the node's IPv6 address settings and autodetection (calico/node's IP6 and
// IP6_AUTODETECTION_METHOD): `--ip6` / `IP6` and `--ip6-autodetection-method` through the real command
// line, every bad value refused naming the flag and the value, the choice of each method on an
// `ip -6 -j addr show` fixture (link-local, host-scope, tentative, failed-DAD and deprecated addresses never
// picked; first-found skipping container and veth interfaces), can-reach on `ip -6 -j route get` output, and
// the Node registration writing or keeping spec.bgp.ipv6Address.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { API_VERSION, type NodeResource } from '@caracal/model';
import { describe, expect, it } from 'vitest';
import {
  parseIpv6AutodetectionMethod,
  selectIpv6Address,
  usableIpv6Addresses,
} from '../../src/agent/detect-ipv6.js';
import { agentCommand, OptionError, toAgentOptions } from '../../src/agent/options.js';
import { desiredNode } from '../../src/agent/register.js';

const addrJson = readFileSync(resolve(import.meta.dirname, '../fixtures/addr-ipv6.json'), 'utf8');

function parse(argv: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  for (const k of ['NODENAME', 'IP', 'IP6', 'IP6_AUTODETECTION_METHOD', 'AS', 'ETCD_ENDPOINTS'])
    delete process.env[k];
  Object.assign(process.env, env);
  try {
    const command = agentCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    command.parse(['node', 'caracal-node', '--name', 'n1', ...argv]);
    return toAgentOptions(command.opts(), ['node', 'felix.js']);
  } finally {
    process.env = saved;
  }
}

const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OptionError);
    return (error as Error).message;
  }
  throw new Error('not refused');
};

describe('--ip6 / IP6', () => {
  it('is none by default (as calico/node), with first-found as the method', () => {
    const options = parse([]);
    expect(options.ipv6).toEqual({ kind: 'none' });
    expect(options.ipv6AutodetectionMethod).toEqual({ kind: 'first-found' });
  });

  it('takes autodetect, none, or an address with prefix length in canonical form; flag over env', () => {
    expect(parse(['--ip6', 'autodetect']).ipv6).toEqual({ kind: 'autodetect' });
    expect(parse([], { IP6: 'autodetect' }).ipv6).toEqual({ kind: 'autodetect' });
    expect(parse([], { IP6: '' }).ipv6).toEqual({ kind: 'none' });
    expect(parse(['--ip6', 'FD00:0:0::5/64']).ipv6).toEqual({ kind: 'address', address: 'fd00::5/64' });
    expect(parse(['--ip6', 'none'], { IP6: 'fd00::5/64' }).ipv6).toEqual({ kind: 'none' });
    expect(
      parse(['--ip6-autodetection-method', 'interface=eth.*'], { IP6_AUTODETECTION_METHOD: 'first-found' })
        .ipv6AutodetectionMethod,
    ).toMatchObject({ kind: 'interface' });
  });

  it('refuses bad values naming the flag and the value', () => {
    expect(refusal(() => parse(['--ip6', 'fd00::5']))).toBe(
      '--ip6 (or IP6) "fd00::5" has no prefix length: give an address like fd00::5/64 (a bare address would be taken as /128)',
    );
    expect(refusal(() => parse(['--ip6', '10.0.0.5/24']))).toBe(
      '--ip6 (or IP6) must be "autodetect", "none" or an IPv6 address with prefix length (fd00::5/64), got "10.0.0.5/24" (an IPv4 address)',
    );
    expect(refusal(() => parse([], { IP6: 'autodetec' }))).toMatch(
      /^--ip6 \(or IP6\) must be "autodetect", "none" or an IPv6 address .*got "autodetec"/,
    );
    expect(refusal(() => parse(['--ip6', 'fd00::5/129']))).toBe(
      '--ip6 (or IP6) prefix length must be 0-128, got "fd00::5/129"',
    );
    expect(refusal(() => parse(['--ip6', 'fe80::1/64']))).toBe(
      '--ip6 (or IP6) "fe80::1/64" is a link-local address (fe80::/10): BGP next hops and sessions need a global address',
    );
  });
});

describe('--ip6-autodetection-method / IP6_AUTODETECTION_METHOD', () => {
  it('reads each method', () => {
    expect(parseIpv6AutodetectionMethod('first-found')).toEqual({ kind: 'first-found' });
    expect(parseIpv6AutodetectionMethod(undefined)).toEqual({ kind: 'first-found' });
    const byInterface = parseIpv6AutodetectionMethod('interface=eth1,ens.*');
    expect(byInterface.kind === 'interface' && byInterface.patterns.map((p) => p.source)).toEqual([
      'eth1',
      'ens.*',
    ]);
    expect(parseIpv6AutodetectionMethod('can-reach=2001:DB8::0:1')).toEqual({
      kind: 'can-reach',
      destination: '2001:db8::1',
    });
    expect(parseIpv6AutodetectionMethod('cidr=fd99::/64').kind).toBe('cidr');
    expect(parseIpv6AutodetectionMethod('skip-interface=eth0').kind).toBe('skip-interface');
  });

  it('refuses bad values naming the flag and the value', () => {
    const flag = '--ip6-autodetection-method (or IP6_AUTODETECTION_METHOD)';
    expect(refusal(() => parse(['--ip6-autodetection-method', 'nearest']))).toBe(
      `${flag} must be first-found, interface=REGEX, skip-interface=REGEX, can-reach=DEST or cidr=CIDR, got "nearest"`,
    );
    expect(refusal(() => parseIpv6AutodetectionMethod('interface='))).toBe(
      `${flag} "interface=" needs a value after "interface="`,
    );
    expect(refusal(() => parseIpv6AutodetectionMethod('interface=eth(0'))).toMatch(
      new RegExp(
        `^${flag.replace(/[()]/g, '\\$&')} "interface=eth\\(0": "eth\\(0" is not a regular expression`,
      ),
    );
    expect(refusal(() => parseIpv6AutodetectionMethod('can-reach=8.8.8.8'))).toBe(
      `${flag} "can-reach=8.8.8.8": can-reach needs an IPv6 address to reach, got "8.8.8.8" (an IPv4 address)`,
    );
    expect(refusal(() => parseIpv6AutodetectionMethod('cidr=10.0.0.0/8'))).toBe(
      `${flag} "cidr=10.0.0.0/8": "10.0.0.0/8" is not an IPv6 CIDR (an IPv4 CIDR)`,
    );
  });
});

describe('IPv6 autodetection on ip -6 -j output', () => {
  it('lists only usable global addresses: no link-local, host, tentative, failed-DAD or deprecated ones', () => {
    expect(usableIpv6Addresses(addrJson)).toEqual([
      { device: 'docker0', address: 'fd77::1', prefixLength: 64 },
      { device: 'eth0', address: 'fd99::8', prefixLength: 64 },
      { device: 'eth1', address: '2001:db8:1::20', prefixLength: 56 },
    ]);
    expect(usableIpv6Addresses('[]')).toEqual([]);
  });

  it('first-found skips container bridges, veths and the loopback', () => {
    expect(selectIpv6Address({ kind: 'first-found' }, addrJson)).toEqual({
      device: 'eth0',
      address: 'fd99::8/64',
    });
  });

  it('interface=, skip-interface= and cidr= pick among the usable addresses', () => {
    expect(selectIpv6Address(parseIpv6AutodetectionMethod('interface=eth1'), addrJson).address).toBe(
      '2001:db8:1::20/56',
    );
    expect(selectIpv6Address(parseIpv6AutodetectionMethod('interface=^docker'), addrJson).address).toBe(
      'fd77::1/64',
    );
    expect(selectIpv6Address(parseIpv6AutodetectionMethod('skip-interface=eth0'), addrJson).address).toBe(
      '2001:db8:1::20/56',
    );
    expect(selectIpv6Address(parseIpv6AutodetectionMethod('cidr=2001:db8::/32'), addrJson).address).toBe(
      '2001:db8:1::20/56',
    );
  });

  it('can-reach= takes the source address of the route to the destination, if usable', () => {
    const method = parseIpv6AutodetectionMethod('can-reach=2001:db8:2::1');
    const route = (prefsrc: string) => JSON.stringify([{ dst: '2001:db8:2::1', dev: 'eth0', prefsrc }]);
    expect(selectIpv6Address(method, addrJson, route('fd99::8'))).toEqual({
      device: 'eth0',
      address: 'fd99::8/64',
    });
    expect(refusal(() => selectIpv6Address(method, addrJson, route('fd99::6')))).toBe(
      "cannot detect the node's IPv6 address by can-reach=2001:db8:2::1: its source address fd99::6 is not a usable global address (tentative, deprecated or link-local); give --ip6 ADDRESS/LENGTH",
    );
    expect(refusal(() => selectIpv6Address(method, addrJson, '[{"dst":"2001:db8:2::1"}]'))).toMatch(
      /the route to it has no source address/,
    );
  });

  it('says when nothing qualifies, naming the method', () => {
    expect(refusal(() => selectIpv6Address(parseIpv6AutodetectionMethod('interface=wlan.*'), addrJson))).toBe(
      "cannot detect the node's IPv6 address by interface=wlan.*: no interface has a usable global IPv6 address (link-local, tentative and deprecated ones do not count); give --ip6 ADDRESS/LENGTH or IP6=none",
    );
    const onlyTentative = JSON.stringify([
      {
        ifname: 'eth0',
        addr_info: [{ family: 'inet6', local: 'fd99::5', prefixlen: 64, scope: 'global', tentative: true }],
      },
    ]);
    expect(refusal(() => selectIpv6Address({ kind: 'first-found' }, onlyTentative))).toMatch(
      /by first-found: no interface has a usable global IPv6 address/,
    );
  });
});

describe('registration of spec.bgp.ipv6Address', () => {
  const existing: NodeResource = {
    apiVersion: API_VERSION,
    kind: 'Node',
    metadata: { name: 'n1', resourceVersion: '7' },
    spec: { bgp: { ipv4Address: '10.0.0.5/24', ipv6Address: 'fd00::99/64' } },
  };

  it('writes the given or detected address', () => {
    const node = desiredNode(existing, {
      nodeName: 'n1',
      ipv4Address: '10.0.0.5/24',
      ipv6Address: 'fd00::5/64',
      asNumber: undefined,
    });
    expect(node.spec.bgp).toEqual({ ipv4Address: '10.0.0.5/24', ipv6Address: 'fd00::5/64' });
    expect(node.metadata.resourceVersion).toBe('7');
  });

  it('keeps an operator-set address with IP6=none', () => {
    const node = desiredNode(existing, { nodeName: 'n1', ipv4Address: '10.0.0.5/24', asNumber: undefined });
    expect(node.spec.bgp?.ipv6Address).toBe('fd00::99/64');
    const fresh = desiredNode(undefined, { nodeName: 'n1', ipv4Address: '10.0.0.5/24', asNumber: undefined });
    expect(fresh.spec.bgp?.ipv6Address).toBeUndefined();
  });
});
