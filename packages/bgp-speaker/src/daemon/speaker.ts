// The BGP speaker of caracal-bgpd: assembles the session drivers (src/session), the RIBs (src/rib), the
// policies (src/policy), local origination, graceful restart (helper and restarting roles), route refresh
// and the kernel FIB (src/fib contract) into one object that can also be embedded in a program. It
// implements the SpeakerView the control socket, the metrics and the health endpoints read.
//
// Data flow: Peer 'update' → decode (negotiated context; RFC 7606) → AdjRibIn (loops, max-prefix, stale)
// → LocRib → (once per tick) best-path changes → FIB, bestPathChanges$, AdjRibOut (update groups) →
// batches of back-to-back UPDATEs, shared by a group's members → Peer.sendUpdates (one socket write per
// run) → the batch back to the Adj-RIB-Out's buffer pool after the last member's write callback.

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { type Observable, Subject, type Subscription } from 'rxjs';
import { BgpDecodeError } from '../codec/errors.js';
import { decodeBgpMessage, decodeRouteRefreshBody } from '../codec/messages.js';
import { packUpdates } from '../codec/pack.js';
import { type BgpPrefix, ipv4ToString } from '../codec/prefix.js';
import type { BgpUpdate } from '../codec/update.js';
import { diffConfig } from '../config/diff.js';
import type { BgpdConfig, PeerConfig } from '../config/types.js';
import type { FibEntry, FibNextHop, ForwardingTable } from '../fib/types.js';
import { codecContextOf, familyName, type NegotiatedSessionOptions, parseRouterId } from '../fsm/open.js';
import type { NotificationError } from '../fsm/types.js';
import { type CompiledPolicy, compilePolicy, policyKey } from '../policy/compile.js';
import { AdjRibIn } from '../rib/adj-rib-in.js';
import { AdjRibOut, type ExportPeer, type Family } from '../rib/adj-rib-out.js';
import { AttributeInterner } from '../rib/intern.js';
import { type BestPathChange, LocRib, type LocRibPath } from '../rib/loc-rib.js';
import { type PeerInfo, prefixKey, renderAsPath } from '../rib/route.js';
import {
  type Clock,
  type ListenChange,
  type ListenEndpoint,
  Listener,
  netSocketFactory,
  normalizeAddress,
  Peer,
  type PeerOptions,
  type PeerStopOptions,
  peerOptionsFor,
  type RouteRefreshSubtype,
  type SessionSocket,
  type SocketFactory,
  systemClock,
} from '../session/index.js';
import {
  type AnnounceOptions,
  type Origination,
  type OriginationCommand,
  originationOf,
  parseOriginatedPrefix,
} from './origination.js';
import {
  addCounts,
  globalIpv6Beside,
  interfaceOfAddress,
  notificationOfDecodeError,
  PeerRuntime,
  peerKind,
} from './peer-runtime.js';
import { parseRouteFilter, prefixCovers, routeRow } from './route-rows.js';
import type {
  PeerStatusRow,
  ReadinessReport,
  ReloadOutcome,
  RouteRow,
  SpeakerStatus,
  SpeakerView,
} from './view.js';

export interface SpeakerOptions {
  /** The kernel forwarding table; without one nothing is installed (and the FIB counts as synced). */
  readonly fib?: ForwardingTable;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /**
   * We restart gracefully (RFC 4724 restarting speaker). Undefined: decided at start, true when
   * graceful restart is enabled and the FIB found routes of ours from a previous run.
   */
  readonly restarting?: boolean;
  /** Outgoing connections (tests inject fakes); node:net by default. */
  readonly socketFactory?: SocketFactory;
  /** Reported in status(). */
  readonly version?: string;
}

/** What a reload changed, for logs and callers. */
export interface ReloadResult {
  readonly peersAdded: readonly string[];
  readonly peersRemoved: readonly string[];
  readonly peersReset: readonly string[];
  readonly peersRefreshed: readonly string[];
  readonly originationsAdded: readonly string[];
  readonly originationsWithdrawn: readonly string[];
  /** Listening sockets a changed `listen` opened (added addresses; every address when the port changed). */
  readonly listenersOpened: readonly ListenEndpoint[];
  /** Listening sockets a changed `listen` closed (their established sessions stay up). */
  readonly listenersClosed: readonly ListenEndpoint[];
  /** Global settings that changed but only take effect after a restart (kernel, gracefulRestart, …). */
  readonly needsRestart: readonly string[];
}

/**
 * A digest of a parsed configuration (SHA-256 of its JSON, hex): the same file content gives the same
 * digest in caracal-bgpd and in the program that wrote the file (both parse it with `parseConfig`), so
 * status().configDigest says which file the daemon runs.
 */
export function configDigest(config: BgpdConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex');
}

/** Global settings a reload cannot apply: they are read once at start (the FIB, the servers). */
const RESTART_ONLY_SETTINGS: readonly string[] = [
  'kernel',
  'gracefulRestart',
  'control',
  'metrics',
  'health',
];

/** The sockets a configuration asks for: none when listening is disabled. */
function listenTarget(config: BgpdConfig): { readonly addresses: readonly string[]; readonly port: number } {
  return { addresses: config.listen.enabled ? config.listen.addresses : [], port: config.listen.port };
}

/** ROUTE-REFRESH subtypes (RFC 7313). */
const REFRESH_REQUEST: RouteRefreshSubtype = 0;
const REFRESH_BEGIN: RouteRefreshSubtype = 1;
const REFRESH_END: RouteRefreshSubtype = 2;

/** Sends `notification` on the peer's session and takes it down (damped automatic restart). */
function sendNotificationOf(runtime: PeerRuntime, notification: NotificationError): void {
  runtime.peer.sendNotification(notification.code, notification.subcode, notification.data);
}
/**
 * Cease subcodes that end a session without graceful restart even with the RFC 8538 N bit: 9 Hard Reset,
 * and 1 (maximum number of prefixes reached) and 3 (peer de-configured), which RFC 8538 §5 says to send
 * as a Hard Reset (we send them plain, so both ends treat them as one).
 */
const HARD_CEASES: ReadonlySet<number> = new Set([1, 3, 9]);
const MAX_ECMP_PATHS = 16;

function familyOf(afi: number, safi: number): string {
  return familyName({ afi, safi });
}

/**
 * A peer's import policy: its own, then the global one (when the peer has its own; otherwise the
 * configuration already resolved the global one into the peer). Evaluation stops at the first reject.
 */
export function importPolicyFor(config: BgpdConfig, peer: PeerConfig): CompiledPolicy {
  const own = compilePolicy(peer.import, config.policy);
  if (policyKey(peer.import) === policyKey(config.import)) return own;
  const global = compilePolicy(config.import, config.policy);
  return (input) => {
    const first = own(input);
    if (!first.accepted) return first;
    return global(first.attributes === input.attributes ? input : { ...input, attributes: first.attributes });
  };
}

