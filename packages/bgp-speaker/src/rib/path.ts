// The one object a received path costs per prefix: `RibPath` is both the Adj-RIB-In's stored path and the
// Loc-RIB's candidate (the Loc-RIB takes the Adj-RIB-In's object as it is). It holds the prefix (for an
// IPv4 prefix without path id just its RibKey number: the decoded prefix object is not kept), the
// interned attribute set, the peer, the flags and a pointer to what the decision process reads from the
// attribute set (`PathFacts`, computed once per set object); every CandidatePath field is a getter over
// those, so a path is six fields whatever the number of decision criteria.

import { parseIpBytes } from '@caracal/ip';
import { asPathLength } from '../codec/as4.js';
import type { BgpPrefix } from '../codec/prefix.js';
import {
  asPathSegments,
  findAttribute,
  type PeerInfo,
  prefixKey,
  prefixOfRibKey,
  type RibKey,
  type RouteAttributes,
  ribKey,
} from './route.js';

/** What the decision process reads from an attribute set, for one default LOCAL_PREF. */
export interface PathFacts {
  /** LOCAL_PREF, or the default when absent. */
  readonly localPref: number;
  readonly defaultLocalPref: number;
  readonly asPathLength: number;
  readonly origin: number;
  readonly med: number | undefined;
  readonly firstAs: number | undefined;
  readonly originatorId: number | undefined;
  readonly clusterListLength: number;
}

const DEFAULT_LOCAL_PREF = 100;
const FACTS = new Map<number, WeakMap<RouteAttributes, PathFacts>>();

/** The facts of a set object (remembered per object and default LOCAL_PREF). */
export function factsOf(attributes: RouteAttributes, defaultLocalPref = DEFAULT_LOCAL_PREF): PathFacts {
  let byObject = FACTS.get(defaultLocalPref);
  if (byObject === undefined) {
    byObject = new WeakMap();
    FACTS.set(defaultLocalPref, byObject);
  }
  let facts = byObject.get(attributes);
  if (facts !== undefined) return facts;
  facts = computeFacts(attributes, defaultLocalPref);
  byObject.set(attributes, facts);
  return facts;
}

/** The facts of a set, computed (factsOf remembers them per object; the Adj-RIB-In per interned set). */
export function computeFacts(attributes: RouteAttributes, defaultLocalPref = DEFAULT_LOCAL_PREF): PathFacts {
  const segments = asPathSegments(attributes);
  const first = segments[0];
  return {
    localPref: findAttribute(attributes, 'local-pref')?.value ?? defaultLocalPref,
    defaultLocalPref,
    asPathLength: asPathLength(segments),
    origin: findAttribute(attributes, 'origin')?.value ?? 2,
    med: findAttribute(attributes, 'med')?.value,
    firstAs: first !== undefined && first.type === 2 ? first.asns[0] : undefined,
    originatorId: findAttribute(attributes, 'originator-id')?.id,
    clusterListLength: findAttribute(attributes, 'cluster-list')?.ids.length ?? 0,
  };
}

/** Two lower-case hex digits per byte value. */
const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * Orders IPv4 and IPv6 peer addresses numerically as text: the address bytes (read by @caracal/ip, any
 * valid spelling: "FD00:0::1" and "fd00::1" have one key) as zero-padded hex, IPv6 keys prefixed "z" so
 * IPv4 peers sort first. Throws IpParseError naming the problem for text that is no address.
 */
export function peerAddressKey(address: string): string {
  const bytes = parseIpBytes(address);
  let key = bytes.length === 16 ? 'z' : '';
  for (const byte of bytes) key += HEX_BYTES[byte];
  return key;
}

const ADDRESS_KEYS = new Map<string, string>();

/** peerAddressKey, remembered per address (a handful of peers, many prefixes each). */
function cachedPeerAddressKey(address: string): string {
  let key = ADDRESS_KEYS.get(address);
  if (key === undefined) {
    if (ADDRESS_KEYS.size > 4096) ADDRESS_KEYS.clear();
    key = peerAddressKey(address);
    ADDRESS_KEYS.set(address, key);
  }
  return key;
}

const ACCEPTED = 1;
const STALE = 2;
/** `bits` = pathId × FLAG_SPAN + flags: a small integer (no heap object) for path ids below 2^29. */
const FLAG_SPAN = 4;

/** A path of one prefix: an Adj-RIB-In entry and, when accepted, the Loc-RIB candidate. Immutable. */
/** Whether an IPv4 prefix without path id has no host bits set (then its RibKey stands for it exactly). */
function keyable(prefix: BgpPrefix): boolean {
  if (prefix.afi !== 1 || prefix.pathId !== undefined) return false;
  const hostSpan = 2 ** (32 - prefix.length);
  return Math.floor(prefix.address / hostSpan) * hostSpan === prefix.address;
}

/**
 * What every path of one (interned attribute set, peer, pre-policy set) shares: those three and the set's
 * decision facts (a PathFacts itself). The Adj-RIB-In makes one per set and peer (kept as the interned
 * set's memo for its first peer, and as the last one used), so a path costs three fields, not six.
 */
