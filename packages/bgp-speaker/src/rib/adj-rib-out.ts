// Adj-RIB-Out with update groups: peers whose outbound UPDATEs are byte-identical (same export policy,
// same encoding options, same eBGP/iBGP and reflector-client role, same next-hop rule) share one group.
// A group turns Loc-RIB best-path changes into outbound attributes once (RFC 4271 §5 / RFC 4456 export
// rules, then the export policy), buckets prefixes by attribute set and encodes each bucket once with the
// packing encoder, back to back into one BgpMessageWriter: a flush yields, per group, batches of ~64 KiB
// of UPDATEs, and every member gets views of the same batch (one socket write per run of UPDATEs rather
// than per UPDATE; the batch goes back to the writer's pool with recycle() once written). Split horizon: a
// path is not sent back to the member it came from (its bucket simply leaves that member out, so that
// member's views skip those octets). Changes accumulate until flush().
// Per group and flush, the export rules run once per (interned Loc-RIB attribute set, source role, family), the
// export policy once per prefix (it may look at the prefix); outbound sets are interned per group so
// prefixes are grouped and compared by object identity, never by serialising attributes per prefix.
// What a group has advertised costs one Map entry per prefix: RibKey → a SentSet shared by every prefix
// sent with the same (outbound set, source peer); the prefix itself is rebuilt from the key when needed.

import { AS_TRANS_ASN } from '../codec/as4.js';
import {
  type AsPathSegment,
  AttributeFlag,
  type BgpPathAttribute,
  forForwarding,
} from '../codec/attributes.js';
import { BGP_DEFAULT_CONTEXT, type BgpCodecContext } from '../codec/errors.js';
import { BgpMessageWriter, encodeBgpMessage } from '../codec/messages.js';
import { packUpdatesInto, type UpdatePackingInput } from '../codec/pack.js';
import { type BgpPrefix, parseIpv4, parseIpv6 } from '../codec/prefix.js';
import { type BgpUpdate, makeUpdate } from '../codec/update.js';
import type { NextHopMode } from '../config/types.js';
import { type CompiledPolicy, policyKey } from '../policy/compile.js';
import { AttributeInterner } from './intern.js';
import { type BestPathChange, changeKey, type LocRibPath } from './loc-rib.js';
import { isReflection, reflectedPathAttributes } from './reflection.js';
import {
  communities,
  findAttribute,
  type PeerInfo,
  prefixFamily,
  prefixOfRibKey,
  type RibKey,
  type RouteAttributes,
  ribKey,
  withAttribute,
  withoutPathId,
} from './route.js';

export type Family = 'ipv4-unicast' | 'ipv6-unicast';

/** An established peer as the Adj-RIB-Out needs it (from the config and NegotiatedSessionOptions). */
export interface ExportPeer {
  readonly info: PeerInfo;
  readonly families: readonly Family[];
  readonly fourOctetAs: boolean;
  readonly maxMessageLength: number;
  /** ADD-PATH send negotiated: part of the group key (only the best path is sent so far). */
  readonly addPathSend: boolean;
  readonly nextHopMode: NextHopMode;
  /** Our address on this session: the next hop when we set next-hop self. */
  readonly localAddress: string;
  /** Our IPv6 address for IPv6 next-hop self (when IPv6 is negotiated). */
  readonly localAddressV6?: string;
  /** Identity of the export policy (policyKey(ref)): equal keys must mean equal policies. */
  readonly exportPolicyKey: string;
  readonly exportPolicy: CompiledPolicy;
}

/** Appends the UPDATEs carrying `input` to `writer` (under its context); returns how many it wrote. */
export type UpdateEncoder = (writer: BgpMessageWriter, input: UpdatePackingInput) => number;

/**
 * A run of back-to-back whole UPDATEs for one peer: a view into a batch (one send, `messageCount` UPDATEs).
 * Consecutive buckets a peer receives share a run; buckets it is left out of (split horizon) split it.
 */
export interface OutboundRun {
  readonly bytes: Uint8Array;
  readonly messageCount: number;
  /** The batch `bytes` is a view of: give it back with AdjRibOut.recycle() once every run of it is sent. */
  readonly batch: Uint8Array;
}

