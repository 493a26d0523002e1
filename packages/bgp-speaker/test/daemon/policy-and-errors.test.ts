// The daemon's import/export policy, ROUTE-REFRESH after a reload, maximum-prefix teardown, and
// RFC 7606: a treat-as-withdraw UPDATE keeps the session, a structurally broken one resets it.
import { describe, expect, it } from 'vitest';
import { encodeBgpMessage, formatPrefix, makeUpdate, parseIpv4, parsePrefix } from '../../src/codec/index.js';
import { endOfRibFamily } from '../../src/daemon/index.js';
import {
  ACCEPT_ALL,
  config,
  established,
  eventually,
  node,
  peerRow,
  rawPeersStoppedAfterEach,
  speakerYaml,
  startSpeaker,
  startSpeakers,
} from './harness.js';
import { RawPeer } from './raw-peer.js';

const raws = rawPeersStoppedAfterEach();

const ORIGINATE_THREE =
  'originate:\n  - { prefix: 10.1.0.0/24 }\n  - { prefix: 10.2.0.0/24 }\n  - { prefix: 10.3.0.0/24 }';

describe('Speaker: policy', () => {
  it('applies import and export filters, counts received vs accepted, and re-evaluates both on reload', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const policy = [
      'policy:',
      '  filters:',
      '    not-ten-two:',
      '      - { match: { prefix: [{ prefix: 10.2.0.0/24 }] }, then: { action: reject } }',
      '      - { match: {}, then: { action: accept } }',
      '    not-ten-three:',
      '      - { match: { prefix: [{ prefix: 10.3.0.0/24 }] }, then: { action: reject } }',
      '      - { match: {}, then: { setLocalPref: 250, addCommunity: ["65002:99"], action: accept } }',
    ].join('\n');
    const aYaml = (exportFilter: string) =>
      speakerYaml(
        a,
        [{ node: b, extra: `import: { action: accept }\nexport: ${exportFilter}` }],
        `${ORIGINATE_THREE}\n${policy}`,
      );
    const bYaml = (importFilter: string) =>
      speakerYaml(b, [{ node: a, extra: `import: ${importFilter}\nexport: { action: accept }` }], policy);
    const sa = await startSpeaker(a, aYaml('not-ten-two'));
    const sb = await startSpeaker(b, bYaml('not-ten-three'));
    await established(sb, 'a');
    await eventually('b has 10.1', () => sb.speaker.routes({ prefix: '10.1.0.0/24' })[0]);
    // 10.2 never left a (export); 10.3 arrived at b but was rejected on import.
    await eventually('b counted 2 received', () => peerRow(sb, 'a').prefixes.received === 2);
    expect(peerRow(sb, 'a').prefixes).toMatchObject({ received: 2, accepted: 1 });
    expect(peerRow(sa, 'b').prefixes.advertised).toBe(2);
    expect(sb.speaker.routes().map((r) => r.prefix)).toEqual(['10.1.0.0/24']);
    expect(sb.speaker.routes()[0]?.paths[0]).toMatchObject({ localPref: 250, communities: ['65002:99'] });

    // b's import now accepts everything: it sends a ROUTE-REFRESH and a re-sends its table.
    const reloadB = await sb.speaker.reload(config(bYaml('{ action: accept }')));
    expect(reloadB.peersRefreshed).toEqual(['a']);
    await eventually('b has 10.3 after the refresh', () => sb.speaker.routes({ prefix: '10.3.0.0/24' })[0]);
    expect(peerRow(sb, 'a').messagesOut.routeRefresh).toBe(1);
    await eventually('a counted the ROUTE-REFRESH', () => peerRow(sa, 'b').messagesIn.routeRefresh === 1);
    expect(sb.speaker.routes({ prefix: '10.1.0.0/24' })[0]?.paths[0]?.localPref).toBeNull();

    // a's export now rejects 10.3 instead of 10.2: b gets 10.2 and loses 10.3, the session stays up.
    const flapsBefore = peerRow(sb, 'a').flaps;
    const reloadA = await sa.speaker.reload(config(aYaml('not-ten-three')));
    expect(reloadA.peersRefreshed).toEqual(['b']);
    await eventually('b has 10.2 and not 10.3', () => {
      const prefixes = sb.speaker.routes().map((r) => r.prefix);
      return prefixes.includes('10.2.0.0/24') && !prefixes.includes('10.3.0.0/24');
    });
    expect(peerRow(sb, 'a').flaps).toBe(flapsBefore);
    expect(peerRow(sb, 'a').state).toBe('Established');
  });

  it('runs a peer’s own import policy, then the global one, and refreshes when the global one changes', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const policy = [
      'policy:',
      '  filters:',
      '    tag:',
      '      - { match: {}, then: { addCommunity: ["65002:1"], action: accept } }',
      '    tag-but-not-ten-three:',
      '      - { match: { prefix: [{ prefix: 10.3.0.0/24 }] }, then: { action: reject } }',
      '      - { match: {}, then: { addCommunity: ["65002:1"], action: accept } }',
    ].join('\n');
    const own =
      'import: [{ match: { prefix: [{ prefix: 10.2.0.0/24 }] }, then: { action: reject } }, { match: {}, then: { action: accept } }]';
    const bYaml = (global: string) =>
      speakerYaml(
        b,
        [{ node: a, extra: `${own}\nexport: { action: accept }` }],
        `${policy}\nimport: { filter: ${global} }`,
      );
    const [, sb] = await startSpeakers([
      [a, speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], ORIGINATE_THREE)],
      [b, bYaml('tag')],
    ]);
    if (sb === undefined) throw new Error('speaker missing');
    await eventually('b has 10.1 and 10.3', () => sb.speaker.routes().length === 2);
    expect(sb.speaker.routes().map((r) => [r.prefix, r.paths[0]?.communities])).toEqual([
      ['10.1.0.0/24', ['65002:1']],
      ['10.3.0.0/24', ['65002:1']],
    ]);
    const result = await sb.speaker.reload(config(bYaml('tag-but-not-ten-three')));
    expect(result.peersRefreshed).toEqual(['a']);
    await eventually('b dropped 10.3', () => sb.speaker.routes().length === 1);
    expect(peerRow(sb, 'a').messagesOut.routeRefresh).toBe(1);
  });

  it('reload adds and removes peers and originations without touching unchanged sessions', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const c = await node('c', 65003);
    // b waits for c (passive): c only gets a peer (b) by a reload.
    const sb = await startSpeaker(
      b,
      speakerYaml(b, [
        { node: a, extra: ACCEPT_ALL },
        { node: c, extra: `${ACCEPT_ALL}\npassive: true` },
      ]),
    );
    const sa = await startSpeaker(
      a,
      speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], 'originate:\n  - { prefix: 10.1.0.0/24 }'),
    );
    await established(sa, 'b');
    await eventually('b has 10.1', () => sb.speaker.routes({ prefix: '10.1.0.0/24' })[0]);
    const sc = await startSpeaker(c, speakerYaml(c, []));
    const result = await sc.speaker.reload(
      config(speakerYaml(c, [{ node: b, extra: ACCEPT_ALL }], 'originate:\n  - { prefix: 10.30.0.0/16 }')),
    );
    expect(result).toMatchObject({ peersAdded: ['b'], originationsAdded: ['10.30.0.0/16'] });
    await eventually('a learns c’s prefix through b', () => sa.speaker.routes({ prefix: '10.30.0.0/16' })[0]);
    expect(sa.speaker.routes({ prefix: '10.30.0.0/16' })[0]?.paths[0]?.asPath).toBe('65002 65003');
    // c drops its origination again: a loses it.
    await sc.speaker.reload(config(speakerYaml(c, [{ node: b, extra: ACCEPT_ALL }])));
    await eventually('a loses 10.30', () => sa.speaker.routes({ prefix: '10.30.0.0/16' }).length === 0);
    // b removes c: its session goes down, a's session stays (one OPEN only).
    await sb.speaker.reload(config(speakerYaml(b, [{ node: a, extra: ACCEPT_ALL }])));
    expect(sb.speaker.status().peers.map((p) => p.name)).toEqual(['a']);
    await eventually('c sees b go', () => peerRow(sc, 'b').state !== 'Established');
    expect(peerRow(sc, 'b').lastError).toBe('received NOTIFICATION 6/3 (Cease / Peer De-configured)'); // Cease: Peer De-configured
    expect(peerRow(sa, 'b').messagesIn.open).toBe(1);
  });

  it('rejects a reload whose policy does not compile and keeps running', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const sa = await startSpeaker(a, speakerYaml(a, []));
    // The YAML schema already refuses unknown filter names; a programmatic configuration can still hold one.
    const good = config(speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }]));
    const bad = {
      ...good,
      peers: good.peers.map((peer) => ({ ...peer, import: { kind: 'filter' as const, name: 'missing' } })),
    };
    await expect(sa.speaker.reload(bad)).rejects.toThrow(/missing/);
    expect(sa.speaker.status().peers).toEqual([]);
    expect(sa.speaker.live()).toBe(true);
  });
});

