// Validation and defaulting per kind: good documents with visible defaults, bad ones with precise problems.
import { describe, expect, it } from 'vitest';
import { isKind, isNamespaced, validateResource, workloadEndpointName } from '../src/index.js';

const envelope = (kind: string, spec: unknown, metadata: Record<string, unknown> = { name: 'x' }) => ({
  apiVersion: 'caracal.io/v1',
  kind,
  metadata,
  spec,
});

function problems(document: unknown): { path: string; reason: string; value: unknown }[] {
  return validateResource(document).problems.map((p) => ({ path: p.path, reason: p.reason, value: p.value }));
}
function paths(document: unknown): string[] {
  return problems(document).map((p) => p.path);
}
function spec(document: unknown): Record<string, unknown> {
  const result = validateResource(document);
  expect(result.problems).toEqual([]);
  return result.resource?.spec as Record<string, unknown>;
}

describe('envelope', () => {
  it('refuses unknown kinds with a suggestion and unknown apiVersions', () => {
    expect(
      problems({ apiVersion: 'caracal.io/v1', kind: 'IPPol', metadata: { name: 'a' } })[0]?.reason,
    ).toMatch(/did you mean "IPPool"/);
    expect(paths({ apiVersion: 'v1', kind: 'Profile', metadata: { name: 'a' } })).toEqual(['apiVersion']);
  });
  it('validates metadata.name and namespaces', () => {
    expect(paths(envelope('IPPool', { cidr: '10.0.0.0/16' }, { name: 'Bad_Name' }))).toEqual([
      'metadata.name',
    ]);
    expect(paths(envelope('IPPool', { cidr: '10.0.0.0/16' }, {}))).toEqual(['metadata.name']);
    expect(paths(envelope('IPPool', { cidr: '10.0.0.0/16' }, { name: '-a' }))).toEqual(['metadata.name']);
    expect(paths(envelope('Profile', {}, { name: 'ksa.default.My_SA' }))).toEqual([]);
    expect(paths(envelope('Profile', {}, { name: 'bad name' }))).toEqual(['metadata.name']);
    expect(paths(envelope('GlobalNetworkPolicy', {}, { name: `x.${'a'.repeat(64)}` }))).toEqual([
      'metadata.name',
    ]);
    expect(paths(envelope('IPPool', { cidr: '10.0.0.0/16' }, { name: 'a', namespace: 'ns' }))).toEqual([
      'metadata.namespace',
    ]);
    const policy = validateResource(envelope('NetworkPolicy', { selector: 'all()' }, { name: 'p' }));
    expect(policy.resource?.metadata.namespace).toBe('default');
    expect(
      paths(envelope('IPPool', { cidr: '10.0.0.0/16' }, { name: 'a', labels: { 'bad key!': 'v' } })),
    ).toEqual(['metadata.labels["bad key!"]']);
  });
  it('gives resources assignable to a plain record (what caracalctl and the datastore hold)', () => {
    const resource = validateResource(envelope('IPPool', { cidr: '10.0.0.0/16' })).resource;
    const plain: Record<string, unknown> | undefined = resource;
    expect(plain?.kind).toBe('IPPool');
    expect(
      isKind('IPPool') && !isKind('Pod') && isNamespaced('NetworkPolicy') && !isNamespaced('IPPool'),
    ).toBe(true);
  });
  it('keeps server metadata', () => {
    const meta = {
      name: 'a',
      resourceVersion: '42',
      uid: 'u-1',
      creationTimestamp: '2026-01-01T00:00:00Z',
      annotations: { note: 'x' },
    };
    expect(validateResource(envelope('IPPool', { cidr: '10.0.0.0/16' }, meta)).resource?.metadata).toEqual(
      meta,
    );
  });
  it('names unknown fields and suggests the closest one', () => {
    expect(problems(envelope('IPPool', { cidr: '10.0.0.0/16', natOutGoing: true }))).toEqual([
      {
        path: 'spec.natOutGoing',
        value: true,
        reason: 'unknown field "natOutGoing"; did you mean "natOutgoing"?',
      },
    ]);
    expect(problems(envelope('IPPool', { cidr: '10.0.0.0/16', zzz: 1 }))[0]?.reason).toBe(
      'unknown field "zzz"',
    );
  });
});