/** What a flush sends: per peer address, its runs in send order (views of batches shared across a group). */
export type OutboundRuns = Map<string, OutboundRun[]>;

/** A batch is taken from the writer once it holds this much (between buckets; a bucket is never split). */
const BATCH_OCTETS = 64 * 1024;
/** Writer buffers: a batch plus one more maximum-size UPDATE fits without growing. */
const WRITER_CAPACITY = BATCH_OCTETS + 8192;
/** Buffers kept for reuse (batches come back after the socket wrote them). */
const WRITER_POOL = 8;

export interface AdjRibOutOptions {
  readonly localAs: number;
  readonly localRouterId: number;
  /** Route reflector cluster id; defaults to the router id (RFC 4456 §7). */
  readonly clusterId?: number;
  readonly defaultLocalPref?: number;
  /** The packing encoder (injectable so tests can count calls); defaults to packUpdatesInto. */
  readonly encoder?: UpdateEncoder;
}

/** RFC 4456 roles. */
export type PeerRole = 'local' | 'ebgp' | 'ibgp-client' | 'ibgp-nonclient';

export function peerRole(peer: PeerInfo | undefined): PeerRole {
  if (peer === undefined) return 'local';
  if (!peer.ibgp) return 'ebgp';
  return peer.routeReflectorClient ? 'ibgp-client' : 'ibgp-nonclient';
}

/** RFC 4271 §9.2 + RFC 4456 §6: may a path learned from `from` be advertised to a peer of role `to`? */
export function mayExport(from: PeerRole, to: PeerRole): boolean {
  if (to === 'local') return false;
  if (from === 'local' || from === 'ebgp' || to === 'ebgp') return true;
  if (from === 'ibgp-client') return true;
  return to === 'ibgp-client';
}

const NO_EXPORT = 0xffffff01;
const NO_ADVERTISE = 0xffffff02;

/** The update-group key of a peer: everything that changes the bytes sent to it. */
export function updateGroupKey(peer: ExportPeer): string {
  const selfNextHop = peer.nextHopMode === 'self' || (!peer.info.ibgp && peer.nextHopMode !== 'keep');
  return JSON.stringify([
    peer.exportPolicyKey,
    [...peer.families].sort(),
    peer.fourOctetAs,
    peer.maxMessageLength,
    peer.addPathSend,
    peerRole(peer.info),
    peer.nextHopMode,
    selfNextHop ? [peer.localAddress, peer.localAddressV6 ?? ''] : null,
  ]);
}

/** What was sent for a prefix, shared by every prefix sent with the same outbound set from the same source. */
interface SentSet {
  /** Interned in the group's interner (one reference per SentSet): equal sets are one object. */
  readonly attributes: RouteAttributes;
  /** Address of the peer the path was learned from (split horizon), undefined for others' or local paths. */
  readonly source: string | undefined;
  /** Prefixes of the group's `sent` pointing here. */
  references: number;
}

interface Member {
  readonly peer: ExportPeer;
  /** Joined and not yet sent the initial dump + End-of-RIB. */
  initial: boolean;
}

/** Octets [start, end) of the writer's current batch, `count` UPDATEs, for `recipients`. */
interface Segment {
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly recipients: readonly string[];
}

interface Bucket {
  readonly attributes: RouteAttributes | undefined;
  readonly announced: BgpPrefix[];
  readonly withdrawn: BgpPrefix[];
  readonly recipients: readonly string[];
}

export interface UpdateGroupView {
  readonly key: string;
  readonly members: readonly string[];
  readonly advertised: number;
}

/** The export rules' result for one Loc-RIB attribute set and source kind, before the export policy. */
interface ExportRuleResult {
  /** The source kind it is for (see `exportSubkey`). */
  readonly subkey: number;
  /** Undefined: not advertised. */
  readonly prePolicy: RouteAttributes | undefined;
  /** The outbound set when the policy returns `prePolicy` unchanged (computed on first use). */
  final: RouteAttributes | undefined;
}

/**
 * Export rule results per Loc-RIB attribute set object: the one source kind's (the usual case: no Map per
 * set), or a Map by source kind (see `exportSubkey`) when a set comes from several kinds of source. A
 * flush keeps them in a Map of its own, dropped at its end; exportAttributes() in a WeakMap per template.
 */
