// BGP capabilities (RFC 5492) carried in OPEN optional parameter 2: one type per capability with decode /
// encode / encodedLength, a code → decoder table, and Unknown keeping the raw bytes. A known capability whose
// bytes would not re-encode identically (odd length, reserved bits set) is kept as Unknown, so every OPEN
// round-trips byte for byte.

export type AddPathMode = 'receive' | 'send' | 'both';

export type BgpCapability =
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'route-refresh'; readonly code: 2 | 128 }
  | { readonly kind: 'enhanced-route-refresh' }
  | { readonly kind: 'four-octet-as'; readonly asn: number }
  | {
      readonly kind: 'graceful-restart';
      readonly restarting: boolean;
      readonly notification: boolean;
      readonly restartTime: number;
      readonly families: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly forwarding: boolean;
      }[];
    }
  | {
      readonly kind: 'add-path';
      readonly families: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly mode: AddPathMode;
      }[];
    }
  | { readonly kind: 'extended-message' }
  | {
      readonly kind: 'extended-next-hop';
      readonly families: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly nextHopAfi: number;
      }[];
    }
  | { readonly kind: 'fqdn'; readonly hostname: string; readonly domain: string }
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Uint8Array };

export const BgpCapabilityCodes = {
  multiprotocol: 1,
  routeRefresh: 2,
  extendedNextHop: 5,
  extendedMessage: 6,
  gracefulRestart: 64,
  fourOctetAs: 65,
  addPath: 69,
  enhancedRouteRefresh: 70,
  fqdn: 73,
  routeRefreshCisco: 128,
} as const;

const ADD_PATH_MODES: readonly AddPathMode[] = ['receive', 'send', 'both'];
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}
function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

type CapabilityDecoder = (value: Uint8Array, code: number) => BgpCapability | undefined;

const capabilityDecoders = new Map<number, CapabilityDecoder>([
  [1, (v) => (v.length === 4 ? { kind: 'multiprotocol', afi: u16(v, 0), safi: v[3]! } : undefined)],
  [2, (v) => (v.length === 0 ? { kind: 'route-refresh', code: 2 } : undefined)],
  [128, (v) => (v.length === 0 ? { kind: 'route-refresh', code: 128 } : undefined)],
  [70, (v) => (v.length === 0 ? { kind: 'enhanced-route-refresh' } : undefined)],
  [6, (v) => (v.length === 0 ? { kind: 'extended-message' } : undefined)],
  [65, (v) => (v.length === 4 ? { kind: 'four-octet-as', asn: u32(v, 0) } : undefined)],
  [
    64,
    (v) => {
      if (v.length < 2 || (v.length - 2) % 4 !== 0) return undefined;
      const families = [];
      for (let at = 2; at < v.length; at += 4)
        families.push({ afi: u16(v, at), safi: v[at + 2]!, forwarding: (v[at + 3]! & 0x80) !== 0 });
      return {
        kind: 'graceful-restart',
        restarting: (v[0]! & 0x80) !== 0,
        notification: (v[0]! & 0x40) !== 0,
        restartTime: u16(v, 0) & 0x0fff,
        families,
      };
    },
  ],
  [
    69,
    (v) => {
      if (v.length % 4 !== 0) return undefined;
      const families = [];
      for (let at = 0; at < v.length; at += 4) {
        const mode = ADD_PATH_MODES[v[at + 3]! - 1];
        if (mode === undefined) return undefined;
        families.push({ afi: u16(v, at), safi: v[at + 2]!, mode });
      }
      return { kind: 'add-path', families };
    },
  ],
  [
    5,
    (v) => {
      if (v.length % 6 !== 0) return undefined;
      const families = [];
      for (let at = 0; at < v.length; at += 6)
        families.push({ afi: u16(v, at), safi: u16(v, at + 2), nextHopAfi: u16(v, at + 4) });
      return { kind: 'extended-next-hop', families };
    },
  ],
  [
    73,
    (v) => {
      const hostLength = v[0];
      if (hostLength === undefined || 1 + hostLength >= v.length) return undefined;
      const domainLength = v[1 + hostLength]!;
      if (2 + hostLength + domainLength !== v.length) return undefined;
      try {
        return {
          kind: 'fqdn',
          hostname: utf8Decoder.decode(v.subarray(1, 1 + hostLength)),
          domain: utf8Decoder.decode(v.subarray(2 + hostLength)),
        };
      } catch {
        return undefined;
      }
    },
  ],
]);

export function capabilityCode(capability: BgpCapability): number {
  switch (capability.kind) {
    case 'multiprotocol':
      return 1;
    case 'route-refresh':
      return capability.code;
    case 'enhanced-route-refresh':
      return 70;
    case 'four-octet-as':
      return 65;
    case 'graceful-restart':
      return 64;
    case 'add-path':
      return 69;
    case 'extended-message':
      return 6;
    case 'extended-next-hop':
      return 5;
    case 'fqdn':
      return 73;
    case 'unknown':
      return capability.code;
  }
}

/** The capability's value (without code and length octets). */
export function encodeCapabilityValue(capability: BgpCapability): Uint8Array {
  switch (capability.kind) {
    case 'multiprotocol':
      return Uint8Array.of(capability.afi >>> 8, capability.afi & 0xff, 0, capability.safi);
    case 'route-refresh':
    case 'enhanced-route-refresh':
    case 'extended-message':
      return new Uint8Array(0);
    case 'four-octet-as': {
      const a = capability.asn;
      return Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
    }
    case 'graceful-restart': {
      const out = new Uint8Array(2 + 4 * capability.families.length);
      const head = (capability.restarting ? 0x8000 : 0) | (capability.notification ? 0x4000 : 0);
      const word = head | (capability.restartTime & 0x0fff);
      out[0] = word >>> 8;
      out[1] = word & 0xff;
      capability.families.forEach((family, i) => {
        out.set([family.afi >>> 8, family.afi & 0xff, family.safi, family.forwarding ? 0x80 : 0], 2 + i * 4);
      });
      return out;
    }
    case 'add-path': {
      const out = new Uint8Array(4 * capability.families.length);
      capability.families.forEach((family, i) => {
        out.set(
          [family.afi >>> 8, family.afi & 0xff, family.safi, ADD_PATH_MODES.indexOf(family.mode) + 1],
          i * 4,
        );
      });
      return out;
    }
    case 'extended-next-hop': {
      const out = new Uint8Array(6 * capability.families.length);
      capability.families.forEach((f, i) => {
        out.set(
          [f.afi >>> 8, f.afi & 0xff, f.safi >>> 8, f.safi & 0xff, f.nextHopAfi >>> 8, f.nextHopAfi & 0xff],
          i * 6,
        );
      });
      return out;
    }
    case 'fqdn': {
      const host = utf8Encoder.encode(capability.hostname);
      const domain = utf8Encoder.encode(capability.domain);
      return Uint8Array.of(host.length, ...host, domain.length, ...domain);
    }
    case 'unknown':
      return capability.value;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Decodes one capability value; never throws (unparseable known capabilities become Unknown). */
export function decodeCapability(code: number, value: Uint8Array): BgpCapability {
  const decoder = capabilityDecoders.get(code);
  const decoded = decoder?.(value, code);
  if (decoded !== undefined && sameBytes(encodeCapabilityValue(decoded), value)) return decoded;
  return { kind: 'unknown', code, value };
}

export function capabilityEncodedLength(capability: BgpCapability): number {
  return 2 + encodeCapabilityValue(capability).length;
}
