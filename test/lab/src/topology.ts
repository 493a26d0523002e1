// Topologies as data: the input types (what a test or a YAML file writes), the resolved form the
// builder consumes, and `validateTopology`, which checks everything before any kernel object is made
// and reports every problem at once with its path (e.g. `hosts[2].interfaces[0].addresses[0]`).
import { formatCidr } from '@caracal/ip';
import {
  type IpFamily,
  isReservedInPrefix,
  type ParsedPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixesOverlap,
} from './address.js';
import { FABRIC_NODE_NAME, interfaceNameProblem, podHostInterfaceName } from './naming.js';

/** An L2 segment: a bridge in the fabric namespace that host and router interfaces attach to. */
export interface SegmentSpec {
  name: string;
  /**
   * Addresses (in this segment's subnets, or with a prefix length) to give to an interface in the
   * root namespace attached to this segment, e.g. so hosts can reach an etcd running in the root.
   */
  rootAddresses?: string[];
}

/** An IP subnet on a segment; hosts on it route by default via `router` when one is named. */
export interface SubnetSpec {
  name: string;
  cidr: string;
  /** The segment carrying this subnet; defaults to a segment named like the subnet. */
  segment?: string;
  /** A router (from `routers`) with an address in this subnet, used as the hosts' default gateway. */
  router?: string;
}

/** An interface of a host or router attached to a segment. */
export interface InterfaceSpec {
  /** Interface name inside the node; defaults to eth0, eth1, ... in declaration order. */
  name?: string;
  segment: string;
  /** Plain addresses (prefix length from the subnet containing them) or `address/length`. */
  addresses: string[];
}

/** A static route inside a host or router. */
export interface RouteSpec {
  /** `default` or a prefix such as 10.65.0.0/16. */
  to: string;
  via?: string;
  /** Interface name inside the node. */
  dev?: string;
}

/** A host or router: one network namespace. */
export interface NodeSpec {
  name: string;
  interfaces?: InterfaceSpec[];
  routes?: RouteSpec[];
  /** Turn on IP forwarding (routers always forward; hosts with static pods forward too). */
  forwarding?: boolean;
}

export type HostSpec = NodeSpec;
export type RouterSpec = NodeSpec;

/** One end of a point-to-point link. */
export interface LinkEndSpec {
  /** A host or router name. */
  host: string;
  /** Interface name at this end; defaults to `to-<peer>` (or `l<index>` when that is too long). */
  interface?: string;
  /** Addresses with prefix length, e.g. 10.9.0.0/31. */
  addresses?: string[];
}

/** A veth pair directly between two hosts/routers (no bridge). */
export interface LinkSpec {
  a: LinkEndSpec;
  b: LinkEndSpec;
}

/**
 * A pod: a namespace attached to a host. `static`: the harness wires it like Calico does (veth,
 * /32 on eth0, 169.254.1.1 gateway, proxy ARP on the host side). `bare`: only the namespace.
 */
export interface PodSpec {
  name: string;
  host: string;
  mode: 'static' | 'bare';
  /** Static pods: their addresses (plain, or /32 and /128). */
  addresses?: string[];
  /** Host-side interface name; defaults to `cali` + 11 hex characters of a hash of the pod name. */
  hostInterface?: string;
}

export interface Topology {
  /** A label shown by `caracal-lab status`. */
  name?: string;
  segments?: SegmentSpec[];
  subnets?: SubnetSpec[];
  routers?: RouterSpec[];
  hosts?: HostSpec[];
  links?: LinkSpec[];
  pods?: PodSpec[];
}

/** An address with the prefix length it gets on its interface. */
export interface ResolvedAddress {
  address: string;
  family: IpFamily;
  prefixLength: number;
  /** `address/prefixLength`, as `ip addr add` wants it. */
  cidr: string;
}

export interface ResolvedRoute {
  to: string;
  family: IpFamily;
  via?: string;
  dev?: string;
  /** Where this route came from, e.g. "default gateway of subnet a" or "routes[0]". */
  origin: string;
}

export interface ResolvedInterface {
  name: string;
  segment: string;
  addresses: ResolvedAddress[];
}

