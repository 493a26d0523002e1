// OPEN message checking (RFC 4271 §6.2, RFC 6793, RFC 6286, RFC 5492) and capability negotiation as
// pure functions: from our local settings and the peer's OPEN, either a NOTIFICATION error or the
// "negotiated session options" the codec's decode/encode context is built from.
import { IpParseError, ipParseResult, parseIpv4 } from '@caracal/ip';
import { ErrorCode } from './fsm.js';
import type { NotificationError } from './types.js';

/** AS_TRANS (RFC 6793): stands in the 2-octet My AS field for a 4-octet AS. */
export const AS_TRANS = 23456;

/** OPEN error subcodes (RFC 4271 §6.2, RFC 5492). */
export const OpenErrorSubcode = {
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
} as const;

/** Capability codes (IANA "Capability Codes"). */
export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedMessage: 6,
  GracefulRestart: 64,
  FourOctetAs: 65,
  AddPath: 69,
  EnhancedRouteRefresh: 70,
} as const;

/** An AFI/SAFI pair. */
export interface AddressFamily {
  readonly afi: number;
  readonly safi: number;
}

const FAMILY_NAMES: ReadonlyArray<readonly [string, number, number]> = [
  ['ipv4-unicast', 1, 1],
  ['ipv4-multicast', 1, 2],
  ['ipv6-unicast', 2, 1],
  ['ipv6-multicast', 2, 2],
  ['ipv4-mpls-vpn', 1, 128],
  ['ipv6-mpls-vpn', 2, 128],
  ['l2vpn-evpn', 25, 70],
  ['ipv4-flowspec', 1, 133],
  ['ipv6-flowspec', 2, 133],
];

/** Family names Caracal's configuration accepts (AFI/SAFI pairs with a well-known name). */
export const KNOWN_FAMILY_NAMES: readonly string[] = FAMILY_NAMES.map(([name]) => name);

/** "ipv4-unicast" for 1/1; "afi-25-safi-70"-style names for pairs without a well-known name. */
export function familyName(family: AddressFamily): string {
  const known = FAMILY_NAMES.find(([, afi, safi]) => afi === family.afi && safi === family.safi);
  return known ? known[0] : `afi-${family.afi}-safi-${family.safi}`;
}

/** The AFI/SAFI of a family name, or null when the name is unknown. */
export function familyFromName(name: string): AddressFamily | null {
  const known = FAMILY_NAMES.find(([n]) => n === name);
  if (known) return { afi: known[1], safi: known[2] };
  const match = /^afi-(\d+)-safi-(\d+)$/.exec(name);
  return match ? { afi: Number(match[1]), safi: Number(match[2]) } : null;
}

const sameFamily = (a: AddressFamily, b: AddressFamily): boolean => a.afi === b.afi && a.safi === b.safi;

/** ADD-PATH Send/Receive field (RFC 7911 §4): 1 receive, 2 send, 3 both. */
export type AddPathDirection = 1 | 2 | 3;

/** A parsed capability, as carried in the OPEN's Capabilities optional parameter (RFC 5492). */
export type Capability =
  | { readonly kind: 'multiprotocol'; readonly family: AddressFamily }
  | { readonly kind: 'routeRefresh' }
  | { readonly kind: 'enhancedRouteRefresh' }
  | { readonly kind: 'extendedMessage' }
  | { readonly kind: 'fourOctetAs'; readonly asNumber: number }
  | {
      readonly kind: 'gracefulRestart';
      /** R bit: the sender has restarted. */
      readonly restartState: boolean;
      /** N bit (RFC 8538): graceful restart also for NOTIFICATION. */
      readonly notification: boolean;
      readonly restartTime: number;
      readonly families: ReadonlyArray<AddressFamily & { readonly forwardingPreserved: boolean }>;
    }
  | {
      readonly kind: 'addPath';
      readonly families: ReadonlyArray<AddressFamily & { readonly direction: AddPathDirection }>;
    }
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Uint8Array };

/** The fields of a received OPEN that checking and negotiation need. */
export interface ReceivedOpen {
  readonly version: number;
  /** The 2-octet My Autonomous System field. */
  readonly myAutonomousSystem: number;
  readonly holdTime: number;
  /** BGP Identifier as a dotted quad. */
  readonly bgpIdentifier: string;
  readonly capabilities: readonly Capability[];
}

