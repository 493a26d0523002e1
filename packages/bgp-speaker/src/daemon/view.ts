// The read-only view of a running speaker that the control socket, the metrics endpoint and the
// health endpoint use. The daemon (src/daemon) implements it; src/control and src/observability
// consume it. Everything here is plain JSON-serialisable data.

import type { SessionState } from '../fsm/index.js';
import type { DecisionStep } from '../rib/index.js';

/** What kind of session this is, for people: 'ebgp', 'ibgp', 'ibgp-rr-client'. */
export type PeerKind = 'ebgp' | 'ibgp' | 'ibgp-rr-client';

export interface PeerMessageCounts {
  readonly open: number;
  readonly update: number;
  readonly notification: number;
  readonly keepalive: number;
  readonly routeRefresh: number;
}

/** One row of `caracal-bgp status` (and of `caracalctl node status`). */
export interface PeerStatusRow {
  readonly name: string;
  readonly peerAddress: string;
  readonly peerAs: number;
  readonly localAs: number;
  readonly kind: PeerKind;
  /** Free text kept for caracalctl node status, e.g. "node-to-node mesh", "global", or the kind. */
  readonly peerType: string;
  readonly state: SessionState;
  /** ISO time of the last state change. */
  readonly since: string;
  /** Seconds in Established, or null when not Established. */
  readonly uptimeSeconds: number | null;
  /** "Established", or the last error (e.g. "sent NOTIFICATION 4/0 (Hold Timer Expired)", "connect ECONNREFUSED …"). */
  readonly info: string;
  readonly lastError: string | null;
  readonly families: readonly string[];
  readonly prefixes: {
    /** Paths in Adj-RIB-In (before import policy). */
    readonly received: number;
    /** Paths accepted by import policy into the Loc-RIB. */
    readonly accepted: number;
    /** Prefixes currently advertised to this peer. */
    readonly advertised: number;
    /** Paths kept stale for graceful restart. */
    readonly stale: number;
  };
  readonly messagesIn: PeerMessageCounts;
  readonly messagesOut: PeerMessageCounts;
  readonly flaps: number;
  readonly gracefulRestart: { readonly negotiated: boolean; readonly peerRestarting: boolean };
}

export interface SpeakerStatus {
  readonly routerId: string;
  readonly asNumber: number;
  readonly version: string;
  /** ISO time the daemon started. */
  readonly startedAt: string;
  readonly peers: readonly PeerStatusRow[];
  readonly locRib: { readonly prefixes: number; readonly paths: number };
  /** True while we are the restarting speaker and still waiting for End-of-RIB (or the timer). */
  readonly restarting: boolean;
  /**
   * The sockets accepting BGP connections now (after the last reload), e.g. [{address: '10.0.0.5', port:
   * 179}]; empty when listening is disabled. Optional for views that have no listener (test fakes).
   */
  readonly listening?: readonly { readonly address: string; readonly port: number }[];
  /**
   * Which configuration the daemon runs: `configDigest()` of it (the one read at start, or the last one a
   * reload applied). A client that wrote a file compares it with the digest of that file's parsed content
   * to know whether the daemon runs it. Optional for views that have no configuration (test fakes).
   */
  readonly configDigest?: string;
  /** The outcome of the last reload (SIGHUP) of the speaker; null when none ran since the start. */
  readonly lastReload?: ReloadOutcome | null;
}

/**
 * How the last reload ended. A refused reload (a policy that does not compile, a listen address that cannot
 * be bound) changed nothing: `configDigest` then names the refused configuration and differs from the
 * status's running `configDigest`. A file that does not parse is refused before the speaker sees it and is
 * not recorded here (the daemon logs it).
 */
export interface ReloadOutcome {
  readonly ok: boolean;
  /** ISO time the reload ended. */
  readonly at: string;
  /** `configDigest()` of the configuration the reload applied (ok) or refused. */
  readonly configDigest: string;
  /** Why it was refused (absent when ok), e.g. "cannot listen on 10.0.0.9 port 179: … (the address is not on this host)". */
  readonly error?: string;
}

export interface RoutePathRow {
  /** Peer name, or "local" for originated prefixes. */
  readonly from: string;
  readonly peerAddress: string | null;
  readonly nextHop: string | null;
  readonly asPath: string;
  readonly origin: 'igp' | 'egp' | 'incomplete';
  readonly localPref: number | null;
  readonly med: number | null;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  readonly best: boolean;
  readonly multipath: boolean;
  readonly stale: boolean;
  readonly pathId: number;
}

/** One Loc-RIB prefix for `caracal-bgp routes`. */
export interface RouteRow {
  readonly prefix: string;
  readonly family: 'ipv4-unicast' | 'ipv6-unicast';
  /** Best first. */
  readonly paths: readonly RoutePathRow[];
  /** Why the best path won (the decision step that decided), e.g. 'local-pref', 'only-path'. */
  readonly reason: DecisionStep;
  /** True when the route is installed in the kernel. */
  readonly installed: boolean;
}

export interface ReadinessReport {
  readonly ready: boolean;
  /** Why not ready, for people ("peer upstream is Active", "restart: waiting for End-of-RIB"). */
  readonly reasons: readonly string[];
}

export interface SpeakerView {
  status(): SpeakerStatus;
  /** The Loc-RIB, optionally only prefixes equal to or covering/covered by `prefix`. */
  routes(filter?: { readonly prefix?: string }): readonly RouteRow[];
  /** Live: the event loop and sessions run. */
  live(): boolean;
  /** Ready: config loaded, listener up, every configured (non-passive) peer Established, FIB synced. */
  readiness(): ReadinessReport;
}