export interface ResolvedNode {
  name: string;
  role: 'host' | 'router';
  interfaces: ResolvedInterface[];
  routes: ResolvedRoute[];
  forwardIPv4: boolean;
  forwardIPv6: boolean;
}

export interface ResolvedLinkEnd {
  host: string;
  interface: string;
  addresses: ResolvedAddress[];
}

export interface ResolvedLink {
  a: ResolvedLinkEnd;
  b: ResolvedLinkEnd;
}

export interface ResolvedPod {
  name: string;
  host: string;
  mode: 'static' | 'bare';
  addresses: ResolvedAddress[];
  hostInterface: string;
}

export interface ResolvedSegment {
  name: string;
  rootAddresses: ResolvedAddress[];
}

export interface ResolvedSubnet {
  name: string;
  cidr: string;
  family: IpFamily;
  segment: string;
  router?: string;
}

/** A topology that passed validation, with every default filled in. */
export interface ValidTopology {
  name: string;
  segments: ResolvedSegment[];
  subnets: ResolvedSubnet[];
  /** Hosts then routers, in declaration order. */
  nodes: ResolvedNode[];
  links: ResolvedLink[];
  pods: ResolvedPod[];
  /** The input, kept so that hosts and pods can be added later and validated together. */
  source: Topology;
}

/** One thing wrong with a topology: where (`hosts[2].interfaces[0].addresses[0]`) and why. */
export interface TopologyProblem {
  path: string;
  message: string;
}