/** The family of an End-of-RIB marker (RFC 4724 §2), or null when the UPDATE is not one. */
export function endOfRibFamily(update: BgpUpdate): string | null {
  if (update.withdrawn.length > 0 || update.nlri.length > 0) return null;
  if (update.attributes.length === 0) return 'ipv4-unicast';
  const only = update.attributes[0];
  if (update.attributes.length === 1 && only?.kind === 'mp-unreach' && only.withdrawn.length === 0)
    return familyOf(only.afi, only.safi);
  return null;
}

export class Speaker implements SpeakerView {
  #config: BgpdConfig;
  readonly #fib: ForwardingTable | undefined;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #socketFactory: SocketFactory;
  readonly #version: string;
  readonly #startedAt: Date;
  readonly #interner = new AttributeInterner();
  readonly #locRib: LocRib;
  #adjRibOut: AdjRibOut;
  readonly #peers = new Map<string, PeerRuntime>();
  readonly #byAddress = new Map<string, PeerRuntime>();
  readonly #originations = new Map<string, Origination>();
  readonly #bestPathChanges = new Subject<BestPathChange>();
  readonly #subscriptions: Subscription[] = [];
  #listener: Listener | null = null;
  #listening = false;
  #listenPort: number | null = null;
  /** The reload in progress (reloads run one after another), or null. */
  #reloadTail: Promise<void> | null = null;
  /** configDigest() of #config. */
  #configDigest: string;
  #lastReload: ReloadOutcome | null = null;
  #started = false;
  #stopped = false;
  #flushScheduled = false;
  #restarting: boolean;
  /** The `restarting` option as given (undefined: decided from the FIB at start). */
  readonly #explicitRestarting: boolean | undefined;
  #restartTimer: unknown = null;

  /** Every change of a prefix's best path or ECMP set, after the FIB was told. */
  readonly bestPathChanges$: Observable<BestPathChange> = this.#bestPathChanges.asObservable();

  constructor(config: BgpdConfig, options: SpeakerOptions = {}) {
    this.#config = config;
    this.#configDigest = configDigest(config);
    this.#fib = options.fib;
    this.#logger = options.logger ?? pino({ level: 'silent' });
    this.#clock = options.clock ?? systemClock;
    this.#socketFactory = options.socketFactory ?? netSocketFactory;
    this.#version = options.version ?? 'unknown';
    this.#startedAt = new Date(this.#clock.now());
    this.#restarting = options.restarting ?? false;
    this.#explicitRestarting = options.restarting;
    this.#locRib = new LocRib({ decision: { maxPaths: config.kernel.ecmp ? MAX_ECMP_PATHS : 1 } });
    this.#adjRibOut = this.#newAdjRibOut(config);
  }

  get config(): BgpdConfig {
    return this.#config;
  }

  /** The port the listener is bound to (useful with port 0), or null when not listening. */
  get listenPort(): number | null {
    return this.#listenPort;
  }

  /** True while we are the restarting speaker waiting for End-of-RIB (RFC 4724 §4.1). */
  get restarting(): boolean {
    return this.#restarting;
  }

  // ---- lifecycle --------------------------------------------------------------------------------------

