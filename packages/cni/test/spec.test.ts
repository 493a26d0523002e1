// Unit tests of the CNI contract: environment and config parsing with the spec's error codes, naming.
import { describe, expect, it } from 'vitest';
import { hostVethName, ipamHandle } from '../src/naming.js';
import { CniError, CniErrorCode, parseEnvironment, parseNetworkConfig } from '../src/spec.js';

const CALICO_SHAPED =
  '{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"caracal","etcd_endpoints":"http://127.0.0.1:2379","nodename":"node1","mtu":1500,"ipam":{"type":"caracal-ipam"}}';

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof CniError) return error.code;
    throw error;
  }
  return undefined;
}

describe('network configuration', () => {
  it('accepts Calico’s shape as it stands', () => {
    const config = parseNetworkConfig(CALICO_SHAPED);
    expect(config).toMatchObject({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'caracal',
      etcdEndpoints: 'http://127.0.0.1:2379',
      nodename: 'node1',
      mtu: 1500,
      ipam: { type: 'caracal-ipam' },
    });
  });

  it('names what is wrong, with the spec’s codes', () => {
    expect(codeOf(() => parseNetworkConfig('{"cniVersion":'))).toBe(CniErrorCode.DecodeFailure);
    expect(codeOf(() => parseNetworkConfig('[]'))).toBe(CniErrorCode.DecodeFailure);
    expect(() => parseNetworkConfig('{"cniVersion":"1.0.0","type":"caracal","mtu":20,"ipam":{}}')).toThrow(
      'invalid network configuration: name is required; mtu must be an integer from 576 to 65535, got 20; ipam must be an object with a "type"',
    );
    expect(codeOf(() => parseNetworkConfig('{"cniVersion":"1.0.0","type":"caracal","ipam":{}}'))).toBe(
      CniErrorCode.InvalidNetworkConfig,
    );
    expect(
      codeOf(() =>
        parseNetworkConfig('{"cniVersion":"9.9.9","name":"n","type":"caracal","ipam":{"type":"x"}}'),
      ),
    ).toBe(CniErrorCode.IncompatibleVersion);
  });
});

describe('environment', () => {
  it('parses the CNI_* variables and CNI_ARGS', () => {
    const env = parseEnvironment({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'abc',
      CNI_NETNS: '/var/run/netns/x',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
      CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    });
    expect(env.args.get('K8S_POD_NAME')).toBe('web-0');
    expect(env.path).toEqual(['/opt/cni/bin', '/usr/lib/cni']);
  });

  it('refuses missing variables per command with code 4', () => {
    expect(() => parseEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'a' })).toThrow(
      'ADD needs CNI_NETNS, CNI_IFNAME, which are not set',
    );
    expect(codeOf(() => parseEnvironment({}))).toBe(CniErrorCode.InvalidEnvironment);
    expect(codeOf(() => parseEnvironment({ CNI_COMMAND: 'FROB' }))).toBe(CniErrorCode.InvalidEnvironment);
    expect(parseEnvironment({ CNI_COMMAND: 'VERSION' }).command).toBe('VERSION');
    // DEL may come without a netns (the pod is already gone).
    expect(parseEnvironment({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0' }).netns).toBe('');
  });
});

describe('naming', () => {
  it('names the host veth cara + 11 hex chars of sha1(namespace.pod), 15 chars at most', () => {
    // Computed independently: `printf default.web-0 | sha1sum` = 0d7763386da219ddff1f...
    expect(hostVethName({ namespace: 'default', pod: 'web-0', containerId: 'x' })).toBe('cara0d7763386da');
    expect(hostVethName({ containerId: 'abc' })).not.toBe(hostVethName({ containerId: 'abd' }));
    expect(ipamHandle('k8s-pod-network', 'abc')).toBe('k8s-pod-network.abc');
  });
});
