// Turns a validated topology into the ordered list of iproute2/sysctl commands that build it. Pure:
// no kernel access, so what would be built (names, routes, sysctls) is unit-testable.
import { bridgeName, FABRIC_NODE_NAME, fabricPortName, namespaceName, rootLinkName } from './naming.js';
import type { ResolvedAddress, ResolvedNode, ResolvedPod, ValidTopology } from './topology.js';

/** One command of a plan, with the sentence shown in progress output and errors. */
export interface Step {
  description: string;
  argv: string[];
}

/** What a plan creates: recorded in the state file before the steps run, so cleanup can find it. */
export interface PlanObjects {
  namespaces: string[];
  rootLinks: string[];
}

/** Allocates fabric-side port names and root link names; shared by the initial plan and additions. */
export class NameAllocator {
  private nextPort = 0;
  private nextRootLink = 0;
  constructor(readonly runId: string) {}
  fabricPort(): string {
    return fabricPortName(this.nextPort++);
  }
  rootLink(): string {
    return rootLinkName(this.runId, 'r', this.nextRootLink++);
  }
  /** Restores the counters (a lab reloaded from its state file continues numbering). */
  static restore(runId: string, nextPort: number, nextRootLink: number): NameAllocator {
    const allocator = new NameAllocator(runId);
    allocator.nextPort = nextPort;
    allocator.nextRootLink = nextRootLink;
    return allocator;
  }
  get counters(): { nextPort: number; nextRootLink: number } {
    return { nextPort: this.nextPort, nextRootLink: this.nextRootLink };
  }
}

export const POD_GATEWAY_IPV4 = '169.254.1.1';
/** The link-local address the kernel derives (EUI-64) from the host-side MAC ee:ee:ee:ee:ee:ee. */
export const POD_GATEWAY_IPV6 = 'fe80::ecee:eeff:feee:eeee';
export const POD_HOST_SIDE_MAC = 'ee:ee:ee:ee:ee:ee';

function ipn(ns: string, ...args: string[]): string[] {
  return ['ip', '-n', ns, ...args];
}

function sysctl(ns: string | undefined, ...settings: string[]): string[] {
  const argv = ['sysctl', '-qw', ...settings];
  return ns === undefined ? argv : ['ip', 'netns', 'exec', ns, ...argv];
}

function addAddress(ns: string | undefined, dev: string, address: ResolvedAddress): string[] {
  const args = ['addr', 'add', address.cidr, 'dev', dev, ...(address.family === 6 ? ['nodad'] : [])];
  return ns === undefined ? ['ip', ...args] : ipn(ns, ...args);
}

