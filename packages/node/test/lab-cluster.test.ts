// Unit tests of the lab cluster builder's pure parts: option validation (every problem named, with its
// option, value and reason), the CNI network configuration, and the connectivity matrix's rendering.
import { describe, expect, it } from 'vitest';
import {
  type ConnectivityMatrix,
  describeUnreachable,
  LabClusterOptionsError,
  type LabClusterPod,
  labNetworkConfig,
  renderConnectivityMatrix,
  resolveLabClusterOptions,
} from '../src/index.js';
import { clusterTopology, nodeIpv6Address } from '../src/lab/cluster.js';

function problemsOf(options: Parameters<typeof resolveLabClusterOptions>[0]): readonly string[] {
  try {
    resolveLabClusterOptions(options);
  } catch (error) {
    if (error instanceof LabClusterOptionsError) return error.problems;
    throw error;
  }
  return [];
}

describe('resolveLabClusterOptions', () => {
  it('applies the defaults of the issue: 4 nodes, 2 pods each, 10.244.0.0/16 with /26 blocks', () => {
    const resolved = resolveLabClusterOptions({});
    expect(resolved).toMatchObject({
      name: 'caracal',
      nodes: 4,
      podsPerNode: 2,
      poolCidr: '10.244.0.0/16',
      blockSize: 26,
      subnet: undefined,
      detached: false,
      waitForConnectivity: true,
      podTcpListeners: true,
    });
  });

  it('names every bad option with its value and the reason, all at once', () => {
    const problems = problemsOf({ name: 'Bad_Name', nodes: 0, podsPerNode: 1.5, poolCidr: '10.244.0.1/16' });
    expect(problems).toEqual([
      'name: "Bad_Name" must start with a lower-case letter and hold only lower-case letters, digits and \'-\' (at most 31 characters)',
      'nodes: 0 must be a whole number from 1 to 9',
      'podsPerNode: 1.5 must be a whole number from 0 to 60',
      'poolCidr: 10.244.0.1/16 has host bits set (the network is 10.244.0.0/16)',
    ]);
  });

  it('refuses a pool smaller than a block, a subnet that is not a /24, and a subnet inside the pool', () => {
    expect(problemsOf({ poolCidr: '10.9.0.0/28', blockSize: 26 })).toEqual([
      'poolCidr: 10.9.0.0/28 is smaller than one block (blockSize 26)',
    ]);
    expect(problemsOf({ subnet: '10.1.2.0/23' })).toEqual([
      'subnet: "10.1.2.0/23" must be an IPv4 /24 (A.B.C.0/24): a /23',
    ]);
    expect(problemsOf({ subnet: '10.1.2.5/24' })).toEqual([
      'subnet: "10.1.2.5/24" must be an IPv4 /24 (A.B.C.0/24): host bits set beyond /24 (the network is 10.1.2.0/24)',
    ]);
    expect(problemsOf({ subnet: '10.1.002.0/24' })).toEqual([
      'subnet: "10.1.002.0/24" must be an IPv4 /24 (A.B.C.0/24): octet 3 "002" has a leading zero (ambiguous: inet_aton reads it as octal)',
    ]);
    expect(problemsOf({ subnet: 'fd00::/24' })).toEqual([
      'subnet: "fd00::/24" must be an IPv4 /24 (A.B.C.0/24): an IPv6 CIDR where IPv4 is expected',
    ]);
    expect(problemsOf({ subnet: '10.244.7.0/24' })).toEqual([
      'subnet: 10.244.7.0/24 overlaps the pool 10.244.0.0/16',
    ]);
    expect(problemsOf({ poolCidr: 'ten/8' })).toEqual([
      'poolCidr: "ten/8" is not an IPv4 CIDR (A.B.C.D/N): not an IPv4 (a.b.c.d) or IPv6 (x:x::x) address',
    ]);
    expect(problemsOf({ poolCidr: '10.244.0.0/33' })).toEqual([
      'poolCidr: "10.244.0.0/33" is not an IPv4 CIDR (A.B.C.D/N): prefix length must be 0..32 for IPv4, not 33',
    ]);
    expect(problemsOf({ poolCidr: '10.244.0.0' })).toEqual([
      'poolCidr: "10.244.0.0" is not an IPv4 CIDR (A.B.C.D/N): no prefix length (expected address/length)',
    ]);
    expect(problemsOf({ nodes: 10 })).toEqual(['nodes: 10 must be a whole number from 1 to 9']);
  });

  it('takes an IPv6 /64 for the segment and --ip6 per node; refuses anything else, naming it', () => {
    expect(
      resolveLabClusterOptions({ ipv6Subnet: 'FD12:0:0:7::/64', nodeIp6: { node1: 'autodetect' } }),
    ).toMatchObject({ ipv6Prefix: 'fd12:0:0:7::', nodeIp6: { node1: 'autodetect' } });
    expect(problemsOf({ ipv6Subnet: 'fd12::/48' })).toEqual([
      'ipv6Subnet: "fd12::/48" must be an IPv6 /64: an IPv6 /48',
    ]);
    expect(problemsOf({ ipv6Subnet: '10.1.2.0/24' })).toEqual([
      'ipv6Subnet: "10.1.2.0/24" must be an IPv6 /64: an IPv4 /24',
    ]);
    expect(problemsOf({ nodeIp6: { node1: 'autodetect' } })).toEqual([
      'nodeIp6.node1: needs ipv6Subnet (the segment has no IPv6 addresses without it)',
    ]);
    expect(problemsOf({ nodes: 2, ipv6Subnet: 'fd12::/64', nodeIp6: { node3: 'none' } })).toEqual([
      'nodeIp6.node3: no such node (node1 … node2)',
    ]);
  });
});

