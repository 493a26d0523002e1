// Felix's calculation graph: from the current inputs (this node's endpoints, pools, block affinities,
// settings) to the desired dataplane. Pure, synchronous and history-free: the output depends only on the
// set of current inputs, never on the order in which updates arrived, so a restart that replays the
// datastore in any order converges to the same kernel state. Conflicts (two endpoints claiming one
// address or one interface) are resolved by key order, not by arrival order, for the same reason.

import {
  type BlockAffinityInput,
  DEFAULT_FELIX_SETTINGS,
  type FelixSettingsInput,
  type InputUpdate,
  type IpPoolInput,
  type WorkloadEndpointInput,
} from './inputs.js';

/** A `/32` (or `/128`) `scope link` route to a local workload through its host-side veth. */
export interface WorkloadRoute {
  readonly dst: string;
  readonly interfaceName: string;
  /** The endpoint that owns this route (the lowest key when several claim the address). */
  readonly endpointKey: string;
}

/** The sysctls Felix sets on a workload's host-side interface, as Calico sets them. */
export interface InterfaceSettings {
  readonly interfaceName: string;
  readonly endpointKey: string;
  /** Path below /proc/sys/net → value, e.g. `ipv4/conf/caraX/proxy_arp` → `1`. */
  readonly sysctls: ReadonlyMap<string, string>;
}

export interface NatOutgoing {
  /** Every pool CIDR (also disabled ones: their addresses may still be in use), sorted. */
  readonly allPools: readonly string[];
  /** Pools whose workloads are masqueraded when leaving all pools, sorted. */
  readonly masqueradePools: readonly string[];
}

export interface DesiredDataplane {
  /** Keyed by destination CIDR. */
  readonly workloadRoutes: ReadonlyMap<string, WorkloadRoute>;
  /** Block CIDRs affine to this node (confirmed), each a blackhole route, sorted. */
  readonly blackholeRoutes: readonly string[];
  /** Keyed by interface name. */
  readonly interfaces: ReadonlyMap<string, InterfaceSettings>;
  readonly natOutgoing: NatOutgoing;
  /** Global sysctls (IPv4/IPv6 forwarding). */
  readonly globalSysctls: ReadonlyMap<string, string>;
  readonly settings: FelixSettingsInput;
  /** Problems in the inputs that Felix worked around (e.g. an address claimed twice). */
  readonly warnings: readonly string[];
}

/** Holds the current inputs; `desired()` is a pure function of them. */
export class CalcGraph {
  private readonly endpoints = new Map<string, WorkloadEndpointInput>();
  private readonly pools = new Map<string, IpPoolInput>();
  private readonly affinities = new Map<string, BlockAffinityInput>();
  private readonly settings = new Map<string, FelixSettingsInput>();

  constructor(readonly nodeName: string) {}

  /** Applies updates in order; a later update of the same key replaces an earlier one. */
  apply(updates: Iterable<InputUpdate>): void {
    for (const update of updates) {
      const table: Map<string, unknown> = this.tableFor(update.kind);
      if (update.value === undefined) table.delete(update.key);
      else table.set(update.key, update.value);
    }
  }

  desired(): DesiredDataplane {
    return computeDesiredDataplane(this.nodeName, {
      endpoints: this.endpoints,
      pools: this.pools,
      affinities: this.affinities,
      settings: this.settings,
    });
  }

  private tableFor(kind: InputUpdate['kind']): Map<string, unknown> {
    switch (kind) {
      case 'WorkloadEndpoint':
        return this.endpoints;
      case 'IPPool':
        return this.pools;
      case 'BlockAffinity':
        return this.affinities;
      case 'FelixSettings':
        return this.settings;
    }
  }
}

export interface InputState {
  readonly endpoints: ReadonlyMap<string, WorkloadEndpointInput>;
  readonly pools: ReadonlyMap<string, IpPoolInput>;
  readonly affinities: ReadonlyMap<string, BlockAffinityInput>;
  readonly settings: ReadonlyMap<string, FelixSettingsInput>;
}