  /** Starts the FIB, the listener and every configured peer, and announces the configured originations. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('speaker already started');
    this.#started = true;
    const config = this.#config;
    if (this.#fib !== undefined) {
      const keepExisting = this.#explicitRestarting ?? config.gracefulRestart.enabled;
      await this.#fib.start({ keepExisting });
      if (this.#explicitRestarting === undefined)
        this.#restarting = keepExisting && this.#fib.stats().staleFromPreviousRun > 0;
    }
    if (this.#restarting) {
      this.#logger.info(
        { restartTime: config.gracefulRestart.restartTime },
        'graceful restart: restarting speaker, kernel routes kept until End-of-RIB from every peer',
      );
      this.#restartTimer = this.#clock.setTimeout(() => {
        this.#restartTimer = null;
        this.#logger.warn('graceful restart: restart time expired before End-of-RIB from every peer');
        this.#completeRestart();
      }, config.gracefulRestart.restartTime * 1000);
    }
    // The listener exists (and knows every peer) even when listening is disabled, so a reload can enable it.
    const listener = new Listener({
      address: config.listen.address,
      addresses: listenTarget(config).addresses,
      port: config.listen.port,
      onRejected: (remote) => this.#logger.warn({ remote }, 'connection from an unknown address rejected'),
    });
    this.#listener = listener;
    if (config.listen.enabled) {
      try {
        this.#listenPort = await listener.listen();
      } catch (error) {
        // Nothing runs yet: undo the FIB start (its routes stay, so a later start can still be graceful).
        this.#cancel(this.#restartTimer);
        this.#stopped = true;
        await this.#fib?.stop({ keepRoutes: true });
        // The listener's error names the address it could not bind ("cannot listen on <address> port <port>: …").
        throw error;
      }
      this.#listening = true;
      this.#logger.info({ addresses: config.listen.addresses, port: this.#listenPort }, 'listening');
    }
    for (const origination of config.originate)
      this.announce(origination.prefix, {
        communities: origination.communities,
        blackhole: origination.blackhole,
      });
    for (const peerConfig of config.peers) this.#addPeer(peerConfig);
    if (this.#restarting) this.#checkRestartComplete();
  }

  /**
   * Stops: Cease/Administrative Shutdown to every peer, closes the listener, and stops the FIB. The kernel
   * routes stay (`keepRoutes`, default: graceful restart enabled) so the next start is graceful.
   */
  async stop(options: { readonly keepRoutes?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const keepRoutes = options.keepRoutes ?? this.#config.gracefulRestart.enabled;
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    this.#cancel(this.#restartTimer);
    for (const runtime of this.#peers.values()) this.#stopPeer(runtime, undefined, keepRoutes);
    await this.#listener?.close();
    this.#listening = false;
    this.#bestPathChanges.complete();
    if (this.#fib !== undefined) await this.#fib.stop({ keepRoutes });
    this.#logger.info({ keepRoutes }, 'stopped');
  }

  /**
   * Applies a new configuration: unchanged sessions stay up; added/removed peers start/stop; a change
   * carried in OPEN or the transport resets that session; a policy or next-hop change is applied with a
   * route refresh (in: ROUTE-REFRESH or soft reconfiguration; out: the peer's table re-evaluated).
   * A changed `listen` opens sockets for added addresses (all of them for a changed port) and closes
   * those of removed ones; sockets that stay, and every session, are not touched.
   * All or nothing (as BIRD refuses a configuration it cannot apply): rejects, changing nothing, when a
   * policy of the new configuration does not compile or a new listening socket cannot be bound (a
   * ListenError naming the address, the port and why; the running sockets keep listening).
   * Reloads run one after another. Without a `listen` change the whole reload is applied before this
   * returns (the promise is already settled); with one, once the new sockets are bound.
   */
  reload(next: BgpdConfig): Promise<ReloadResult> {
    const run = () => this.#reloadRecorded(next);
    const outcome = this.#reloadTail === null ? run() : this.#reloadTail.then(run);
    const settled = outcome.then(
      () => {},
      () => {},
    );
    this.#reloadTail = settled;
    void settled.then(() => {
      if (this.#reloadTail === settled) this.#reloadTail = null;
    });
    return outcome;
  }

  /** Runs one reload and records its outcome for status().lastReload (and the running configDigest). */
  #reloadRecorded(next: BgpdConfig): Promise<ReloadResult> {
    const digest = configDigest(next);
    const ended = () => new Date(this.#clock.now()).toISOString();
    return this.#reloadNow(next).then(
      (result) => {
        this.#configDigest = digest;
        this.#lastReload = { ok: true, at: ended(), configDigest: digest };
        return result;
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.#lastReload = { ok: false, at: ended(), configDigest: digest, error: message };
        throw error;
      },
    );
  }

  async #reloadNow(next: BgpdConfig): Promise<ReloadResult> {
    const previous = this.#config;
    const diff = diffConfig(previous, next);
    // Compile everything first: a bad policy rejects the whole reload.
    const compiled = new Map(
      next.peers.map((peer) => [
        peer.name,
        {
          importPolicy: importPolicyFor(next, peer),
          exportPolicy: compilePolicy(peer.export, next.policy),
        },
      ]),
    );
    const needsRestart = diff.globalChanged.filter((key) => RESTART_ONLY_SETTINGS.includes(key));
    // The sockets first: a bind that fails rejects the reload before anything else changed.
    let listenChange: ListenChange | null = null;
    const listener = this.#listener;
    if (diff.globalChanged.includes('listen') && listener !== null && !this.#stopped) {
      listenChange = await listener.reconfigure(listenTarget(next));
      if (this.#stopped) throw new Error('the speaker stopped during the reload; nothing else was applied');
      this.#listenPort = listenChange.port;
      this.#listening = listenChange.port !== null;
      this.#logger.info(
        { opened: listenChange.opened, closed: listenChange.closed, kept: listenChange.kept },
        'listening sockets changed',
      );
    }
    this.#config = next;
    if (diff.globalChanged.includes('logLevel')) {
      // pino children keep the level they were made with: set it on the per-peer loggers too.
      this.#logger.level = next.logLevel;
      for (const runtime of this.#peers.values()) runtime.log.level = next.logLevel;
    }
    if (['asNumber', 'routerId', 'clusterId'].some((key) => diff.globalChanged.includes(key)))
      this.#adjRibOut = this.#newAdjRibOut(next);

    for (const name of diff.peersRemoved) {
      const runtime = this.#peers.get(name);
      if (runtime === undefined) continue;
      this.#stopPeer(runtime, 3);
      this.#forgetPeer(runtime);
    }
    const peersReset: string[] = [];
    const peersRefreshed: string[] = [];
    // A peer with its own import policy also runs the global one after it: a changed global import
    // policy is an import change for it even though its own fields did not change.
    const globalImportChanged = policyKey(previous.import) !== policyKey(next.import);
    const changes = diff.peersChanged.map((change) => ({ ...change, fields: [...change.fields] }));
    if (globalImportChanged)
      for (const peer of next.peers) {
        if (policyKey(peer.import) === policyKey(next.import) || diff.peersAdded.includes(peer.name))
          continue;
        const change = changes.find((c) => c.name === peer.name);
        if (change === undefined)
          changes.push({ name: peer.name, impact: 'refresh', fields: ['global.import'] });
        else if (!change.fields.includes('import')) {
          change.fields.push('global.import');
          if (change.impact === 'none') change.impact = 'refresh';
        }
      }
    for (const change of changes) {
      const runtime = this.#peers.get(change.name);
      const peerConfig = next.peers.find((p) => p.name === change.name);
      const policies = compiled.get(change.name);
      if (runtime === undefined || peerConfig === undefined || policies === undefined) continue;
      // The peer's role and RIB options are fixed in its Adj-RIB-In: changing them is a reset here.
      const hardFields = ['routeReflectorClient', 'softReconfiguration', 'maxPrefix', 'importLimit'];
      if (change.impact === 'reset' || change.fields.some((field) => hardFields.includes(field))) {
        this.#stopPeer(runtime, 6);
        this.#forgetPeer(runtime);
        this.#addPeer(peerConfig, runtime);
        peersReset.push(change.name);
      } else if (change.impact === 'refresh') {
        this.#refreshPeer(runtime, peerConfig, policies.importPolicy, policies.exportPolicy, change.fields);
        peersRefreshed.push(change.name);
      } else {
        runtime.config = peerConfig;
      }
    }
    for (const name of diff.peersAdded) {
      const peerConfig = next.peers.find((p) => p.name === name);
      if (peerConfig !== undefined) this.#addPeer(peerConfig);
    }

    const wanted = new Map(next.originate.map((o) => [o.prefix, o]));
    const originationsWithdrawn: string[] = [];
    const originationsAdded: string[] = [];
    const configured = new Set(previous.originate.map((o) => o.prefix));
    for (const prefix of configured)
      if (!wanted.has(prefix)) {
        this.withdraw(prefix);
        originationsWithdrawn.push(prefix);
      }
    for (const [prefix, origination] of wanted) {
      const before = previous.originate.find((o) => o.prefix === prefix);
      if (before !== undefined && JSON.stringify(before) === JSON.stringify(origination)) continue;
      this.announce(prefix, { communities: origination.communities, blackhole: origination.blackhole });
      originationsAdded.push(prefix);
    }
    const result: ReloadResult = {
      peersAdded: diff.peersAdded,
      peersRemoved: diff.peersRemoved,
      peersReset,
      peersRefreshed,
      originationsAdded,
      originationsWithdrawn,
      listenersOpened: listenChange?.opened ?? [],
      listenersClosed: listenChange?.closed ?? [],
      needsRestart,
    };
    this.#logger.info(result, 'configuration reloaded');
    if (needsRestart.length > 0)
      this.#logger.warn({ fields: needsRestart }, 'these settings take effect only after a restart');
    this.#scheduleFlush();
    return result;
  }

  // ---- origination ------------------------------------------------------------------------------------

  /** Originates (or re-originates with new options) a prefix. Throws OriginationError on a bad prefix. */
  announce(prefix: string, options: AnnounceOptions = {}): void {
    const origination = originationOf(prefix, options);
    const key = prefixKey(origination.prefix);
    this.#originations.set(key, origination);
    this.#locRib.originate(origination.prefix, origination.attributes);
    this.#logger.debug({ prefix: key, blackhole: origination.blackhole }, 'originated');
    this.#scheduleFlush();
  }

  /** Stops originating a prefix (nothing happens when it was not originated). */
  withdraw(prefix: string): void {
    const parsed = parseOriginatedPrefix(prefix);
    const key = prefixKey(parsed);
    if (!this.#originations.delete(key)) return;
    this.#locRib.originate(parsed, undefined);
    this.#logger.debug({ prefix: key }, 'origination withdrawn');
    this.#scheduleFlush();
  }

  /** Applies every command of `source` (errors in a command are logged, the stream goes on). */
  attachOriginations(source: Observable<OriginationCommand>): Subscription {
    const subscription = source.subscribe({
      next: (command) => {
        try {
          if (command.op === 'announce') {
            const { op: _op, prefix, ...options } = command;
            this.announce(prefix, options);
          } else this.withdraw(command.prefix);
        } catch (error) {
          this.#logger.error({ command, error: (error as Error).message }, 'origination command rejected');
        }
      },
      error: (error: unknown) =>
        this.#logger.error({ error: (error as Error).message }, 'origination stream failed'),
    });
    this.#subscriptions.push(subscription);
    return subscription;
  }

  /** The prefixes this speaker originates. */
  originations(): readonly Origination[] {
    return [...this.#originations.values()];
  }

  // ---- SpeakerView --------------------------------------------------------------------------------------

  live(): boolean {
    return this.#started && !this.#stopped;
  }

  readiness(): ReadinessReport {
    const reasons: string[] = [];
    if (!this.#started) reasons.push('not started');
    if (this.#stopped) reasons.push('stopped');
    if (this.#config.listen.enabled && !this.#listening) reasons.push('listener is not up');
    for (const runtime of this.#peers.values())
      if (!runtime.config.passive && runtime.peer.state !== 'Established')
        reasons.push(`peer ${runtime.name} is ${runtime.peer.state}`);
    if (this.#restarting) reasons.push('restart: waiting for End-of-RIB');
    const fibStats = this.#fib?.stats();
    if (fibStats !== undefined && !fibStats.synced)
      reasons.push(`FIB not synced (${fibStats.pendingRetries} writes awaiting retry)`);
    return { ready: reasons.length === 0, reasons };
  }

  status(): SpeakerStatus {
    const peers = [...this.#peers.values()].map((runtime) => this.#statusRow(runtime));
    // Loc-RIB paths are the accepted Adj-RIB-In paths of every peer (stale ones too) plus our originations;
    // counted without building the route views.
    let paths = this.#originations.size;
    for (const row of peers) paths += row.prefixes.accepted;
    const prefixes = this.#locRib.size;
    return {
      routerId: this.#config.routerId,
      asNumber: this.#config.asNumber,
      version: this.#version,
      startedAt: this.#startedAt.toISOString(),
      peers,
      locRib: { prefixes, paths },
      restarting: this.#restarting,
      listening: this.#listener?.endpoints ?? [],
      configDigest: this.#configDigest,
      lastReload: this.#lastReload,
    };
  }

  routes(filter: { readonly prefix?: string } = {}): readonly RouteRow[] {
    const wanted = filter.prefix === undefined ? undefined : parseRouteFilter(filter.prefix);
    const source = { peerName: (address: string) => this.#byAddress.get(address)?.name ?? address };
    const rows: RouteRow[] = [];
    for (const view of this.#locRib.routes()) {
      if (wanted !== undefined && !prefixCovers(wanted, view.prefix) && !prefixCovers(view.prefix, wanted))
        continue;
      const installed = this.#fib?.isInstalled(view.prefixKey) ?? false;
      rows.push(routeRow(view, installed, source));
    }
    return rows.sort((a, b) => a.prefix.localeCompare(b.prefix, 'en', { numeric: true }));
  }

  #statusRow(runtime: PeerRuntime): PeerStatusRow {
    const stats = runtime.peer.stats();
    let received = 0;
    let accepted = 0;
    let stale = 0;
    for (const path of runtime.ribIn?.paths() ?? []) {
      received += 1;
      if (path.accepted) accepted += 1;
      if (path.stale) stale += 1;
    }
    const negotiated = runtime.negotiated;
    const kind = peerKind(runtime.config, this.#config.asNumber);
    const established = stats.state === 'Established';
    return {
      name: runtime.name,
      peerAddress: runtime.address,
      peerAs: runtime.config.asNumber,
      localAs: this.#config.asNumber,
      kind,
      peerType: kind,
      state: stats.state,
      since: runtime.since.toISOString(),
      uptimeSeconds: stats.uptime === null ? null : Math.floor(stats.uptime / 1000),
      info: established ? 'Established' : (stats.lastError ?? runtime.lastError ?? stats.state),
      lastError: stats.lastError ?? runtime.lastError,
      // Negotiated families while the session is up, the configured ones otherwise.
      families: negotiated === null ? runtime.config.families : negotiated.families.map(familyName),
      prefixes: { received, accepted, advertised: this.#advertisedCount(runtime), stale },
      messagesIn: addCounts(runtime.baseIn, stats.messagesIn),
      messagesOut: addCounts(runtime.baseOut, stats.messagesOut),
      flaps: runtime.baseFlaps + stats.flaps,
      gracefulRestart: {
        negotiated: negotiated?.gracefulRestart != null && runtime.config.gracefulRestart.enabled,
        peerRestarting: runtime.peerRestarting,
      },
    };
  }

  /**
   * Prefixes currently advertised to the peer: what its update group advertises, minus the group's routes
   * learned from this very peer (split horizon), as the Adj-RIB-Out counts it (per attribute set, not per
   * prefix); cached until the next flush.
   */
  #advertisedCount(runtime: PeerRuntime): number {
    const exportPeer = runtime.exportPeer;
    const info = runtime.info;
    if (exportPeer === null || info === null || this.#restarting) return 0;
    if (runtime.advertisedCache !== null) return runtime.advertisedCache;
    runtime.advertisedCache = this.#adjRibOut.advertisedTo(info.address);
    return runtime.advertisedCache;
  }

  // ---- peers ------------------------------------------------------------------------------------------

  #newAdjRibOut(config: BgpdConfig): AdjRibOut {
    const clusterId = config.clusterId === undefined ? null : parseRouterId(config.clusterId);
    return new AdjRibOut({
      localAs: config.asNumber,
      localRouterId: parseRouterId(config.routerId) ?? 0,
      ...(clusterId !== null ? { clusterId } : {}),
    });
  }

  #peerOptions(peerConfig: PeerConfig): PeerOptions {
    const base = peerOptionsFor(this.#config, peerConfig);
    const gracefulRestart = base.local.gracefulRestart;
    return {
      ...base,
      local: {
        ...base.local,
        ...(gracefulRestart !== undefined
          ? { gracefulRestart: { ...gracefulRestart, restartState: this.#restarting } }
          : {}),
      },
      clock: this.#clock,
      socketFactory: this.#socketFactory,
    };
  }

  #addPeer(peerConfig: PeerConfig, previous?: PeerRuntime): void {
    const peer = new Peer(this.#peerOptions(peerConfig));
    const runtime = new PeerRuntime(
      peerConfig,
      peer,
      importPolicyFor(this.#config, peerConfig),
      compilePolicy(peerConfig.export, this.#config.policy),
      new Date(this.#clock.now()),
      this.#logger.child({ peer: peerConfig.name }),
    );
    if (previous !== undefined) {
      previous.retireDriver();
      runtime.baseIn = previous.baseIn;
      runtime.baseOut = previous.baseOut;
      runtime.baseFlaps = previous.baseFlaps;
    }
    const self = runtime;
    this.#peers.set(peerConfig.name, self);
    this.#byAddress.set(normalizeAddress(peerConfig.address), self);
    this.#wirePeer(self);
    self.accepting = {
      remoteAddress: peerConfig.address,
      acceptIncoming: (socket: SessionSocket) => this.#acceptIncoming(self, socket),
    };
    this.#listener?.addPeer(self.accepting);
    peer.start();
    this.#logger.info(
      { peer: peerConfig.name, address: peerConfig.address, as: peerConfig.asNumber },
      'peer configured',
    );
  }

  /**
   * An incoming connection for a configured peer: the driver resolves collisions (§6.8) and takes it
   * while idling after connection failures; a peer we stopped (removed, max-prefix teardown) refuses it.
   */
  #acceptIncoming(runtime: PeerRuntime, socket: SessionSocket): void {
    runtime.peer.acceptIncoming(socket);
  }

  #wirePeer(runtime: PeerRuntime): void {
    const peer = runtime.peer;
    const log = runtime.log;
    peer.on('stateChanged', (from, to) => {
      if (runtime.peer !== peer) return;
      runtime.state = to;
      runtime.since = new Date(this.#clock.now());
      log.info({ from, to }, 'session state');
    });
    peer.on('established', (options) => {
      if (runtime.peer === peer) this.#onEstablished(runtime, options, log);
    });
    peer.on('update', (message, options) => {
      if (runtime.peer === peer) this.#onUpdate(runtime, message, options, log);
    });
    peer.on('routeRefresh', (message) => {
      if (runtime.peer === peer) this.#onRouteRefresh(runtime, message, log);
    });
    peer.on('down', (reason) => {
      if (runtime.peer === peer) this.#onDown(runtime, reason, log);
    });
    peer.on('notificationSent', (notification) => {
      runtime.lastNotification = { direction: 'sent', notification };
      log.warn({ code: notification.code, subcode: notification.subcode }, 'NOTIFICATION sent');
    });
    peer.on('notificationReceived', (notification) => {
      runtime.lastNotification = { direction: 'received', notification };
      log.warn({ code: notification.code, subcode: notification.subcode }, 'NOTIFICATION received');
    });
    peer.on('error', (error) => {
      runtime.lastError = error.message;
      log.debug({ error: error.message }, 'connection error');
    });
  }

  /**
   * Stops a peer's session. `cease`: the Cease subcode (RFC 4486) when the session is Established — 3 Peer
   * De-configured, 6 Other Configuration Change; otherwise the driver's Administrative Shutdown (2).
   */
  #stopPeer(runtime: PeerRuntime, cease?: 3 | 6, shutdownKeepingRoutes?: boolean): void {
    this.#cancel(runtime.maxPrefixRestartTimer);
    runtime.maxPrefixRestartTimer = null;
    if (cease !== undefined && runtime.peer.state === 'Established')
      runtime.peer.stop({ notification: { code: 6, subcode: cease } });
    else if (shutdownKeepingRoutes !== undefined)
      runtime.peer.stop(this.#shutdownNotice(runtime, shutdownKeepingRoutes));
    else runtime.peer.stop();
    // A stopped peer's routes go at once (no graceful restart for a peer we removed or reset).
    this.#endHelper(runtime);
    this.#dropPeerRoutes(runtime);
  }

  /**
   * How a session ends when the speaker shuts down. With graceful restart negotiated and our routes kept
   * (the next start is graceful): the RFC 8538 N bit on both sides lets the helper keep our routes on
   * Cease/2; without it only a close without NOTIFICATION does (RFC 4724 §4). Routes removed while the N
   * bit is negotiated: Hard Reset (Cease/9, data = the Cease/2 it stands for), or the helper would keep
   * them. Otherwise Cease/2.
   */
  #shutdownNotice(runtime: PeerRuntime, keepRoutes: boolean): PeerStopOptions {
    const gr = runtime.peer.state === 'Established' ? runtime.negotiated?.gracefulRestart : undefined;
    if (gr === undefined || gr === null || !this.#config.gracefulRestart.enabled) return {};
    if (keepRoutes) return gr.notification ? {} : { notification: false };
    return gr.notification ? { notification: { code: 6, subcode: 9, data: Uint8Array.of(6, 2) } } : {};
  }

  #forgetPeer(runtime: PeerRuntime): void {
    this.#peers.delete(runtime.name);
    if (this.#byAddress.get(runtime.ribAddress) === runtime) this.#byAddress.delete(runtime.ribAddress);
    if (runtime.accepting !== null) this.#listener?.removePeer(runtime.accepting);
  }

  #dropPeerRoutes(runtime: PeerRuntime): void {
    if (runtime.exportPeer !== null) this.#adjRibOut.removePeer(runtime.ribAddress);
    runtime.exportPeer = null;
    if (runtime.ribIn !== null && runtime.info !== null)
      this.#locRib.applyPeerChanges(runtime.info, runtime.ribIn.clear());
    runtime.ribIn = null;
    this.#scheduleFlush();
  }

  #peerInfo(runtime: PeerRuntime, options: NegotiatedSessionOptions): PeerInfo {
    return {
      address: runtime.ribAddress,
      asNumber: options.peerAs,
      routerId: parseRouterId(options.peerRouterId) ?? 0,
      ibgp: options.ibgp,
      routeReflectorClient: options.ibgp && runtime.config.routeReflectorClient,
    };
  }

  #exportPeer(runtime: PeerRuntime, info: PeerInfo, options: NegotiatedSessionOptions): ExportPeer {
    const families = options.families
      .map(familyName)
      .filter((name): name is Family => name === 'ipv4-unicast' || name === 'ipv6-unicast');
    const session = runtime.sessionLocalAddress;
    const v6Session = session?.includes(':') ?? false;
    const localAddress = session === undefined || v6Session ? this.#config.routerId : session;
    const localAddressV6 = v6Session
      ? session
      : session === undefined
        ? undefined
        : globalIpv6Beside(session);
    if (session === undefined)
      this.#logger.warn(
        { peer: runtime.name },
        'session local address unknown; next-hop self uses the router id',
      );
    return {
      info,
      families,
      fourOctetAs: options.fourOctetAs,
      maxMessageLength: options.maxMessageLength,
      addPathSend: options.addPath.some((family) => family.send),
      nextHopMode: runtime.config.nextHop,
      localAddress,
      ...(localAddressV6 !== undefined ? { localAddressV6 } : {}),
      exportPolicyKey: policyKey(runtime.config.export),
      exportPolicy: runtime.exportPolicy,
    };
  }

  #onEstablished(runtime: PeerRuntime, options: NegotiatedSessionOptions, log: Logger): void {
    runtime.negotiated = options;
    runtime.noteSessionAddress();
    runtime.lastNotification = null;
    runtime.lastError = null;
    runtime.maxPrefixWarned = false;
    const info = this.#peerInfo(runtime, options);
    runtime.info = info;
    if (runtime.ribIn === null) {
      const localRouterId = parseRouterId(this.#config.routerId) ?? 0;
      const clusterId = this.#config.clusterId === undefined ? null : parseRouterId(this.#config.clusterId);
      runtime.ribIn = new AdjRibIn(info, {
        localAs: this.#config.asNumber,
        localRouterId,
        ...(clusterId !== null ? { clusterId } : {}),
        // Indirect, so a reload's new import policy applies to routes the peer re-sends.
        importPolicy: (input) => runtime.importPolicy(input),
        softReconfiguration: runtime.config.softReconfiguration,
        ...(runtime.config.maxPrefix !== undefined ? { maxPrefix: runtime.config.maxPrefix } : {}),
        fourOctetAs: options.fourOctetAs,
        interner: this.#interner,
      });
    }
    runtime.endOfRibPending = new Set(options.families.map(familyName));
    const grNegotiated = options.gracefulRestart !== null && runtime.config.gracefulRestart.enabled;
    if (runtime.peerRestarting) {
      this.#cancel(runtime.restartTimer);
      runtime.restartTimer = null;
      const preserved = new Set(
        (options.gracefulRestart?.families ?? [])
          .filter((family) => family.forwardingPreserved)
          .map((family) => familyName(family)),
      );
      // RFC 4724 §4.2: without the restart capability, or without forwarding state preserved for the
      // families, the stale routes go now; otherwise they wait for End-of-RIB or the stale timer.
      const keep = grNegotiated && [...runtime.endOfRibPending].every((family) => preserved.has(family));
      if (!keep) {
        log.info('graceful restart: peer did not preserve forwarding state; stale routes removed');
        this.#sweepStale(runtime);
      } else {
        const staleTime = runtime.config.gracefulRestart.restartTime;
        runtime.staleTimer = this.#clock.setTimeout(() => {
          runtime.staleTimer = null;
          log.warn('graceful restart: no End-of-RIB in time; stale routes removed');
          this.#sweepStale(runtime);
        }, staleTime * 1000);
      }
    }
    const exportPeer = this.#exportPeer(runtime, info, options);
    runtime.exportPeer = exportPeer;
    runtime.advertisedCache = null;
    this.#adjRibOut.addPeer(exportPeer, this.#locRib.bestPaths());
    log.info(
      {
        families: options.families.map(familyName),
        holdTime: options.holdTime,
        fourOctetAs: options.fourOctetAs,
        routeRefresh: options.routeRefresh,
        gracefulRestart: grNegotiated,
        localAddress: runtime.sessionLocalAddress,
      },
      'session established',
    );
    this.#scheduleFlush();
    if (this.#restarting) this.#checkRestartComplete();
  }

  #onDown(runtime: PeerRuntime, reason: string, log: Logger): void {
    const options = runtime.negotiated;
    runtime.negotiated = null;
    runtime.lastError = reason;
    if (runtime.exportPeer !== null) this.#adjRibOut.removePeer(runtime.ribAddress);
    runtime.exportPeer = null;
    runtime.advertisedCache = null;
    this.#cancel(runtime.staleTimer);
    runtime.staleTimer = null;
    if (runtime.ribIn === null || runtime.info === null) return;
    const notification = runtime.lastNotification?.notification;
    const gr = options?.gracefulRestart ?? null;
    const graceful =
      !this.#stopped &&
      gr !== null &&
      runtime.config.gracefulRestart.enabled &&
      (notification === undefined ||
        // RFC 8538: with the N bit on both sides a NOTIFICATION keeps the routes, except a Hard Reset and
        // the Cease subcodes §5 wants sent as one (maximum prefixes reached, peer de-configured).
        (gr.notification && !(notification.code === 6 && HARD_CEASES.has(notification.subcode))));
    if (graceful && gr !== null) {
      runtime.peerRestarting = true;
      this.#locRib.applyPeerChanges(runtime.info, runtime.ribIn.markStale());
      log.info({ reason, restartTime: gr.restartTime }, 'graceful restart: peer routes kept stale');
      this.#cancel(runtime.restartTimer);
      runtime.restartTimer = this.#clock.setTimeout(() => {
        runtime.restartTimer = null;
        log.warn('graceful restart: peer did not come back within its restart time; stale routes removed');
        this.#sweepStale(runtime);
      }, gr.restartTime * 1000);
    } else {
      log.info({ reason }, 'session down; routes withdrawn');
      this.#endHelper(runtime);
      this.#locRib.applyPeerChanges(runtime.info, runtime.ribIn.clear());
      runtime.ribIn = null;
    }
    this.#scheduleFlush();
  }

  #endHelper(runtime: PeerRuntime): void {
    this.#cancel(runtime.restartTimer);
    this.#cancel(runtime.staleTimer);
    runtime.restartTimer = null;
    runtime.staleTimer = null;
    runtime.peerRestarting = false;
  }

  #sweepStale(runtime: PeerRuntime): void {
    this.#endHelper(runtime);
    if (runtime.ribIn !== null && runtime.info !== null) {
      const changes = runtime.ribIn.sweepStale();
      this.#locRib.applyPeerChanges(runtime.info, changes);
      if (runtime.peer.state !== 'Established') {
        runtime.ribIn = null;
      }
    }
    this.#scheduleFlush();
  }

  // ---- received UPDATEs ---------------------------------------------------------------------------------

  #onUpdate(runtime: PeerRuntime, message: Uint8Array, options: NegotiatedSessionOptions, log: Logger): void {
    const ribIn = runtime.ribIn;
    const info = runtime.info;
    if (ribIn === null || info === null) return;
    let update: BgpUpdate;
    try {
      const decoded = decodeBgpMessage(message, codecContextOf(options, 'receive'));
      if (decoded.type !== 'update') return;
      update = decoded;
    } catch (error) {
      if (!(error instanceof BgpDecodeError)) throw error;
      log.warn(
        { error: error.message, code: error.code, subcode: error.subcode },
        'malformed UPDATE; session reset',
      );
      sendNotificationOf(runtime, notificationOfDecodeError(error));
      return;
    }
    if (update.errors.length > 0)
      log.warn(
        {
          errors: update.errors.map((e) => ({
            action: e.action,
            code: e.code,
            subcode: e.subcode,
            error: e.message,
          })),
        },
        update.treatAsWithdraw ? 'UPDATE error: treat-as-withdraw (RFC 7606)' : 'UPDATE error (RFC 7606)',
      );
    const eor = endOfRibFamily(update);
    if (eor !== null) {
      this.#onEndOfRib(runtime, eor, log);
      return;
    }
    const checked = this.#semanticChecks(runtime, info, update, log);
    const result = ribIn.applyUpdate(checked);
    if (result.dropped !== undefined && result.dropped !== 'treat-as-withdraw')
      log.debug({ reason: result.dropped }, 'announced prefixes dropped on import');
    this.#locRib.applyPeerChanges(info, result.changes);
    if (result.maxPrefix !== undefined) this.#onMaxPrefix(runtime, result.maxPrefix, log);
    this.#scheduleFlush();
  }

  /**
   * The checks RFC 4271 leaves to the speaker: LOCAL_PREF from an eBGP peer is ignored (§5.1.5); a
   * NEXT_HOP that is unusable (0.0.0.0, multicast, our own session address) makes the UPDATE's routes
   * treat-as-withdraw (§6.3, RFC 7606 §7.3); an AS_CONFED segment from an eBGP peer is a malformed
   * AS_PATH (RFC 5065 §5) and treat-as-withdraw too (RFC 7606 §7.2).
   */
  #semanticChecks(runtime: PeerRuntime, info: PeerInfo, update: BgpUpdate, log: Logger): BgpUpdate {
    let attributes = update.attributes;
    if (!info.ibgp && attributes.some((a) => a.kind === 'local-pref'))
      attributes = attributes.filter((a) => a.kind !== 'local-pref');
    let treatAsWithdraw = update.treatAsWithdraw;
    const asPath = attributes.find((a) => a.kind === 'as-path');
    if (
      !info.ibgp &&
      asPath?.kind === 'as-path' &&
      asPath.segments.some((segment) => segment.type === 3 || segment.type === 4)
    ) {
      // We are in no confederation: a confederation segment from an external peer makes the AS_PATH
      // malformed (RFC 5065 §5), which RFC 7606 §7.2 handles as treat-as-withdraw.
      log.warn(
        { asPath: renderAsPath(asPath.segments) },
        'AS_CONFED segment from an eBGP peer: treat-as-withdraw',
      );
      treatAsWithdraw = true;
    }
    const nextHop = attributes.find((a) => a.kind === 'next-hop');
    if (nextHop?.kind === 'next-hop' && update.nlri.length > 0) {
      const text = ipv4ToString(nextHop.address);
      const firstOctet = nextHop.address >>> 24;
      if (
        nextHop.address === 0 ||
        (firstOctet >= 224 && firstOctet <= 239) ||
        text === runtime.sessionLocalAddress
      ) {
        log.warn({ nextHop: text }, 'UPDATE with an unusable NEXT_HOP: treat-as-withdraw');
        treatAsWithdraw = true;
      }
    }
    if (attributes === update.attributes && treatAsWithdraw === update.treatAsWithdraw) return update;
    return { ...update, attributes, treatAsWithdraw };
  }

  #onEndOfRib(runtime: PeerRuntime, family: string, log: Logger): void {
    runtime.endOfRibPending.delete(family);
    log.debug({ family }, 'End-of-RIB received');
    if (runtime.endOfRibPending.size > 0) return;
    if (runtime.peerRestarting) {
      log.info('graceful restart: End-of-RIB from the restarted peer; stale routes swept');
      this.#sweepStale(runtime);
    }
    if (this.#restarting) this.#checkRestartComplete();
  }

  #onMaxPrefix(
    runtime: PeerRuntime,
    verdict: { readonly action: 'warn' | 'teardown'; readonly count: number; readonly limit: number },
    log: Logger,
  ): void {
    if (verdict.action === 'warn') {
      if (!runtime.maxPrefixWarned) log.warn(verdict, 'maximum prefix count exceeded');
      runtime.maxPrefixWarned = true;
      return;
    }
    log.error(verdict, 'maximum prefix count exceeded; session torn down');
    const family = runtime.negotiated?.families[0] ?? { afi: 1, safi: 1 };
    // RFC 4486 Cease/1 data: AFI (2), SAFI (1), the limit (4).
    const data = new Uint8Array(7);
    const view = new DataView(data.buffer);
    view.setUint16(0, family.afi);
    view.setUint8(2, family.safi);
    view.setUint32(3, verdict.limit);
    const peer = runtime.peer;
    // Cease/1, then stay down (incoming connections refused too), unless restartAfter says when.
    peer.stop({ notification: { code: 6, subcode: 1, data } });
    const restartAfter = runtime.config.maxPrefix?.restartAfter;
    if (restartAfter !== undefined) {
      runtime.maxPrefixRestartTimer = this.#clock.setTimeout(() => {
        runtime.maxPrefixRestartTimer = null;
        if (runtime.peer === peer && !this.#stopped) {
          log.info('restarting the session after a maximum prefix teardown');
          peer.start();
        }
      }, restartAfter * 1000);
    }
  }

