// The demo topology (3 hosts, 2 subnets, dual-stack, one router between them) and the reachability
// matrix the CLI prints for any lab: ping and TCP from every host to every other host.
import type { Lab } from './lab.js';
import { formatTable } from './table.js';
import type { Topology } from './topology.js';

/** h1 and h2 on subnet a, h3 on subnet b, router r1 between a and b; IPv4 and IPv6 on both. */
export function demoTopology(): Topology {
  return {
    name: 'demo: 3 hosts, 2 subnets, 1 router',
    subnets: [
      { name: 'a', cidr: '10.0.1.0/24', router: 'r1' },
      { name: 'a6', cidr: 'fd00:0:0:1::/64', segment: 'a', router: 'r1' },
      { name: 'b', cidr: '10.0.2.0/24', router: 'r1' },
      { name: 'b6', cidr: 'fd00:0:0:2::/64', segment: 'b', router: 'r1' },
    ],
    routers: [
      {
        name: 'r1',
        interfaces: [
          { segment: 'a', addresses: ['10.0.1.1', 'fd00:0:0:1::1'] },
          { segment: 'b', addresses: ['10.0.2.1', 'fd00:0:0:2::1'] },
        ],
      },
    ],
    hosts: [
      { name: 'h1', interfaces: [{ segment: 'a', addresses: ['10.0.1.11', 'fd00:0:0:1::11'] }] },
      { name: 'h2', interfaces: [{ segment: 'a', addresses: ['10.0.1.12', 'fd00:0:0:1::12'] }] },
      { name: 'h3', interfaces: [{ segment: 'b', addresses: ['10.0.2.13', 'fd00:0:0:2::13'] }] },
    ],
  };
}

export interface ReachabilityCell {
  from: string;
  to: string;
  address: string;
  ping: boolean;
  tcp: boolean;
}

/** Pings and TCP-connects from every host to every other host's first address of `family`. */
export async function reachability(
  lab: Lab,
  family: 4 | 6 = 4,
  progress: (message: string) => void = () => {},
): Promise<ReachabilityCell[]> {
  const hosts = lab.topology.nodes.filter((n) => n.role === 'host').map((n) => n.name);
  const targets = hosts.filter((h) =>
    lab.topology.nodes
      .find((n) => n.name === h)
      ?.interfaces.some((i) => i.addresses.some((a) => a.family === family)),
  );
  const listeners = await Promise.all(targets.map((h) => lab.tcpListen(h)));
  const cells: ReachabilityCell[] = [];
  try {
    for (const from of hosts) {
      progress(`  probing from ${from}`);
      for (const [index, to] of targets.entries()) {
        if (to === from) continue;
        const address = lab.addressOf(to, family);
        const [ping, tcp] = await Promise.all([
          lab.ping(from, address),
          lab.tcpConnect(from, address, listeners[index]?.port ?? 0),
        ]);
        cells.push({ from, to, address, ping: ping.ok, tcp: tcp.ok && tcp.received === `caracal-lab ${to}` });
      }
    }
  } finally {
    await Promise.all(listeners.map((l) => l.stop()));
  }
  return cells;
}

/** The matrix as a table: one row per source host, one column per destination ("ping/tcp"). */
export function formatReachability(cells: readonly ReachabilityCell[]): string {
  // Hosts in probing order, the same order for rows and columns (the diagonal shows "-").
  const hosts = [...new Set(cells.flatMap((c) => [c.from, c.to]))];
  const sources = hosts.filter((h) => cells.some((c) => c.from === h));
  const destinations = hosts.filter((h) => cells.some((c) => c.to === h));
  const mark = (ok: boolean) => (ok ? 'ok' : 'FAIL');
  const rows = sources.map((from) => [
    from,
    ...destinations.map((to) => {
      const cell = cells.find((c) => c.from === from && c.to === to);
      return cell ? `${mark(cell.ping)}/${mark(cell.tcp)}` : '-';
    }),
  ]);
  const headers = [
    'from \\ to (ping/tcp)',
    ...destinations.map((to) => `${to} ${cells.find((c) => c.to === to)?.address ?? ''}`),
  ];
  return formatTable(headers, rows);
}
