// Unit tests of the hand-written rtnetlink route requests: for unicast, scope-link, blackhole, gateway,
// onlink, metric, large-table, IPv6 and ECMP routes, the bytes we send decode (with the `netlink`
// package's own parser) to exactly the request the package builds from the rtmsg/attributes the
// single-request path used to pass it; the quick IPv4 parser agrees with parseCidr on any input; bad
// input is refused with the field named; acknowledgements decode to their sequence number and errno.
import fc from 'fast-check';
import { AttrStream, formatMessage, rt } from 'netlink';
import { describe, expect, it } from 'vitest';
import { addressToBytes, parseCidr } from '../src/address.js';
import {
  decodeRouteMessage,
  encodeRouteRequest,
  forEachMessage,
  type NetlinkReply,
  NLMSG_ERROR,
  parseReplies,
} from '../src/route-message.js';
import { KernelError, type KernelRoute } from '../src/routes.js';

const IFINDEX: Record<string, number> = { eth0: 2, cara1: 7 };
const interfaceIndex = (name: string) => {
  const index = IFINDEX[name];
  if (index === undefined) throw new KernelError(`no interface named '${name}'`, 'ENODEV');
  return index;
};

/** The request the `netlink` package builds from the data/attrs the old single-request path gave it. */
function packageRequest(kind: 'replace' | 'delete', route: KernelRoute): Buffer {
  const cidr = parseCidr(route.dst);
  const data: rt.Route = {
    family: cidr.family === 4 ? 2 : 10,
    dstLen: cidr.length,
    table: route.table < 256 ? route.table : 252,
    protocol: route.protocol as rt.RouteProtocol,
    scope: ({ universe: 'UNIVERSE', link: 'LINK', host: 'HOST' } as const)[route.scope],
    type: (
      {
        unicast: 'UNICAST',
        blackhole: 'BLACKHOLE',
        unreachable: 'UNREACHABLE',
        prohibit: 'PROHIBIT',
      } as const
    )[route.type],
  };
  const attrs: rt.RouteAttrs = { dst: Buffer.from(addressToBytes(cidr.address)), table: route.table };
  if (route.metric !== undefined) attrs.priority = route.metric;
  if (kind === 'replace') {
    if (route.gateway) attrs.gateway = Buffer.from(addressToBytes(route.gateway));
    if (route.device) attrs.oif = interfaceIndex(route.device);
    if (route.onlink) data.flags = { __unknown: 4 };
  }
  const stream = new AttrStream();
  rt.formatRouteMessage({ kind: 'route', data, attrs }, stream);
  const flags = kind === 'replace' ? 0x1 | 0x4 | 0x400 | 0x100 : 0x1 | 0x4;
  return Buffer.concat(
    formatMessage({ type: kind === 'replace' ? 24 : 25, flags, seq: 0, port: 0, data: stream.bufs }),
  );
}

function decode(bytes: Buffer) {
  return {
    length: bytes.readUInt32LE(0),
    type: bytes.readUInt16LE(4),
    flags: bytes.readUInt16LE(6),
    message: rt.parseRouteMessage(bytes.subarray(16, bytes.readUInt32LE(0))),
  };
}

const base = { table: 254, protocol: 96 } as const;
const ROUTES: KernelRoute[] = [
  { ...base, dst: '10.65.0.1/32', type: 'unicast', scope: 'link', device: 'cara1' },
  { ...base, dst: '10.65.0.0/26', type: 'blackhole', scope: 'universe' },
  { ...base, dst: '10.66.0.0/26', type: 'unicast', scope: 'universe', gateway: '192.0.2.2', device: 'eth0' },
  {
    ...base,
    dst: '10.68.0.0/26',
    type: 'unicast',
    scope: 'universe',
    gateway: '198.51.100.9',
    device: 'eth0',
    onlink: true,
  },
  { ...base, dst: '0.0.0.0/0', type: 'unreachable', scope: 'universe', metric: 4242 },
  { ...base, dst: '10.70.0.0/16', type: 'prohibit', scope: 'universe', table: 1000 },
  { ...base, dst: '2001:db8:1::/48', type: 'unicast', scope: 'universe', gateway: 'fe80::1', device: 'eth0' },
  { ...base, dst: '192.168.3.4/32', type: 'unicast', scope: 'host', device: 'eth0', metric: 0 },
];