const byKey = <T>(map: ReadonlyMap<string, T>): [string, T][] =>
  [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** The pure heart of Felix: current inputs → desired dataplane. */
export function computeDesiredDataplane(nodeName: string, state: InputState): DesiredDataplane {
  const warnings: string[] = [];
  const workloadRoutes = new Map<string, WorkloadRoute>();
  const interfaces = new Map<string, InterfaceSettings>();

  for (const [endpointKey, endpoint] of byKey(state.endpoints)) {
    if (endpoint.node !== nodeName) continue;
    const owner = interfaces.get(endpoint.interfaceName);
    if (owner !== undefined) {
      warnings.push(
        `endpoint ${endpointKey} uses interface ${endpoint.interfaceName}, already used by ${owner.endpointKey}; ignored`,
      );
      continue;
    }
    interfaces.set(endpoint.interfaceName, {
      interfaceName: endpoint.interfaceName,
      endpointKey,
      sysctls: workloadInterfaceSysctls(endpoint),
    });
    for (const dst of endpoint.ipNetworks) {
      const existing = workloadRoutes.get(dst);
      if (existing !== undefined) {
        warnings.push(
          `address ${dst} of endpoint ${endpointKey} is already routed to ${existing.endpointKey}`,
        );
        continue;
      }
      workloadRoutes.set(dst, { dst, interfaceName: endpoint.interfaceName, endpointKey });
    }
  }

  const blackholeRoutes = [...state.affinities.values()]
    .filter((a) => a.node === nodeName && a.state === 'confirmed')
    .map((a) => a.cidr);
  const pools = byKey(state.pools).map(([, pool]) => pool);
  const natOutgoing: NatOutgoing = {
    allPools: unique(pools.map((p) => p.cidr)),
    masqueradePools: unique(pools.filter((p) => p.natOutgoing && !p.disabled).map((p) => p.cidr)),
  };
  const settingsEntry = byKey(state.settings)[0];
  return {
    workloadRoutes,
    blackholeRoutes: unique(blackholeRoutes),
    interfaces,
    natOutgoing,
    globalSysctls: new Map([
      ['ipv4/ip_forward', '1'],
      ['ipv6/conf/all/forwarding', '1'],
    ]),
    settings: settingsEntry?.[1] ?? DEFAULT_FELIX_SETTINGS,
    warnings,
  };
}

/**
 * Calico's per-interface settings: proxy ARP answers the pod's ARP for 169.254.1.1 with the host veth's MAC,
 * with no delay; forwarding on; route_localnet so the pod can reach host services on 127/8 via DNAT;
 * strict reverse-path filtering unless the endpoint may spoof other prefixes. IPv6: proxy NDP, forwarding,
 * no router advertisements accepted.
 */
export function workloadInterfaceSysctls(endpoint: WorkloadEndpointInput): Map<string, string> {
  const name = endpoint.interfaceName;
  const spoofing = (endpoint.allowSpoofedSourcePrefixes?.length ?? 0) > 0;
  const sysctls = new Map<string, string>([
    [`ipv4/conf/${name}/forwarding`, '1'],
    [`ipv4/conf/${name}/proxy_arp`, '1'],
    [`ipv4/neigh/${name}/proxy_delay`, '0'],
    [`ipv4/conf/${name}/route_localnet`, '1'],
    [`ipv4/conf/${name}/rp_filter`, spoofing ? '0' : '1'],
  ]);
  if (endpoint.ipNetworks.some((n) => n.includes(':'))) {
    sysctls.set(`ipv6/conf/${name}/proxy_ndp`, '1');
    sysctls.set(`ipv6/conf/${name}/forwarding`, '1');
    sysctls.set(`ipv6/conf/${name}/accept_ra`, '0');
  }
  return sysctls;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