type ExportRulesSlot = ExportRuleResult | Map<number, ExportRuleResult>;
interface ExportRulesCache {
  get(attributes: RouteAttributes): ExportRulesSlot | undefined;
  set(attributes: RouteAttributes, slot: ExportRulesSlot): unknown;
}

class UpdateGroup {
  readonly members = new Map<string, Member>();
  readonly sent = new Map<RibKey, SentSet>();
  /** Best path per prefix changed since the last flush (undefined: withdrawn). */
  readonly pending = new Map<RibKey, LocRibPath | undefined>();
  /** Outbound attribute sets of the SentSets, one reference per SentSet. */
  readonly interner = new AttributeInterner();
  /** SentSets by interned outbound set (one, or one per source when several sources share the set). */
  readonly sentSets = new Map<RouteAttributes, SentSet | SentSet[]>();
  /**
   * The group's export policy is the plain reject action (`export: { action: reject }`): no route is ever
   * advertised, so no best-path change is queued for it (its members get End-of-RIB only).
   */
  readonly exportsNothing: boolean;
  constructor(
    readonly key: string,
    readonly template: ExportPeer,
  ) {
    this.exportsNothing = template.exportPolicyKey === REJECT_ALL_POLICY_KEY;
  }
}

/** policyKey of `{ action: reject }`: a policy with this key rejects every route (keys identify policies). */
const REJECT_ALL_POLICY_KEY = policyKey({ kind: 'action', action: 'reject' });

const KIND_ORDER: Readonly<Record<string, number>> = {
  origin: 1,
  'as-path': 2,
  'next-hop': 3,
  med: 4,
  'local-pref': 5,
  'atomic-aggregate': 6,
  aggregator: 7,
  communities: 8,
  'originator-id': 9,
  'cluster-list': 10,
  'extended-communities': 16,
  'as4-path': 17,
  'as4-aggregator': 18,
  'large-communities': 32,
};

const wireCode = (a: BgpPathAttribute) => (a.kind === 'unknown' ? a.code : (KIND_ORDER[a.kind] ?? 255));

/** `list` in wire order: the list itself when it already is (lists are never mutated), else a sorted copy. */
function wireOrder(list: readonly BgpPathAttribute[]): readonly BgpPathAttribute[] {
  let sorted = true;
  for (let i = 1; i < list.length && sorted; i++) sorted = wireCode(list[i - 1]!) <= wireCode(list[i]!);
  return sorted ? list : [...list].sort((a, b) => wireCode(a) - wireCode(b));
}

/** `list` (already in wire order) with NEXT_HOP inserted where wireOrder would put it, without a sort. */
function withNextHop(list: readonly BgpPathAttribute[], nextHop: BgpPathAttribute): BgpPathAttribute[] {
  const out: BgpPathAttribute[] = [];
  let placed = false;
  for (const attribute of list) {
    if (!placed && wireCode(attribute) > 3) {
      out.push(nextHop);
      placed = true;
    }
    out.push(attribute);
  }
  if (!placed) out.push(nextHop);
  return out;
}

/**
 * The members of `among` other than `source`, one array per source (cached in `cache`): buckets with the
 * same source share it, and a source outside `among` gets `among` itself.
 */
function othersThan(among: string[], source: string | undefined, cache: Map<string, string[]>): string[] {
  if (source === undefined) return among;
  let others = cache.get(source);
  if (others === undefined) {
    others = among.includes(source) ? among.filter((p) => p !== source) : among;
    cache.set(source, others);
  }
  return others;
}

export class AdjRibOut {
  readonly #groups = new Map<string, UpdateGroup>();
  readonly #groupOf = new Map<string, UpdateGroup>();
  readonly #encoder: UpdateEncoder;
  /** Every group's UPDATEs are written here (the group's context set per flush), batch after batch. */
  readonly #writer = new BgpMessageWriter(BGP_DEFAULT_CONTEXT, WRITER_CAPACITY, WRITER_POOL);
  /** Segments of the writer's current batch, in write order. */
  #segments: Segment[] = [];
  /** Export rule results for exportAttributes(), per template object. */
  readonly #rulesByTemplate = new WeakMap<ExportPeer, ExportRulesCache>();

