// OPEN checking (RFC 4271 §6.2, RFC 6793, RFC 6286, RFC 5492) and capability negotiation.
import { describe, expect, it } from 'vitest';
import {
  AS_TRANS,
  type Capability,
  checkOpen,
  codecContextOf,
  familyFromName,
  familyName,
  type LocalOpenSettings,
  localCapabilities,
  openMyAutonomousSystem,
  parseRouterId,
  type ReceivedOpen,
  routerIdProblem,
} from '../../src/fsm/index.js';

const v4 = { afi: 1, safi: 1 };
const v6 = { afi: 2, safi: 1 };

const local: LocalOpenSettings = {
  asNumber: 64512,
  routerId: '10.0.0.1',
  holdTime: 90,
  families: [v4, v6],
  routeRefresh: true,
  enhancedRouteRefresh: true,
  extendedMessage: true,
  gracefulRestart: { restartTime: 120, restartState: false, notification: true, forwardingPreserved: [v4] },
  addPath: [{ ...v4, send: true, receive: true }],
};

function open(overrides: Partial<ReceivedOpen> = {}): ReceivedOpen {
  return {
    version: 4,
    myAutonomousSystem: 64513,
    holdTime: 180,
    bgpIdentifier: '10.0.0.2',
    capabilities: [
      { kind: 'multiprotocol', family: v4 },
      { kind: 'multiprotocol', family: v6 },
      { kind: 'fourOctetAs', asNumber: 64513 },
    ],
    ...overrides,
  };
}

function rejected(result: ReturnType<typeof checkOpen>): {
  code: number;
  subcode: number;
  data?: number[];
  reason: string;
} {
  if (result.ok) throw new Error('expected the OPEN to be rejected');
  return {
    code: result.error.code,
    subcode: result.error.subcode,
    ...(result.error.data ? { data: [...result.error.data] } : {}),
    reason: result.reason,
  };
}

describe('checkOpen errors', () => {
  it('2/1 Unsupported Version Number carries our version 4', () => {
    expect(rejected(checkOpen(open({ version: 3 }), local, { asNumber: 64513 }))).toEqual({
      code: 2,
      subcode: 1,
      data: [0, 4],
      reason: 'peer speaks BGP version 3, we support 4',
    });
  });

  it('2/2 Bad Peer AS on a mismatch', () => {
    const r = rejected(checkOpen(open(), local, { asNumber: 65000 }));
    expect([r.code, r.subcode]).toEqual([2, 2]);
    expect(r.reason).toBe('peer announced AS 64513, configured AS 65000');
  });

  it('2/2 for AS_TRANS without the 4-octet capability when a 4-octet AS is configured', () => {
    const r = rejected(
      checkOpen(open({ myAutonomousSystem: AS_TRANS, capabilities: [] }), local, { asNumber: 4200000001 }),
    );
    expect([r.code, r.subcode]).toEqual([2, 2]);
    expect(r.reason).toContain('AS_TRANS without the 4-octet AS capability');
  });

  it('accepts a 4-octet peer AS via AS_TRANS + capability (RFC 6793)', () => {
    const result = checkOpen(
      open({ myAutonomousSystem: AS_TRANS, capabilities: [{ kind: 'fourOctetAs', asNumber: 4200000001 }] }),
      local,
      { asNumber: 4200000001 },
    );
    expect(result.ok && result.options.peerAs).toBe(4200000001);
  });

  it('2/2 when a 4-octet AS is not signalled with AS_TRANS', () => {
    const r = rejected(
      checkOpen(
        open({ myAutonomousSystem: 1, capabilities: [{ kind: 'fourOctetAs', asNumber: 4200000001 }] }),
        local,
        {
          asNumber: 4200000001,
        },
      ),
    );
    expect([r.code, r.subcode]).toEqual([2, 2]);
  });

  it('2/3 Bad BGP Identifier: zero, or equal to ours on iBGP (RFC 6286)', () => {
    expect(rejected(checkOpen(open({ bgpIdentifier: '0.0.0.0' }), local, { asNumber: 64513 })).subcode).toBe(
      3,
    );
    const ibgp = open({
      myAutonomousSystem: 64512,
      capabilities: [{ kind: 'fourOctetAs', asNumber: 64512 }],
    });
    expect(
      rejected(checkOpen({ ...ibgp, bgpIdentifier: '10.0.0.1' }, local, { asNumber: 64512 })).subcode,
    ).toBe(3);
    // eBGP with the same identifier is allowed (RFC 6286 §2.2).
    expect(checkOpen(open({ bgpIdentifier: '10.0.0.1' }), local, { asNumber: 64513 }).ok).toBe(true);
  });

  it('2/3 says why the identifier is bad', () => {
    const reasonFor = (bgpIdentifier: string) =>
      rejected(checkOpen(open({ bgpIdentifier }), local, { asNumber: 64513 }));
    expect(reasonFor('0.0.0.0')).toMatchObject({
      subcode: 3,
      reason: 'peer BGP identifier 0.0.0.0 is zero (a BGP identifier is non-zero, RFC 6286)',
    });
    expect(reasonFor('10.0.0.256')).toMatchObject({
      subcode: 3,
      reason: 'peer BGP identifier 10.0.0.256 is not a dotted quad: octet 4 is 256, more than 255',
    });
    const ibgp = open({
      myAutonomousSystem: 64512,
      capabilities: [{ kind: 'fourOctetAs', asNumber: 64512 }],
    });
    expect(
      rejected(checkOpen({ ...ibgp, bgpIdentifier: '10.0.0.1' }, local, { asNumber: 64512 })),
    ).toMatchObject({
      subcode: 3,
      reason: 'iBGP peer uses our own BGP identifier 10.0.0.1',
    });
  });

  it.each([1, 2])('2/6 Unacceptable Hold Time for %i s', (holdTime) => {
    const r = rejected(checkOpen(open({ holdTime }), local, { asNumber: 64513 }));
    expect([r.code, r.subcode, r.reason]).toEqual([2, 6, `peer hold time ${holdTime} s (must be 0 or >= 3)`]);
  });

  it('2/7 with the capability in the data when a required 4-octet AS capability is missing', () => {
    const r = rejected(
      checkOpen(
        open({ capabilities: [] }),
        { ...local, require: { fourOctetAs: true } },
        { asNumber: 64513 },
      ),
    );
    expect(r).toEqual({
      code: 2,
      subcode: 7,
      data: [65, 4, 0, 0, 0xfc, 0x00],
      reason: 'peer lacks the required 4-octet AS capability',
    });
  });

  it('2/7 with the MP capability when a required family is missing', () => {
    const r = rejected(
      checkOpen(
        open({ capabilities: [{ kind: 'multiprotocol', family: v4 }] }),
        { ...local, require: { families: [v6] } },
        {
          asNumber: 64513,
        },
      ),
    );
    expect(r).toEqual({
      code: 2,
      subcode: 7,
      data: [1, 4, 0, 2, 0, 1],
      reason: 'peer lacks the required family ipv6-unicast',
    });
  });
});

