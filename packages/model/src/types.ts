// Resource types of the Caracal model: the stored (caracal.io/v1) form of every kind, in Calico v3 field names.

export const API_VERSION = 'caracal.io/v1';
/** Calico manifests with this apiVersion are accepted unchanged and stored as caracal.io/v1. */
export const CALICO_API_VERSION = 'projectcalico.org/v3';

export const KINDS = [
  'Node',
  'IPPool',
  'IPReservation',
  'BGPConfiguration',
  'BGPPeer',
  'WorkloadEndpoint',
  'HostEndpoint',
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'Profile',
  'FelixConfiguration',
] as const;
export type Kind = (typeof KINDS)[number];
export const NAMESPACED_KINDS: readonly Kind[] = ['WorkloadEndpoint', 'NetworkPolicy'];

/** Whether `kind` is one of the model's kinds. */
export function isKind(kind: unknown): kind is Kind {
  return typeof kind === 'string' && (KINDS as readonly string[]).includes(kind);
}

/** Whether resources of `kind` live in a namespace (metadata.namespace, default "default"). */
export function isNamespaced(kind: Kind): boolean {
  return NAMESPACED_KINDS.includes(kind);
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
}

// A type alias (not an interface) so resources are assignable to Record<string, unknown>.
type ResourceOf<K extends Kind, S> = {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
};

export type EncapsulationMode = 'Always' | 'CrossSubnet' | 'Never';
export type LogSeverity = 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';

export interface NodeSpec {
  bgp?: {
    /** Address WITH prefix length, e.g. 10.0.0.5/24. */
    ipv4Address?: string;
    ipv6Address?: string;
    asNumber?: number;
    routeReflectorClusterID?: string;
    ipv4IPIPTunnelAddr?: string;
  };
  ipv4VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  /** Carried through as written (Calico's node status-like fields). */
  addresses?: unknown;
  orchRefs?: unknown;
  wireguard?: unknown;
}

export interface IPPoolSpec {
  cidr: string;
  blockSize: number;
  ipipMode: EncapsulationMode;
  vxlanMode: EncapsulationMode;
  natOutgoing: boolean;
  disabled: boolean;
  disableBGPExport: boolean;
  nodeSelector: string;
  allowedUses: ('Workload' | 'Tunnel')[];
}

export interface IPReservationSpec {
  reservedCIDRs: string[];
}

export interface Community {
  name: string;
  value: string;
}

/** Defaults (asNumber 64512, mesh on, port 179, Info) are filled only for the resource named "default". */
export interface BGPConfigurationSpec {
  asNumber?: number;
  nodeToNodeMeshEnabled?: boolean;
  listenPort?: number;
  logSeverityScreen?: LogSeverity;
  communities?: Community[];
  serviceClusterIPs?: { cidr: string }[];
  serviceExternalIPs?: { cidr: string }[];
  serviceLoadBalancerIPs?: { cidr: string }[];
  nodeMeshPassword?: unknown;
  nodeMeshMaxRestartTime?: unknown;
  prefixAdvertisements?: unknown;
  bindMode?: unknown;
  ignoredInterfaces?: unknown;
}

export interface SecretKeyRef {
  secretKeyRef: { name: string; key: string };
}

export interface BGPPeerSpec {
  peerIP?: string;
  asNumber?: number;
  node?: string;
  nodeSelector?: string;
  peerSelector?: string;
  password?: SecretKeyRef;
  holdTime?: string;
  keepaliveTime?: string;
  maxRestartTime?: string;
  sourceAddress?: 'UseNodeIP' | 'None';
  nextHopMode?: 'Auto' | 'Self' | 'Keep';
  keepOriginalNextHop?: boolean;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  filters?: string[];
  reachableBy?: string;
}

export interface WorkloadEndpointSpec {
  node: string;
  orchestrator: string;
  workload?: string;
  pod?: string;
  endpoint: string;
  containerID?: string;
  interfaceName?: string;
  ipNetworks?: string[];
  mac?: string;
  profiles?: string[];
  ports?: EndpointPort[];
  serviceAccountName?: string;
  ipNATs?: unknown;
}

export interface EndpointPort {
  name: string;
  protocol: string;
  port: number;
}

export interface HostEndpointSpec {
  node: string;
  interfaceName?: string;
  expectedIPs?: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}

export type RuleAction = 'Allow' | 'Deny' | 'Pass' | 'Log';
/** A protocol name or a number 1–255. */
export type Protocol = string | number;
/** A port number, a "lo:hi" range, or a named port. */
export type Port = number | string;