  constructor(private readonly options: AdjRibOutOptions) {
    this.#encoder = options.encoder ?? packUpdatesInto;
  }

  /**
   * An established peer joins (or creates) its update group. The next flush() sends it the group's
   * current routes (for a new group: `bestPaths`, the Loc-RIB's best paths) followed by End-of-RIB.
   */
  addPeer(peer: ExportPeer, bestPaths: Iterable<LocRibPath>): void {
    const address = peer.info.address;
    if (this.#groupOf.has(address)) throw new Error(`peer ${address} is already in an update group`);
    const key = updateGroupKey(peer);
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = new UpdateGroup(key, peer);
      this.#groups.set(key, group);
      if (!group.exportsNothing) for (const best of bestPaths) group.pending.set(ribKey(best.prefix), best);
    }
    group.members.set(address, { peer, initial: true });
    this.#groupOf.set(address, group);
  }

  /** The peer's session went down: it leaves its group (an empty group is dropped). */
  removePeer(address: string): void {
    const group = this.#groupOf.get(address);
    if (group === undefined) return;
    group.members.delete(address);
    this.#groupOf.delete(address);
    if (group.members.size === 0) this.#groups.delete(group.key);
  }

  /**
   * Prefixes advertised to a member as of the last flush(): its group's table less the prefixes whose best
   * path came from that very peer (split horizon). O(attribute sets), not O(prefixes); 0 outside a group.
   */
  advertisedTo(address: string): number {
    const group = this.#groupOf.get(address);
    if (group === undefined) return 0;
    let own = 0;
    for (const entry of group.sentSets.values()) {
      if (!Array.isArray(entry)) {
        if (entry.source === address) own += entry.references;
      } else for (const set of entry) if (set.source === address) own += set.references;
    }
    return group.sent.size - own;
  }

  /** Queues Loc-RIB best-path changes for every group; nothing is encoded until flush(). */
  enqueue(changes: readonly BestPathChange[]): void {
    let keys: RibKey[] | undefined;
    for (const group of this.#groups.values()) {
      if (group.exportsNothing) continue;
      keys ??= changes.map(changeKey);
      for (let i = 0; i < changes.length; i++) group.pending.set(keys[i]!, changes[i]!.best);
    }
  }