const { gracefulRestart: _unused, ...withoutGracefulRestart } = local;

describe('negotiation', () => {
  const peer = { asNumber: 64513 };
  it('hold time is the minimum; keepalive a third of it', () => {
    const result = checkOpen(open({ holdTime: 30 }), local, peer);
    expect(result.ok && [result.options.holdTime, result.options.keepaliveTime]).toEqual([30, 10]);
    const zero = checkOpen(open({ holdTime: 0 }), local, peer);
    expect(zero.ok && [zero.options.holdTime, zero.options.keepaliveTime]).toEqual([0, 0]);
  });

  it('families are the intersection; no MP capability means implicit IPv4 unicast', () => {
    const both = checkOpen(open(), local, peer);
    expect(both.ok && both.options.families).toEqual([v4, v6]);
    const implicit = checkOpen(open({ capabilities: [] }), local, peer);
    expect(implicit.ok && implicit.options.families).toEqual([v4]);
    const v6only = checkOpen(open({ capabilities: [{ kind: 'multiprotocol', family: v6 }] }), local, peer);
    expect(v6only.ok && v6only.options.families).toEqual([v6]);
  });

  it('route refresh, enhanced route refresh, extended message, 4-octet AS need both sides', () => {
    const caps: Capability[] = [
      { kind: 'routeRefresh' },
      { kind: 'extendedMessage' },
      { kind: 'fourOctetAs', asNumber: 64513 },
    ];
    const result = checkOpen(open({ capabilities: caps }), { ...local, extendedMessage: true }, peer);
    if (!result.ok) throw new Error(result.reason);
    expect(result.options).toMatchObject({
      routeRefresh: true,
      enhancedRouteRefresh: false,
      extendedMessage: true,
      maxMessageLength: 65535,
      fourOctetAs: true,
    });
    const notOurs = checkOpen(
      open({ capabilities: caps }),
      { ...local, extendedMessage: false, routeRefresh: false },
      peer,
    );
    expect(
      notOurs.ok && [
        notOurs.options.extendedMessage,
        notOurs.options.maxMessageLength,
        notOurs.options.routeRefresh,
      ],
    ).toEqual([false, 4096, false]);
    const no4 = checkOpen(open({ capabilities: [] }), local, peer);
    expect(no4.ok && no4.options.fourOctetAs).toBe(false);
  });

  it("graceful restart takes the peer's restart time, flags and per-family forwarding bits", () => {
    const gr: Capability = {
      kind: 'gracefulRestart',
      restartState: true,
      notification: true,
      restartTime: 60,
      families: [
        { ...v4, forwardingPreserved: true },
        { afi: 1, safi: 2, forwardingPreserved: true },
      ],
    };
    const result = checkOpen(open({ capabilities: [...open().capabilities, gr] }), local, peer);
    expect(result.ok && result.options.gracefulRestart).toEqual({
      restartTime: 60,
      restartState: true,
      notification: true,
      families: [{ ...v4, forwardingPreserved: true }],
    });
    const withoutOurs = checkOpen(
      open({ capabilities: [...open().capabilities, gr] }),
      withoutGracefulRestart,
      peer,
    );
    expect(withoutOurs.ok && withoutOurs.options.gracefulRestart).toBeNull();
  });

  it.each([
    [1, { send: true, receive: false }], // peer can receive: we send
    [2, { send: false, receive: true }], // peer can send: we receive
    [3, { send: true, receive: true }],
  ] as const)('ADD-PATH with peer direction %i', (direction, expected) => {
    const caps: Capability[] = [
      ...open().capabilities,
      { kind: 'addPath', families: [{ ...v4, direction }] },
    ];
    const result = checkOpen(open({ capabilities: caps }), local, peer);
    expect(result.ok && result.options.addPath).toEqual([{ ...v4, ...expected }]);
  });

  it('gives the codec context per direction', () => {
    const caps: Capability[] = [
      ...open().capabilities,
      { kind: 'addPath', families: [{ ...v4, direction: 2 }] },
    ];
    const result = checkOpen(open({ capabilities: caps }), local, peer);
    if (!result.ok) throw new Error(result.reason);
    expect(codecContextOf(result.options, 'receive')).toEqual({
      as4: true,
      addPath: [v4],
      extendedMessage: false,
    });
    expect(codecContextOf(result.options, 'send')).toEqual({
      as4: true,
      addPath: [],
      extendedMessage: false,
    });
  });

  it('ADD-PATH is empty when the peer does not advertise it', () => {
    const result = checkOpen(open(), local, peer);
    expect(result.ok && result.options.addPath).toEqual([]);
  });
});