export interface EntityRule {
  selector?: string;
  namespaceSelector?: string;
  nets?: string[];
  notNets?: string[];
  ports?: Port[];
  notPorts?: Port[];
  notSelector?: string;
  serviceAccounts?: unknown;
  services?: unknown;
}

export interface IcmpFields {
  type?: number;
  code?: number;
}

export interface Rule {
  action: RuleAction;
  protocol?: Protocol;
  notProtocol?: Protocol;
  icmp?: IcmpFields;
  notICMP?: IcmpFields;
  ipVersion?: 4 | 6;
  source?: EntityRule;
  destination?: EntityRule;
  metadata?: unknown;
}

export type PolicyType = 'Ingress' | 'Egress';

export interface PolicySpec {
  order?: number;
  tier?: string;
  /** Defaults to all(). */
  selector: string;
  namespaceSelector?: string;
  serviceAccountSelector?: string;
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
  types: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
}

export interface ProfileSpec {
  labelsToApply?: Record<string, string>;
  ingress?: Rule[];
  egress?: Rule[];
}

/** Defaults are filled only for the resource named "default"; "node.<name>" ones keep what they set. */
export interface FelixConfigurationSpec {
  routeRefreshInterval?: string;
  iptablesRefreshInterval?: string;
  nftablesRefreshInterval?: string;
  reportingInterval?: string;
  healthPort?: number;
  prometheusMetricsEnabled?: boolean;
  prometheusMetricsPort?: number;
  logSeverityScreen?: LogSeverity;
  ipipEnabled?: boolean;
  ipipMTU?: number;
  vxlanEnabled?: boolean;
  vxlanMTU?: number;
  bpfEnabled?: boolean;
  defaultEndpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  failsafeInboundHostPorts?: { protocol: string; port: number; net?: string }[];
  failsafeOutboundHostPorts?: { protocol: string; port: number; net?: string }[];
}

export type NodeResource = ResourceOf<'Node', NodeSpec>;
export type IPPoolResource = ResourceOf<'IPPool', IPPoolSpec>;
export type IPReservationResource = ResourceOf<'IPReservation', IPReservationSpec>;
export type BGPConfigurationResource = ResourceOf<'BGPConfiguration', BGPConfigurationSpec>;
export type BGPPeerResource = ResourceOf<'BGPPeer', BGPPeerSpec>;
export type WorkloadEndpointResource = ResourceOf<'WorkloadEndpoint', WorkloadEndpointSpec>;
export type HostEndpointResource = ResourceOf<'HostEndpoint', HostEndpointSpec>;
export type NetworkPolicyResource = ResourceOf<'NetworkPolicy', PolicySpec>;
export type GlobalNetworkPolicyResource = ResourceOf<'GlobalNetworkPolicy', PolicySpec>;
export type ProfileResource = ResourceOf<'Profile', ProfileSpec>;
export type FelixConfigurationResource = ResourceOf<'FelixConfiguration', FelixConfigurationSpec>;

/** Every stored resource, discriminated by `kind`. */
export type CaracalResource =
  | NodeResource
  | IPPoolResource
  | IPReservationResource
  | BGPConfigurationResource
  | BGPPeerResource
  | WorkloadEndpointResource
  | HostEndpointResource
  | NetworkPolicyResource
  | GlobalNetworkPolicyResource
  | ProfileResource
  | FelixConfigurationResource;

export type ResourceOfKind<K extends Kind> = Extract<CaracalResource, { kind: K }>;

/** One reason a document is invalid: field path (e.g. `spec.ingress[0].destination.ports[1]`), value, why. */
export interface ValidationProblem {
  readonly path: string;
  readonly value: unknown;
  readonly reason: string;
}

export interface ValidationResult {
  /** The defaulted, stored form; present only when there are no problems. */
  resource?: CaracalResource;
  problems: ValidationProblem[];
}

/** One document of a manifest after parsing and validation. */
export interface ManifestDocument {
  source: string;
  /** 1-based position of the document in its file. */
  index: number;
  /** 1-based line where the document starts (or where its syntax error is). */
  line?: number;
  kind?: string;
  name?: string;
  resource?: CaracalResource;
  problems: ValidationProblem[];
}

export class ResourceValidationError extends Error {
  override readonly name = 'ResourceValidationError';
  constructor(readonly problems: readonly ValidationProblem[]) {
    super(
      problems
        .map((p) => `${p.path || '<document>'}: ${p.reason} (got ${JSON.stringify(p.value)})`)
        .join('; '),
    );
  }
}
