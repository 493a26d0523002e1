// The cluster state the peering plan depends on (Nodes, BGPPeers, BGPConfigurations), kept current from
// resource watch events, and its conversion into planPeerings' inputs: selectors compiled with the
// model's parseSelector, a BGPPeer's peerIP split into its canonical address and port by @caracal/ip's
// parseAddressWithPort (the model validates it with the same parser), Go durations in seconds,
// BGPConfiguration defaults when `default` is absent.

import type { ResourceWatchEvent } from '@caracal/datastore';
import { formatIp, IpParseError, ipParseResult, parseAddressWithPort } from '@caracal/ip';
import type { BGPConfigurationResource, BGPPeerResource, NodeResource } from '@caracal/model';
import { parseSelector } from '@caracal/model';
import {
  type PeeringBgpPeer,
  type PeeringGlobal,
  type PeeringNode,
  type PeeringPlan,
  planPeerings,
} from '../peering.js';

export type WatchedKind = 'Node' | 'BGPPeer' | 'BGPConfiguration';
export const WATCHED_KINDS: readonly WatchedKind[] = ['Node', 'BGPPeer', 'BGPConfiguration'];

/** Seconds of a Go duration (`90s`, `1m30s`, `500ms`, `2h`). */
export function durationSeconds(text: string, what: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`${what}: "${text}" is not a duration like 90s or 1m30s`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] as string] ?? 0), 0);
}

export function toPeeringNode(node: NodeResource): PeeringNode {
  const bgp = node.spec.bgp;
  return {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    ...(bgp?.ipv4Address !== undefined ? { ipv4Address: bgp.ipv4Address } : {}),
    ...(bgp?.ipv6Address !== undefined ? { ipv6Address: bgp.ipv6Address } : {}),
    ...(bgp?.asNumber !== undefined ? { asNumber: bgp.asNumber } : {}),
    ...(bgp?.routeReflectorClusterID !== undefined
      ? { routeReflectorClusterId: bgp.routeReflectorClusterID }
      : {}),
  };
}

export function toPeeringBgpPeer(peer: BGPPeerResource): PeeringBgpPeer {
  const s = peer.spec;
  const name = peer.metadata.name;
  const out: { -readonly [K in keyof PeeringBgpPeer]: PeeringBgpPeer[K] } = { name };
  if (s.peerIP !== undefined) {
    // The model validated it with the same parser: "10.0.0.1", "10.0.0.1:1179", "fd00::1", "[fd00::1]:1179".
    const peer = ipParseResult(() => parseAddressWithPort(s.peerIP as string));
    if (peer instanceof IpParseError) {
      throw new Error(`BGPPeer ${name} spec.peerIP ${JSON.stringify(s.peerIP)}: ${peer.reason}`);
    }
    out.peerIp = formatIp(peer.address);
    if (peer.port !== undefined) out.peerPort = peer.port;
  }
  if (s.asNumber !== undefined) out.asNumber = s.asNumber;
  if (s.node !== undefined) out.node = s.node;
  if (s.nodeSelector !== undefined) {
    const selector = parseSelector(s.nodeSelector);
    out.nodeSelector = (labels) => selector.matches(labels);
  }
  if (s.peerSelector !== undefined) {
    const selector = parseSelector(s.peerSelector);
    out.peerSelector = (labels) => selector.matches(labels);
  }
  const where = `BGPPeer ${name}`;
  if (s.holdTime !== undefined) out.holdTimeSeconds = durationSeconds(s.holdTime, `${where} spec.holdTime`);
  if (s.keepaliveTime !== undefined) {
    out.keepaliveTimeSeconds = durationSeconds(s.keepaliveTime, `${where} spec.keepaliveTime`);
  }
  if (s.maxRestartTime !== undefined) {
    out.maxRestartTimeSeconds = durationSeconds(s.maxRestartTime, `${where} spec.maxRestartTime`);
  }
  if (s.nextHopMode !== undefined) out.nextHopMode = s.nextHopMode;
  return out;
}