/** Our side of the negotiation. */
export interface LocalOpenSettings {
  readonly asNumber: number;
  readonly routerId: string;
  /** Proposed hold time: 0 or >= 3. */
  readonly holdTime: number;
  /** Configured keepalive interval; the effective one is min(this, hold/3). 0 = hold/3. */
  readonly keepaliveTime?: number;
  readonly families: readonly AddressFamily[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  readonly extendedMessage: boolean;
  readonly gracefulRestart?: {
    readonly restartTime: number;
    readonly restartState: boolean;
    readonly notification: boolean;
    /** Families whose forwarding state we preserve across a restart. */
    readonly forwardingPreserved: readonly AddressFamily[];
  };
  readonly addPath?: ReadonlyArray<AddressFamily & { readonly send: boolean; readonly receive: boolean }>;
  /** Capabilities the peer must support or the session is refused with 2/7. */
  readonly require?: { readonly fourOctetAs?: boolean; readonly families?: readonly AddressFamily[] };
}

/** What we expect of the peer. */
export interface PeerExpectation {
  /** The configured peer AS. */
  readonly asNumber: number;
}

/** The negotiated options of an established session: the input of the codec's decode context. */
export interface NegotiatedSessionOptions {
  readonly localAs: number;
  readonly peerAs: number;
  /** Internal BGP: both ends in the same AS. */
  readonly ibgp: boolean;
  readonly localRouterId: string;
  readonly peerRouterId: string;
  /** min(ours, theirs); 0 = no keepalives and no hold timer. */
  readonly holdTime: number;
  readonly keepaliveTime: number;
  /** Both sides advertised the 4-octet AS capability (AS_PATH carries 4-octet ASNs). */
  readonly fourOctetAs: boolean;
  /** Families both sides support (implicit IPv4 unicast for a side without any MP capability). */
  readonly families: readonly AddressFamily[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  /** RFC 8654 on both sides: messages up to 65535 octets (UPDATE, NOTIFICATION...; OPEN stays 4096). */
  readonly extendedMessage: boolean;
  readonly maxMessageLength: number;
  /** The peer's graceful restart capability, when both sides advertised one. */
  readonly gracefulRestart: {
    readonly restartTime: number;
    readonly restartState: boolean;
    readonly notification: boolean;
    readonly families: ReadonlyArray<AddressFamily & { readonly forwardingPreserved: boolean }>;
  } | null;
  /** Per family: do we send / receive ADD-PATH path identifiers (RFC 7911). */
  readonly addPath: ReadonlyArray<AddressFamily & { readonly send: boolean; readonly receive: boolean }>;
}

export type OpenCheckResult =
  | { readonly ok: true; readonly options: NegotiatedSessionOptions }
  | { readonly ok: false; readonly error: NotificationError; readonly reason: string };

const IPV4_UNICAST: AddressFamily = { afi: 1, safi: 1 };

/**
 * A BGP identifier (router id) as a 32-bit unsigned number: the dotted quad read by @caracal/ip (four
 * decimal octets 0..255, no leading zeros: "010.0.0.1" is refused as ambiguous), or null when the text is
 * not one. Zero is returned as 0; routerIdProblem says why an identifier cannot be used.
 */
export function parseRouterId(text: string): number | null {
  const value = ipParseResult(() => parseIpv4(text));
  return value instanceof IpParseError ? null : value;
}

/**
 * Why `text` is not a usable BGP identifier ("is zero (…)", "is not a dotted quad: octet 1 "010" has a
 * leading zero (…)"), to follow the text in a message; undefined when it is one. RFC 6286 §2.1: a
 * non-zero 4-octet unsigned number.
 */
export function routerIdProblem(text: string): string | undefined {
  const value = ipParseResult(() => parseIpv4(text));
  if (value instanceof IpParseError) return `is not a dotted quad: ${value.reason}`;
  return value === 0 ? 'is zero (a BGP identifier is non-zero, RFC 6286)' : undefined;
}

/** The capabilities we advertise for these settings, in a stable order. */
export function localCapabilities(local: LocalOpenSettings): Capability[] {
  const caps: Capability[] = local.families.map((family) => ({ kind: 'multiprotocol', family }));
  if (local.routeRefresh) caps.push({ kind: 'routeRefresh' });
  if (local.enhancedRouteRefresh) caps.push({ kind: 'enhancedRouteRefresh' });
  if (local.extendedMessage) caps.push({ kind: 'extendedMessage' });
  caps.push({ kind: 'fourOctetAs', asNumber: local.asNumber });
  if (local.gracefulRestart) {
    const gr = local.gracefulRestart;
    caps.push({
      kind: 'gracefulRestart',
      restartState: gr.restartState,
      notification: gr.notification,
      restartTime: gr.restartTime,
      families: local.families.map((f) => ({
        ...f,
        forwardingPreserved: gr.forwardingPreserved.some((p) => sameFamily(p, f)),
      })),
    });
  }
  const addPathFamilies = (local.addPath ?? []).filter((f) => f.send || f.receive);
  if (addPathFamilies.length > 0) {
    caps.push({
      kind: 'addPath',
      families: addPathFamilies.map((f) => ({
        afi: f.afi,
        safi: f.safi,
        direction: ((f.receive ? 1 : 0) | (f.send ? 2 : 0)) as AddPathDirection,
      })),
    });
  }
  return caps;
}

/** The My Autonomous System field we put in our OPEN: our AS, or AS_TRANS when it needs 4 octets. */
export function openMyAutonomousSystem(asNumber: number): number {
  return asNumber > 0xffff ? AS_TRANS : asNumber;
}

function capabilityTlv(code: number, value: number[]): Uint8Array {
  return Uint8Array.from([code, value.length, ...value]);
}

const fail = (subcode: number, reason: string, data?: Uint8Array): OpenCheckResult => ({
  ok: false,
  error:
    data === undefined
      ? { code: ErrorCode.OpenMessage, subcode }
      : { code: ErrorCode.OpenMessage, subcode, data },
  reason,
});

/** The peer's AS: from its 4-octet AS capability when present (RFC 6793 §4.1), else the My AS field. */
export function peerAsOf(open: ReceivedOpen): number {
  const four = open.capabilities.find((c) => c.kind === 'fourOctetAs');
  return four && four.kind === 'fourOctetAs' ? four.asNumber : open.myAutonomousSystem;
}

/** The families a side supports: its MP capabilities, or implicit IPv4 unicast when it has none. */
function familiesOf(capabilities: readonly Capability[]): AddressFamily[] {
  const mp = capabilities.flatMap((c) => (c.kind === 'multiprotocol' ? [c.family] : []));
  return mp.length > 0 ? mp : [IPV4_UNICAST];
}

/**
 * Checks a received OPEN against our settings and the configured peer, and negotiates the session
 * options. The first failing check, in RFC 4271 §6.2 order, gives the NOTIFICATION to send.
 */
export function checkOpen(
  open: ReceivedOpen,
  local: LocalOpenSettings,
  peer: PeerExpectation,
): OpenCheckResult {
  // §6.2: "If the version number in the Version field of the received OPEN message is not supported,
  // then the Error Subcode MUST be set to Unsupported Version Number. The Data field is a 2-octet
  // unsigned integer, which indicates the largest, locally-supported version number".
  if (open.version !== 4) {
    return fail(
      OpenErrorSubcode.UnsupportedVersionNumber,
      `peer speaks BGP version ${open.version}, we support 4`,
      Uint8Array.from([0, 4]),
    );
  }
  // RFC 6793 §4.1: a 4-octet speaker compares the AS of the 4-octet AS capability; a peer without the
  // capability can only be a 2-octet AS, so a configured AS above 65535 can never match it.
  const peerAs = peerAsOf(open);
  const hasFourOctet = open.capabilities.some((c) => c.kind === 'fourOctetAs');
  if (peerAs !== peer.asNumber) {
    const hint =
      !hasFourOctet && open.myAutonomousSystem === AS_TRANS
        ? ' (AS_TRANS without the 4-octet AS capability)'
        : '';
    return fail(
      OpenErrorSubcode.BadPeerAs,
      `peer announced AS ${peerAs}${hint}, configured AS ${peer.asNumber}`,
    );
  }
  if (hasFourOctet && peerAs <= 0xffff && open.myAutonomousSystem !== peerAs) {
    return fail(
      OpenErrorSubcode.BadPeerAs,
      `peer's My AS field ${open.myAutonomousSystem} disagrees with its 4-octet AS capability ${peerAs}`,
    );
  }
  if (hasFourOctet && peerAs > 0xffff && open.myAutonomousSystem !== AS_TRANS) {
    return fail(
      OpenErrorSubcode.BadPeerAs,
      `peer's 4-octet AS ${peerAs} needs AS_TRANS (${AS_TRANS}) in My AS, got ${open.myAutonomousSystem}`,
    );
  }
  // RFC 6286 §2.2: the identifier is a non-zero 4-octet number; within an AS it must be unique.
  const peerIdProblem = routerIdProblem(open.bgpIdentifier);
  const ibgp = peerAs === local.asNumber;
  if (peerIdProblem !== undefined) {
    return fail(
      OpenErrorSubcode.BadBgpIdentifier,
      `peer BGP identifier ${open.bgpIdentifier} ${peerIdProblem}`,
    );
  }
  if (ibgp && parseRouterId(open.bgpIdentifier) === parseRouterId(local.routerId)) {
    return fail(
      OpenErrorSubcode.BadBgpIdentifier,
      `iBGP peer uses our own BGP identifier ${open.bgpIdentifier}`,
    );
  }
  // §6.2: "An implementation MUST reject Hold Time values of one or two seconds."
  if (open.holdTime === 1 || open.holdTime === 2) {
    return fail(
      OpenErrorSubcode.UnacceptableHoldTime,
      `peer hold time ${open.holdTime} s (must be 0 or >= 3)`,
    );
  }
  // RFC 5492 §5: a capability we require and the peer lacks: 2/7 with that capability in the data.
  if (local.require?.fourOctetAs && !hasFourOctet) {
    const as = local.asNumber;
    return fail(
      OpenErrorSubcode.UnsupportedCapability,
      'peer lacks the required 4-octet AS capability',
      capabilityTlv(CapabilityCode.FourOctetAs, [
        (as >>> 24) & 255,
        (as >>> 16) & 255,
        (as >>> 8) & 255,
        as & 255,
      ]),
    );
  }
  const peerFamilies = familiesOf(open.capabilities);
  for (const required of local.require?.families ?? []) {
    if (!peerFamilies.some((f) => sameFamily(f, required))) {
      return fail(
        OpenErrorSubcode.UnsupportedCapability,
        `peer lacks the required family ${familyName(required)}`,
        capabilityTlv(CapabilityCode.Multiprotocol, [
          (required.afi >>> 8) & 255,
          required.afi & 255,
          0,
          required.safi & 255,
        ]),
      );
    }
  }
  return { ok: true, options: negotiate(open, local, peerAs, ibgp) };
}

function negotiate(
  open: ReceivedOpen,
  local: LocalOpenSettings,
  peerAs: number,
  ibgp: boolean,
): NegotiatedSessionOptions {
  const has = (kind: Capability['kind']): boolean => open.capabilities.some((c) => c.kind === kind);
  const localFamilies = local.families.length > 0 ? local.families : [IPV4_UNICAST];
  const peerFamilies = familiesOf(open.capabilities);
  const families = localFamilies.filter((f) => peerFamilies.some((p) => sameFamily(p, f)));
  // §4.2: "the calculated value … MUST be the smaller of its configured Hold Time and the Hold Time
  // received in the OPEN message."
  const holdTime = Math.min(local.holdTime, open.holdTime);
  const configuredKeepalive = local.keepaliveTime ?? 0;
  const third = Math.floor(holdTime / 3);
  const keepaliveTime =
    holdTime === 0 ? 0 : Math.max(1, configuredKeepalive > 0 ? Math.min(configuredKeepalive, third) : third);
  const extendedMessage = local.extendedMessage && has('extendedMessage');
  const peerGr = open.capabilities.find((c) => c.kind === 'gracefulRestart');
  const gracefulRestart =
    local.gracefulRestart && peerGr && peerGr.kind === 'gracefulRestart'
      ? {
          restartTime: peerGr.restartTime,
          restartState: peerGr.restartState,
          notification: peerGr.notification && local.gracefulRestart.notification,
          families: peerGr.families.filter((f) => families.some((n) => sameFamily(n, f))),
        }
      : null;
  const peerAddPath = open.capabilities.flatMap((c) => (c.kind === 'addPath' ? c.families : []));
  const addPath = (local.addPath ?? []).flatMap((mine) => {
    if (!families.some((f) => sameFamily(f, mine))) return [];
    const theirs = peerAddPath.find((p) => sameFamily(p, mine));
    if (!theirs) return [];
    // RFC 7911 §4: we send when we can send and the peer can receive; we receive when we can receive
    // and the peer can send.
    const send = mine.send && (theirs.direction & 1) !== 0;
    const receive = mine.receive && (theirs.direction & 2) !== 0;
    return send || receive ? [{ afi: mine.afi, safi: mine.safi, send, receive }] : [];
  });
  return {
    localAs: local.asNumber,
    peerAs,
    ibgp,
    localRouterId: local.routerId,
    peerRouterId: open.bgpIdentifier,
    holdTime,
    keepaliveTime,
    fourOctetAs: has('fourOctetAs'),
    families,
    routeRefresh: local.routeRefresh && has('routeRefresh'),
    enhancedRouteRefresh: local.enhancedRouteRefresh && has('enhancedRouteRefresh'),
    extendedMessage,
    maxMessageLength: extendedMessage ? 65535 : 4096,
    gracefulRestart,
    addPath,
  };
}

/**
 * The wire context for decoding what the peer sends (or, with 'send', encoding what we send), shaped
 * like the codec's BgpCodecContext: 4-octet AS, the families carrying ADD-PATH path identifiers in that
 * direction, and extended messages.
 */
export function codecContextOf(
  options: NegotiatedSessionOptions,
  direction: 'receive' | 'send',
): { readonly as4: boolean; readonly addPath: readonly AddressFamily[]; readonly extendedMessage: boolean } {
  return {
    as4: options.fourOctetAs,
    addPath: options.addPath
      .filter((f) => (direction === 'receive' ? f.receive : f.send))
      .map((f) => ({ afi: f.afi, safi: f.safi })),
    extendedMessage: options.extendedMessage,
  };
}