describe('Node', () => {
  it('requires the prefix length on ipv4Address', () => {
    const [problem] = problems(envelope('Node', { bgp: { ipv4Address: '10.0.0.5' } }));
    expect(problem?.path).toBe('spec.bgp.ipv4Address');
    expect(problem?.reason).toMatch(/prefix length.*CrossSubnet/);
    expect(
      spec(
        envelope('Node', { bgp: { ipv4Address: '10.0.0.5/24', ipv6Address: 'fd00::5/64', asNumber: 64513 } }),
      ),
    ).toEqual({
      bgp: { ipv4Address: '10.0.0.5/24', ipv6Address: 'fd00::5/64', asNumber: 64513 },
    });
    expect(
      spec(
        envelope('Node', {
          ipv4VXLANTunnelAddr: '10.244.0.1',
          vxlanTunnelMACAddr: '66:a0:0b:00:00:01',
          bgp: { ipv4IPIPTunnelAddr: '10.244.0.2' },
        }),
      ),
    ).toEqual({
      ipv4VXLANTunnelAddr: '10.244.0.1',
      vxlanTunnelMACAddr: '66:a0:0b:00:00:01',
      bgp: { ipv4IPIPTunnelAddr: '10.244.0.2' },
    });
    expect(paths(envelope('Node', { vxlanTunnelMACAddr: 'nope' }))).toEqual(['spec.vxlanTunnelMACAddr']);
    expect(
      paths(envelope('Node', { bgp: { ipv4Address: 'fd00::5/64', routeReflectorClusterID: 'x' } })),
    ).toEqual(['spec.bgp.ipv4Address', 'spec.bgp.routeReflectorClusterID']);
  });
});

describe('IPPool', () => {
  it('applies defaults', () => {
    expect(spec(envelope('IPPool', { cidr: '10.244.0.0/16' }))).toEqual({
      cidr: '10.244.0.0/16',
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: false,
      disabled: false,
      disableBGPExport: false,
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
    });
    expect(spec(envelope('IPPool', { cidr: 'fd00:10::/48' })).blockSize).toBe(122);
    expect(spec(envelope('IPPool', { cidr: '10.244.1.7/16' })).cidr).toBe('10.244.0.0/16');
  });
  it('collects every problem', () => {
    expect(
      problems(
        envelope('IPPool', {
          cidr: '10.0.0.0/16',
          blockSize: 19,
          ipipMode: 'Sometimes',
          vxlanMode: 'Always',
          nodeSelector: "a == 'b",
        }),
      ).map((p) => p.path),
    ).toEqual(['spec.blockSize', 'spec.ipipMode', 'spec.nodeSelector']);
    expect(
      problems(envelope('IPPool', { cidr: '10.0.0.0/16', ipipMode: 'CrossSubnet', vxlanMode: 'Always' }))[0]
        ?.reason,
    ).toMatch(/both IPIP/);
    expect(paths(envelope('IPPool', { cidr: 'fd00::/64', blockSize: 26 }))).toEqual(['spec.blockSize']);
    expect(paths(envelope('IPPool', { cidr: '10.0.0.0/28' }))).toEqual(['spec.blockSize']);
    expect(paths(envelope('IPPool', {}))).toEqual(['spec.cidr']);
  });
});

describe('IPReservation', () => {
  it('validates reservedCIDRs', () => {
    expect(spec(envelope('IPReservation', { reservedCIDRs: ['10.0.0.0/30', 'fd00::1/128'] }))).toEqual({
      reservedCIDRs: ['10.0.0.0/30', 'fd00::1/128'],
    });
    expect(paths(envelope('IPReservation', { reservedCIDRs: ['10.0.0.0/30', 'nope'] }))).toEqual([
      'spec.reservedCIDRs[1]',
    ]);
  });
});