  // ---- route refresh ------------------------------------------------------------------------------------

  #onRouteRefresh(runtime: PeerRuntime, message: Uint8Array, log: Logger): void {
    let request: { afi: number; safi: number; subtype: number };
    try {
      request = decodeRouteRefreshBody(message.subarray(19), message);
    } catch (error) {
      if (!(error instanceof BgpDecodeError)) throw error;
      log.warn({ error: error.message }, 'malformed ROUTE-REFRESH; session reset');
      sendNotificationOf(runtime, notificationOfDecodeError(error));
      return;
    }
    const options = runtime.negotiated;
    if (options === null) return;
    const family = familyOf(request.afi, request.safi);
    const negotiated = options.families.some((f) => f.afi === request.afi && f.safi === request.safi);
    if (!negotiated) {
      // RFC 2918 §4: a request for a family not advertised by the peer is ignored.
      log.warn({ family }, 'ROUTE-REFRESH for a family not negotiated; ignored');
      return;
    }
    if (request.subtype === REFRESH_REQUEST) {
      log.info({ family }, 'ROUTE-REFRESH received; re-sending our routes');
      this.#resendTable(runtime, options.enhancedRouteRefresh ? [request] : []);
      return;
    }
    // Enhanced route refresh from the peer (RFC 7313): BoRR marks its routes stale, EoRR sweeps the rest.
    // The Adj-RIB-In marks every family at once, so this is done only for single-family sessions.
    const ribIn = runtime.ribIn;
    if (ribIn === null || runtime.info === null || options.families.length !== 1) return;
    if (request.subtype === REFRESH_BEGIN) {
      this.#locRib.applyPeerChanges(runtime.info, ribIn.markStale());
      log.debug({ family }, 'BoRR received');
    } else if (request.subtype === REFRESH_END) {
      this.#locRib.applyPeerChanges(runtime.info, ribIn.sweepStale());
      log.debug({ family }, 'EoRR received');
      this.#scheduleFlush();
    }
  }

  #sendRouteRefresh(runtime: PeerRuntime, afi: number, safi: number, subtype: RouteRefreshSubtype): void {
    if (runtime.negotiated === null) return;
    runtime.peer.sendRouteRefresh(afi, safi, subtype);
  }

  /**
   * Re-sends the peer's whole Adj-RIB-Out: it leaves and rejoins its update group (the next flush dumps
   * the group's table and End-of-RIB). `borr`: families to bracket with BoRR/EoRR (enhanced refresh).
   * `previousExport`: the export template the peer had, so prefixes it no longer gets are withdrawn.
   */
  #resendTable(
    runtime: PeerRuntime,
    borr: ReadonlyArray<{ afi: number; safi: number }>,
    previousExport: ExportPeer | null = runtime.exportPeer,
  ): void {
    const options = runtime.negotiated;
    const info = runtime.info;
    if (options === null || info === null || runtime.exportPeer === null) return;
    // Pending Loc-RIB changes go out first, so the group tables are current.
    this.#flushNow();
    const before =
      previousExport === null ? new Map<string, BgpPrefix>() : this.#exportedKeys(runtime, previousExport);
    for (const family of borr) this.#sendRouteRefresh(runtime, family.afi, family.safi, REFRESH_BEGIN);
    this.#adjRibOut.removePeer(runtime.ribAddress);
    const exportPeer = this.#exportPeer(runtime, info, options);
    runtime.exportPeer = exportPeer;
    runtime.advertisedCache = null;
    this.#adjRibOut.addPeer(exportPeer, this.#locRib.bestPaths());
    const after = this.#exportedKeys(runtime, exportPeer);
    const gone = [...before.keys()].filter((key) => !after.has(key));
    if (gone.length > 0) {
      const prefixes = gone.map((key) => before.get(key)!);
      for (const bytes of packUpdates(
        { attributes: [], withdrawn: prefixes },
        codecContextOf(options, 'send'),
      ))
        runtime.peer.sendUpdate(bytes);
    }
    this.#flushNow();
    for (const family of borr) this.#sendRouteRefresh(runtime, family.afi, family.safi, REFRESH_END);
  }

  #exportedKeys(runtime: PeerRuntime, template: ExportPeer): Map<string, BgpPrefix> {
    const keys = new Map<string, BgpPrefix>();
    for (const best of this.#locRib.bestPaths()) {
      if (best.peer?.address === runtime.ribAddress) continue;
      if (this.#adjRibOut.exportAttributes(best, template) !== undefined)
        keys.set(prefixKey(best.prefix), best.prefix);
    }
    return keys;
  }

  /** A reload changed the peer's policies or next-hop rule: refresh inbound and re-evaluate outbound. */
  #refreshPeer(
    runtime: PeerRuntime,
    peerConfig: PeerConfig,
    importPolicy: CompiledPolicy,
    exportPolicy: CompiledPolicy,
    fields: readonly string[],
  ): void {
    const previousExport = runtime.exportPeer;
    runtime.config = peerConfig;
    runtime.importPolicy = importPolicy;
    runtime.exportPolicy = exportPolicy;
    const options = runtime.negotiated;
    if (options === null) return;
    const log = runtime.log;
    const importChanged =
      fields.includes('import') || fields.includes('global.policy') || fields.includes('global.import');
    if (importChanged && runtime.ribIn !== null && runtime.info !== null) {
      if (peerConfig.softReconfiguration) {
        this.#locRib.applyPeerChanges(runtime.info, runtime.ribIn.reapplyImportPolicy(importPolicy));
        log.info('import policy changed: re-applied to the stored routes (soft reconfiguration)');
      } else if (options.routeRefresh) {
        for (const family of options.families)
          this.#sendRouteRefresh(runtime, family.afi, family.safi, REFRESH_REQUEST);
        log.info('import policy changed: ROUTE-REFRESH sent');
      } else {
        log.warn('import policy changed but the peer has no route refresh: resetting the session');
        runtime.peer.stop();
        runtime.peer.start();
        return;
      }
    }
    this.#resendTable(runtime, [], previousExport);
    log.info({ fields }, 'export re-evaluated');
  }

  // ---- graceful restart: restarting speaker ---------------------------------------------------------------

  /**
   * RFC 4724 §4.1: route selection and advertisement are deferred until End-of-RIB came from every peer
   * that negotiated graceful restart (peers that are restarting themselves or lack the capability are not
   * waited for), or the restart time expired. The kernel's routes from the previous run stay until then.
   */
  #checkRestartComplete(): void {
    if (!this.#restarting) return;
    for (const runtime of this.#peers.values()) {
      if (!runtime.config.gracefulRestart.enabled) continue;
      const options = runtime.negotiated;
      if (runtime.peer.state !== 'Established' || options === null) return;
      if (options.gracefulRestart === null || options.gracefulRestart.restartState) continue;
      if (runtime.endOfRibPending.size > 0) return;
    }
    this.#logger.info('graceful restart: End-of-RIB received from every peer');
    this.#completeRestart();
  }

  #completeRestart(): void {
    if (!this.#restarting) return;
    this.#restarting = false;
    // RFC 4724 §4.1: the Restart State bit is only for the OPENs of the restart; later sessions (a peer
    // that reconnects after its own restart) must not claim that we are restarting.
    for (const runtime of this.#peers.values())
      runtime.peer.setLocalOpenSettings(this.#peerOptions(runtime.config).local);
    this.#cancel(this.#restartTimer);
    this.#restartTimer = null;
    this.#flushNow();
    this.#fib?.sweepStale();
    this.#logger.info('graceful restart complete: stale kernel routes swept, routes advertised');
  }

  // ---- the per-tick flush -------------------------------------------------------------------------------

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#stopped) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      if (!this.#stopped) this.#flushNow();
    });
  }

  /** Takes the Loc-RIB's best-path changes to the FIB, the subscribers and the Adj-RIB-Out; sends UPDATEs. */
  #flushNow(): void {
    const changes = this.#locRib.takeChanges();
    for (const change of changes) {
      this.#install(change);
      this.#bestPathChanges.next(change);
    }
    this.#adjRibOut.enqueue(changes);
    if (this.#restarting) return;
    const adjRibOut = this.#adjRibOut;
    const out = adjRibOut.flush();
    for (const runtime of this.#peers.values()) runtime.advertisedCache = null;
    // Sends not yet written per batch: the batch goes back to the pool after the last one's callback.
    const unwritten = new Map<Uint8Array, number>();
    for (const runs of out.values())
      for (const run of runs) unwritten.set(run.batch, (unwritten.get(run.batch) ?? 0) + 1);
    const written = (batch: Uint8Array) => {
      const left = unwritten.get(batch)! - 1;
      if (left > 0) unwritten.set(batch, left);
      else {
        unwritten.delete(batch);
        adjRibOut.recycle(batch);
      }
    };
    for (const [address, runs] of out) {
      const peer = this.#byAddress.get(address)?.peer;
      for (const run of runs)
        if (peer === undefined || !peer.sendUpdates(run.bytes, run.messageCount, () => written(run.batch)))
          written(run.batch);
    }
  }

  #install(change: BestPathChange): void {
    const fib = this.#fib;
    if (fib === undefined || !this.#config.kernel.install) return;
    const key = change.prefixKey;
    const best = change.best;
    if (best === undefined) {
      fib.set(key, null);
      return;
    }
    if (best.peer === undefined) {
      // Local: a blackhole origination is installed as such; other originated prefixes are not installed.
      fib.set(key, this.#originations.get(key)?.blackhole ? { kind: 'blackhole' } : null);
      return;
    }
    const entry = this.#fibEntry(change.multipath.length > 0 ? change.multipath : [best]);
    if (entry === null) this.#logger.warn({ prefix: key }, 'no usable next hop; not installed');
    fib.set(key, entry);
  }

  #fibEntry(paths: readonly LocRibPath[]): FibEntry | null {
    const nextHops: FibNextHop[] = [];
    const seen = new Set<string>();
    for (const path of paths) {
      if (path.peer === undefined) continue;
      const gateway = path.attributes.nextHop;
      if (gateway === '0.0.0.0' || gateway === '::' || seen.has(gateway)) continue;
      if (gateway.toLowerCase().startsWith('fe80')) {
        const local = this.#byAddress.get(path.peer.address)?.sessionLocalAddress;
        const device = local === undefined ? undefined : interfaceOfAddress(local);
        if (device === undefined) {
          this.#logger.warn(
            { prefix: prefixKey(path.prefix), nextHop: gateway, peer: path.peer.address },
            'link-local next hop without a known interface; path not installed',
          );
          continue;
        }
        seen.add(gateway);
        nextHops.push({ gateway, device });
        continue;
      }
      seen.add(gateway);
      nextHops.push({ gateway });
    }
    return nextHops.length === 0 ? null : { kind: 'unicast', nextHops };
  }

  #cancel(handle: unknown): void {
    if (handle !== null && handle !== undefined) this.#clock.clearTimeout(handle);
  }
}
