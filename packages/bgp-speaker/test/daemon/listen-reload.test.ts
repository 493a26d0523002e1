// Speaker.reload with a changed `listen`, over real TCP on loopback addresses: a raw peer's session through
// the first address stays Established (one OPEN, keepalives still flowing) while a second address is added
// (another raw peer connects through it), while the first address is removed (new connections there are
// refused) and while a reload with an address that cannot be bound is refused as a whole (error naming the
// address and port, nothing else of that configuration applied). Listening enabled by a reload accepts
// the peers configured before, and the one-address form rewritten as [IPv4, IPv6] opens only the IPv6 socket.
import { describe, expect, it } from 'vitest';
import { ListenError } from '../../src/session/index.js';
import { tryConnect } from '../session/try-connect.js';
import {
  config,
  eventually,
  freePort,
  type Node,
  node,
  peerRow,
  rawPeersStoppedAfterEach,
  speakerYaml,
  startSpeaker,
} from './harness.js';
import { RawPeer } from './raw-peer.js';

const raws = rawPeersStoppedAfterEach();

/** The speaker's YAML with `listen` replaced by `listenYaml` (the harness writes one address). */
function withListen(yaml: string, listenYaml: string): string {
  return yaml.replace(/^listen: .*$/m, `listen: ${listenYaml}`);
}

/** A raw peer `self` connecting to the speaker at `address`:`port`; counts its sessions. */
function rawPeerTo(self: Node, speaker: Node, address: string) {
  const raw = new RawPeer(self, { ...speaker, address });
  let sessions = 0;
  raw.peer.on('established', () => {
    sessions += 1;
  });
  raws.push(raw);
  raw.start();
  return { raw, sessions: () => sessions };
}