describe('BGPConfiguration', () => {
  it('defaults the cluster-wide default', () => {
    expect(spec(envelope('BGPConfiguration', {}, { name: 'default' }))).toEqual({
      asNumber: 64512,
      nodeToNodeMeshEnabled: true,
      listenPort: 179,
      logSeverityScreen: 'Info',
    });
  });
  it('checks communities and severities', () => {
    expect(
      paths(
        envelope(
          'BGPConfiguration',
          {
            logSeverityScreen: 'Verbose',
            communities: [
              { name: 'c', value: '65000:100' },
              { name: 'd', value: 'x' },
            ],
          },
          { name: 'default' },
        ),
      ),
    ).toEqual(['spec.logSeverityScreen', 'spec.communities[1].value']);
    expect(spec(envelope('BGPConfiguration', { asNumber: '1.10' }, { name: 'node.a' })).asNumber).toBe(65546);
  });
});

describe('BGPPeer', () => {
  it('accepts peerIP with port and a secret reference', () => {
    expect(
      spec(
        envelope('BGPPeer', {
          peerIP: '10.0.0.1:1179',
          asNumber: 65001,
          password: { secretKeyRef: { name: 'bgp', key: 'pw' } },
          holdTime: '1m30s',
        }),
      ),
    ).toMatchObject({ peerIP: '10.0.0.1:1179', holdTime: '1m30s' });
    expect(spec(envelope('BGPPeer', { peerIP: '[fd00::1]:179', asNumber: 65001 })).peerIP).toBe(
      '[fd00::1]:179',
    );
  });
  it('peerIP: the four forms of Calico, and each refusal names what is wrong with the fix', () => {
    const accepted = ['10.0.0.1', '10.0.0.1:1179', 'fd00::1', '[fd00::1]:1179', 'fd00::1:179', 'FD00::1'];
    for (const peerIP of accepted) {
      expect(spec(envelope('BGPPeer', { peerIP, asNumber: 65001 })).peerIP, peerIP).toBe(peerIP);
    }
    const reasonOf = (peerIP: string) => {
      const found = problems(envelope('BGPPeer', { peerIP, asNumber: 65001 }));
      expect(
        found.map((p) => [p.path, p.value]),
        peerIP,
      ).toEqual([['spec.peerIP', peerIP]]);
      const reason = found[0]?.reason ?? '';
      const prefix =
        'must be an IP address with an optional port (10.0.0.1, 10.0.0.1:179, fd00::1, [fd00::1]:179): ';
      expect(reason.startsWith(prefix), reason).toBe(true);
      return reason.slice(prefix.length);
    };
    expect(reasonOf('[fd00::1]')).toBe(
      'an IPv6 address in brackets must be followed by ":<port>"; without a port write it bare: fd00::1',
    );
    expect(reasonOf('[10.0.0.1]:179')).toBe(
      'brackets are only for an IPv6 address; write the IPv4 address without them: 10.0.0.1:179',
    );
    expect(reasonOf('10.0.0.1:0')).toBe('port 0 is not 1-65535');
    expect(reasonOf('10.0.0.1:99999')).toBe('port 99999 is not 1-65535');
    expect(reasonOf('010.0.0.1')).toBe(
      'octet 1 "010" has a leading zero (ambiguous: inet_aton reads it as octal)',
    );
    expect(reasonOf('fd00:0:0:0:0:0:0:1:179')).toBe(
      '9 groups, expected 8 (or fewer with "::" for a run of zero groups); an IPv6 address with a port is written in brackets: [fd00:0:0:0:0:0:0:1]:179',
    );
    expect(reasonOf('tor')).toBe('not an IPv4 (a.b.c.d) or IPv6 (x:x::x) address');
  });
  it('refuses a plaintext password without echoing it', () => {
    const [problem] = problems(
      envelope('BGPPeer', { peerIP: '10.0.0.1', asNumber: 65001, password: 'hunter2' }),
    );
    expect(problem).toEqual({
      path: 'spec.password',
      value: '<redacted>',
      reason: expect.stringMatching(/secretKeyRef/),
    });
  });
  it('enforces peerIP XOR peerSelector and node XOR nodeSelector', () => {
    expect(paths(envelope('BGPPeer', { peerIP: '10.0.0.1', asNumber: 1, peerSelector: 'all()' }))).toEqual([
      'spec.peerIP',
    ]);
    expect(paths(envelope('BGPPeer', { asNumber: 1 }))).toEqual(['spec.peerIP']);
    expect(paths(envelope('BGPPeer', { peerSelector: 'all()', node: 'n1', nodeSelector: 'all()' }))).toEqual([
      'spec.nodeSelector',
    ]);
    expect(
      paths(
        envelope('BGPPeer', {
          peerIP: '10.0.0.1:99999',
          asNumber: 1,
          holdTime: '90',
          nextHopMode: 'Other',
          sourceAddress: 'x',
        }),
      ),
    ).toEqual(['spec.peerIP', 'spec.holdTime', 'spec.sourceAddress', 'spec.nextHopMode']);
  });
});

