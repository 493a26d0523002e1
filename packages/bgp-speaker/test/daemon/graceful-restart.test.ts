// Graceful restart through the daemon (RFC 4724, RFC 8538): as helper, a peer's routes stay (stale, still
// installed) while it restarts, and go on its End-of-RIB or when its restart time expires; without
// graceful restart they go at once. As restarting speaker (kernel routes found from a previous run), the
// speaker keeps them until End-of-RIB from its peers, then sweeps what was not re-learned.
import { describe, expect, it } from 'vitest';
import { encodeBgpMessage, makeUpdate, parsePrefix } from '../../src/codec/index.js';
import {
  ACCEPT_ALL,
  established,
  eventually,
  node,
  peerRow,
  rawPeersStoppedAfterEach,
  speakerYaml,
  startSpeaker,
  startSpeakers,
} from './harness.js';
import { MemoryFib } from './memory-fib.js';
import { RawPeer } from './raw-peer.js';

const raws = rawPeersStoppedAfterEach();

const gr = (restartTime: number) => `gracefulRestart: { enabled: true, restartTime: ${restartTime} }`;

describe('Speaker: graceful restart helper', () => {
  it('keeps the restarting peer’s routes stale and installed, then sweeps what its End-of-RIB did not renew', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const before = 'originate:\n  - { prefix: 10.1.0.0/24 }\n  - { prefix: 10.2.0.0/24 }';
    const [sa, sb] = await startSpeakers([
      [a, speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], `${gr(60)}\n${before}`)],
      [b, speakerYaml(b, [{ node: a, extra: ACCEPT_ALL }], gr(60))],
    ]);
    if (sa === undefined || sb === undefined) throw new Error('speakers missing');
    await eventually('b learns both', () => sb.speaker.routes().length === 2);
    expect(peerRow(sb, 'a').gracefulRestart).toEqual({ negotiated: true, peerRestarting: false });

    await sa.speaker.stop(); // Cease/2 with the N bit negotiated: a graceful restart (RFC 8538)
    expect(sa.fib.stopped).toEqual({ keepRoutes: true });
    await eventually('b marks a’s routes stale', () => peerRow(sb, 'a').prefixes.stale === 2);
    expect(peerRow(sb, 'a').gracefulRestart.peerRestarting).toBe(true);
    expect(sb.speaker.routes().every((r) => r.paths[0]?.stale === true)).toBe(true);
    expect(sb.fib.describe('10.1.0.0/24')).toBe(a.address);
    expect(sb.fib.describe('10.2.0.0/24')).toBe(a.address);

    // a comes back announcing only 10.1: after its End-of-RIB, 10.2 is swept.
    const again = await startSpeaker(
      a,
      speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], `${gr(60)}\noriginate:\n  - { prefix: 10.1.0.0/24 }`),
    );
    await established(again, 'b');
    await eventually('b swept 10.2', () => sb.speaker.routes().length === 1, 60000);
    expect(sb.speaker.routes()[0]).toMatchObject({ prefix: '10.1.0.0/24' });
    expect(sb.speaker.routes()[0]?.paths[0]?.stale).toBe(false);
    expect(sb.fib.routes.has('10.2.0.0/24')).toBe(false);
    expect(sb.fib.describe('10.1.0.0/24')).toBe(a.address);
    expect(peerRow(sb, 'a').gracefulRestart.peerRestarting).toBe(false);
    expect(peerRow(sb, 'a').prefixes.stale).toBe(0);
  }, 90000);

  it('a stop that removes our routes sends Hard Reset (N bit negotiated): the helper drops them at once', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const [sa, sb] = await startSpeakers([
      [
        a,
        speakerYaml(
          a,
          [{ node: b, extra: ACCEPT_ALL }],
          `${gr(60)}\noriginate:\n  - { prefix: 10.1.0.0/24 }`,
        ),
      ],
      [b, speakerYaml(b, [{ node: a, extra: ACCEPT_ALL }], gr(60))],
    ]);
    if (sa === undefined || sb === undefined) throw new Error('speakers missing');
    await eventually('b learns 10.1', () => sb.fib.describe('10.1.0.0/24'));
    await sa.speaker.stop({ keepRoutes: false });
    await eventually('b drops a’s routes', () => sb.speaker.routes().length === 0);
    expect(peerRow(sb, 'a').lastError).toBe('received NOTIFICATION 6/9 (Cease / Hard Reset)');
    expect(peerRow(sb, 'a').gracefulRestart.peerRestarting).toBe(false);
    expect(sb.fib.routes.has('10.1.0.0/24')).toBe(false);
  }, 30000);

  it('without the N bit a graceful stop closes without NOTIFICATION; a stop that removes routes sends Cease/2', async () => {
    for (const keepRoutes of [true, false]) {
      const a = await node('a', 65001);
      const x = await node('x', 65009);
      const sa = await startSpeaker(a, speakerYaml(a, [{ node: x, extra: ACCEPT_ALL }], gr(60)));
      const raw = new RawPeer(x, a, { gracefulRestart: true });
      raws.push(raw);
      const down = new Promise<void>((resolve) => raw.peer.once('down', () => resolve()));
      raw.start();
      await established(sa, 'x');
      await eventually('x established', () => raw.options);
      expect(raw.options?.gracefulRestart?.notification).toBe(false);
      await sa.speaker.stop({ keepRoutes });
      await down;
      expect(raw.notifications.map((n) => [n.code, n.subcode])).toEqual(keepRoutes ? [] : [[6, 2]]);
      raw.stop();
    }
  }, 30000);

  it('sweeps the stale routes when the peer’s restart time expires', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const [sa, sb] = await startSpeakers([
      [
        a,
        speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], `${gr(1)}\noriginate:\n  - { prefix: 10.1.0.0/24 }`),
      ],
      [b, speakerYaml(b, [{ node: a, extra: ACCEPT_ALL }], gr(60))],
    ]);
    if (sa === undefined || sb === undefined) throw new Error('speakers missing');
    await eventually('b learns 10.1', () => sb.fib.describe('10.1.0.0/24'));
    await sa.speaker.stop();
    await eventually('b marks stale', () => peerRow(sb, 'a').prefixes.stale === 1);
    await eventually('b swept after a’s 1 s restart time', () => sb.speaker.routes().length === 0, 5000);
    // The FIB applies the sweep in its next round, after the RIB: under load that is a moment later.
    await eventually('the swept route gone from b’s FIB', () => !sb.fib.routes.has('10.1.0.0/24'));
  });

  it('without graceful restart withdraws a peer’s routes as soon as its session goes down', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const [sa, sb] = await startSpeakers([
      [a, speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], 'originate:\n  - { prefix: 10.1.0.0/24 }')],
      [b, speakerYaml(b, [{ node: a, extra: ACCEPT_ALL }], gr(60))],
    ]);
    if (sa === undefined || sb === undefined) throw new Error('speakers missing');
    await eventually('b learns 10.1', () => sb.fib.describe('10.1.0.0/24'));
    expect(peerRow(sb, 'a').gracefulRestart.negotiated).toBe(false);
    await sa.speaker.stop();
    expect(sa.fib.stopped).toEqual({ keepRoutes: false });
    await eventually('b withdrew 10.1', () => sb.speaker.routes().length === 0);
    expect(peerRow(sb, 'a').prefixes.stale).toBe(0);
    expect(sb.fib.routes.has('10.1.0.0/24')).toBe(false);
  });
});