describe('Speaker reload: listen', () => {
  it('adds and removes listen addresses without touching an established session; refuses an unbindable one', async () => {
    const s = await node('s', 65001);
    const x = await node('x', 65002);
    const y = await node('y', 65003);
    // A second address of the speaker's host on the same port (another loopback address).
    const second = `${s.address.split('.').slice(0, 3).join('.')}.${(Number(s.address.split('.')[3]) % 250) + 1}`;
    expect(await freePort(second)).toBeGreaterThan(0);
    const passive = 'passive: true';
    const base = speakerYaml(s, [
      { node: x, extra: passive },
      { node: y, extra: passive },
    ]);
    const speaker = await startSpeaker(s, withListen(base, `{ addresses: [${s.address}], port: ${s.port} }`));
    expect(speaker.speaker.status().listening).toEqual([{ address: s.address, port: s.port }]);

    const fromX = rawPeerTo(x, s, s.address);
    await eventually('x Established through the first address', () => fromX.raw.options);
    // y connects to the second address, which nobody listens on yet.
    const fromY = rawPeerTo(y, s, second);
    expect(await tryConnect(second, s.port)).toBe('ECONNREFUSED');

    // Reload 1: the second address added. y's session comes up through it; x's session is untouched.
    const added = await speaker.speaker.reload(
      config(withListen(base, `{ addresses: [${s.address}, ${second}], port: ${s.port} }`)),
    );
    expect(added).toMatchObject({
      listenersOpened: [{ address: second, port: s.port }],
      listenersClosed: [],
      needsRestart: [],
      peersReset: [],
    });
    await eventually('y Established through the second address', () => fromY.raw.options);
    expect(peerRow(speaker, 'y').state).toBe('Established');
    expect(speaker.speaker.status().listening).toEqual([
      { address: s.address, port: s.port },
      { address: second, port: s.port },
    ]);
    expect(peerRow(speaker, 'x')).toMatchObject({ state: 'Established', flaps: 0, messagesIn: { open: 1 } });
    expect(fromX.sessions()).toBe(1);

    // Reload 2: the first address removed. Connecting there is refused; x's session (accepted through it)
    // stays Established and keeps exchanging KEEPALIVEs.
    const removed = await speaker.speaker.reload(
      config(withListen(base, `{ addresses: [${second}], port: ${s.port} }`)),
    );
    expect(removed).toMatchObject({
      listenersOpened: [],
      listenersClosed: [{ address: s.address, port: s.port }],
    });
    expect(await tryConnect(s.address, s.port)).toBe('ECONNREFUSED');
    expect(await tryConnect(second, s.port)).toBe('connected');
    const keepalivesBefore = peerRow(speaker, 'x').messagesIn.keepalive;
    await eventually(
      'a KEEPALIVE from x after the reload',
      () => peerRow(speaker, 'x').messagesIn.keepalive > keepalivesBefore,
    );
    expect(peerRow(speaker, 'x')).toMatchObject({ state: 'Established', flaps: 0, messagesIn: { open: 1 } });
    expect(fromX.sessions()).toBe(1);
    expect(fromY.sessions()).toBe(1);

    // Reload 3: an address not on this host (TEST-NET-1) and a new origination: refused as a whole.
    const before = speaker.speaker.config;
    const refused = await speaker.speaker
      .reload(
        config(
          withListen(
            `${base}\noriginate:\n  - { prefix: 10.77.0.0/24 }`,
            `{ addresses: [${second}, 192.0.2.1], port: ${s.port} }`,
          ),
        ),
      )
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(ListenError);
    expect((refused as Error).message).toMatch(
      new RegExp(`^cannot listen on 192\\.0\\.2\\.1 port ${s.port}: .*EADDRNOTAVAIL.*not on this host`),
    );
    expect(speaker.speaker.config).toBe(before);
    expect(speaker.speaker.originations()).toEqual([]);
    expect(speaker.speaker.status().listening).toEqual([{ address: second, port: s.port }]);
    expect(await tryConnect(second, s.port)).toBe('connected');
    expect(await tryConnect(s.address, s.port)).toBe('ECONNREFUSED');
    expect(speaker.speaker.readiness().reasons).not.toContain('listener is not up');
    expect(peerRow(speaker, 'x')).toMatchObject({ state: 'Established', messagesIn: { open: 1 } });
    expect(peerRow(speaker, 'y')).toMatchObject({ state: 'Established', messagesIn: { open: 1 } });
  });

  it('a reload that enables listening accepts the peers configured before', async () => {
    const s = await node('s', 65001);
    const x = await node('x', 65002);
    const base = speakerYaml(s, [{ node: x, extra: 'passive: true' }]);
    const speaker = await startSpeaker(s, withListen(base, `{ enabled: false, port: ${s.port} }`));
    expect(speaker.speaker.status().listening).toEqual([]);
    expect(speaker.speaker.listenPort).toBeNull();
    expect(await tryConnect(s.address, s.port)).toBe('ECONNREFUSED');

    const result = await speaker.speaker.reload(
      config(withListen(base, `{ address: ${s.address}, port: ${s.port} }`)),
    );
    expect(result.listenersOpened).toEqual([{ address: s.address, port: s.port }]);
    expect(speaker.speaker.listenPort).toBe(s.port);
    const fromX = rawPeerTo(x, s, s.address);
    await eventually('x Established once listening', () => fromX.raw.options);
    expect(peerRow(speaker, 'x').state).toBe('Established');

    // As caracal-node rewrites it when the node gets an IPv6 address: the one-address form becomes the
    // list [IPv4, IPv6]. Only the IPv6 socket is new; x's session is untouched.
    const dualStack = await speaker.speaker.reload(
      config(withListen(base, `{ addresses: [${s.address}, "::1"], port: ${s.port} }`)),
    );
    expect(dualStack).toMatchObject({
      listenersOpened: [{ address: '::1', port: s.port }],
      listenersClosed: [],
    });
    expect(await tryConnect('::1', s.port)).toBe('connected');
    expect(peerRow(speaker, 'x')).toMatchObject({ state: 'Established', flaps: 0, messagesIn: { open: 1 } });
    expect(fromX.sessions()).toBe(1);
  });
});
