// The validated caracal-bgpd configuration: types and documented defaults.

/** Defaults (chosen for a container network; see the package README for the reasoning). */
export const CONFIG_DEFAULTS = {
  listenAddress: '0.0.0.0',
  port: 179,
  /** As BIRD and the example: 90 s (Calico's BIRD templates use 240 s hold / 80 s keepalive). */
  holdTime: 90,
  /** RFC 4271 §10 suggests 120 s; container peers come and go, so retry every 5 s. */
  connectRetryTime: 5,
  /** Oscillation damping: first wait 5 s, doubled per flap up to 120 s, forgotten after 300 s up. */
  idleHoldTime: 5,
  maxIdleHoldTime: 120,
  dampingResetTime: 300,
  families: ['ipv4-unicast'] as readonly string[],
  /**
   * Kernel route protocol number: 201, unregistered in iproute2's rt_protos (BIRD is 12, bgp 186;
   * 186–192 are taken), so `ip route show proto 201` lists exactly caracal's routes.
   */
  kernelProtocol: 201,
  /** Linux main routing table. */
  kernelTable: 254,
  gracefulRestartTime: 120,
  controlSocket: '/run/caracal/bgpd.sock',
  metricsPort: 9092,
  logLevel: 'info',
} as const;

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export type NextHopMode = 'self' | 'keep' | 'auto';
export type PolicyAction = 'accept' | 'reject';

/** A prefix match: the prefix itself, or longer ones within ge..le (BIRD's `{ge,le}`). */
export interface PrefixMatch {
  readonly prefix: string;
  readonly ge?: number;
  readonly le?: number;
}

export interface TermMatch {
  /** Inline prefixes or the name of a prefix list. */
  readonly prefix?: readonly PrefixMatch[];
  readonly prefixList?: string;
  /** Regular expression over the AS path written as space-separated ASNs, or an AS-path list name. */
  readonly asPath?: string;
  readonly asPathList?: string;
  /** "ASN:value" or a well-known name (no-export, no-advertise, ...), or a community list name. */
  readonly community?: string;
  readonly communityList?: string;
  /** "ASN:data1:data2". */
  readonly largeCommunity?: string;
  readonly nextHop?: string;
  readonly family?: string;
}

export interface TermActions {
  readonly addCommunity?: readonly string[];
  readonly removeCommunity?: readonly string[];
  readonly addLargeCommunity?: readonly string[];
  readonly setLocalPref?: number;
  readonly setMed?: number;
  readonly prepend?: { readonly asNumber?: number; readonly count: number };
  /** Ends evaluation with this verdict; without it evaluation continues with the next term. */
  readonly action?: PolicyAction;
}

export interface PolicyTerm {
  readonly name?: string;
  readonly match: TermMatch;
  readonly then: TermActions;
}

/** An import/export policy: a plain verdict, a named filter, or inline terms. */
export type PolicyRef =
  | { readonly kind: 'action'; readonly action: PolicyAction }
  | { readonly kind: 'filter'; readonly name: string }
  | { readonly kind: 'terms'; readonly terms: readonly PolicyTerm[] };

export interface PolicyDefinitions {
  readonly prefixLists: Readonly<Record<string, readonly PrefixMatch[]>>;
  readonly communityLists: Readonly<Record<string, readonly string[]>>;
  readonly asPathLists: Readonly<Record<string, readonly string[]>>;
  readonly filters: Readonly<Record<string, readonly PolicyTerm[]>>;
}

export interface GracefulRestartConfig {
  readonly enabled: boolean;
  readonly restartTime: number;
}

export interface MaxPrefixConfig {
  readonly limit: number;
  readonly action: 'warn' | 'teardown';
  /** Seconds before an automatic restart after a teardown; absent: stay down until reset. */
  readonly restartAfter?: number;
}

export interface PeerConfig {
  readonly name: string;
  readonly address: string;
  readonly asNumber: number;
  readonly port: number;
  readonly passive: boolean;
  readonly localAddress?: string;
  /** eBGP multihop TTL; absent: directly connected (TTL 1 for eBGP). */
  readonly multihop?: { readonly ttl: number };
  readonly nextHop: NextHopMode;
  readonly routeReflectorClient: boolean;
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly connectRetryTime: number;
  readonly families: readonly string[];
  readonly addPath: { readonly send: boolean; readonly receive: boolean };
  readonly gracefulRestart: GracefulRestartConfig;
  readonly maxPrefix?: MaxPrefixConfig;
  /** DelayOpenTime in seconds; absent: DelayOpen off. */
  readonly delayOpen?: number;
  readonly enhancedRouteRefresh: boolean;
  readonly extendedMessage: boolean;
  readonly softReconfiguration: boolean;
  /** Hard limit of routes accepted after import policy (others are dropped and logged). */
  readonly importLimit?: number;
  readonly import: PolicyRef;
  readonly export: PolicyRef;
}

export interface OriginateConfig {
  readonly prefix: string;
  readonly blackhole: boolean;
  readonly communities: readonly string[];
}

export interface BgpdConfig {
  readonly asNumber: number;
  readonly routerId: string;
  readonly listen: {
    /** The first of `addresses` (the one address of the single-address form). */
    readonly address: string;
    /** Every address bgpd accepts connections on, one listening socket each (never empty). */
    readonly addresses: readonly string[];
    readonly port: number;
    readonly enabled: boolean;
  };
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly connectRetryTime: number;
  readonly families: readonly string[];
  readonly logLevel: LogLevel;
  readonly clusterId?: string;
  readonly kernel: {
    readonly install: boolean;
    readonly protocol: number;
    readonly table: number;
    readonly ecmp: boolean;
  };
  readonly gracefulRestart: GracefulRestartConfig;
  readonly originate: readonly OriginateConfig[];
  readonly policy: PolicyDefinitions;
  readonly import: PolicyRef;
  readonly export: PolicyRef;
  readonly peers: readonly PeerConfig[];
  readonly control: { readonly socket: string };
  readonly metrics: { readonly address: string; readonly port: number };
  readonly health?: { readonly address: string; readonly port: number };
}

/** One configuration problem: where (file, field path, line:column) and why. */
export interface ConfigIssue {
  readonly file: string;
  /** Field path like "peers[0].holdTime". */
  readonly path: string;
  readonly line?: number;
  readonly column?: number;
  readonly reason: string;
}

/** Thrown by `loadConfigFile` with every issue found. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatConfigIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

/** "file:line:column: path: reason" (line/column omitted when unknown). */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line !== undefined ? `${issue.file}:${issue.line}:${issue.column ?? 1}` : issue.file;
  return `${where}: ${issue.path || '(top level)'}: ${issue.reason}`;
}