  groups(): UpdateGroupView[] {
    return [...this.#groups.values()].map((group) => ({
      key: group.key,
      members: [...group.members.keys()],
      advertised: group.sent.size,
    }));
  }

  /**
   * Encodes everything queued; returns per peer address the runs of UPDATEs to send, in order (each a view
   * of a batch shared by the group's members). Give each batch back with recycle() once sent.
   */
  flush(): OutboundRuns {
    const out: OutboundRuns = new Map();
    // Left over by an encoder that threw in an earlier flush: no run points at it.
    this.#writer.truncate(0);
    this.#segments = [];
    for (const group of this.#groups.values()) {
      this.#writer.setContext({
        as4: group.template.fourOctetAs,
        maxLength: group.template.maxMessageLength,
      });
      this.#flushGroup(group, out);
      this.#cutBatch(out);
    }
    return out;
  }

  /**
   * Gives a batch of a flush back to the writer's buffer pool once every run of it was sent (for a socket:
   * after the write callback of the last one). Throws when it is not a batch of this Adj-RIB-Out or was
   * already given back (BgpMessageWriter.recycle).
   */
  recycle(batch: Uint8Array): void {
    this.#writer.recycle(batch);
  }

  /** Writes `encode`'s UPDATEs for `recipients` (nothing when there are none); batches every ~64 KiB. */
  #emit(
    recipients: readonly string[],
    encode: (writer: BgpMessageWriter) => number,
    out: OutboundRuns,
  ): void {
    if (recipients.length === 0) return;
    const writer = this.#writer;
    const start = writer.length;
    const count = encode(writer);
    if (count === 0) return;
    this.#segments.push({ start, end: writer.length, count, recipients });
    if (writer.length >= BATCH_OCTETS) this.#cutBatch(out);
  }

  /** Takes the writer's batch and gives each recipient its runs: adjacent segments it gets merge into one. */
  #cutBatch(out: OutboundRuns): void {
    const segments = this.#segments;
    if (segments.length === 0) return;
    this.#segments = [];
    const batch = this.#writer.take();
    const open = new Map<string, { start: number; end: number; count: number }>();
    const close = (address: string, run: { start: number; end: number; count: number }) => {
      const bytes = run.start === 0 && run.end === batch.length ? batch : batch.subarray(run.start, run.end);
      const entry: OutboundRun = { bytes, messageCount: run.count, batch };
      const list = out.get(address);
      if (list === undefined) out.set(address, [entry]);
      else list.push(entry);
    };
    for (const segment of segments)
      for (const address of segment.recipients) {
        const run = open.get(address);
        if (run !== undefined && run.end === segment.start) {
          run.end = segment.end;
          run.count += segment.count;
          continue;
        }
        if (run !== undefined) close(address, run);
        open.set(address, { start: segment.start, end: segment.end, count: segment.count });
      }
    for (const [address, run] of open) close(address, run);
  }

  /**
   * Outbound attributes of a best path for a group, or undefined when it is not advertised there. The
   * export rules' result is remembered per template object (as a group remembers it for its template), so
   * asking for every prefix of the table costs the export policy per prefix, not the rules.
   */
  exportAttributes(best: LocRibPath, template: ExportPeer): RouteAttributes | undefined {
    let cache = this.#rulesByTemplate.get(template);
    if (cache === undefined) {
      cache = new WeakMap();
      this.#rulesByTemplate.set(template, cache);
    }
    return this.#export(cache, template, best);
  }

  /** exportAttributes with the export rules' result remembered in `cache` (the flush's hot path). */
  #export(
    cache: ExportRulesCache,
    template: ExportPeer,
    best: LocRibPath,
    prefix: BgpPrefix = best.prefix,
  ): RouteAttributes | undefined {
    const subkey = exportSubkey(best, prefix);
    const slot = cache.get(best.attributes);
    let rules: ExportRuleResult | undefined;
    if (slot === undefined) {
      rules = this.#ruleResult(best, template, subkey);
      cache.set(best.attributes, rules);
    } else if (slot instanceof Map) {
      rules = slot.get(subkey);
      if (rules === undefined) {
        rules = this.#ruleResult(best, template, subkey);
        slot.set(subkey, rules);
      }
    } else if (slot.subkey === subkey) rules = slot;
    else {
      rules = this.#ruleResult(best, template, subkey);
      cache.set(
        best.attributes,
        new Map([
          [slot.subkey, slot],
          [subkey, rules],
        ]),
      );
    }
    if (rules.prePolicy === undefined) return undefined;
    const verdict = template.exportPolicy({
      prefix,
      attributes: rules.prePolicy,
      prependAs: this.options.localAs,
    });
    if (!verdict.accepted) return undefined;
    if (verdict.attributes !== rules.prePolicy) return finishExport(verdict.attributes, template);
    rules.final ??= finishExport(rules.prePolicy, template);
    return rules.final;
  }

  #ruleResult(best: LocRibPath, template: ExportPeer, subkey: number): ExportRuleResult {
    return { subkey, prePolicy: this.#exportRules(best, template), final: undefined };
  }

  /**
   * RFC 4271 §5 / RFC 4456 export rules (before the export policy), or undefined when not advertised.
   * Towards eBGP peers in one pass (`ebgpExport`); towards iBGP peers attribute by attribute.
   */
  #exportRules(best: LocRibPath, template: ExportPeer): RouteAttributes | undefined {
    const from = peerRole(best.peer);
    const to = peerRole(template.info);
    const family = prefixFamily(best.prefix);
    if (!template.families.includes(family) || !mayExport(from, to)) return undefined;
    const values = communities(best.attributes);
    if (values.includes(NO_ADVERTISE) || (to === 'ebgp' && values.includes(NO_EXPORT))) return undefined;
    const { localAs, localRouterId } = this.options;
    const selfAddress = family === 'ipv4-unicast' ? template.localAddress : (template.localAddressV6 ?? '::');
    if (to === 'ebgp') return ebgpExport(best.attributes, from, localAs, template, selfAddress);
    let attributes: RouteAttributes = {
      list: forForwarding(best.attributes.list),
      nextHop: best.attributes.nextHop,
    };
    if (findAttribute(attributes, 'local-pref') === undefined)
      attributes = withAttribute(attributes, 'local-pref', {
        kind: 'local-pref',
        value: this.options.defaultLocalPref ?? 100,
      });
    if (findAttribute(attributes, 'as-path') === undefined)
      attributes = withAttribute(attributes, 'as-path', { kind: 'as-path', segments: [] });
    const unsetNextHop = attributes.nextHop === '0.0.0.0' || attributes.nextHop === '::';
    if (template.nextHopMode === 'self' || from === 'local' || unsetNextHop)
      attributes = { ...attributes, nextHop: selfAddress };
    if (isReflection(from, to))
      attributes = reflectedPathAttributes(attributes, {
        clusterId: this.options.clusterId ?? localRouterId,
        learnedFromRouterId: best.peer!.routerId,
      });
    if (findAttribute(attributes, 'origin') === undefined)
      attributes = withAttribute(attributes, 'origin', { kind: 'origin', value: 0 });
    return attributes;
  }

  /** The SentSet of (exported set, source) in a group, made when new (with no prefix yet). */
  #sentSet(group: UpdateGroup, exported: RouteAttributes, source: string | undefined): SentSet {
    const known = group.interner.peek(exported);
    const found = known === undefined ? undefined : group.sentSets.get(known);
    if (found !== undefined) {
      if (!Array.isArray(found)) {
        if (found.source === source) return found;
      } else for (const set of found) if (set.source === source) return set;
    }
    const attributes = group.interner.acquire(exported);
    const set: SentSet = { attributes, source, references: 0 };
    const others = group.sentSets.get(attributes);
    if (others === undefined) group.sentSets.set(attributes, set);
    else if (Array.isArray(others)) others.push(set);
    else group.sentSets.set(attributes, [others, set]);
    return set;
  }

  /** One prefix less points at `set`; the last one forgets it. */
  #unref(group: UpdateGroup, set: SentSet): void {
    if (--set.references > 0) return;
    const entry = group.sentSets.get(set.attributes);
    if (entry === set) group.sentSets.delete(set.attributes);
    else if (Array.isArray(entry)) {
      entry.splice(entry.indexOf(set), 1);
      if (entry.length === 1) group.sentSets.set(set.attributes, entry[0]!);
    }
    group.interner.release(set.attributes);
  }

  #flushGroup(group: UpdateGroup, out: OutboundRuns): void {
    const established: string[] = [];
    const joining: string[] = [];
    // Recipients per source (split horizon), shared by every bucket of that source.
    const establishedOthers = new Map<string, string[]>();
    const joiningOthers = new Map<string, string[]>();
    for (const member of group.members.values())
      (member.initial ? joining : established).push(member.peer.info.address);
    // Withdrawals bucketed by the source of what was sent: that peer never got the prefix (split horizon),
    // so it gets no withdrawal either.
    const withdrawBySource = new Map<string, BgpPrefix[]>();
    // Announcements bucketed by SentSet: (source for split horizon, interned outbound set by identity).
    const announce = new Map<SentSet, Bucket>();
    const withdrawFrom = new Map<string, Bucket>();
    // Export rule results per Loc-RIB set for this flush only: a set's result is computed once per flush
    // and group, and nothing is kept per set between flushes (with a set per prefix, a WeakMap entry and
    // a result per set and group would stay alive, and cost the garbage collector, for nothing).
    const exportRules: ExportRulesCache = new Map();
    for (const [key, best] of group.pending) {
      const bestPrefix = best?.prefix;
      const exported =
        best === undefined ? undefined : this.#export(exportRules, group.template, best, bestPrefix);
      const previous = group.sent.get(key);
      if (exported === undefined) {
        if (previous !== undefined) {
          const sourceKey = previous.source ?? '';
          const prefix = prefixOfRibKey(key);
          const list = withdrawBySource.get(sourceKey);
          if (list === undefined) withdrawBySource.set(sourceKey, [prefix]);
          else list.push(prefix);
          group.sent.delete(key);
          this.#unref(group, previous);
        }
        continue;
      }
      const source = best!.peer?.address;
      const set = this.#sentSet(group, exported, source);
      set.references++;
      if (previous !== undefined) this.#unref(group, previous);
      group.sent.set(key, set);
      const prefix = withoutPathId(bestPrefix!);
      if (
        source !== undefined &&
        group.members.has(source) &&
        previous !== undefined &&
        previous.source !== source
      ) {
        let own = withdrawFrom.get(source);
        if (own === undefined) {
          own = { attributes: undefined, announced: [], withdrawn: [], recipients: [source] };
          withdrawFrom.set(source, own);
        }
        own.withdrawn.push(prefix);
      }
      if (previous === set) continue;
      let bucket = announce.get(set);
      if (bucket === undefined) {
        bucket = {
          attributes: set.attributes,
          announced: [],
          withdrawn: [],
          recipients: othersThan(established, source, establishedOthers),
        };
        announce.set(set, bucket);
      }
      bucket.announced.push(prefix);
    }
    group.pending.clear();

    const encodeBucket = (bucket: Bucket) => (writer: BgpMessageWriter) => this.#encode(writer, bucket);
    for (const [source, withdrawn] of withdrawBySource) {
      const recipients = othersThan(established, source, establishedOthers);
      this.#emit(recipients, (writer) => this.#encoder(writer, { attributes: [], withdrawn }), out);
    }
    for (const b of withdrawFrom.values()) this.#emit(b.recipients, encodeBucket(b), out);
    for (const b of announce.values()) this.#emit(b.recipients, encodeBucket(b), out);

    if (joining.length === 0) return;
    // Initial dump for joining members: the group's advertised table, shared by all joining members.
    const dump = new Map<SentSet, Bucket>();
    for (const [key, set] of group.sent) {
      let found = dump.get(set);
      if (found === undefined) {
        found = {
          attributes: set.attributes,
          announced: [],
          withdrawn: [],
          recipients: othersThan(joining, set.source, joiningOthers),
        };
        dump.set(set, found);
      }
      found.announced.push(prefixOfRibKey(key));
    }
    for (const b of dump.values()) this.#emit(b.recipients, encodeBucket(b), out);
    for (const family of group.template.families)
      this.#emit(
        joining,
        (writer) => {
          writer.write(END_OF_RIB_UPDATES[family]);
          return 1;
        },
        out,
      );
    for (const address of joining) group.members.get(address)!.initial = false;
  }

  #encode(writer: BgpMessageWriter, bucket: Bucket): number {
    if (bucket.attributes === undefined)
      return this.#encoder(writer, { attributes: [], withdrawn: bucket.withdrawn });
    const { list, nextHop } = bucket.attributes;
    const v4 = bucket.announced.length > 0 && bucket.announced[0]!.afi === 1;
    if (v4) {
      const attributes = withNextHop(list, { kind: 'next-hop', address: parseIpv4(nextHop) });
      return this.#encoder(writer, { attributes, announced: bucket.announced });
    }
    return this.#encoder(writer, {
      attributes: list,
      announced: bucket.announced,
      ipv6NextHop: parseIpv6(nextHop),
    });
  }
}

