// The caracal-bgpd configuration of one node (pure): from the peering plan (mesh, BGPPeers, route-reflector
// roles), the BGP listen port and the node's affine blocks, the document caracal-node writes to
// <run-dir>/bgpd.yaml. Router ID and listen address are the node's IPv4 address (bgpd also listens on the
// node's IPv6 address when it has one, so IPv6 peers can connect to us); every learned route is
// installed in the kernel with protocol 201; graceful restart is on (so a restarted speaker keeps its
// kernel routes and its peers keep ours); each affine block is originated WITHOUT a blackhole, because
// Felix already installs one per confirmed block (protocol 96) and two owners of one route would fight.
// Borrowed addresses (local pods whose address lies in another node's block) are originated as /32s, also
// without a blackhole (Felix routes each to its pod's interface).
import { join } from 'node:path';
import { CONFIG_DEFAULTS } from '@caracal/bgp-speaker';
import { compareCidr, IpParseError, ipParseResult, parseCidr } from '@caracal/ip';
import { stringify } from 'yaml';
import type { PeeringPlan, PlannedPeer } from './peering.js';

/** caracal-bgpd's metrics port when the flag is not given (bgpd's own default; Felix has 9091). */
export const DEFAULT_BGPD_METRICS_PORT = 9092;
/** caracal-bgpd's health port when the flag is not given (node 9098, Felix 9099). */
export const DEFAULT_BGPD_HEALTH_PORT = 9097;
/** Kernel route protocol of caracal-bgpd's routes (`ip route show proto 201`). */
export const BGPD_ROUTE_PROTOCOL = 201;
/** Seconds peers keep our routes while we restart (BIRD's and Calico's default). */
export const DEFAULT_GRACEFUL_RESTART_SECONDS = 120;

export interface BgpdConfigInputs {
  readonly nodeName: string;
  readonly plan: PeeringPlan;
  /** The port this node listens on (BGPConfiguration `listenPort`, 179 by default). */
  readonly listenPort: number;
  /** The node's confirmed affine blocks to advertise (CIDRs). */
  readonly blocks: readonly string[];
  /** /32s of local workloads outside this node's blocks (see `borrowedAddressesToAdvertise`); none by default. */
  readonly borrowedAddresses?: readonly string[];
  readonly runDir: string;
  readonly metricsPort: number;
  /** 0: no health endpoint. */
  readonly healthPort: number;
  /** caracal-node's pino level; mapped onto bgpd's levels. */
  readonly logLevel: string;
  readonly gracefulRestartSeconds?: number;
}

/** The YAML document, in caracal-bgpd's schema (see @caracal/bgp-speaker src/config). */
export interface BgpdConfigDocument {
  readonly asNumber: number;
  readonly routerId: string;
  /** One address (an IPv4-only node), or the node's IPv4 and IPv6 addresses. */
  readonly listen:
    | { readonly address: string; readonly port: number }
    | { readonly addresses: readonly [string, string]; readonly port: number };
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  readonly clusterId?: string;
  readonly kernel: {
    readonly install: true;
    readonly protocol: number;
    readonly table: number;
    readonly ecmp: boolean;
  };
  readonly gracefulRestart: { readonly enabled: true; readonly restartTime: number };
  readonly originate: readonly { readonly prefix: string; readonly blackhole: false }[];
  readonly peers: readonly BgpdPeerDocument[];
  readonly control: { readonly socket: string };
  readonly metrics: { readonly address: string; readonly port: number };
  readonly health?: { readonly address: string; readonly port: number };
}

export interface BgpdPeerDocument {
  readonly name: string;
  readonly address: string;
  readonly asNumber: number;
  readonly port: number;
  readonly passive: boolean;
  readonly routeReflectorClient?: true;
  readonly holdTime?: number;
  readonly keepaliveTime?: number;
  readonly nextHop?: 'auto' | 'self' | 'keep';
  readonly gracefulRestart?: { readonly enabled: true; readonly restartTime: number };
  readonly families?: readonly string[];
  readonly localAddress?: string;
}

export interface BgpdConfigResult {
  readonly config: BgpdConfigDocument;
  /** Values of the plan bgpd would refuse, left out (with the reason). */
  readonly warnings: readonly string[];
}

export class BgpdConfigError extends Error {}

const BGPD_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

function bgpdLogLevel(level: string): BgpdConfigDocument['logLevel'] {
  if ((BGPD_LEVELS as readonly string[]).includes(level)) return level as BgpdConfigDocument['logLevel'];
  return level === 'fatal' || level === 'silent' ? 'error' : 'info';
}

/**
 * Orders prefix texts as networks (@caracal/ip's compareCidr: IPv4 before IPv6, by network, shorter
 * first); text that is no CIDR sorts after every prefix, by text (caracal-bgpd then names it).
 */