/** Thrown by `validateTopology`; lists every problem found, one per line. */
export class TopologyError extends Error {
  readonly problems: readonly TopologyProblem[];
  constructor(problems: readonly TopologyProblem[]) {
    const lines = problems.map((p) => `  ${p.path}: ${p.message}`);
    super(
      `invalid topology (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    );
    this.name = 'TopologyError';
    this.problems = problems;
  }
}

const NODE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
const NODE_NAME_RULE =
  'must be 1-40 characters of lowercase letters, digits and "-", starting with a letter or digit';

/** Collects problems while walking an untrusted value. */
class Checker {
  readonly problems: TopologyProblem[] = [];
  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }
  object(value: unknown, path: string): Record<string, unknown> | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
    this.add(path, `must be an object, got ${describe(value)}`);
    return undefined;
  }
  array(value: unknown, path: string): unknown[] {
    if (value === undefined) return [];
    if (Array.isArray(value)) return value;
    this.add(path, `must be a list, got ${describe(value)}`);
    return [];
  }
  string(value: unknown, path: string): string | undefined {
    if (typeof value === 'string') return value;
    this.add(path, value === undefined ? 'is required' : `must be a string, got ${describe(value)}`);
    return undefined;
  }
  optionalString(value: unknown, path: string): string | undefined {
    return value === undefined ? undefined : this.string(value, path);
  }
  unknownKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key))
        this.add(`${path}.${key}`, `is not a known field (known: ${allowed.join(', ')})`);
    }
  }
  name(value: unknown, path: string): string | undefined {
    const name = this.string(value, path);
    if (name !== undefined && !NODE_NAME_PATTERN.test(name)) {
      this.add(path, `'${name}' ${NODE_NAME_RULE}`);
      return undefined;
    }
    return name;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string '${value}'`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

interface SubnetEntry {
  resolved: ResolvedSubnet;
  prefix: ParsedPrefix;
  path: string;
}

/**
 * Checks a topology (typically parsed from YAML/JSON, hence `unknown`) and returns it resolved:
 * defaults filled, prefix lengths attached to addresses, default routes via subnet routers added.
 * Throws a `TopologyError` listing every problem otherwise.
 */
export function validateTopology(input: unknown): ValidTopology {
  const c = new Checker();
  const root = c.object(input, 'topology');
  if (!root) throw new TopologyError(c.problems);
  c.unknownKeys(root, ['name', 'segments', 'subnets', 'routers', 'hosts', 'links', 'pods'], 'topology');
  const name = c.optionalString(root.name, 'name') ?? 'lab';

  // Segments: declared ones plus those implied by subnets.
  const segments = new Map<string, { resolved: ResolvedSegment; path: string; rawRoot: unknown[] }>();
  c.array(root.segments, 'segments').forEach((raw, i) => {
    const path = `segments[${i}]`;
    const obj = c.object(raw, path);
    if (!obj) return;
    c.unknownKeys(obj, ['name', 'rootAddresses'], path);
    const segName = c.name(obj.name, `${path}.name`);
    if (segName === undefined) return;
    if (segments.has(segName)) {
      c.add(`${path}.name`, `duplicate segment name '${segName}' (also ${segments.get(segName)?.path})`);
      return;
    }
    const rawRoot = c.array(obj.rootAddresses, `${path}.rootAddresses`);
    segments.set(segName, { resolved: { name: segName, rootAddresses: [] }, path, rawRoot });
  });

  // Subnets.
  const subnets: SubnetEntry[] = [];
  c.array(root.subnets, 'subnets').forEach((raw, i) => {
    const path = `subnets[${i}]`;
    const obj = c.object(raw, path);
    if (!obj) return;
    c.unknownKeys(obj, ['name', 'cidr', 'segment', 'router'], path);
    const subnetName = c.name(obj.name, `${path}.name`);
    const cidr = c.string(obj.cidr, `${path}.cidr`);
    const segment = obj.segment === undefined ? subnetName : c.name(obj.segment, `${path}.segment`);
    const router = obj.router === undefined ? undefined : c.name(obj.router, `${path}.router`);
    if (subnetName === undefined || cidr === undefined || segment === undefined) return;
    const duplicate = subnets.find((s) => s.resolved.name === subnetName);
    if (duplicate) {
      c.add(`${path}.name`, `duplicate subnet name '${subnetName}' (also ${duplicate.path})`);
      return;
    }
    const prefix = parsePrefix(cidr, true);
    if (!prefix) {
      const loose = parsePrefix(cidr, false);
      c.add(
        `${path}.cidr`,
        loose
          ? `'${cidr}' has host bits set; did you mean ${formatNetwork(loose)}?`
          : `'${cidr}' is not an IPv4 or IPv6 prefix such as 10.0.1.0/24`,
      );
      return;
    }
    for (const other of subnets) {
      if (prefixesOverlap(prefix, other.prefix)) {
        c.add(
          `${path}.cidr`,
          `${cidr} overlaps ${other.resolved.cidr} of subnet '${other.resolved.name}' (${other.path})`,
        );
      }
    }
    if (!segments.has(segment)) {
      if (obj.segment !== undefined && !(root.segments === undefined)) {
        c.add(`${path}.segment`, `unknown segment '${segment}'`);
        return;
      }
      segments.set(segment, { resolved: { name: segment, rootAddresses: [] }, path, rawRoot: [] });
    }
    const resolved: ResolvedSubnet = { name: subnetName, cidr, family: prefix.family, segment };
    if (router !== undefined) resolved.router = router;
    subnets.push({ resolved, prefix, path });
  });

  const usedAddresses = new Map<string, string>();
  const claimAddress = (address: string, path: string): void => {
    const canonical = String(parseAddress(address)?.value ?? address);
    const previous = usedAddresses.get(canonical);
    if (previous) c.add(path, `address ${address} is already used at ${previous}`);
    else usedAddresses.set(canonical, path);
  };

  /** Resolves an address on a segment interface: prefix length from the containing subnet. */
  const segmentAddress = (segment: string, text: string, path: string): ResolvedAddress | undefined => {
    const slash = text.indexOf('/');
    const addrText = slash < 0 ? text : text.slice(0, slash);
    const address = parseAddress(addrText);
    if (!address) {
      c.add(path, `'${text}' is not an IPv4 or IPv6 address`);
      return undefined;
    }
    const onSegment = subnets.filter((s) => s.resolved.segment === segment);
    const subnet = onSegment.find((s) => prefixContains(s.prefix, address));
    let prefixLength: number;
    if (subnet) {
      if (slash >= 0) {
        const given = parsePrefix(text, false);
        if (!given || given.length !== subnet.prefix.length) {
          c.add(
            path,
            `'${text}' does not match the prefix length of subnet '${subnet.resolved.name}' (${subnet.resolved.cidr})`,
          );
          return undefined;
        }
      }
      if (isReservedInPrefix(subnet.prefix, address)) {
        c.add(
          path,
          `${addrText} is the network or broadcast address of subnet '${subnet.resolved.name}' (${subnet.resolved.cidr})`,
        );
        return undefined;
      }
      prefixLength = subnet.prefix.length;
    } else if (onSegment.some((s) => s.prefix.family === address.family)) {
      const cidrs = onSegment.filter((s) => s.prefix.family === address.family).map((s) => s.resolved.cidr);
      c.add(path, `${addrText} is outside every subnet on segment '${segment}' (${cidrs.join(', ')})`);
      return undefined;
    } else {
      const given = slash >= 0 ? parsePrefix(text, false) : undefined;
      if (!given) {
        c.add(
          path,
          `${text} needs a prefix length (no IPv${address.family} subnet is declared on segment '${segment}')`,
        );
        return undefined;
      }
      prefixLength = given.length;
    }
    claimAddress(addrText, path);
    return { address: addrText, family: address.family, prefixLength, cidr: `${addrText}/${prefixLength}` };
  };

  for (const [segName, seg] of segments) {
    seg.rawRoot.forEach((raw, j) => {
      const path = `${seg.path}.rootAddresses[${j}]`;
      const text = c.string(raw, path);
      if (text === undefined) return;
      const resolved = segmentAddress(segName, text, path);
      if (resolved) seg.resolved.rootAddresses.push(resolved);
    });
  }

  // Hosts and routers share one name space with pods and the fabric namespace.
  const namespaceOwners = new Map<string, string>([[FABRIC_NODE_NAME, 'the fabric namespace (reserved)']]);
  const claimNamespace = (nsName: string, path: string): boolean => {
    const previous = namespaceOwners.get(nsName);
    if (previous) {
      c.add(path, `duplicate name '${nsName}' (already used by ${previous})`);
      return false;
    }
    namespaceOwners.set(nsName, path);
    return true;
  };

  const nodes: ResolvedNode[] = [];
  const nodePaths = new Map<string, string>();
  const interfaceNames = new Map<string, Map<string, string>>();
  const claimInterface = (node: string, ifName: string, path: string): void => {
    const problem = interfaceNameProblem(ifName);
    if (problem) {
      c.add(path, `'${ifName}' ${problem}`);
      return;
    }
    let names = interfaceNames.get(node);
    if (!names) {
      names = new Map();
      interfaceNames.set(node, names);
    }
    const previous = names.get(ifName);
    if (previous) c.add(path, `duplicate interface name '${ifName}' on '${node}' (also ${previous})`);
    else names.set(ifName, path);
  };

  const rawRoutes: { node: ResolvedNode; raw: unknown[]; path: string }[] = [];
  for (const role of ['host', 'router'] as const) {
    const key = role === 'host' ? 'hosts' : 'routers';
    c.array(root[key], key).forEach((raw, i) => {
      const path = `${key}[${i}]`;
      const obj = c.object(raw, path);
      if (!obj) return;
      c.unknownKeys(obj, ['name', 'interfaces', 'routes', 'forwarding'], path);
      const nodeName = c.name(obj.name, `${path}.name`);
      if (nodeName === undefined || !claimNamespace(nodeName, `${path}.name`)) return;
      if (obj.forwarding !== undefined && typeof obj.forwarding !== 'boolean') {
        c.add(`${path}.forwarding`, `must be true or false, got ${describe(obj.forwarding)}`);
      }
      const node: ResolvedNode = {
        name: nodeName,
        role,
        interfaces: [],
        routes: [],
        forwardIPv4: role === 'router' || obj.forwarding === true,
        forwardIPv6: false,
      };
      nodePaths.set(nodeName, path);
      c.array(obj.interfaces, `${path}.interfaces`).forEach((rawIf, j) => {
        const ifPath = `${path}.interfaces[${j}]`;
        const ifObj = c.object(rawIf, ifPath);
        if (!ifObj) return;
        c.unknownKeys(ifObj, ['name', 'segment', 'addresses'], ifPath);
        const ifName = ifObj.name === undefined ? `eth${j}` : c.string(ifObj.name, `${ifPath}.name`);
        if (ifName !== undefined) claimInterface(nodeName, ifName, `${ifPath}.name`);
        const segment = c.string(ifObj.segment, `${ifPath}.segment`);
        if (segment !== undefined && !segments.has(segment)) {
          const known = [...segments.keys()];
          c.add(`${ifPath}.segment`, `unknown segment '${segment}' (known: ${known.join(', ') || 'none'})`);
          return;
        }
        const addresses: ResolvedAddress[] = [];
        c.array(ifObj.addresses, `${ifPath}.addresses`).forEach((rawAddr, k) => {
          const addrPath = `${ifPath}.addresses[${k}]`;
          const text = c.string(rawAddr, addrPath);
          if (text === undefined || segment === undefined) return;
          const resolved = segmentAddress(segment, text, addrPath);
          if (resolved) addresses.push(resolved);
        });
        if (ifName !== undefined && segment !== undefined)
          node.interfaces.push({ name: ifName, segment, addresses });
      });
      rawRoutes.push({ node, raw: c.array(obj.routes, `${path}.routes`), path: `${path}.routes` });
      nodes.push(node);
    });
  }
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));

  // Subnet routers: must exist, be a router, and have an address in the subnet.
  for (const subnet of subnets) {
    const routerName = subnet.resolved.router;
    if (routerName === undefined) continue;
    const router = nodeByName.get(routerName);
    if (router?.role !== 'router') {
      c.add(
        `${subnet.path}.router`,
        router ? `'${routerName}' is a host, not a router` : `unknown router '${routerName}'`,
      );
      continue;
    }
    if (!gatewayAddress(router, subnet)) {
      c.add(
        `${subnet.path}.router`,
        `router '${routerName}' has no address in ${subnet.resolved.cidr} on segment '${subnet.resolved.segment}'`,
      );
    }
  }

  // Links.
  const links: ResolvedLink[] = [];
  c.array(root.links, 'links').forEach((raw, i) => {
    const path = `links[${i}]`;
    const obj = c.object(raw, path);
    if (!obj) return;
    c.unknownKeys(obj, ['a', 'b'], path);
    const ends: ResolvedLinkEnd[] = [];
    const aObj = c.object(obj.a, `${path}.a`);
    const bObj = c.object(obj.b, `${path}.b`);
    if (!aObj || !bObj) return;
    const aHost = c.string(aObj.host, `${path}.a.host`);
    const bHost = c.string(bObj.host, `${path}.b.host`);
    for (const [side, end, self, peer] of [
      ['a', aObj, aHost, bHost],
      ['b', bObj, bHost, aHost],
    ] as const) {
      const endPath = `${path}.${side}`;
      c.unknownKeys(end, ['host', 'interface', 'addresses'], endPath);
      if (self === undefined) continue;
      if (!nodeByName.has(self)) {
        c.add(`${endPath}.host`, `unknown host or router '${self}'`);
        continue;
      }
      const defaultName = peer !== undefined && `to-${peer}`.length <= 15 ? `to-${peer}` : `l${i}`;
      const ifName =
        end.interface === undefined ? defaultName : c.string(end.interface, `${endPath}.interface`);
      if (ifName === undefined) continue;
      claimInterface(self, ifName, `${endPath}.interface`);
      const addresses: ResolvedAddress[] = [];
      c.array(end.addresses, `${endPath}.addresses`).forEach((rawAddr, k) => {
        const addrPath = `${endPath}.addresses[${k}]`;
        const text = c.string(rawAddr, addrPath);
        if (text === undefined) return;
        const prefix = parsePrefix(text, false);
        if (!prefix) {
          c.add(addrPath, `'${text}' is not an address with prefix length such as 10.9.0.0/31`);
          return;
        }
        const addrText = text.slice(0, text.indexOf('/'));
        claimAddress(addrText, addrPath);
        addresses.push({ address: addrText, family: prefix.family, prefixLength: prefix.length, cidr: text });
      });
      ends.push({ host: self, interface: ifName, addresses });
    }
    if (aHost !== undefined && aHost === bHost) c.add(path, `links '${aHost}' to itself`);
    const [a, b] = ends;
    if (a && b && ends.length === 2) links.push({ a, b });
  });

  // Pods.
  const pods: ResolvedPod[] = [];
  const podPaths = new Map<string, string>();
  c.array(root.pods, 'pods').forEach((raw, i) => {
    const path = `pods[${i}]`;
    const obj = c.object(raw, path);
    if (!obj) return;
    c.unknownKeys(obj, ['name', 'host', 'mode', 'addresses', 'hostInterface'], path);
    const podName = c.name(obj.name, `${path}.name`);
    const host = c.string(obj.host, `${path}.host`);
    const mode = obj.mode === undefined ? 'static' : obj.mode;
    if (mode !== 'static' && mode !== 'bare') {
      c.add(`${path}.mode`, `must be 'static' or 'bare', got ${describe(mode)}`);
      return;
    }
    if (podName === undefined || !claimNamespace(podName, `${path}.name`)) return;
    const hostNode = host === undefined ? undefined : nodeByName.get(host);
    if (host !== undefined && !hostNode) {
      c.add(`${path}.host`, `unknown host '${host}'`);
      return;
    }
    if (host === undefined || !hostNode) return;
    const rawAddresses = c.array(obj.addresses, `${path}.addresses`);
    const addresses: ResolvedAddress[] = [];
    if (mode === 'bare' && rawAddresses.length > 0) {
      c.add(`${path}.addresses`, 'a bare pod gets its addresses from the CNI plugin; give none here');
    }
    if (mode === 'static' && rawAddresses.length === 0) {
      c.add(`${path}.addresses`, 'a static pod needs at least one address');
    }
    rawAddresses.forEach((rawAddr, k) => {
      const addrPath = `${path}.addresses[${k}]`;
      const text = c.string(rawAddr, addrPath);
      if (text === undefined || mode === 'bare') return;
      const slash = text.indexOf('/');
      const addrText = slash < 0 ? text : text.slice(0, slash);
      const address = parseAddress(addrText);
      if (!address) {
        c.add(addrPath, `'${text}' is not an IPv4 or IPv6 address`);
        return;
      }
      const fullLength = address.family === 4 ? 32 : 128;
      if (slash >= 0 && text.slice(slash + 1) !== String(fullLength)) {
        c.add(addrPath, `'${text}': pod addresses are single addresses (/${fullLength})`);
        return;
      }
      claimAddress(addrText, addrPath);
      addresses.push({
        address: addrText,
        family: address.family,
        prefixLength: fullLength,
        cidr: `${addrText}/${fullLength}`,
      });
    });
    const hostInterface =
      obj.hostInterface === undefined
        ? podHostInterfaceName(podName)
        : c.string(obj.hostInterface, `${path}.hostInterface`);
    if (hostInterface === undefined) return;
    if (mode === 'static') claimInterface(host, hostInterface, `${path}.hostInterface`);
    pods.push({ name: podName, host, mode, addresses, hostInterface });
    podPaths.set(podName, path);
  });

  // Routes: explicit ones, then a default route per family via the first subnet router found.
  for (const { node, raw, path } of rawRoutes) {
    raw.forEach((rawRoute, i) => {
      const routePath = `${path}[${i}]`;
      const obj = c.object(rawRoute, routePath);
      if (!obj) return;
      c.unknownKeys(obj, ['to', 'via', 'dev'], routePath);
      const to = c.string(obj.to, `${routePath}.to`);
      const via = c.optionalString(obj.via, `${routePath}.via`);
      const dev = c.optionalString(obj.dev, `${routePath}.dev`);
      if (to === undefined) return;
      const viaAddress = via === undefined ? undefined : parseAddress(via);
      if (via !== undefined && !viaAddress)
        c.add(`${routePath}.via`, `'${via}' is not an IPv4 or IPv6 address`);
      let family: IpFamily | undefined;
      if (to === 'default') family = viaAddress?.family;
      else {
        const prefix = parsePrefix(to, true);
        if (!prefix) {
          c.add(
            `${routePath}.to`,
            `'${to}' is not 'default' or a prefix such as 10.65.0.0/16 (host bits clear)`,
          );
          return;
        }
        family = prefix.family;
      }
      if (via === undefined && dev === undefined) c.add(routePath, 'needs `via`, `dev` or both');
      if (viaAddress && family !== undefined && viaAddress.family !== family) {
        c.add(`${routePath}.via`, `${via} is IPv${viaAddress.family} but ${to} is IPv${family}`);
      }
      if (dev !== undefined && !interfaceNames.get(node.name)?.has(dev)) {
        c.add(`${routePath}.dev`, `'${node.name}' has no interface '${dev}'`);
      }
      if (family === undefined) {
        if (via === undefined)
          c.add(
            `${routePath}.via`,
            'a default route without `via` must say its family: use 0.0.0.0/0 or ::/0',
          );
        return;
      }
      const route: ResolvedRoute = { to, family, origin: routePath };
      if (via !== undefined) route.via = via;
      if (dev !== undefined) route.dev = dev;
      node.routes.push(route);
    });
  }
  for (const node of nodes) {
    const families = new Set(node.interfaces.flatMap((i) => i.addresses.map((a) => a.family)));
    if (node.role === 'router' && families.has(6)) node.forwardIPv6 = true;
    if (node.forwardIPv4 && node.role === 'host' && families.has(6)) node.forwardIPv6 = true;
    if (node.role !== 'host') continue;
    for (const family of [4, 6] as const) {
      const hasDefault = node.routes.some(
        (r) => r.family === family && (r.to === 'default' || r.to === (family === 4 ? '0.0.0.0/0' : '::/0')),
      );
      if (hasDefault) continue;
      const gateway = defaultGatewayOf(node, subnets, nodeByName, family);
      if (gateway) node.routes.push({ to: 'default', family, via: gateway.address, origin: gateway.origin });
    }
  }
  for (const pod of pods) {
    if (pod.mode !== 'static') continue;
    const host = nodeByName.get(pod.host);
    if (!host) continue;
    const hasDefault4 = host.routes.some(
      (r) => r.family === 4 && (r.to === 'default' || r.to === '0.0.0.0/0'),
    );
    if (pod.addresses.some((a) => a.family === 4) && !hasDefault4) {
      // The kernel answers the pod's ARP for 169.254.1.1 (proxy ARP) only if the host has a route
      // to 169.254.1.1 out of another interface; Calico relies on the host's default route for that.
      c.add(
        `${podPaths.get(pod.name)}.host`,
        `host '${pod.host}' has no IPv4 default route, so proxy ARP cannot answer the pod's 169.254.1.1 gateway; give its subnet a router or the host a default route`,
      );
    }
    host.forwardIPv4 = true;
    if (pod.addresses.some((a) => a.family === 6)) host.forwardIPv6 = true;
  }

  if (c.problems.length > 0) throw new TopologyError(c.problems);
  return {
    name,
    segments: [...segments.values()].map((s) => s.resolved),
    subnets: subnets.map((s) => s.resolved),
    nodes,
    links,
    pods,
    source: input as Topology,
  };
}

/** The canonical text of a prefix's network (@caracal/ip: dotted quad, RFC 5952 for IPv6), e.g. "fd00:0:0:1::/64". */
function formatNetwork(prefix: ParsedPrefix): string {
  return formatCidr({ version: prefix.family, network: prefix.network, length: prefix.length });
}

function gatewayAddress(router: ResolvedNode, subnet: SubnetEntry): ResolvedAddress | undefined {
  for (const iface of router.interfaces) {
    if (iface.segment !== subnet.resolved.segment) continue;
    for (const address of iface.addresses) {
      const parsed = parseAddress(address.address);
      if (parsed && prefixContains(subnet.prefix, parsed)) return address;
    }
  }
  return undefined;
}

function defaultGatewayOf(
  host: ResolvedNode,
  subnets: readonly SubnetEntry[],
  nodeByName: ReadonlyMap<string, ResolvedNode>,
  family: IpFamily,
): { address: string; origin: string } | undefined {
  for (const iface of host.interfaces) {
    for (const address of iface.addresses) {
      if (address.family !== family) continue;
      const parsed = parseAddress(address.address);
      const subnet = subnets.find(
        (s) =>
          s.resolved.segment === iface.segment && parsed !== undefined && prefixContains(s.prefix, parsed),
      );
      const router =
        subnet?.resolved.router === undefined ? undefined : nodeByName.get(subnet.resolved.router);
      const gateway = router && subnet ? gatewayAddress(router, subnet) : undefined;
      if (gateway && subnet)
        return { address: gateway.address, origin: `default gateway of subnet '${subnet.resolved.name}'` };
    }
  }
  return undefined;
}