/**
 * RFC 4271 §5 export rules towards an eBGP peer, in one pass over the Loc-RIB set: unknown optional
 * transitive attributes get the Partial bit (non-transitive ones go: `forForwarding`), LOCAL_PREF,
 * ORIGINATOR_ID and CLUSTER_LIST go, MED goes unless the path is ours, our AS is prepended to the AS_PATH
 * (in its place; appended when absent), the next hop is ours unless `nextHop: keep` keeps a learned one,
 * ORIGIN IGP is appended when absent. The same list, in the same order, as applying these one by one.
 */
function ebgpExport(
  attributes: RouteAttributes,
  from: PeerRole,
  localAs: number,
  template: ExportPeer,
  selfAddress: string,
): RouteAttributes {
  const list: BgpPathAttribute[] = [];
  let asPathDone = false;
  let hasOrigin = false;
  for (const attribute of attributes.list) {
    switch (attribute.kind) {
      case 'local-pref':
      case 'originator-id':
      case 'cluster-list':
        continue;
      case 'med':
        if (from !== 'local') continue;
        break;
      case 'as-path':
        if (!asPathDone) list.push(prependedAsPath(attribute.segments, localAs));
        asPathDone = true;
        continue;
      case 'origin':
        hasOrigin = true;
        break;
      case 'unknown': {
        const flags = attribute.flags ?? 0xc0;
        if ((flags & AttributeFlag.transitive) === 0) continue;
        list.push({ ...attribute, flags: flags | AttributeFlag.partial });
        continue;
      }
    }
    list.push(attribute);
  }
  if (!asPathDone) list.push(prependedAsPath([], localAs));
  if (!hasOrigin) list.push({ kind: 'origin', value: 0 });
  const nextHop = template.nextHopMode !== 'keep' || from === 'local' ? selfAddress : attributes.nextHop;
  return { list, nextHop };
}

