// Which BGP sessions this node should have, computed from the cluster's state (pure): the node-to-node
// full mesh (unless disabled), explicit BGPPeers that select this node, and route-reflector roles by
// cluster ID, as Calico's confd renders them for BIRD. Selectors arrive compiled (label matchers), so this
// module depends only on data.

import { compareIp, IpParseError, ipParseResult, parseIp } from '@caracal/ip';

/** A compiled label selector. */
export type LabelMatcher = (labels: Readonly<Record<string, string>>) => boolean;

export interface PeeringNode {
  readonly name: string;
  /** The node's BGP address with its prefix length (`10.0.0.5/24`). */
  readonly ipv4Address?: string;
  readonly asNumber?: number;
  readonly routeReflectorClusterId?: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PeeringBgpPeer {
  readonly name: string;
  readonly peerIp?: string;
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
  /** Why this session exists, for status output. */
  readonly origin: 'mesh' | 'bgppeer';
}

export interface PeeringPlan {
  readonly localAsNumber: number;
  readonly routerId: string | undefined;
  readonly routeReflectorClusterId: string | undefined;
  readonly peers: readonly PlannedPeer[];
  readonly warnings: readonly string[];
}

export function addressOf(cidr: string | undefined): string | undefined {
  return cidr?.split('/')[0];
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
  const selfAddress = addressOf(self?.ipv4Address);
  const localAs = self?.asNumber ?? global.asNumber;
  const selfCluster = self?.routeReflectorClusterId;
  if (!self || !selfAddress) {
    return {
      localAsNumber: localAs,
      routerId: selfAddress,
      routeReflectorClusterId: selfCluster,
      peers: [],
      warnings: [`node ${selfName} has no BGP IPv4 address yet: no sessions planned`],
    };
  }
  const byAddress = new Map<string, PlannedPeer>();
  const add = (peer: PlannedPeer) => {
    if (peer.address === selfAddress) return;
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
    const address = addressOf(other.ipv4Address);
    if (!address) {
      warnings.push(`node ${other.name} has no BGP IPv4 address: no session from ${selfName}`);
      return;
    }
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
      const [address, port] = splitHostPort(bgpPeer.peerIp);
      const peerNode = nodes.find((n) => addressOf(n.ipv4Address) === address);
      if (peerNode) {
        towardsNode(peerNode, 'bgppeer', `peer-${bgpPeer.name}`, bgpPeer);
      } else {
        add({
          name: `peer-${bgpPeer.name}`,
          address,
          port: port ?? bgpPeer.peerPort ?? 179,
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

function splitHostPort(peerIp: string): [string, number | undefined] {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(peerIp);
  if (match && !match[1]!.includes(':')) return [match[1]!, Number(match[2])];
  if (match?.[1]?.includes(':') && peerIp.startsWith('[')) return [match[1], Number(match[2])];
  return [peerIp, undefined];
}
