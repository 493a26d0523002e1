// Unit tests of topology validation: resolved defaults (default routes, forwarding, names) and one
// precise, path-carrying problem per kind of mistake, all reported together.
import { describe, expect, it } from 'vitest';
import { demoTopology } from '../src/demo.js';
import { type Topology, TopologyError, type TopologyProblem, validateTopology } from '../src/topology.js';

function problemsOf(input: unknown): TopologyProblem[] {
  try {
    validateTopology(input);
  } catch (error) {
    expect(error).toBeInstanceOf(TopologyError);
    return [...(error as TopologyError).problems];
  }
  throw new Error('expected a TopologyError');
}

const twoSubnets = (): Topology => ({
  subnets: [
    { name: 'a', cidr: '10.0.1.0/24', router: 'r1' },
    { name: 'b', cidr: '10.0.2.0/24', router: 'r1' },
  ],
  routers: [
    {
      name: 'r1',
      interfaces: [
        { segment: 'a', addresses: ['10.0.1.1'] },
        { segment: 'b', addresses: ['10.0.2.1'] },
      ],
    },
  ],
  hosts: [
    { name: 'h1', interfaces: [{ segment: 'a', addresses: ['10.0.1.11'] }] },
    { name: 'h2', interfaces: [{ segment: 'b', addresses: ['10.0.2.12'] }] },
  ],
});