/** The AS_PATH with `localAs` prepended (to a first AS_SEQUENCE with room, else as a new segment). */
function prependedAsPath(segments: readonly AsPathSegment[], localAs: number): BgpPathAttribute {
  const first = segments[0];
  const prepended =
    first !== undefined && first.type === 2 && first.asns.length < 255
      ? [{ type: 2 as const, asns: [localAs, ...first.asns] }, ...segments.slice(1)]
      : [{ type: 2 as const, asns: [localAs] }, ...segments];
  return { kind: 'as-path', segments: prepended };
}

const ROLE_INDEX: Readonly<Record<PeerRole, number>> = {
  local: 0,
  ebgp: 1,
  'ibgp-client': 2,
  'ibgp-nonclient': 3,
};

/**
 * What the export rules read besides the attribute set: family, source role and, for iBGP-learned paths
 * (ORIGINATOR_ID when reflecting), the source's router id — as one number.
 */
function exportSubkey(best: LocRibPath, prefix: BgpPrefix): number {
  const role = peerRole(best.peer);
  const routerId = role === 'ibgp-client' || role === 'ibgp-nonclient' ? best.peer!.routerId : 0;
  return routerId * 16 + ROLE_INDEX[role] * 2 + (prefix.afi === 1 ? 0 : 1);
}

