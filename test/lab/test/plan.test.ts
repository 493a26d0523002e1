// Unit tests of the bring-up plan: which commands a topology turns into (names, order, Calico wiring).
import { describe, expect, it } from 'vitest';
import { demoTopology } from '../src/demo.js';
import { NameAllocator, planTopology, podSteps } from '../src/plan.js';
import { validateTopology } from '../src/topology.js';

const runId = 'crltest';
const commands = (steps: { argv: string[] }[]) => steps.map((s) => s.argv.join(' '));

describe('planTopology', () => {
  it('builds the fabric and bridges first, then nodes, with routes last and forwarding on routers', () => {
    const { steps, objects } = planTopology(validateTopology(demoTopology()), new NameAllocator(runId));
    const lines = commands(steps);
    expect(objects).toEqual({
      namespaces: ['crltest-fabric', 'crltest-h1', 'crltest-h2', 'crltest-h3', 'crltest-r1'],
      rootLinks: [],
    });
    expect(lines.slice(0, 3)).toEqual([
      'ip netns add crltest-fabric',
      'ip -n crltest-fabric link set lo up',
      'ip netns exec crltest-fabric sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0',
    ]);
    expect(lines).toContain('ip -n crltest-h1 link add eth0 type veth peer name p0 netns crltest-fabric');
    expect(lines).toContain('ip -n crltest-fabric link set p0 master br0 up');
    expect(lines).toContain('ip -n crltest-h3 addr add fd00:0:0:2::13/64 dev eth0 nodad');
    expect(lines).toContain(
      'ip netns exec crltest-r1 sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1',
    );
    expect(lines.filter((l) => l.includes('ip_forward'))).toHaveLength(1);
    const routes = lines.filter((l) => l.includes(' route add '));
    expect(routes).toEqual([
      'ip -n crltest-h1 -4 route add default via 10.0.1.1',
      'ip -n crltest-h1 -6 route add default via fd00:0:0:1::1',
      'ip -n crltest-h2 -4 route add default via 10.0.1.1',
      'ip -n crltest-h2 -6 route add default via fd00:0:0:1::1',
      'ip -n crltest-h3 -4 route add default via 10.0.2.1',
      'ip -n crltest-h3 -6 route add default via fd00:0:0:2::1',
    ]);
    expect(lines.indexOf(routes[0]!)).toBeGreaterThan(lines.lastIndexOf('ip -n crltest-r1 link set eth1 up'));
  });

  it('attaches the root namespace to a segment with a prefixed link name', () => {
    const topology = validateTopology({
      subnets: [{ name: 'mgmt', cidr: '10.99.0.0/24' }],
      segments: [{ name: 'mgmt', rootAddresses: ['10.99.0.1'] }],
      hosts: [{ name: 'h1', interfaces: [{ segment: 'mgmt', addresses: ['10.99.0.11'] }] }],
    });
    const { steps, objects } = planTopology(topology, new NameAllocator(runId));
    expect(objects.rootLinks).toEqual(['crltestr0']);
    expect(commands(steps)).toContain('ip link add crltestr0 type veth peer name p1 netns crltest-fabric');
    expect(commands(steps)).toContain('ip addr add 10.99.0.1/24 dev crltestr0');
  });

  it('wires a static pod like Calico: MAC, proxy ARP, /32 scope link route, 169.254.1.1 gateway', () => {
    const topology = validateTopology({
      hosts: [{ name: 'h1', routes: [{ to: 'default', via: '10.0.0.1' }] }],
      pods: [
        {
          name: 'p1',
          host: 'h1',
          mode: 'static',
          addresses: ['10.65.0.2', 'fd00:65::2'],
          hostInterface: 'calip1',
        },
      ],
    });
    expect(commands(podSteps(runId, topology.pods[0]!)).slice(3)).toEqual([
      'ip -n crltest-h1 link add calip1 type veth peer name eth0 netns crltest-p1',
      'ip -n crltest-h1 link set calip1 address ee:ee:ee:ee:ee:ee',
      'ip netns exec crltest-h1 sysctl -qw net.ipv4.conf.calip1.proxy_arp=1 net.ipv4.neigh.calip1.proxy_delay=0',
      'ip -n crltest-h1 link set calip1 up',
      'ip -n crltest-p1 addr add 10.65.0.2/32 dev eth0',
      'ip -n crltest-p1 addr add fd00:65::2/128 dev eth0 nodad',
      'ip -n crltest-p1 link set eth0 up',
      'ip -n crltest-p1 route add 169.254.1.1 dev eth0 scope link',
      'ip -n crltest-p1 route add default via 169.254.1.1 dev eth0',
      'ip -n crltest-p1 -6 route add default via fe80::ecee:eeff:feee:eeee dev eth0',
      'ip -n crltest-h1 -4 route add 10.65.0.2/32 dev calip1 scope link',
      'ip -n crltest-h1 -6 route add fd00:65::2/128 dev calip1 scope link',
    ]);
  });

  it('makes only the namespace of a bare pod', () => {
    const topology = validateTopology({
      hosts: [{ name: 'h1' }],
      pods: [{ name: 'p1', host: 'h1', mode: 'bare' }],
    });
    expect(commands(podSteps(runId, topology.pods[0]!))).toEqual([
      'ip netns add crltest-p1',
      'ip -n crltest-p1 link set lo up',
      'ip netns exec crltest-p1 sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0',
    ]);
  });
});
