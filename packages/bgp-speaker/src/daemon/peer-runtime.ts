// The daemon's state for one configured peer: its session driver (`Peer`), its Adj-RIB-In, compiled
// policies, the address our end of the session uses, graceful-restart bookkeeping and counters that
// survive a session reset. The Speaker (speaker.ts) drives it; this file holds no routing logic.

import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { BgpDecodeError } from '../codec/errors.js';
import type { PeerConfig } from '../config/types.js';
import type { NegotiatedSessionOptions } from '../fsm/open.js';
import type { NotificationError, SessionState } from '../fsm/types.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { AdjRibIn } from '../rib/adj-rib-in.js';
import type { ExportPeer } from '../rib/adj-rib-out.js';
import type { PeerInfo } from '../rib/route.js';
import { type AcceptingPeer, type MessageCounts, normalizeAddress, type Peer } from '../session/index.js';
import type { PeerKind } from './view.js';

export const ZERO_COUNTS: MessageCounts = {
  open: 0,
  update: 0,
  notification: 0,
  keepalive: 0,
  routeRefresh: 0,
};

export function addCounts(a: MessageCounts, b: MessageCounts): MessageCounts {
  return {
    open: a.open + b.open,
    update: a.update + b.update,
    notification: a.notification + b.notification,
    keepalive: a.keepalive + b.keepalive,
    routeRefresh: a.routeRefresh + b.routeRefresh,
  };
}

export function peerKind(config: PeerConfig, localAs: number): PeerKind {
  if (config.asNumber !== localAs) return 'ebgp';
  return config.routeReflectorClient ? 'ibgp-rr-client' : 'ibgp';
}

/** The NOTIFICATION fields of a session-reset decode error. */
export function notificationOfDecodeError(error: BgpDecodeError): NotificationError {
  return { code: error.code, subcode: error.subcode, data: error.data };
}

/** The interface holding `address` in this network namespace, for IPv6 link-local next hops. */
export function interfaceOfAddress(address: string): string | undefined {
  for (const [name, list] of Object.entries(networkInterfaces()))
    for (const entry of list ?? []) if (normalizeAddress(entry.address) === address) return name;
  return undefined;
}

/** A global IPv6 address on the interface that holds `address` (our IPv6 next hop on an IPv4 session). */
export function globalIpv6Beside(address: string): string | undefined {
  const name = interfaceOfAddress(address);
  if (name === undefined) return undefined;
  return networkInterfaces()[name]?.find(
    (entry) => entry.family === 'IPv6' && !entry.internal && !entry.address.toLowerCase().startsWith('fe80'),
  )?.address;
}

export class PeerRuntime {
  peer: Peer;
  info: PeerInfo | null = null;
  ribIn: AdjRibIn | null = null;
  negotiated: NegotiatedSessionOptions | null = null;
  exportPeer: ExportPeer | null = null;
  /** Our address on the session, seen on a connected socket (or the configured local address). */
  sessionLocalAddress: string | undefined;
  /** Families whose End-of-RIB we still wait for since the session came up. */
  endOfRibPending = new Set<string>();
  /** The peer is restarting (graceful restart helper): its paths are kept stale. */
  peerRestarting = false;
  restartTimer: unknown = null;
  staleTimer: unknown = null;
  maxPrefixRestartTimer: unknown = null;
  maxPrefixWarned = false;
  /** What the Listener hands this peer's incoming connections to. */
  accepting: AcceptingPeer | null = null;
  /** The last NOTIFICATION sent or received since the session came up (graceful restart needs it). */
  lastNotification: {
    readonly direction: 'sent' | 'received';
    readonly notification: NotificationError;
  } | null = null;
  /** Counters of earlier drivers of this peer (replaced by a reload that resets the session). */
  baseIn: MessageCounts = ZERO_COUNTS;
  baseOut: MessageCounts = ZERO_COUNTS;
  baseFlaps = 0;
  state: SessionState = 'Idle';
  since: Date;
  lastError: string | null = null;
  /** Advertised prefix count, computed lazily after each Adj-RIB-Out flush. */
  advertisedCache: number | null = null;

  constructor(
    public config: PeerConfig,
    peer: Peer,
    public importPolicy: CompiledPolicy,
    public exportPolicy: CompiledPolicy,
    now: Date,
    /** This peer's logger (a child of the speaker's). */
    readonly log: Logger,
  ) {
    this.peer = peer;
    this.since = now;
    if (config.localAddress !== undefined) this.sessionLocalAddress = config.localAddress;
  }

  get name(): string {
    return this.config.name;
  }

  get address(): string {
    return this.config.address;
  }

  /** The peer's identity in the RIBs and the update groups: its address, IPv4-mapped IPv6 unwrapped. */
  get ribAddress(): string {
    return normalizeAddress(this.config.address);
  }

  /** Notes our address on the session (from its connection) unless the configuration fixes it. */
  noteSessionAddress(): void {
    const local = this.peer.localSocketAddress;
    if (local !== undefined && this.config.localAddress === undefined)
      this.sessionLocalAddress = normalizeAddress(local);
  }

  /** Drops this driver's counters into the base counters (before it is replaced). */
  retireDriver(): void {
    const stats = this.peer.stats();
    this.baseIn = addCounts(this.baseIn, stats.messagesIn);
    this.baseOut = addCounts(this.baseOut, stats.messagesOut);
    this.baseFlaps += stats.flaps;
  }
}