describe('clusterTopology', () => {
  it('puts the root namespace at .1, etcd at .2 and node N at .10+N of the subnet', () => {
    const topology = clusterTopology('demo', '10.123.45.0/24', 3);
    expect(topology.segments).toEqual([{ name: 'cluster', rootAddresses: ['10.123.45.1'] }]);
    expect(topology.subnets).toEqual([{ name: 'cluster', cidr: '10.123.45.0/24' }]);
    expect(
      topology.hosts?.map((host) => [host.name, host.interfaces?.[0]?.addresses, host.routes?.[0]?.via]),
    ).toEqual([
      ['etcd', ['10.123.45.2'], undefined],
      ['node1', ['10.123.45.11'], '10.123.45.1'],
      ['node2', ['10.123.45.12'], '10.123.45.1'],
      ['node3', ['10.123.45.13'], '10.123.45.1'],
    ]);
  });

  it('with an IPv6 /64, gives node N also <prefix>::10+N/64 (etcd and the root side stay IPv4)', () => {
    const topology = clusterTopology('demo', '10.123.45.0/24', 2, 'fd12:0:0:7::');
    expect(topology.hosts?.map((host) => [host.name, host.interfaces?.[0]?.addresses])).toEqual([
      ['etcd', ['10.123.45.2']],
      ['node1', ['10.123.45.11', 'fd12:0:0:7::11/64']],
      ['node2', ['10.123.45.12', 'fd12:0:0:7::12/64']],
    ]);
    expect(nodeIpv6Address('fd12::', 1)).toBe('fd12::12');
  });
});

describe('labNetworkConfig', () => {
  it("is Calico's k8s-pod-network configuration with caracal-ipam", () => {
    expect(labNetworkConfig('http://10.1.2.2:2379', 'node3')).toEqual({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'caracal',
      etcd_endpoints: 'http://10.1.2.2:2379',
      nodename: 'node3',
      mtu: 1500,
      ipam: { type: 'caracal-ipam' },
    });
    expect(labNetworkConfig('http://10.1.2.2:2379', 'node3', { assignIpv6: true }).ipam).toEqual({
      type: 'caracal-ipam',
      assign_ipv6: 'true',
    });
  });
});

const pod = (name: string, node: string, address: string): LabClusterPod => ({
  name,
  node,
  namespace: `crlabcd-${name}`,
  containerId: `crlabcd-${name}`,
  address,
  hostInterface: undefined,
  tcpPort: 7070,
  listenerPid: undefined,
  cniAddMs: 10,
});

describe('renderConnectivityMatrix', () => {
  const a = pod('node1-p1', 'node1', '10.244.1.1');
  const b = pod('node2-p1', 'node2', '10.244.2.1');
  const matrix: ConnectivityMatrix = {
    pods: [a, b],
    cells: [
      {
        from: a.name,
        to: b.name,
        address: b.address,
        ping: { ok: true },
        tcp: { ok: false, detail: 'timeout' },
      },
      {
        from: b.name,
        to: a.name,
        address: a.address,
        ping: { ok: false, detail: '1 packets transmitted, 0 received' },
        tcp: undefined,
      },
    ],
    unreachable: [],
    allReachable: false,
    elapsedMs: 1234,
  };
  const withUnreachable = { ...matrix, unreachable: matrix.cells };

  it('shows ping/tcp per ordered pair, the diagonal, and the count of reachable pairs', () => {
    expect(renderConnectivityMatrix(withUnreachable)).toBe(
      [
        'from \\ to              node1-p1    node2-p1',
        '                       10.244.1.1  10.244.2.1',
        'node1-p1 (10.244.1.1)  ·           ok/--',
        'node2-p1 (10.244.2.1)  --/         ·',
        '',
        "cell = ping/tcp from the row's pod to the column's pod: ok reachable, -- not; 0/2 pairs reachable (probed in 1.2 s)",
        '',
      ].join('\n'),
    );
  });

  it('describes each unreachable pair with the reason of each failed probe', () => {
    expect(describeUnreachable(withUnreachable)).toEqual([
      'node1-p1 → node2-p1 (10.244.2.1): tcp: timeout',
      'node2-p1 → node1-p1 (10.244.1.1): ping: 1 packets transmitted, 0 received',
    ]);
  });
});
