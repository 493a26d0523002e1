// Unit tests of caracal-node's flags (env equivalents, defaults, errors naming the flag) and of the
// address autodetection parsing on `ip -j` output fixtures, including the refusal of a bare address.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRouteDevice, interfaceAddress } from '../../src/agent/detect.js';
import { agentCommand, OptionError, parseNodeAddress, toAgentOptions } from '../../src/agent/options.js';

const fixture = (name: string) => readFileSync(resolve(import.meta.dirname, '../fixtures', name), 'utf8');
const FELIX = ['node', 'felix.js'];

function parse(argv: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  for (const k of ['NODENAME', 'IP', 'AS', 'ETCD_ENDPOINTS']) delete process.env[k];
  Object.assign(process.env, env);
  try {
    const command = agentCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    command.parse(['node', 'caracal-node', ...argv]);
    return toAgentOptions(command.opts(), FELIX);
  } finally {
    process.env = saved;
  }
}

describe('caracal-node flags', () => {
  it('reads flags, with defaults', () => {
    const o = parse([
      '--name',
      'n1',
      '--ip',
      '10.0.0.5/24',
      '--etcd-endpoints',
      'http://e:2379',
      '--as',
      '65001',
    ]);
    expect(o).toMatchObject({
      nodeName: 'n1',
      ipv4Address: '10.0.0.5/24',
      asNumber: 65001,
      etcdEndpoints: 'http://e:2379',
      runDir: '/run/caracal',
      healthPort: 9098,
      felixCommand: FELIX,
    });
  });
  it('takes NODENAME, IP and ETCD_ENDPOINTS from the environment; flags win', () => {
    const o = parse(['--name', 'flag-node'], {
      NODENAME: 'env-node',
      IP: '10.1.2.3/16',
      ETCD_ENDPOINTS: 'http://x:1',
    });
    expect(o.nodeName).toBe('flag-node');
    expect(o.ipv4Address).toBe('10.1.2.3/16');
    expect(o.etcdEndpoints).toBe('http://x:1');
    expect(parse([], { NODENAME: 'env-node' }).ipv4Address).toBeUndefined();
  });
  it('refuses an unknown flag naming it', () => {
    expect(() => parse(['--name', 'n1', '--bogus'])).toThrow("unknown option '--bogus'");
  });
  it('refuses bad values naming the flag', () => {
    expect(() => parse([])).toThrow('--name (or NODENAME) is required');
    expect(() => parse(['--name', 'N_1'])).toThrow('--name must be a DNS name');
    expect(() => parse(['--name', 'n1', '--health-port', '70000'])).toThrow(
      '--health-port must be a port 0-65535, got "70000"',
    );
    expect(() => parse(['--name', 'n1', '--as', '0'])).toThrow('--as must be an AS number');
    expect(() => parse(['--name', 'n1', '--ip', '10.0.0.300/24'])).toThrow('--ip must be an IPv4 address');
    expect(() => parse(['--name', 'n1', '--ip', '10.0.0.3/33'])).toThrow('prefix length must be 0-32');
  });
  it('checks --ip with the grammar of @caracal/ip, saying what is wrong', () => {
    expect(parseNodeAddress(' 10.0.0.5/24 ', '--ip')).toBe('10.0.0.5/24');
    expect(() => parseNodeAddress('10.0.0.300/24', '--ip')).toThrow(
      '--ip must be an IPv4 address with prefix length (A.B.C.D/N), got "10.0.0.300/24" (octet 4 is 300, more than 255)',
    );
    expect(() => parseNodeAddress('010.0.0.5/24', '--ip')).toThrow(
      'got "010.0.0.5/24" (octet 1 "010" has a leading zero (ambiguous: inet_aton reads it as octal))',
    );
    expect(() => parseNodeAddress('fd00::5/64', '--ip')).toThrow('got "fd00::5/64" (an IPv6 address)');
    expect(() => parseNodeAddress('10.0.0.5/', '--ip')).toThrow(
      '--ip prefix length must be 0-32, got "10.0.0.5/"',
    );
    expect(() => parseNodeAddress('10.0.0.5/2x', '--ip')).toThrow(
      '--ip prefix length must be 0-32, got "10.0.0.5/2x"',
    );
  });
  it('runs caracal-bgpd by default with its ports; --no-bgpd and --bgpd-command change that', () => {
    expect(parse(['--name', 'n1'])).toMatchObject({
      bgpdCommand: ['caracal-bgpd'],
      bgpdMetricsPort: 9092,
      bgpdHealthPort: 9097,
    });
    expect(parse(['--name', 'n1', '--no-bgpd']).bgpdCommand).toBeUndefined();
    expect(parse(['--name', 'n1', '--bgpd-command', '/x/bgpd.js']).bgpdCommand).toEqual([
      process.execPath,
      '/x/bgpd.js',
    ]);
    expect(parse(['--name', 'n1', '--bgpd-command', '/usr/bin/bgpd']).bgpdCommand).toEqual(['/usr/bin/bgpd']);
    expect(parse(['--name', 'n1', '--bgpd-metrics-port', '19092', '--bgpd-health-port', '0'])).toMatchObject({
      bgpdMetricsPort: 19092,
      bgpdHealthPort: 0,
    });
    expect(() => parse(['--name', 'n1', '--bgpd-metrics-port', '0'])).toThrow(
      '--bgpd-metrics-port must be a port 1-65535, got "0"',
    );
    expect(() => parse(['--name', 'n1', '--bgpd-health-port', 'x'])).toThrow(
      '--bgpd-health-port must be a port 0-65535, got "x"',
    );
  });
  it('refuses a bare address, saying why (calico#2375)', () => {
    expect(() => parseNodeAddress('10.0.0.5', '--ip')).toThrow(OptionError);
    expect(() => parse(['--name', 'n1', '--ip', '10.0.0.5'])).toThrow(/has no prefix length.*calico#2375/);
  });
});

describe('address autodetection from ip -j output', () => {
  it("picks the default route with the lowest metric and its interface's first IPv4 address", () => {
    const device = defaultRouteDevice(fixture('route-default.json'));
    expect(device).toBe('eth0');
    expect(interfaceAddress(fixture('addr-eth0.json'), device)).toBe('198.51.100.7/24');
  });
  it('says there is no default route', () => {
    expect(() => defaultRouteDevice('[{"dst":"10.0.0.0/24","dev":"eth0"}]')).toThrow('no IPv4 default route');
  });
  it('says the interface has no IPv4 address', () => {
    expect(() =>
      interfaceAddress('[{"ifname":"eth0","addr_info":[{"family":"inet6","local":"fd00::2"}]}]', 'eth0'),
    ).toThrow('interface eth0 has no IPv4 address');
  });
  it('refuses an address reported without its prefix length', () => {
    const bare =
      '[{"ifname":"eth0","addr_info":[{"family":"inet","local":"198.51.100.7","scope":"global"}]}]';
    expect(() => interfaceAddress(bare, 'eth0')).toThrow(/has no prefix length/);
  });
});
