// The calculation graph's inputs: the datastore state Felix watches, reduced to the fields the dataplane
// needs. The datastore syncer turns resources into these updates; `value: undefined` is a deletion.

export interface WorkloadEndpointInput {
  /** The node the workload runs on; only this node's endpoints are programmed. */
  readonly node: string;
  /** Host-side interface name (`cara` + 11 hex chars). */
  readonly interfaceName: string;
  /** The workload's addresses as CIDRs (IPv4 /32, IPv6 /128). */
  readonly ipNetworks: readonly string[];
  /** Source prefixes the workload may send from besides its own (Calico's allowSpoofedSourcePrefixes). */
  readonly allowSpoofedSourcePrefixes?: readonly string[];
}

export type EncapMode = 'Always' | 'CrossSubnet' | 'Never';

export interface IpPoolInput {
  readonly cidr: string;
  readonly natOutgoing: boolean;
  readonly disabled: boolean;
  readonly ipipMode: EncapMode;
  readonly vxlanMode: EncapMode;
}

export interface BlockAffinityInput {
  /** The block's CIDR, e.g. 10.65.3.64/26. */
  readonly cidr: string;
  readonly node: string;
  /** Only confirmed affinities are programmed (a pending claim may still lose its race). */
  readonly state: 'pending' | 'confirmed' | 'pendingDeletion';
}

export interface FelixSettingsInput {
  /** Full resync period for routes, interfaces and sysctls, in seconds (Calico: 90). */
  readonly routeRefreshIntervalSeconds: number;
  /** Full resync period for the nftables table, in seconds (Calico: 180). */
  readonly nftablesRefreshIntervalSeconds: number;
}

/** One change to the inputs, keyed within its kind. */
export type InputUpdate =
  | {
      readonly kind: 'WorkloadEndpoint';
      readonly key: string;
      readonly value: WorkloadEndpointInput | undefined;
    }
  | { readonly kind: 'IPPool'; readonly key: string; readonly value: IpPoolInput | undefined }
  | { readonly kind: 'BlockAffinity'; readonly key: string; readonly value: BlockAffinityInput | undefined }
  | { readonly kind: 'FelixSettings'; readonly key: string; readonly value: FelixSettingsInput | undefined };

export type InputKind = InputUpdate['kind'];

export const DEFAULT_FELIX_SETTINGS: FelixSettingsInput = {
  routeRefreshIntervalSeconds: 90,
  nftablesRefreshIntervalSeconds: 180,
};