describe('validateTopology: resolution', () => {
  it('gives hosts a default route via their subnet router, per family, and routers forwarding', () => {
    const valid = validateTopology(demoTopology());
    const h3 = valid.nodes.find((n) => n.name === 'h3');
    expect(h3?.routes).toEqual([
      { to: 'default', family: 4, via: '10.0.2.1', origin: "default gateway of subnet 'b'" },
      { to: 'default', family: 6, via: 'fd00:0:0:2::1', origin: "default gateway of subnet 'b6'" },
    ]);
    const r1 = valid.nodes.find((n) => n.name === 'r1');
    expect(r1).toMatchObject({ role: 'router', forwardIPv4: true, forwardIPv6: true, routes: [] });
    expect(h3).toMatchObject({ forwardIPv4: false, forwardIPv6: false });
    expect(h3?.interfaces[0]).toEqual({
      name: 'eth0',
      segment: 'b',
      addresses: [
        { address: '10.0.2.13', family: 4, prefixLength: 24, cidr: '10.0.2.13/24' },
        { address: 'fd00:0:0:2::13', family: 6, prefixLength: 64, cidr: 'fd00:0:0:2::13/64' },
      ],
    });
    expect(valid.segments.map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('does not add a default route when the host declares one, and none without a subnet router', () => {
    const topology = twoSubnets();
    topology.hosts![0]!.routes = [{ to: 'default', via: '10.0.1.254' }];
    topology.subnets![1]!.router = undefined as never;
    delete topology.subnets![1]!.router;
    const valid = validateTopology(topology);
    expect(valid.nodes.find((n) => n.name === 'h1')?.routes).toEqual([
      { to: 'default', family: 4, via: '10.0.1.254', origin: 'hosts[0].routes[0]' },
    ]);
    expect(valid.nodes.find((n) => n.name === 'h2')?.routes).toEqual([]);
  });

  it('resolves static pods: /32, Calico-style host interface, forwarding on their host', () => {
    const topology = twoSubnets();
    topology.pods = [
      { name: 'p1', host: 'h1', mode: 'static', addresses: ['10.65.0.2'] },
      { name: 'p2', host: 'h2', mode: 'bare' },
    ];
    const valid = validateTopology(topology);
    expect(valid.pods[0]).toMatchObject({
      name: 'p1',
      host: 'h1',
      addresses: [{ address: '10.65.0.2', prefixLength: 32, cidr: '10.65.0.2/32', family: 4 }],
    });
    expect(valid.pods[0]?.hostInterface).toMatch(/^cali[0-9a-f]{11}$/);
    expect(valid.pods[1]).toMatchObject({ mode: 'bare', addresses: [] });
    expect(valid.nodes.find((n) => n.name === 'h1')?.forwardIPv4).toBe(true);
    expect(valid.nodes.find((n) => n.name === 'h2')?.forwardIPv4).toBe(false);
  });

  it('names link interfaces to-<peer> by default and keeps their prefix lengths', () => {
    const topology = twoSubnets();
    topology.links = [
      { a: { host: 'h1', addresses: ['10.9.0.0/31'] }, b: { host: 'h2', addresses: ['10.9.0.1/31'] } },
    ];
    const valid = validateTopology(topology);
    expect(valid.links[0]).toEqual({
      a: {
        host: 'h1',
        interface: 'to-h2',
        addresses: [{ address: '10.9.0.0', family: 4, prefixLength: 31, cidr: '10.9.0.0/31' }],
      },
      b: {
        host: 'h2',
        interface: 'to-h1',
        addresses: [{ address: '10.9.0.1', family: 4, prefixLength: 31, cidr: '10.9.0.1/31' }],
      },
    });
  });
});

describe('validateTopology: problems', () => {
  it('reports duplicate names with both places', () => {
    const topology = twoSubnets();
    topology.hosts!.push({ name: 'h1' });
    topology.subnets!.push({ name: 'a', cidr: '10.0.3.0/24' });
    topology.pods = [{ name: 'r1', host: 'h1', mode: 'bare' }];
    expect(problemsOf(topology)).toEqual([
      { path: 'subnets[2].name', message: "duplicate subnet name 'a' (also subnets[0])" },
      { path: 'hosts[2].name', message: "duplicate name 'h1' (already used by hosts[0].name)" },
      { path: 'pods[0].name', message: "duplicate name 'r1' (already used by routers[0].name)" },
    ]);
  });

  it('reports overlapping subnets, naming the other subnet', () => {
    const topology = twoSubnets();
    topology.subnets!.push({ name: 'c', cidr: '10.0.0.0/16' });
    expect(problemsOf(topology)).toEqual([
      { path: 'subnets[2].cidr', message: "10.0.0.0/16 overlaps 10.0.1.0/24 of subnet 'a' (subnets[0])" },
      { path: 'subnets[2].cidr', message: "10.0.0.0/16 overlaps 10.0.2.0/24 of subnet 'b' (subnets[1])" },
    ]);
  });

  it('reports an address outside its subnet, and network/broadcast addresses', () => {
    const topology = twoSubnets();
    topology.hosts![1]!.interfaces![0]!.addresses = ['10.0.3.5', '10.0.2.255'];
    expect(problemsOf(topology)).toEqual([
      {
        path: 'hosts[1].interfaces[0].addresses[0]',
        message: "10.0.3.5 is outside every subnet on segment 'b' (10.0.2.0/24)",
      },
      {
        path: 'hosts[1].interfaces[0].addresses[1]',
        message: "10.0.2.255 is the network or broadcast address of subnet 'b' (10.0.2.0/24)",
      },
    ]);
  });

  it('reports dangling references: unknown segment, link host, pod host, subnet router', () => {
    const topology = twoSubnets();
    topology.hosts![2] = { name: 'h3', interfaces: [{ segment: 'nowhere', addresses: ['10.0.9.1/24'] }] };
    topology.links = [{ a: { host: 'h1' }, b: { host: 'ghost' } }];
    topology.pods = [{ name: 'p1', host: 'nohost', mode: 'static', addresses: ['10.65.0.1'] }];
    topology.subnets!.push({ name: 'c', cidr: '10.0.3.0/24', router: 'r9' });
    expect(problemsOf(topology)).toEqual([
      { path: 'hosts[2].interfaces[0].segment', message: "unknown segment 'nowhere' (known: a, b, c)" },
      { path: 'subnets[2].router', message: "unknown router 'r9'" },
      { path: 'links[0].b.host', message: "unknown host or router 'ghost'" },
      { path: 'pods[0].host', message: "unknown host 'nohost'" },
    ]);
  });

  it('reports a router without an address in the subnet it serves, and a host named as router', () => {
    const topology = twoSubnets();
    topology.subnets!.push(
      { name: 'c', cidr: '10.0.3.0/24', router: 'r1' },
      { name: 'd', cidr: '10.0.4.0/24', router: 'h1' },
    );
    expect(problemsOf(topology)).toEqual([
      { path: 'subnets[2].router', message: "router 'r1' has no address in 10.0.3.0/24 on segment 'c'" },
      { path: 'subnets[3].router', message: "'h1' is a host, not a router" },
    ]);
  });

  it('reports bad values: types, unknown fields, host bits, long interface names', () => {
    const problems = problemsOf({
      subnets: [
        { name: 'a', cidr: '10.0.1.5/24' },
        { name: 'B!', cidr: 7 },
      ],
      hosts: [
        {
          name: 'h1',
          interfaces: [{ name: 'a-very-long-interface', segment: 'a', addresses: ['10.0.1.11/24'] }],
          colour: 'red',
        },
        { name: 'h2', interfaces: [{ segment: 'a', addresses: ['10.0.1.11/24'] }] },
      ],
      pods: [{ name: 'p', host: 'h1', mode: 'static' }],
    });
    expect(problems).toEqual([
      { path: 'subnets[0].cidr', message: "'10.0.1.5/24' has host bits set; did you mean 10.0.1.0/24?" },
      {
        path: 'subnets[1].name',
        message: `'B!' must be 1-40 characters of lowercase letters, digits and "-", starting with a letter or digit`,
      },
      { path: 'subnets[1].cidr', message: 'must be a string, got number 7' },
      {
        path: 'hosts[0].colour',
        message: 'is not a known field (known: name, interfaces, routes, forwarding)',
      },
      {
        path: 'hosts[0].interfaces[0].name',
        message: "'a-very-long-interface' is 21 characters long; interface names are limited to 15",
      },
      // Subnet 'a' was rejected, so its segment does not exist either.
      { path: 'hosts[0].interfaces[0].segment', message: "unknown segment 'a' (known: none)" },
      { path: 'hosts[1].interfaces[0].segment', message: "unknown segment 'a' (known: none)" },
      { path: 'pods[0].addresses', message: 'a static pod needs at least one address' },
    ]);
  });

  it('suggests the network of a subnet with host bits in canonical form (RFC 5952: the longest zero run is "::")', () => {
    const suggestion = (cidr: string) =>
      problemsOf({ segments: [{ name: 'a' }], subnets: [{ name: 'a', cidr }] }).find(
        (problem) => problem.path === 'subnets[0].cidr',
      )?.message;
    expect(suggestion('10.0.1.5/24')).toBe("'10.0.1.5/24' has host bits set; did you mean 10.0.1.0/24?");
    expect(suggestion('255.255.255.255/1')).toBe(
      "'255.255.255.255/1' has host bits set; did you mean 128.0.0.0/1?",
    );
    // A hand-written compression took the first zero run, giving "fd00::1:0:0:0:0/64".
    expect(suggestion('fd00:0:0:1::5/64')).toBe(
      "'fd00:0:0:1::5/64' has host bits set; did you mean fd00:0:0:1::/64?",
    );
    expect(suggestion('FD00:0:0:0:1:0:0:5/80')).toBe(
      "'FD00:0:0:0:1:0:0:5/80' has host bits set; did you mean fd00::1:0:0:0/80?",
    );
    expect(suggestion('::1/64')).toBe("'::1/64' has host bits set; did you mean ::/64?");
    expect(suggestion('0.0.0.0/33')).toBe("'0.0.0.0/33' is not an IPv4 or IPv6 prefix such as 10.0.1.0/24");
  });

  it('reports an address used twice, and a bare pod with addresses', () => {
    const topology = twoSubnets();
    topology.hosts!.push({ name: 'h3', interfaces: [{ segment: 'a', addresses: ['10.0.1.11'] }] });
    topology.pods = [{ name: 'p', host: 'h1', mode: 'bare', addresses: ['10.65.0.1'] }];
    expect(problemsOf(topology)).toEqual([
      {
        path: 'hosts[2].interfaces[0].addresses[0]',
        message: 'address 10.0.1.11 is already used at hosts[0].interfaces[0].addresses[0]',
      },
      {
        path: 'pods[0].addresses',
        message: 'a bare pod gets its addresses from the CNI plugin; give none here',
      },
    ]);
  });

  it('asks for a prefix length on a segment without a subnet of that family', () => {
    const problems = problemsOf({
      segments: [{ name: 'lan' }],
      hosts: [{ name: 'h1', interfaces: [{ segment: 'lan', addresses: ['192.168.5.1', '192.168.5.2/24'] }] }],
    });
    expect(problems).toEqual([
      {
        path: 'hosts[0].interfaces[0].addresses[0]',
        message: "192.168.5.1 needs a prefix length (no IPv4 subnet is declared on segment 'lan')",
      },
    ]);
  });

  it('refuses a static IPv4 pod on a host without a default route (proxy ARP would not answer)', () => {
    const topology = twoSubnets();
    delete topology.subnets![0]!.router;
    topology.pods = [
      { name: 'p0', host: 'h2', mode: 'static', addresses: ['10.65.0.1'] },
      { name: 'p1', host: 'h1', mode: 'static', addresses: ['10.65.0.2'] },
      { name: 'p6', host: 'h1', mode: 'static', addresses: ['fd00:65::2'] },
    ];
    expect(problemsOf(topology)).toEqual([
      {
        path: 'pods[1].host',
        message:
          "host 'h1' has no IPv4 default route, so proxy ARP cannot answer the pod's 169.254.1.1 gateway; give its subnet a router or the host a default route",
      },
    ]);
  });

  it('puts every problem, one per line, in the error message', () => {
    expect(() => validateTopology({ hosts: [{ name: 'h1' }, { name: 'h1' }], links: 3 })).toThrow(
      "invalid topology (2 problems):\n  hosts[1].name: duplicate name 'h1' (already used by hosts[0].name)\n  links: must be a list, got number 3",
    );
    expect(() => validateTopology('hosts: []')).toThrow(
      "topology: must be an object, got the string 'hosts: []'",
    );
  });
});