describe('Speaker: route refresh from a peer', () => {
  it('answers a ROUTE-REFRESH by re-sending its table and End-of-RIB', async () => {
    const b = await node('b', 65002);
    const x = await node('x', 65009);
    const sb = await startSpeaker(
      b,
      speakerYaml(b, [{ node: x, extra: `${ACCEPT_ALL}\npassive: true` }], ORIGINATE_THREE),
    );
    const raw = new RawPeer(x, b);
    raws.push(raw);
    raw.start();
    await established(sb, 'x');
    const announced = () =>
      raw.received.flatMap((m) => (m.type === 'update' ? m.nlri.map((p) => formatPrefix(p)) : []));
    const endOfRibs = () =>
      raw.received.filter((m) => m.type === 'update' && endOfRibFamily(m) !== null).length;
    await eventually('x gets the table and End-of-RIB', () => announced().length === 3 && endOfRibs() === 1);
    raw.peer.sendUpdate(
      encodeBgpMessage({ type: 'route-refresh', afi: 1, safi: 1, subtype: 0 }, { as4: true }),
    );
    await eventually('x gets the table again', () => announced().length === 6 && endOfRibs() === 2);
    expect(announced().slice(3).sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24']);
    expect(peerRow(sb, 'x').messagesIn.routeRefresh).toBe(1);
    // A request for a family that was not negotiated is ignored.
    raw.peer.sendUpdate(
      encodeBgpMessage({ type: 'route-refresh', afi: 2, safi: 1, subtype: 0 }, { as4: true }),
    );
    await eventually('b counted it', () => peerRow(sb, 'x').messagesIn.routeRefresh === 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(announced()).toHaveLength(6);
    expect(peerRow(sb, 'x').state).toBe('Established');
  });
});

describe('Speaker: enhanced route refresh', () => {
  it('brackets the re-sent table with BoRR/EoRR, and the receiver keeps exactly what was re-sent', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const peerExtra = (importRef: string) =>
      `import: ${importRef}\nexport: { action: accept }\nenhancedRouteRefresh: true`;
    const bYaml = (importRef: string) => speakerYaml(b, [{ node: a, extra: peerExtra(importRef) }]);
    const [, sb] = await startSpeakers([
      [a, speakerYaml(a, [{ node: b, extra: peerExtra('{ action: accept }') }], ORIGINATE_THREE)],
      [b, bYaml('{ action: reject }')],
    ]);
    if (sb === undefined) throw new Error('speaker missing');
    await eventually('b received three (rejected)', () => peerRow(sb, 'a').prefixes.received === 3);
    expect(sb.speaker.routes()).toEqual([]);
    await sb.speaker.reload(config(bYaml('{ action: accept }')));
    await eventually('b accepted all three', () => sb.speaker.routes().length === 3);
    // ROUTE-REFRESH out; BoRR and EoRR in.
    await eventually('BoRR and EoRR counted', () => peerRow(sb, 'a').messagesIn.routeRefresh === 2);
    expect(peerRow(sb, 'a').messagesOut.routeRefresh).toBe(1);
    expect(peerRow(sb, 'a').prefixes).toMatchObject({ received: 3, accepted: 3, stale: 0 });
    expect(peerRow(sb, 'a').state).toBe('Established');
  });
});

describe('Speaker: limits and malformed UPDATEs', () => {
  it('tears the session down with Cease/1 when a peer exceeds maxPrefix (teardown)', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const sa = await startSpeaker(a, speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], ORIGINATE_THREE));
    const sb = await startSpeaker(
      b,
      speakerYaml(b, [{ node: a, extra: `${ACCEPT_ALL}\nmaxPrefix: { limit: 2, action: teardown }` }]),
    );
    await eventually(
      'a hears Cease/1',
      () =>
        peerRow(sa, 'b').lastError ===
        'received NOTIFICATION 6/1 (Cease / Maximum Number of Prefixes Reached)',
    );
    expect(peerRow(sb, 'a').state).not.toBe('Established');
    expect(sb.speaker.routes()).toEqual([]);
    // Without restartAfter the session stays down.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(peerRow(sb, 'a').state).toBe('Idle');
    expect(sb.speaker.readiness().reasons).toContain('peer a is Idle');
  });

  it('comes back after restartAfter following a maxPrefix teardown', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const [, sb] = await startSpeakers([
      [a, speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], ORIGINATE_THREE)],
      [
        b,
        speakerYaml(b, [
          { node: a, extra: `${ACCEPT_ALL}\nmaxPrefix: { limit: 2, action: teardown, restartAfter: 1 }` },
        ]),
      ],
    ]);
    if (sb === undefined) throw new Error('speaker missing');
    // Each time the session comes back, a sends three prefixes again and b tears it down again.
    await eventually('a second teardown', () => peerRow(sb, 'a').flaps >= 2, 15000);
    expect(peerRow(sb, 'a').messagesIn.open).toBeGreaterThanOrEqual(2);
    expect(peerRow(sb, 'a').lastError).toBe(
      'sent NOTIFICATION 6/1 (Cease / Maximum Number of Prefixes Reached)',
    );
  });

  it('only warns with maxPrefix action warn', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    await startSpeaker(a, speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], ORIGINATE_THREE));
    const sb = await startSpeaker(
      b,
      speakerYaml(b, [{ node: a, extra: `${ACCEPT_ALL}\nmaxPrefix: { limit: 2, action: warn }` }]),
    );
    await eventually('b has all three', () => sb.speaker.routes().length === 3);
    expect(peerRow(sb, 'a').state).toBe('Established');
  });

  it('treat-as-withdraw keeps the session up; a broken UPDATE resets it with 3/1', async () => {
    const b = await node('b', 65002);
    const x = await node('x', 65009);
    const sb = await startSpeaker(b, speakerYaml(b, [{ node: x, extra: `${ACCEPT_ALL}\npassive: true` }]));
    const raw = new RawPeer(x, b);
    raws.push(raw);
    raw.start();
    await established(sb, 'x');
    // b is Established on x's KEEPALIVE, x only on b's KEEPALIVE after that: until then x cannot send.
    await eventually('x established', () => raw.options);
    const update = (originValue: number) => {
      const bytes = encodeBgpMessage(
        makeUpdate({
          attributes: [
            { kind: 'origin', value: 0 },
            { kind: 'as-path', segments: [{ type: 2, asns: [65009] }] },
            { kind: 'next-hop', address: parseIpv4(x.address) },
          ],
          nlri: [parsePrefix('10.9.0.0/24')],
        }),
        { as4: true },
      );
      // header 19, withdrawn length 2, attribute length 2, ORIGIN flags/type/length 3: the value octet.
      bytes[26] = originValue;
      return bytes;
    };
    expect(raw.peer.sendUpdate(update(0))).toBe(true);
    await eventually('b learns 10.9', () => sb.speaker.routes({ prefix: '10.9.0.0/24' })[0]);
    raw.peer.sendUpdate(update(7)); // ORIGIN 7: RFC 7606 treat-as-withdraw
    await eventually('b withdrew 10.9', () => sb.speaker.routes().length === 0);
    expect(peerRow(sb, 'x').state).toBe('Established');
    expect(raw.notifications).toEqual([]);

    const broken = update(0);
    broken[21] = 0xff; // total path attribute length beyond the message: session reset 3/1
    raw.peer.sendUpdate(broken);
    await eventually('x hears 3/1', () => raw.notifications[0]);
    expect(raw.notifications[0]).toMatchObject({ code: 3, subcode: 1 });
    expect(peerRow(sb, 'x').lastError).toBe(
      'sent NOTIFICATION 3/1 (UPDATE Message Error / Malformed Attribute List)',
    );
  });
});