describe('WorkloadEndpoint', () => {
  const wep = {
    node: 'node-1',
    orchestrator: 'k8s',
    workload: 'default.nginx',
    pod: 'nginx',
    endpoint: 'eth0',
    interfaceName: 'cali0123456789a',
    ipNetworks: ['10.244.0.5/32'],
    mac: 'ee:ee:ee:ee:ee:ee',
    profiles: ['kns.default'],
  };
  it('validates and derives names', () => {
    expect(
      spec(envelope('WorkloadEndpoint', wep, { name: 'node--1-k8s-nginx-eth0', namespace: 'default' })),
    ).toEqual(wep);
    expect(
      paths(
        envelope(
          'WorkloadEndpoint',
          { ...wep, mac: 'zz', ipNetworks: ['10.0.0.1/40'], interfaceName: 'a-very-long-interface-name' },
          { name: 'w' },
        ),
      ),
    ).toEqual(['spec.ipNetworks[0]', 'spec.mac', 'spec.interfaceName']);
    expect(
      workloadEndpointName({ node: 'node-1', orchestrator: 'k8s', workload: 'my-pod', endpoint: 'eth0' }),
    ).toBe('node--1-k8s-my--pod-eth0');
  });
});

describe('HostEndpoint', () => {
  it('requires node and an interface or IPs', () => {
    expect(
      spec(
        envelope('HostEndpoint', {
          node: 'n1',
          interfaceName: 'eth0',
          expectedIPs: ['192.168.0.1'],
          ports: [{ name: 'ssh', protocol: 'TCP', port: 22 }],
        }),
      ),
    ).toMatchObject({ expectedIPs: ['192.168.0.1'] });
    expect(paths(envelope('HostEndpoint', {}))).toEqual(['spec.node', 'spec.interfaceName']);
  });
});