/** Calico's precedence: `node.<name>` over `default` over the built-in defaults (AS 64512, mesh on, 179). */
export function toPeeringGlobal(
  configs: ReadonlyMap<string, BGPConfigurationResource>,
  nodeName: string,
): PeeringGlobal {
  const cluster = configs.get('default')?.spec;
  const perNode = configs.get(`node.${nodeName}`)?.spec;
  return {
    asNumber: cluster?.asNumber ?? 64512,
    nodeToNodeMeshEnabled: cluster?.nodeToNodeMeshEnabled ?? true,
    listenPort: perNode?.listenPort ?? cluster?.listenPort ?? 179,
  };
}

type Stored = NodeResource | BGPPeerResource | BGPConfigurationResource;

/** The latest Nodes, BGPPeers and BGPConfigurations, fed by watch events of each kind. */
export class PeeringState {
  private readonly byKind = new Map<WatchedKind, Map<string, Stored>>(
    WATCHED_KINDS.map((k) => [k, new Map()]),
  );
  private readonly synced = new Set<WatchedKind>();
  readonly problems = new Map<string, string>();

  /** Applies one event; returns whether the state changed in a way that may change the plan. */
  apply(kind: WatchedKind, event: ResourceWatchEvent): boolean {
    const items = this.byKind.get(kind) as Map<string, Stored>;
    switch (event.type) {
      case 'snapshot':
        items.clear();
        for (const item of event.items) items.set(item.metadata.name, item as unknown as Stored);
        return false; // wait for in-sync
      case 'in-sync':
        this.synced.add(kind);
        return true;
      case 'put':
        items.set(event.resource.metadata.name, event.resource as unknown as Stored);
        return this.synced.has(kind);
      case 'delete':
        items.delete(event.name);
        return this.synced.has(kind);
    }
  }

  get inSync(): boolean {
    return WATCHED_KINDS.every((k) => this.synced.has(k));
  }

  node(name: string): NodeResource | undefined {
    return this.byKind.get('Node')?.get(name) as NodeResource | undefined;
  }

  /** The BGPConfiguration values for this node (AS, mesh, listen port). */
  global(nodeName: string): PeeringGlobal {
    return toPeeringGlobal(
      this.byKind.get('BGPConfiguration') as Map<string, BGPConfigurationResource>,
      nodeName,
    );
  }

  plan(nodeName: string): PeeringPlan {
    this.problems.clear();
    const nodes = [...(this.byKind.get('Node')?.values() ?? [])].map((n) => toPeeringNode(n as NodeResource));
    const peers: PeeringBgpPeer[] = [];
    for (const peer of this.byKind.get('BGPPeer')?.values() ?? []) {
      try {
        peers.push(toPeeringBgpPeer(peer as BGPPeerResource));
      } catch (error) {
        this.problems.set(peer.metadata.name, (error as Error).message);
      }
    }
    const configs = this.byKind.get('BGPConfiguration') as Map<string, BGPConfigurationResource>;
    const plan = planPeerings(nodeName, nodes, peers, toPeeringGlobal(configs, nodeName));
    const skipped = [...this.problems].map(([name, reason]) => `BGPPeer ${name} skipped: ${reason}`);
    return skipped.length === 0 ? plan : { ...plan, warnings: [...plan.warnings, ...skipped] };
  }
}

/**
 * The labels this node's IPAM blocks were last claimed with, and whether the Node's labels in a
 * PeeringState differ from them (a pool's nodeSelector may then select it, or no longer).
 */
export class ClaimedLabels {
  private claimedWith: string | undefined;

  constructor(private readonly nodeName: string) {}

  /** Records the labels a claim is made with (read from the Node just before claiming). */
  claiming(labels: Readonly<Record<string, string>>): void {
    this.claimedWith = JSON.stringify(labels);
  }

  /**
   * After any watch event was applied to `state`, whatever its kind: true when every peering input is in
   * sync and the Node's labels differ from the last claim's. Not only on Node events: a label change
   * made before the watches started arrives in the Node snapshot, which may be in sync before the other
   * kinds are, and then no later Node event would ever compare it.
   */
  changedSinceClaim(state: PeeringState): boolean {
    if (this.claimedWith === undefined || !state.inSync) return false;
    return JSON.stringify(state.node(this.nodeName)?.metadata.labels ?? {}) !== this.claimedWith;
  }
}