describe('encodeRouteRequest', () => {
  for (const route of ROUTES) {
    for (const kind of ['replace', 'delete'] as const) {
      it(`${kind} ${route.dst} (${route.type}) is the request the netlink package builds`, () => {
        const ours = encodeRouteRequest(kind, route, interfaceIndex, 0);
        expect(decode(ours)).toEqual(decode(packageRequest(kind, route)));
        expect(ours.length % 4).toBe(0);
      });
    }
  }

  it('encodes ECMP next hops as RTA_MULTIPATH (flags, weight-1, ifindex, gateway)', () => {
    const route: KernelRoute = {
      ...base,
      dst: '10.67.0.0/26',
      type: 'unicast',
      scope: 'universe',
      nextHops: [
        { gateway: '192.0.2.2', device: 'eth0', weight: 3 },
        { gateway: '192.0.2.3', onlink: true },
      ],
    };
    const multipath = decode(encodeRouteRequest('replace', route, interfaceIndex, 0)).message.attrs
      .multipath!;
    expect([...multipath]).toEqual([
      16,
      0,
      0,
      2,
      2,
      0,
      0,
      0,
      8,
      0,
      5,
      0,
      192,
      0,
      2,
      2, // len 16, flags 0, hops 2 (weight 3), ifindex 2
      16,
      0,
      4,
      0,
      0,
      0,
      0,
      0,
      8,
      0,
      5,
      0,
      192,
      0,
      2,
      3, // onlink, weight 1, no device
    ]);
  });

  it('agrees with parseCidr on any IPv4-looking destination (quick path or the precise error)', () => {
    const octet = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.constantFrom('01', '007', '', 'x'),
    );
    const text = fc
      .tuple(
        octet,
        octet,
        octet,
        octet,
        fc.oneof(fc.integer({ min: 0, max: 40 }).map(String), fc.constantFrom('', '08', '-1')),
      )
      .map(([a, b, c, d, len]) => `${a}.${b}.${c}.${d}/${len}`);
    fc.assert(
      fc.property(text, (dst) => {
        const route: KernelRoute = { ...base, dst, type: 'blackhole', scope: 'universe' };
        let expected: unknown;
        try {
          expected = decode(packageRequest('replace', route));
        } catch (error) {
          expected = (error as Error).message;
        }
        let actual: unknown;
        try {
          actual = decode(encodeRouteRequest('replace', route, interfaceIndex, 0));
        } catch (error) {
          actual = (error as Error).message;
        }
        expect(actual).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('names what is wrong with a route it cannot encode', () => {
    const route: KernelRoute = {
      ...base,
      dst: '10.0.0.0/24',
      type: 'unicast',
      scope: 'link',
      device: 'nosuch0',
    };
    expect(() => encodeRouteRequest('replace', route, interfaceIndex, 0)).toThrow(
      "no interface named 'nosuch0'",
    );
    // A delete is keyed without its next hops, so the missing interface does not matter.
    expect(() => encodeRouteRequest('delete', route, interfaceIndex, 0)).not.toThrow();
    expect(() =>
      encodeRouteRequest('replace', { ...route, device: 'eth0', protocol: 300 }, interfaceIndex, 0),
    ).toThrow('route 10.0.0.0/24: protocol must be an integer 0..255, got 300');
    expect(() =>
      encodeRouteRequest('replace', { ...route, device: 'eth0', dst: '10.0.0.1/24' }, interfaceIndex, 0),
    ).toThrow('"10.0.0.1/24": host bits set beyond /24 (the network is 10.0.0.0/24)');
    expect(() =>
      encodeRouteRequest(
        'replace',
        {
          ...base,
          dst: '10.0.0.0/24',
          type: 'unicast',
          scope: 'universe',
          nextHops: [{ gateway: '1.1.1.1', weight: 0 }],
        },
        interfaceIndex,
        0,
      ),
    ).toThrow('nextHops[0].weight must be an integer 1..256, got 0');
  });
});

describe('decodeRouteMessage', () => {
  for (const route of ROUTES) {
    it(`reads back ${route.dst} (${route.type}) as the netlink package parses it`, () => {
      const body = encodeRouteRequest('replace', route, interfaceIndex, 0).subarray(16);
      const fields = decodeRouteMessage(body)!;
      const parsed = rt.parseRouteMessage(body);
      expect(fields.family).toBe(parsed.data.family);
      expect(fields.dstLen).toBe(parsed.data.dstLen);
      expect(fields.table).toBe(parsed.attrs.table);
      expect(fields.protocol).toBe(route.protocol);
      expect(fields.type).toBe(rt.RouteType[parsed.data.type as keyof typeof rt.RouteType]);
      expect(fields.scope).toBe(rt.RouteScope[parsed.data.scope as keyof typeof rt.RouteScope]);
      expect(fields.dst && [...fields.dst]).toEqual(parsed.attrs.dst && [...parsed.attrs.dst]);
      expect(fields.gateway && [...fields.gateway]).toEqual(
        parsed.attrs.gateway && [...parsed.attrs.gateway],
      );
      expect(fields.oif).toBe(parsed.attrs.oif);
      expect(fields.priority).toBe(parsed.attrs.priority);
      expect(fields.flags & 4).toBe(route.onlink ? 4 : 0);
    });
  }

  it('ignores a truncated attribute and refuses a body shorter than an rtmsg', () => {
    const body = encodeRouteRequest('replace', ROUTES[2]!, interfaceIndex, 0).subarray(16);
    expect(decodeRouteMessage(body.subarray(0, 11))).toBeUndefined();
    expect(decodeRouteMessage(body.subarray(0, body.length - 2))?.oif).toBeUndefined();
  });
});

describe('forEachMessage', () => {
  it('yields each complete message of a datagram, aligned, and stops at a truncated one', () => {
    const message = (type: number, payload: number[]) => {
      const length = 16 + payload.length;
      const b = Buffer.alloc((length + 3) & ~3);
      b.writeUInt32LE(length, 0);
      b.writeUInt16LE(type, 4);
      b.set(payload, 16);
      return b;
    };
    const seen: [number, number[]][] = [];
    const datagram = Buffer.concat([message(24, [1, 2, 3]), message(16, [4]), message(25, [5, 6, 7, 8])]);
    forEachMessage(datagram.subarray(0, datagram.length - 1), (type, body) => seen.push([type, [...body]]));
    expect(seen).toEqual([
      [24, [1, 2, 3]],
      [16, [4]],
    ]);
  });
});

describe('parseReplies', () => {
  it('reads the sequence number and errno of each acknowledgement in a datagram, truncated or not', () => {
    const ack = (seq: number, errno: number, echoed: number) => {
      const length = 16 + 4 + 16 + echoed;
      const b = Buffer.alloc(length);
      b.writeUInt32LE(length, 0);
      b.writeUInt16LE(NLMSG_ERROR, 4);
      b.writeUInt32LE(seq, 8);
      b.writeInt32LE(-errno, 16);
      return b;
    };
    const replies: NetlinkReply[] = [];
    const datagram = Buffer.concat([ack(7, 0, 0), ack(8, 101, 40)]);
    parseReplies(datagram, (r) => replies.push(r));
    // A truncated refusal (only its first 24 bytes arrived) still names its request and errno.
    parseReplies(ack(9, 19, 200).subarray(0, 24), (r) => replies.push(r));
    expect(replies).toEqual([
      { type: NLMSG_ERROR, seq: 7, errno: 0 },
      { type: NLMSG_ERROR, seq: 8, errno: 101 },
      { type: NLMSG_ERROR, seq: 9, errno: 19 },
    ]);
  });
});