export class PathCommon implements PathFacts {
  readonly localPref: number;
  readonly defaultLocalPref: number;
  readonly asPathLength: number;
  readonly origin: number;
  readonly med: number | undefined;
  readonly firstAs: number | undefined;
  readonly originatorId: number | undefined;
  readonly clusterListLength: number;
  constructor(
    /** Post-policy attributes (interned); meaningful when a path is accepted. */
    readonly attributes: RouteAttributes,
    /** The peer the paths came from; undefined: originated by this speaker. */
    readonly peer: PeerInfo | undefined,
    /** The received (pre-policy) attributes; kept only with soft reconfiguration. */
    readonly received: RouteAttributes | undefined,
    facts: PathFacts,
  ) {
    this.localPref = facts.localPref;
    this.defaultLocalPref = facts.defaultLocalPref;
    this.asPathLength = facts.asPathLength;
    this.origin = facts.origin;
    this.med = facts.med;
    this.firstAs = facts.firstAs;
    this.originatorId = facts.originatorId;
    this.clusterListLength = facts.clusterListLength;
  }
}

export class RibPath {
  /** The prefix as its RibKey number (IPv4, no path id, canonical) or the prefix object itself. */
  readonly #where: number | BgpPrefix;
  readonly #bits: number;
  readonly #common: PathCommon;

  constructor(
    /** The canonical prefix (host bits cleared), with the path id when ADD-PATH is used. */
    prefix: BgpPrefix,
    /** Attributes, peer, pre-policy attributes and decision facts, shared with other paths. */
    origin: PathCommon,
    pathId: number,
    accepted: boolean,
    stale: boolean,
    /** The caller's RibKey of `prefix` when it is canonical IPv4 without path id (saves computing it). */
    canonicalIpv4Key?: number,
  ) {
    this.#where = canonicalIpv4Key ?? (keyable(prefix) ? (ribKey(prefix) as number) : prefix);
    this.#bits = pathId * FLAG_SPAN + (accepted ? ACCEPTED : 0) + (stale ? STALE : 0);
    this.#common = origin;
  }

  /** Post-policy attributes (interned); meaningful when `accepted`. */
  get attributes(): RouteAttributes {
    return this.#common.attributes;
  }
  /** The peer it came from; undefined: originated by this speaker. */
  get peer(): PeerInfo | undefined {
    return this.#common.peer;
  }
  /** The received (pre-policy) attributes; kept only with soft reconfiguration. */
  get received(): RouteAttributes | undefined {
    return this.#common.received;
  }
  /** What the decision process reads from the attribute set. */
  get facts(): PathFacts {
    return this.#common;
  }
  /** The shared part of the path (see PathCommon). */
  get common(): PathCommon {
    return this.#common;
  }

  /** The same path with another stale mark (a new object: paths are compared by identity). */
  withStale(stale: boolean): RibPath {
    return new RibPath(this.prefix, this.#common, this.pathId, this.accepted, stale);
  }

  /** The prefix's RibKey (path id ignored): the number kept for an IPv4 prefix, no prefix object made. */
  get key(): RibKey {
    const where = this.#where;
    return typeof where === 'number' ? where : ribKey(where);
  }

  /**
   * As an AdjRibInChange (the Adj-RIB-In hands an accepted path over as its own change, no change object
   * per prefix): the path itself when accepted.
   */
  get path(): RibPath | undefined {
    return this.accepted ? this : undefined;
  }

  /** The prefix's text without path id ("10.0.0.0/24"), made on each read. */
  get prefixKey(): string {
    return prefixKey(this.prefix);
  }

  /** The prefix (a new object each time for an IPv4 prefix kept as its key). */
  get prefix(): BgpPrefix {
    const where = this.#where;
    return typeof where === 'number' ? prefixOfRibKey(where) : where;
  }
  get pathId(): number {
    return Math.floor(this.#bits / FLAG_SPAN);
  }
  get accepted(): boolean {
    return (this.#bits & ACCEPTED) !== 0;
  }
  get stale(): boolean {
    return (this.#bits & STALE) !== 0;
  }
  get local(): boolean {
    return this.peer === undefined;
  }
  get localPref(): number {
    return this.#common.localPref;
  }
  get asPathLength(): number {
    return this.#common.asPathLength;
  }
  get origin(): number {
    return this.#common.origin;
  }
  get med(): number | undefined {
    return this.#common.med;
  }
  get neighborAs(): number | undefined {
    const peer = this.peer;
    return this.#common.firstAs ?? (peer?.ibgp === false ? peer.asNumber : undefined);
  }
  get fromEbgp(): boolean {
    return this.peer !== undefined && !this.peer.ibgp;
  }
  get peerRouterId(): number {
    return this.peer?.routerId ?? 0;
  }
  get originatorId(): number | undefined {
    return this.#common.originatorId;
  }
  get clusterListLength(): number {
    return this.#common.clusterListLength;
  }
  get peerAddressKey(): string {
    return this.peer === undefined ? '' : cachedPeerAddressKey(this.peer.address);
  }
}