describe('local capabilities', () => {
  it('advertises MP per family, refresh, extended message, 4-octet AS, GR and ADD-PATH', () => {
    expect(localCapabilities(local)).toEqual([
      { kind: 'multiprotocol', family: v4 },
      { kind: 'multiprotocol', family: v6 },
      { kind: 'routeRefresh' },
      { kind: 'enhancedRouteRefresh' },
      { kind: 'extendedMessage' },
      { kind: 'fourOctetAs', asNumber: 64512 },
      {
        kind: 'gracefulRestart',
        restartState: false,
        notification: true,
        restartTime: 120,
        families: [
          { ...v4, forwardingPreserved: true },
          { ...v6, forwardingPreserved: false },
        ],
      },
      { kind: 'addPath', families: [{ ...v4, direction: 3 }] },
    ]);
  });

  it('puts AS_TRANS in My AS for a 4-octet AS', () => {
    expect(openMyAutonomousSystem(4200000001)).toBe(AS_TRANS);
    expect(openMyAutonomousSystem(64512)).toBe(64512);
  });

  it('names families both ways', () => {
    expect(familyName(v6)).toBe('ipv6-unicast');
    expect(familyName({ afi: 99, safi: 7 })).toBe('afi-99-safi-7');
    expect(familyFromName('ipv4-unicast')).toEqual(v4);
    expect(familyFromName('afi-99-safi-7')).toEqual({ afi: 99, safi: 7 });
    expect(familyFromName('ipv5')).toBeNull();
  });
});

describe('parseRouterId / routerIdProblem (@caracal/ip dotted quads)', () => {
  it.each([
    ['10.0.0.1', 0x0a000001],
    ['255.255.255.255', 0xffffffff],
    ['192.168.1.254', 0xc0a801fe],
    ['0.0.0.0', 0],
  ])('%s is %i', (text, value) => {
    expect(parseRouterId(text)).toBe(value);
  });

  it.each([
    [
      '010.0.0.1',
      'is not a dotted quad: octet 1 "010" has a leading zero (ambiguous: inet_aton reads it as octal)',
    ],
    [
      '10.0.00.1',
      'is not a dotted quad: octet 3 "00" has a leading zero (ambiguous: inet_aton reads it as octal)',
    ],
    ['10.0.0.256', 'is not a dotted quad: octet 4 is 256, more than 255'],
    ['10.0.0', 'is not a dotted quad: expected 4 dotted octets, got 3'],
    ['10.0.0.1.2', 'is not a dotted quad: expected 4 dotted octets, got 5'],
    ['10.0..1', 'is not a dotted quad: octet 3 is empty'],
    ['10.0.0.x', 'is not a dotted quad: octet 4 "x" is not a decimal number'],
    [' 10.0.0.1', 'is not a dotted quad: octet 1 " 10" is not a decimal number'],
    ['', 'is not a dotted quad: the address is empty'],
    ['::1', 'is not a dotted quad: expected 4 dotted octets, got 1'],
    ['0.0.0.0', 'is zero (a BGP identifier is non-zero, RFC 6286)'],
  ])('%s %s', (text, problem) => {
    expect(routerIdProblem(text)).toBe(problem);
    if (text !== '0.0.0.0') expect(parseRouterId(text)).toBeNull();
  });

  it('finds no problem with a non-zero dotted quad', () => {
    expect(routerIdProblem('10.255.0.1')).toBeUndefined();
    expect(routerIdProblem('0.0.0.1')).toBeUndefined();
  });
});
