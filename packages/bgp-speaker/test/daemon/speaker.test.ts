// Speakers connected over real TCP on loopback addresses: routes exchanged and withdrawn, eBGP AS_PATH
// prepend and next-hop self, iBGP LOCAL_PREF, the kernel FIB fed from best paths, origination API.
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { OriginationCommand } from '../../src/daemon/index.js';
import type { Clock } from '../../src/session/index.js';
import {
  ACCEPT_ALL,
  established,
  eventually,
  node,
  peerRow,
  speakerYaml,
  startSpeaker,
  stopAll,
} from './harness.js';
import { MemoryFib } from './memory-fib.js';

afterEach(stopAll);

/** A clock whose timers never fire: a speaker on it never retries on its own. */
const frozenClock: Clock = {
  now: () => Date.now(),
  setTimeout: () => Symbol('never'),
  clearTimeout: () => {},
};

describe('Speaker: two eBGP speakers', () => {
  it('a speaker started after the other connects on its first attempt, though the first idles after a refusal', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const sa = await startSpeaker(a, speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }]), {
      clock: frozenClock,
    });
    await eventually('a’s connect refused (Idle)', () =>
      peerRow(sa, 'b').lastError?.includes('ECONNREFUSED'),
    );
    expect(peerRow(sa, 'b').state).toBe('Idle');
    const sb = await startSpeaker(b, speakerYaml(b, [{ node: a, extra: ACCEPT_ALL }]), {
      clock: frozenClock,
    });
    await established(sa, 'b');
    await established(sb, 'a');
    expect(peerRow(sb, 'a').messagesIn.notification).toBe(0);
  });

  it('exchanges originated routes with AS_PATH prepend and next-hop self, installs them, withdraws them', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const sa = await startSpeaker(
      a,
      speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], 'originate:\n  - { prefix: 10.1.0.0/24 }'),
    );
    const sb = await startSpeaker(b, speakerYaml(b, [{ node: a, extra: ACCEPT_ALL }]));
    await established(sa, 'b');
    await established(sb, 'a');

    const learned = await eventually(
      'b learns 10.1.0.0/24',
      () => sb.speaker.routes({ prefix: '10.1.0.0/24' })[0],
    );
    expect(learned.paths[0]).toMatchObject({
      from: 'a',
      peerAddress: a.address,
      nextHop: a.address,
      asPath: '65001',
      origin: 'igp',
      localPref: null,
      best: true,
    });
    expect(sb.fib.describe('10.1.0.0/24')).toBe(a.address);
    // A locally originated non-blackhole prefix is not installed at its originator.
    expect(sa.fib.routes.has('10.1.0.0/24')).toBe(false);

    // The origination API: announce with communities, withdraw.
    sb.speaker.announce('10.2.0.0/16', { communities: ['65002:7'] });
    const back = await eventually(
      'a learns 10.2.0.0/16',
      () => sa.speaker.routes({ prefix: '10.2.0.0/16' })[0],
    );
    expect(back.paths[0]).toMatchObject({ asPath: '65002', communities: ['65002:7'], nextHop: b.address });
    expect(sa.fib.describe('10.2.0.0/16')).toBe(b.address);
    expect(peerRow(sa, 'b').prefixes).toMatchObject({ received: 1, accepted: 1, advertised: 1, stale: 0 });
    expect(peerRow(sb, 'a').prefixes).toMatchObject({ received: 1, accepted: 1, advertised: 1 });

    sb.speaker.withdraw('10.2.0.0/16');
    await eventually('a loses 10.2.0.0/16', () => sa.speaker.routes({ prefix: '10.2.0.0/16' }).length === 0);
    expect(sa.fib.routes.has('10.2.0.0/16')).toBe(false);
    const row = peerRow(sa, 'b');
    expect(row.messagesIn.update).toBeGreaterThanOrEqual(3); // EoR, announce, withdraw
    expect(row.messagesIn.open).toBe(1);
    expect(row.kind).toBe('ebgp');
    expect(sa.speaker.readiness()).toEqual({ ready: true, reasons: [] });
  });

  it('takes originations from a stream and installs blackholes locally', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const sa = await startSpeaker(a, speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }]));
    const sb = await startSpeaker(b, speakerYaml(b, [{ node: a, extra: ACCEPT_ALL }]));
    const commands = new Subject<OriginationCommand>();
    sa.speaker.attachOriginations(commands);
    commands.next({ op: 'announce', prefix: '192.0.2.0/24', blackhole: true });
    commands.next({ op: 'announce', prefix: 'not-a-prefix' }); // logged, the stream goes on
    commands.next({ op: 'announce', prefix: '198.51.100.0/24' });
    await established(sb, 'a');
    await eventually('b learns both', () => sb.speaker.routes().length === 2);
    expect(sa.fib.describe('192.0.2.0/24')).toBe('blackhole');
    expect(sa.fib.routes.has('198.51.100.0/24')).toBe(false);
    commands.next({ op: 'withdraw', prefix: '192.0.2.0/24' });
    await eventually('b loses 192.0.2.0/24', () => sb.speaker.routes().length === 1);
    expect(sa.fib.routes.has('192.0.2.0/24')).toBe(false);
  });

  it('fails to start with the listen address named when the port is taken, keeping the FIB routes', async () => {
    const a = await node('a', 65001);
    const first = await startSpeaker(a, speakerYaml(a, []));
    const fib = new MemoryFib();
    await expect(startSpeaker(a, speakerYaml(a, []), { fib })).rejects.toThrow(
      `cannot listen on ${a.address} port ${a.port}: listen EADDRINUSE`,
    );
    expect(fib.stopped).toEqual({ keepRoutes: true });
    expect(first.speaker.live()).toBe(true);
  });
});