describe('policies', () => {
  it('defaults types from rule lists as Calico does', () => {
    expect(spec(envelope('GlobalNetworkPolicy', { selector: 'all()' })).types).toEqual(['Ingress']);
    expect(spec(envelope('GlobalNetworkPolicy', { egress: [{ action: 'Allow' }] })).types).toEqual([
      'Egress',
    ]);
    expect(
      spec(envelope('GlobalNetworkPolicy', { ingress: [{ action: 'Deny' }], egress: [{ action: 'Allow' }] }))
        .types,
    ).toEqual(['Ingress', 'Egress']);
    expect(
      paths(envelope('GlobalNetworkPolicy', { types: ['Ingress'], egress: [{ action: 'Allow' }] })),
    ).toEqual(['spec.egress']);
  });
  it('names the exact rule field at fault', () => {
    const bad = envelope('NetworkPolicy', {
      selector: "role == 'db'",
      ingress: [
        {
          action: 'Allow',
          protocol: 'TCP',
          destination: { ports: [80, '70000', '8000:8080', 'http', '9000:8000'] },
        },
        { action: 'Allow', protocol: 'UDPP', destination: { ports: [53] } },
        { action: 'Allow', protocol: 'ICMP', icmp: { code: 1 } },
        { action: 'Allow', protocol: 'TCP', icmp: { type: 8 } },
        { action: 'Drop', ipVersion: 5, source: { nets: ['10.0.0.0/33'], selector: 'has(' } },
      ],
    });
    expect(paths(bad)).toEqual([
      'spec.ingress[0].destination.ports[1]',
      'spec.ingress[0].destination.ports[4]',
      'spec.ingress[1].protocol',
      'spec.ingress[2].icmp.code',
      'spec.ingress[3].icmp',
      'spec.ingress[4].action',
      'spec.ingress[4].ipVersion',
      'spec.ingress[4].source.selector',
      'spec.ingress[4].source.nets[0]',
    ]);
    expect(problems(bad)[0]).toEqual({
      path: 'spec.ingress[0].destination.ports[1]',
      value: '70000',
      reason: 'must be an integer 0-65535',
    });
  });
  it('treats protocol numbers like their names for ports and ICMP', () => {
    expect(
      paths(
        envelope('GlobalNetworkPolicy', {
          ingress: [
            { action: 'Allow', protocol: '6', destination: { ports: [22] } },
            { action: 'Allow', protocol: 58, icmp: { type: 128 } },
          ],
        }),
      ),
    ).toEqual([]);
    expect(
      paths(
        envelope('GlobalNetworkPolicy', {
          ingress: [
            { action: 'Allow', destination: { notPorts: [22] } },
            { action: 'Allow', http: {} },
          ],
        }),
      ),
    ).toEqual(['spec.ingress[0].destination.notPorts', 'spec.ingress[1].http']);
  });
  it('nets must match the rule ipVersion', () => {
    const [problem] = problems(
      envelope('GlobalNetworkPolicy', {
        ingress: [{ action: 'Allow', ipVersion: 4, source: { nets: ['10.0.0.0/8', 'fd00::/8'] } }],
      }),
    );
    expect(problem).toEqual({
      path: 'spec.ingress[0].source.nets[1]',
      value: 'fd00::/8',
      reason: 'must be an IPv4 CIDR',
    });
  });
  it('accepts protocol numbers and ICMP type ranges', () => {
    expect(
      spec(
        envelope('GlobalNetworkPolicy', {
          ingress: [
            { action: 'Allow', protocol: 'ICMPv6', icmp: { type: 128, code: 0 } },
            { action: 'Allow', protocol: 47 },
          ],
        }),
      ).ingress,
    ).toHaveLength(2);
    expect(
      paths(
        envelope('GlobalNetworkPolicy', {
          ingress: [
            { action: 'Allow', protocol: 'ICMP', notICMP: { type: 255 } },
            { action: 'Allow', protocol: 0 },
          ],
        }),
      ),
    ).toEqual(['spec.ingress[0].notICMP.type', 'spec.ingress[1].protocol']);
  });
});

describe('Profile and FelixConfiguration', () => {
  it('Profile labelsToApply', () => {
    expect(
      spec(
        envelope(
          'Profile',
          { labelsToApply: { app: 'x' }, ingress: [{ action: 'Allow' }] },
          { name: 'kns.default' },
        ),
      ),
    ).toMatchObject({ labelsToApply: { app: 'x' } });
  });
  it('FelixConfiguration defaults and checks', () => {
    expect(spec(envelope('FelixConfiguration', {}, { name: 'default' }))).toEqual({
      routeRefreshInterval: '90s',
      iptablesRefreshInterval: '180s',
      nftablesRefreshInterval: '180s',
      healthPort: 9099,
      prometheusMetricsEnabled: false,
      prometheusMetricsPort: 9091,
      logSeverityScreen: 'Info',
      defaultEndpointToHostAction: 'Drop',
    });
    expect(
      paths(
        envelope(
          'FelixConfiguration',
          {
            routeRefreshInterval: 'often',
            healthPort: 0,
            failsafeInboundHostPorts: [
              { protocol: 'tcp', port: 22 },
              { protocol: 'icmp', port: 1 },
            ],
          },
          { name: 'default' },
        ),
      ),
    ).toEqual(['spec.routeRefreshInterval', 'spec.healthPort', 'spec.failsafeInboundHostPorts[1].protocol']);
  });
});