describe('Speaker: graceful restart, restarting speaker', () => {
  it('keeps the previous run’s kernel routes until End-of-RIB, then sweeps the ones not re-learned', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const previousRun = new MemoryFib([
      ['10.1.0.0/24', { kind: 'unicast', nextHops: [{ gateway: a.address }] }],
      ['10.99.0.0/24', { kind: 'unicast', nextHops: [{ gateway: a.address }] }],
    ]);
    const [sa, sb] = await startSpeakers([
      [
        a,
        speakerYaml(
          a,
          [{ node: b, extra: ACCEPT_ALL }],
          `${gr(60)}\noriginate:\n  - { prefix: 10.1.0.0/24 }`,
        ),
      ],
      [
        b,
        speakerYaml(
          b,
          [{ node: a, extra: ACCEPT_ALL }],
          `${gr(60)}\noriginate:\n  - { prefix: 10.5.0.0/24 }`,
        ),
        { fib: previousRun },
      ],
    ]);
    if (sa === undefined || sb === undefined) throw new Error('speakers missing');
    expect(previousRun.calls[0]).toBe('start keepExisting=true');
    // Right after start no session can have sent End-of-RIB yet: restarting, the old routes in place.
    expect(sb.speaker.status().restarting).toBe(true);
    expect(previousRun.routes.has('10.99.0.0/24')).toBe(true);
    expect(sb.speaker.readiness().reasons).toContain('restart: waiting for End-of-RIB');
    await eventually('b’s restart completes', () => !sb.speaker.status().restarting);
    expect(previousRun.calls).toContain('sweepStale');
    // The route a re-announced was claimed again before the sweep; the other one is gone.
    const sweepAt = previousRun.calls.indexOf('sweepStale');
    expect(previousRun.calls.slice(0, sweepAt)).toContain(
      `set 10.1.0.0/24 ${JSON.stringify({ kind: 'unicast', nextHops: [{ gateway: a.address }] })}`,
    );
    expect(previousRun.routes.has('10.99.0.0/24')).toBe(false);
    expect(previousRun.describe('10.1.0.0/24')).toBe(a.address);
    // b's own routes are advertised once the restart is complete.
    await eventually('a learns 10.5', () => sa.speaker.routes({ prefix: '10.5.0.0/24' })[0]);
    expect(sb.speaker.readiness()).toEqual({ ready: true, reasons: [] });
  });

  it('sets the Restart State bit and forwarding state in its OPEN, and waits for End-of-RIB before advertising', async () => {
    const b = await node('b', 65002);
    const x = await node('x', 65009);
    const previousRun = new MemoryFib([
      ['10.99.0.0/24', { kind: 'unicast', nextHops: [{ gateway: x.address }] }],
    ]);
    const sb = await startSpeaker(
      b,
      speakerYaml(
        b,
        [{ node: x, extra: `${ACCEPT_ALL}\npassive: true` }],
        `${gr(60)}\noriginate:\n  - { prefix: 10.5.0.0/24 }`,
      ),
      { fib: previousRun },
    );
    const raw = new RawPeer(x, b, { gracefulRestart: true });
    raws.push(raw);
    raw.start();
    await eventually('x established', () => raw.options);
    expect(raw.options?.gracefulRestart).toMatchObject({
      restartState: true,
      families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
    });
    // Nothing is advertised (not even End-of-RIB) while b waits for x's End-of-RIB.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(raw.received).toEqual([]);
    expect(sb.speaker.restarting).toBe(true);
    raw.peer.sendUpdate(encodeBgpMessage(makeUpdate({}), { as4: true })); // End-of-RIB
    await eventually('b advertises 10.5 then End-of-RIB', () => raw.received.length >= 2);
    expect(raw.received[0]).toMatchObject({ type: 'update', nlri: [parsePrefix('10.5.0.0/24')] });
    expect(sb.speaker.restarting).toBe(false);
    expect(previousRun.routes.has('10.99.0.0/24')).toBe(false);
    // The restart is over: a later session (x comes back, e.g. after its own restart) must not see the
    // Restart State bit again (RFC 4724 §4.1); forwarding state is still preserved.
    raw.stop();
    await eventually('b sees x gone', () => peerRow(sb, 'x').state !== 'Established');
    const again = new RawPeer(x, b, { gracefulRestart: true });
    raws.push(again);
    again.start();
    await eventually('x established again', () => again.options);
    expect(again.options?.gracefulRestart).toMatchObject({
      restartState: false,
      families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
    });
  });

  it('is not restarting without routes of a previous run', async () => {
    const a = await node('a', 65001);
    const fib = new MemoryFib();
    const sa = await startSpeaker(a, speakerYaml(a, [], gr(60)), { fib });
    expect(sa.speaker.restarting).toBe(false);
    expect(fib.calls).toEqual(['start keepExisting=true']);
  });
});