export function prefixOrder(a: string, b: string): number {
  const cidrA = ipParseResult(() => parseCidr(a));
  const cidrB = ipParseResult(() => parseCidr(b));
  const validA = !(cidrA instanceof IpParseError);
  const validB = !(cidrB instanceof IpParseError);
  if (validA && validB) return compareCidr(cidrA, cidrB);
  if (validA !== validB) return validA ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function peerDocument(peer: PlannedPeer, localAs: number, warnings: string[]): BgpdPeerDocument {
  const where = `peer ${peer.name} (${peer.address})`;
  let holdTime = peer.holdTimeSeconds;
  if (
    holdTime !== undefined &&
    (!Number.isInteger(holdTime) || holdTime > 65535 || holdTime === 1 || holdTime === 2)
  ) {
    warnings.push(
      `${where}: hold time ${holdTime} s is not 0 or 3-65535 whole seconds; bgpd's default is used`,
    );
    holdTime = undefined;
  }
  let keepaliveTime = peer.keepaliveTimeSeconds;
  if (keepaliveTime !== undefined) {
    const hold = holdTime ?? CONFIG_DEFAULTS.holdTime;
    if (!Number.isInteger(keepaliveTime) || (hold > 0 && keepaliveTime > hold / 3)) {
      warnings.push(
        `${where}: keepalive ${keepaliveTime} s is not a whole number at most a third of the hold time (${hold} s); bgpd uses hold/3`,
      );
      keepaliveTime = undefined;
    }
  }
  let restartTime = peer.maxRestartTimeSeconds;
  if (
    restartTime !== undefined &&
    (!Number.isInteger(restartTime) || restartTime < 1 || restartTime > 4095)
  ) {
    warnings.push(
      `${where}: maxRestartTime ${restartTime} s is not 1-4095 whole seconds (RFC 4724); the node's is used`,
    );
    restartTime = undefined;
  }
  // Route reflection is iBGP only (RFC 4456); an eBGP BGPPeer on a reflector is a plain session.
  const reflectTo = peer.routeReflectorClient && peer.asNumber === localAs;
  return {
    name: peer.name,
    address: peer.address,
    asNumber: peer.asNumber,
    port: peer.port,
    passive: peer.passive,
    ...(reflectTo ? { routeReflectorClient: true as const } : {}),
    ...(holdTime !== undefined ? { holdTime } : {}),
    ...(keepaliveTime !== undefined ? { keepaliveTime } : {}),
    ...(peer.nextHopMode !== undefined
      ? { nextHop: peer.nextHopMode.toLowerCase() as 'auto' | 'self' | 'keep' }
      : {}),
    ...(restartTime !== undefined ? { gracefulRestart: { enabled: true as const, restartTime } } : {}),
    ...(peer.families !== undefined ? { families: [...peer.families] } : {}),
    ...(peer.localAddress !== undefined ? { localAddress: peer.localAddress } : {}),
  };
}

/** The caracal-bgpd configuration of this node; throws BgpdConfigError when the plan has no router ID. */
export function bgpdConfigFor(inputs: BgpdConfigInputs): BgpdConfigResult {
  const { plan } = inputs;
  const routerId = plan.routerId;
  if (routerId === undefined) {
    throw new BgpdConfigError(
      `node ${inputs.nodeName} has no BGP IPv4 address: caracal-bgpd needs it as router ID and listen address`,
    );
  }
  const warnings: string[] = [];
  const originated = [...new Set([...inputs.blocks, ...(inputs.borrowedAddresses ?? [])])].sort(prefixOrder);
  const config: BgpdConfigDocument = {
    asNumber: plan.localAsNumber,
    routerId,
    // An IPv4-only node keeps the one-address form, so its bgpd.yaml is unchanged (no reload, no restart).
    listen:
      plan.localIpv6Address === undefined
        ? { address: routerId, port: inputs.listenPort }
        : { addresses: [routerId, plan.localIpv6Address], port: inputs.listenPort },
    logLevel: bgpdLogLevel(inputs.logLevel),
    ...(plan.routeReflectorClusterId !== undefined ? { clusterId: plan.routeReflectorClusterId } : {}),
    kernel: { install: true, protocol: BGPD_ROUTE_PROTOCOL, table: 254, ecmp: true },
    gracefulRestart: {
      enabled: true,
      restartTime: inputs.gracefulRestartSeconds ?? DEFAULT_GRACEFUL_RESTART_SECONDS,
    },
    originate: originated.map((prefix) => ({ prefix, blackhole: false as const })),
    peers: plan.peers.map((peer) => peerDocument(peer, plan.localAsNumber, warnings)),
    control: { socket: bgpdControlSocket(inputs.runDir) },
    metrics: { address: '0.0.0.0', port: inputs.metricsPort },
    ...(inputs.healthPort > 0 ? { health: { address: '127.0.0.1', port: inputs.healthPort } } : {}),
  };
  return { config, warnings };
}

/** The control socket caracal-bgpd serves for this run dir. */
export function bgpdControlSocket(runDir: string): string {
  return join(runDir, 'bgpd.sock');
}

/** The YAML text of bgpd.yaml (stable: the same inputs give byte-identical text, so unchanged = no reload). */
export function renderBgpdConfig(nodeName: string, config: BgpdConfigDocument): string {
  return `# caracal-bgpd configuration of node ${nodeName}, generated by caracal-node (rewritten on every change, then SIGHUP).\n${stringify(config, { lineWidth: 0 })}`;
}
