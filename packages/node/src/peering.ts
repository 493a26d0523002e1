// Which BGP sessions this node should have, computed from the cluster's state (pure): the node-to-node
// full mesh (unless disabled), explicit BGPPeers that select this node, and route-reflector roles by
// cluster ID, as Calico's confd renders them for BIRD. Selectors arrive compiled (label matchers), so this
// module depends only on data. Addresses are read with @caracal/ip and compared in their canonical text;
// one that is not an address is left out with a warning naming the node or BGPPeer and the value.

import {
  compareIp,
  formatIp,
  IpParseError,
  ipParseResult,
  parseAddressWithLength,
  parseAddressWithPort,
  parseIp,
} from '@caracal/ip';

/** A compiled label selector. */
export type LabelMatcher = (labels: Readonly<Record<string, string>>) => boolean;

export interface PeeringNode {
  readonly name: string;
  /** The node's BGP address with its prefix length (`10.0.0.5/24`). */
  readonly ipv4Address?: string;
  /** The node's IPv6 address with its prefix length (`fd00::5/64`), when it has one. */
  readonly ipv6Address?: string;
  readonly asNumber?: number;
  readonly routeReflectorClusterId?: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PeeringBgpPeer {
  readonly name: string;
  /** The peer's address, without a port (`fd00::1`, not `[fd00::1]:179`: see `peerPort`). */
  readonly peerIp?: string;
  /** The peer's port when the BGPPeer names one; else 179 (or the listen port towards a node). */
  readonly peerPort?: number;
  readonly asNumber?: number;
  /** This peering applies to one named node ... */
  readonly node?: string;
  /** ... or to the nodes this selects; with neither, to every node. */
  readonly nodeSelector?: LabelMatcher;
  /** Peer with the nodes this selects (instead of peerIp). */
  readonly peerSelector?: LabelMatcher;
  readonly holdTimeSeconds?: number;
  readonly keepaliveTimeSeconds?: number;
  readonly maxRestartTimeSeconds?: number;
  readonly nextHopMode?: 'Auto' | 'Self' | 'Keep';
}

export interface PeeringGlobal {
  readonly asNumber: number;
  readonly nodeToNodeMeshEnabled: boolean;
  readonly listenPort: number;
}

export interface PlannedPeer {
  /** Stable session name: `mesh-<node>`, `peer-<bgppeer>` or `peer-<bgppeer>-<node>`. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly asNumber: number;
  /** Wait for the peer to connect (the higher address of a node pair is passive). */
  readonly passive: boolean;
  /** We reflect routes to this peer (we are a route reflector and it is not in our cluster). */
  readonly routeReflectorClient: boolean;
  readonly holdTimeSeconds?: number;
  readonly keepaliveTimeSeconds?: number;
  readonly maxRestartTimeSeconds?: number;
  readonly nextHopMode?: 'Auto' | 'Self' | 'Keep';
  /**
   * Address families of the session when not bgpd's default (ipv4-unicast): the IPv6 mesh sessions between
   * two nodes' IPv6 addresses carry `['ipv6-unicast']` only.
   */
  readonly families?: readonly ('ipv4-unicast' | 'ipv6-unicast')[];
  /**
   * Our end of the session when fixed (the IPv6 mesh sessions: this node's IPv6 address, so the outgoing
   * connection starts there and next-hop self on our IPv6 routes is that address).
   */
  readonly localAddress?: string;
  /** Why this session exists, for status output. */
  readonly origin: 'mesh' | 'bgppeer';
}

export interface PeeringPlan {
  readonly localAsNumber: number;
  readonly routerId: string | undefined;
  /**
   * This node's IPv6 address in canonical text (from `spec.bgp.ipv6Address`), where caracal-bgpd also
   * listens, so that IPv6 peers can connect to us; absent when the node has none (or none readable).
   */
  readonly localIpv6Address?: string;
  readonly routeReflectorClusterId: string | undefined;
  readonly peers: readonly PlannedPeer[];
  readonly warnings: readonly string[];
}

/**
 * The canonical address of a Node's `spec.bgp.ipv4Address` (`10.0.0.5/24` → `10.0.0.5`; a bare address is
 * taken too); throws IpParseError (the value and the reason) when it is not an IPv4 address.
 */
export function addressOf(ipv4Address: string): string {
  const { address } = parseAddressWithLength(ipv4Address, { allowBareAddress: true });
  if (address.version !== 4) throw new IpParseError(ipv4Address, 'is an IPv6 address, not IPv4');
  return formatIp(address);
}

/**
 * The canonical address of a Node's `spec.bgp.ipv6Address` (`FD00:0::5/64` → `fd00::5`; a bare address is
 * taken too); throws IpParseError (the value and the reason) when it is not an IPv6 address.
 */
export function ipv6AddressOf(ipv6Address: string): string {
  const { address } = parseAddressWithLength(ipv6Address, { allowBareAddress: true });
  if (address.version !== 6) throw new IpParseError(ipv6Address, 'is an IPv4 address, not IPv6');
  return formatIp(address);
}

/** The node's own IPv6 address, or undefined (with a warning when it is set but no IPv6 address). */
function ownIpv6Address(node: PeeringNode, warnings: string[]): string | undefined {
  if (node.ipv6Address === undefined) return undefined;
  const address = ipParseResult(() => ipv6AddressOf(node.ipv6Address as string));
  if (address instanceof IpParseError) {
    warnings.push(
      `node ${node.name} spec.bgp.ipv6Address ${address.message}: caracal-bgpd listens on the IPv4 address only`,
    );
    return undefined;
  }
  return address;
}

/**
 * The node's BGP address, or undefined with a warning saying why (`missing` when it has none; the value and
 * the reason when it is not an IPv4 address) and then `consequence`.
 */
function nodeAddress(
  node: PeeringNode,
  warnings: string[],
  missing: string,
  consequence: string,
): string | undefined {
  if (node.ipv4Address === undefined) {
    warnings.push(`node ${node.name} ${missing}: ${consequence}`);
    return undefined;
  }
  const address = ipParseResult(() => addressOf(node.ipv4Address as string));
  if (address instanceof IpParseError) {
    warnings.push(`node ${node.name} spec.bgp.ipv4Address ${address.message}: ${consequence}`);
    return undefined;
  }
  return address;
}

/**
 * Orders address texts as addresses (@caracal/ip's compareIp: IPv4 before IPv6, then numerically); text
 * that is no address (the datastore validates node and peer addresses, so only a stale or foreign value)
 * sorts after every address, by text, so the order stays total.
 */
export function addressOrder(a: string, b: string): number {
  const addressA = ipParseResult(() => parseIp(a));
  const addressB = ipParseResult(() => parseIp(b));
  const validA = !(addressA instanceof IpParseError);
  const validB = !(addressB instanceof IpParseError);
  if (validA && validB) return compareIp(addressA, addressB);
  if (validA !== validB) return validA ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The node with the higher address waits: exactly one side of a pair connects. */
export function isPassiveTowards(selfAddress: string, peerAddress: string): boolean {
  return addressOrder(selfAddress, peerAddress) > 0;
}

export function planPeerings(
  selfName: string,
  nodes: readonly PeeringNode[],
  bgpPeers: readonly PeeringBgpPeer[],
  global: PeeringGlobal,
): PeeringPlan {
  const warnings: string[] = [];
  const self = nodes.find((n) => n.name === selfName);
  const localAs = self?.asNumber ?? global.asNumber;
  const selfCluster = self?.routeReflectorClusterId;
  const selfAddress =
    self === undefined
      ? undefined
      : nodeAddress(self, warnings, 'has no BGP IPv4 address yet', 'no sessions planned');
  if (!self || !selfAddress) {
    return {
      localAsNumber: localAs,
      routerId: selfAddress,
      routeReflectorClusterId: selfCluster,
      peers: [],
      warnings: self ? warnings : [`node ${selfName} has no BGP IPv4 address yet: no sessions planned`],
    };
  }
  const localIpv6Address = ownIpv6Address(self, warnings);
  // Each other node's address, read once (a node without a usable one is warned about once).
  const addresses = new Map<string, string | undefined>();
  const addressOfNode = (node: PeeringNode): string | undefined => {
    if (!addresses.has(node.name)) {
      addresses.set(
        node.name,
        nodeAddress(node, warnings, 'has no BGP IPv4 address', `no session from ${selfName}`),
      );
    }
    return addresses.get(node.name);
  };
  // Each other node's IPv6 address, read once (a value that is no IPv6 address is warned about once).
  const ipv6Addresses = new Map<string, string | undefined>();
  const ipv6AddressOfNode = (node: PeeringNode): string | undefined => {
    if (node.ipv6Address === undefined) return undefined;
    if (!ipv6Addresses.has(node.name)) {
      const parsed = ipParseResult(() => ipv6AddressOf(node.ipv6Address as string));
      if (parsed instanceof IpParseError)
        warnings.push(
          `node ${node.name} spec.bgp.ipv6Address ${parsed.message}: no IPv6 session from ${selfName}`,
        );
      ipv6Addresses.set(node.name, parsed instanceof IpParseError ? undefined : parsed);
    }
    return ipv6Addresses.get(node.name);
  };
  const byAddress = new Map<string, PlannedPeer>();
  const add = (peer: PlannedPeer) => {
    if (peer.address === selfAddress || peer.address === localIpv6Address) return;
    const existing = byAddress.get(peer.address);
    // An explicit BGPPeer overrides the mesh session to the same address (its timers and options win).
    if (existing && !(existing.origin === 'mesh' && peer.origin === 'bgppeer')) return;
    byAddress.set(peer.address, peer);
  };
  const towardsNode = (
    other: PeeringNode,
    origin: PlannedPeer['origin'],
    name: string,
    bgpPeer?: PeeringBgpPeer,
  ) => {
    const address = addressOfNode(other);
    if (!address) return;
    const otherCluster = other.routeReflectorClusterId;
    add({
      name,
      address,
      port: bgpPeer?.peerPort ?? global.listenPort,
      asNumber: bgpPeer?.asNumber ?? other.asNumber ?? global.asNumber,
      passive: isPassiveTowards(selfAddress, address),
      routeReflectorClient: selfCluster !== undefined && otherCluster !== selfCluster,
      origin,
      ...timers(bgpPeer),
    });
  };

  if (global.nodeToNodeMeshEnabled) {
    for (const other of nodes) {
      if (other.name === selfName) continue;
      // Route reflectors are not in the mesh (Calico): they are reached through explicit BGPPeers.
      if (other.routeReflectorClusterId !== undefined || selfCluster !== undefined) continue;
      towardsNode(other, 'mesh', `mesh-${other.name}`);
      // Both nodes have an IPv6 address: a second session between those addresses carries ipv6-unicast
      // (as Calico's bird6 mesh), so each node's IPv6 blocks are routed via its IPv6 address.
      const otherIpv6 = localIpv6Address === undefined ? undefined : ipv6AddressOfNode(other);
      if (localIpv6Address !== undefined && otherIpv6 !== undefined) {
        add({
          name: `mesh6-${other.name}`,
          address: otherIpv6,
          port: global.listenPort,
          asNumber: other.asNumber ?? global.asNumber,
          passive: isPassiveTowards(localIpv6Address, otherIpv6),
          routeReflectorClient: false,
          families: ['ipv6-unicast'],
          localAddress: localIpv6Address,
          origin: 'mesh',
        });
      }
    }
  }

  for (const bgpPeer of bgpPeers) {
    const appliesHere =
      bgpPeer.node !== undefined
        ? bgpPeer.node === selfName
        : bgpPeer.nodeSelector !== undefined
          ? bgpPeer.nodeSelector(self.labels)
          : true;
    if (!appliesHere) continue;
    if (bgpPeer.peerSelector) {
      for (const other of nodes) {
        if (other.name === selfName || !bgpPeer.peerSelector(other.labels)) continue;
        towardsNode(other, 'bgppeer', `peer-${bgpPeer.name}-${other.name}`, bgpPeer);
      }
    } else if (bgpPeer.peerIp) {
      const peerIp = bgpPeer.peerIp;
      const parsed = ipParseResult(() => parseIp(peerIp));
      if (parsed instanceof IpParseError) {
        const withPort = ipParseResult(() => parseAddressWithPort(peerIp));
        const reason =
          withPort instanceof IpParseError || withPort.port === undefined
            ? parsed.message
            : `${JSON.stringify(peerIp)}: has a port (the address goes alone in peerIp, the port in peerPort)`;
        warnings.push(`BGPPeer ${bgpPeer.name} peer address ${reason}: no session`);
        continue;
      }
      const address = formatIp(parsed);
      const peerNode = nodes.find(
        (n) => n.name !== selfName && n.ipv4Address !== undefined && addressOfNode(n) === address,
      );
      if (peerNode) {
        towardsNode(peerNode, 'bgppeer', `peer-${bgpPeer.name}`, bgpPeer);
      } else {
        add({
          name: `peer-${bgpPeer.name}`,
          address,
          port: bgpPeer.peerPort ?? 179,
          asNumber: bgpPeer.asNumber ?? global.asNumber,
          passive: false,
          routeReflectorClient: false,
          origin: 'bgppeer',
          ...timers(bgpPeer),
        });
      }
    } else {
      warnings.push(`BGPPeer ${bgpPeer.name} has neither peerIP nor peerSelector`);
    }
  }
  const peers = [...byAddress.values()].sort((a, b) => addressOrder(a.address, b.address));
  return {
    localAsNumber: localAs,
    routerId: selfAddress,
    ...(localIpv6Address !== undefined ? { localIpv6Address } : {}),
    routeReflectorClusterId: selfCluster,
    peers,
    warnings,
  };
}

function timers(peer: PeeringBgpPeer | undefined): Partial<PlannedPeer> {
  if (!peer) return {};
  return {
    ...(peer.holdTimeSeconds !== undefined ? { holdTimeSeconds: peer.holdTimeSeconds } : {}),
    ...(peer.keepaliveTimeSeconds !== undefined ? { keepaliveTimeSeconds: peer.keepaliveTimeSeconds } : {}),
    ...(peer.maxRestartTimeSeconds !== undefined
      ? { maxRestartTimeSeconds: peer.maxRestartTimeSeconds }
      : {}),
    ...(peer.nextHopMode !== undefined ? { nextHopMode: peer.nextHopMode } : {}),
  };
}