/** After the export policy: AS_TRANS for 2-octet peers, attributes in wire order. */
function finishExport(attributes: RouteAttributes, template: ExportPeer): RouteAttributes {
  const list = template.fourOctetAs ? attributes.list : asTransPath(attributes.list);
  return { list: wireOrder(list), nextHop: attributes.nextHop };
}

/**
 * For a peer without 4-octet AS support (RFC 6793 §4.2.2): ASNs above 65535 in AS_PATH become AS_TRANS
 * and the real path goes in AS4_PATH (confederation segments left out of AS4_PATH).
 */
export function asTransPath(list: readonly BgpPathAttribute[]): BgpPathAttribute[] {
  const out: BgpPathAttribute[] = [];
  for (const attribute of list) {
    if (attribute.kind !== 'as-path' || !attribute.segments.some((s) => s.asns.some((asn) => asn > 0xffff))) {
      out.push(attribute);
      continue;
    }
    out.push({
      kind: 'as-path',
      segments: attribute.segments.map((s) => ({
        type: s.type,
        asns: s.asns.map((asn) => (asn > 0xffff ? AS_TRANS_ASN : asn)),
      })),
    });
    out.push({ kind: 'as4-path', segments: attribute.segments.filter((s) => s.type === 1 || s.type === 2) });
  }
  return out;
}

/** The End-of-RIB marker of each family (RFC 4724 §2): an empty UPDATE, or an empty MP_UNREACH_NLRI. */
const END_OF_RIB_UPDATES: Readonly<Record<Family, BgpUpdate>> = {
  'ipv4-unicast': makeUpdate({}),
  'ipv6-unicast': makeUpdate({ attributes: [{ kind: 'mp-unreach', afi: 2, safi: 1, withdrawn: [] }] }),
};

/** The End-of-RIB marker of a family, encoded (RFC 4724 §2). */
export function endOfRib(family: Family, context: BgpCodecContext): Uint8Array {
  return encodeBgpMessage(END_OF_RIB_UPDATES[family], context);
}