/** Steps creating one namespace with loopback up and IPv6 duplicate-address detection off. */
export function namespaceSteps(ns: string): Step[] {
  return [
    { description: `create namespace ${ns}`, argv: ['ip', 'netns', 'add', ns] },
    { description: `bring up lo in ${ns}`, argv: ipn(ns, 'link', 'set', 'lo', 'up') },
    {
      description: `turn off IPv6 DAD in ${ns}`,
      argv: sysctl(ns, 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'),
    },
  ];
}

/** Steps for a host or router: namespace, segment interfaces (veth to the fabric bridge), forwarding. */
export function nodeSteps(topology: ValidTopology, node: ResolvedNode, names: NameAllocator): Step[] {
  const ns = namespaceName(names.runId, node.name);
  const fabric = namespaceName(names.runId, FABRIC_NODE_NAME);
  const steps = namespaceSteps(ns);
  for (const iface of node.interfaces) {
    const port = names.fabricPort();
    const bridge = bridgeName(topology.segments.findIndex((s) => s.name === iface.segment));
    steps.push(
      {
        description: `attach ${node.name}/${iface.name} to segment ${iface.segment}`,
        argv: ipn(ns, 'link', 'add', iface.name, 'type', 'veth', 'peer', 'name', port, 'netns', fabric),
      },
      {
        description: `plug ${port} into ${bridge}`,
        argv: ipn(fabric, 'link', 'set', port, 'master', bridge, 'up'),
      },
      ...iface.addresses.map((a) => ({
        description: `address ${a.cidr} on ${node.name}/${iface.name}`,
        argv: addAddress(ns, iface.name, a),
      })),
      { description: `bring up ${node.name}/${iface.name}`, argv: ipn(ns, 'link', 'set', iface.name, 'up') },
    );
  }
  const forwarding: string[] = [];
  if (node.forwardIPv4) forwarding.push('net.ipv4.ip_forward=1');
  if (node.forwardIPv6) forwarding.push('net.ipv6.conf.all.forwarding=1');
  if (forwarding.length > 0) {
    steps.push({ description: `turn on forwarding in ${node.name}`, argv: sysctl(ns, ...forwarding) });
  }
  return steps;
}

/** Steps adding a node's routes (run after every interface and link exists). */
export function routeSteps(runId: string, node: ResolvedNode): Step[] {
  const ns = namespaceName(runId, node.name);
  return node.routes.map((route) => ({
    description: `route ${route.to}${route.via ? ` via ${route.via}` : ''} in ${node.name} (${route.origin})`,
    argv: ipn(
      ns,
      ...(route.family === 6 ? ['-6'] : ['-4']),
      'route',
      'add',
      route.to,
      ...(route.via === undefined ? [] : ['via', route.via]),
      ...(route.dev === undefined ? [] : ['dev', route.dev]),
    ),
  }));
}

/**
 * Steps for a pod. `bare`: only its namespace. `static`: the Calico wiring — veth with the host side
 * named `hostInterface` (MAC ee:ee:ee:ee:ee:ee, proxy ARP on, /32 scope link route) and the pod side
 * eth0 holding the pod's /32 (/128), routing by default via 169.254.1.1 (fe80::ecee:eeff:feee:eeee).
 */
export function podSteps(runId: string, pod: ResolvedPod): Step[] {
  const podNs = namespaceName(runId, pod.name);
  const hostNs = namespaceName(runId, pod.host);
  const steps = namespaceSteps(podNs);
  if (pod.mode === 'bare') return steps;
  const hostIf = pod.hostInterface;
  steps.push(
    {
      description: `veth ${pod.host}/${hostIf} <-> ${pod.name}/eth0`,
      argv: ipn(hostNs, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs),
    },
    {
      description: `MAC ${POD_HOST_SIDE_MAC} on ${hostIf}`,
      argv: ipn(hostNs, 'link', 'set', hostIf, 'address', POD_HOST_SIDE_MAC),
    },
    {
      description: `proxy ARP on ${pod.host}/${hostIf}`,
      argv: sysctl(hostNs, `net.ipv4.conf.${hostIf}.proxy_arp=1`, `net.ipv4.neigh.${hostIf}.proxy_delay=0`),
    },
    { description: `bring up ${pod.host}/${hostIf}`, argv: ipn(hostNs, 'link', 'set', hostIf, 'up') },
    ...pod.addresses.map((a) => ({
      description: `address ${a.cidr} on ${pod.name}/eth0`,
      argv: addAddress(podNs, 'eth0', a),
    })),
    { description: `bring up ${pod.name}/eth0`, argv: ipn(podNs, 'link', 'set', 'eth0', 'up') },
  );
  if (pod.addresses.some((a) => a.family === 4)) {
    steps.push(
      {
        description: `gateway ${POD_GATEWAY_IPV4} on-link in ${pod.name}`,
        argv: ipn(podNs, 'route', 'add', POD_GATEWAY_IPV4, 'dev', 'eth0', 'scope', 'link'),
      },
      {
        description: `default route via ${POD_GATEWAY_IPV4} in ${pod.name}`,
        argv: ipn(podNs, 'route', 'add', 'default', 'via', POD_GATEWAY_IPV4, 'dev', 'eth0'),
      },
    );
  }
  if (pod.addresses.some((a) => a.family === 6)) {
    steps.push({
      description: `default route via ${POD_GATEWAY_IPV6} in ${pod.name}`,
      argv: ipn(podNs, '-6', 'route', 'add', 'default', 'via', POD_GATEWAY_IPV6, 'dev', 'eth0'),
    });
  }
  for (const a of pod.addresses) {
    steps.push({
      description: `route to pod ${pod.name} (${a.cidr}) in ${pod.host}`,
      argv: ipn(
        hostNs,
        ...(a.family === 6 ? ['-6'] : ['-4']),
        'route',
        'add',
        a.cidr,
        'dev',
        hostIf,
        'scope',
        'link',
      ),
    });
  }
  return steps;
}

/** The namespaces a topology needs (fabric first when there are segments). */
export function topologyNamespaces(runId: string, topology: ValidTopology): string[] {
  return [
    ...(topology.segments.length > 0 ? [namespaceName(runId, FABRIC_NODE_NAME)] : []),
    ...topology.nodes.map((n) => namespaceName(runId, n.name)),
    ...topology.pods.map((p) => namespaceName(runId, p.name)),
  ];
}

/** The whole bring-up, in order: fabric and bridges, nodes, root attachments, links, pods, routes. */
export function planTopology(
  topology: ValidTopology,
  names: NameAllocator,
): { steps: Step[]; objects: PlanObjects } {
  const runId = names.runId;
  const fabric = namespaceName(runId, FABRIC_NODE_NAME);
  const steps: Step[] = [];
  const rootLinks: string[] = [];
  if (topology.segments.length > 0) {
    steps.push(...namespaceSteps(fabric));
    topology.segments.forEach((segment, i) => {
      const bridge = bridgeName(i);
      steps.push(
        {
          description: `bridge ${bridge} for segment ${segment.name}`,
          argv: ipn(fabric, 'link', 'add', bridge, 'type', 'bridge'),
        },
        { description: `bring up ${bridge}`, argv: ipn(fabric, 'link', 'set', bridge, 'up') },
      );
    });
  }
  for (const node of topology.nodes) steps.push(...nodeSteps(topology, node, names));
  topology.segments.forEach((segment, i) => {
    if (segment.rootAddresses.length === 0) return;
    const rootIf = names.rootLink();
    const port = names.fabricPort();
    rootLinks.push(rootIf);
    steps.push(
      {
        description: `attach the root namespace to segment ${segment.name} as ${rootIf}`,
        argv: ['ip', 'link', 'add', rootIf, 'type', 'veth', 'peer', 'name', port, 'netns', fabric],
      },
      {
        description: `plug ${port} into ${bridgeName(i)}`,
        argv: ipn(fabric, 'link', 'set', port, 'master', bridgeName(i), 'up'),
      },
      ...segment.rootAddresses.map((a) => ({
        description: `address ${a.cidr} on ${rootIf}`,
        argv: addAddress(undefined, rootIf, a),
      })),
      { description: `bring up ${rootIf}`, argv: ['ip', 'link', 'set', rootIf, 'up'] },
    );
  });
  for (const link of topology.links) {
    const aNs = namespaceName(runId, link.a.host);
    const bNs = namespaceName(runId, link.b.host);
    steps.push({
      description: `link ${link.a.host}/${link.a.interface} <-> ${link.b.host}/${link.b.interface}`,
      argv: ipn(
        aNs,
        'link',
        'add',
        link.a.interface,
        'type',
        'veth',
        'peer',
        'name',
        link.b.interface,
        'netns',
        bNs,
      ),
    });
    for (const [ns, end] of [
      [aNs, link.a],
      [bNs, link.b],
    ] as const) {
      for (const a of end.addresses) {
        steps.push({
          description: `address ${a.cidr} on ${end.host}/${end.interface}`,
          argv: addAddress(ns, end.interface, a),
        });
      }
      steps.push({
        description: `bring up ${end.host}/${end.interface}`,
        argv: ipn(ns, 'link', 'set', end.interface, 'up'),
      });
    }
  }
  for (const pod of topology.pods) steps.push(...podSteps(runId, pod));
  for (const node of topology.nodes) steps.push(...routeSteps(runId, node));
  return { steps, objects: { namespaces: topologyNamespaces(runId, topology), rootLinks } };
}
