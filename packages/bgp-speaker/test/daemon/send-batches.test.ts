// The speaker's batched send path over real TCP: 4,000 originated prefixes, each with its own community,
// go to two bare session drivers in one update group (one ~60-octet UPDATE per prefix, written back to
// back into shared batches, recycled after the sockets' write callbacks). The speaker's sockets hold each
// write a few milliseconds before passing it on, so a batch recycled before its write callback would be
// written over while still queued and reach the peers corrupted. Both receive every prefix with
// its community, in the same order; the speaker's UPDATE counter equals what each received; then rounds of
// new communities (flushes written into given-back buffers while earlier batches may still be in flight)
// and a withdrawal of every prefix arrive intact.

import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BgpMessage,
  decodeBgpMessage,
  formatPrefix,
  updateAnnounced,
  updateWithdrawn,
} from '../../src/codec/index.js';
import { codecContextOf } from '../../src/fsm/index.js';
import { Listener, netSocketFactory, Peer, type SocketFactory } from '../../src/session/index.js';
import {
  ACCEPT_ALL,
  established,
  eventually,
  type Node,
  node,
  peerRow,
  speakerYaml,
  startSpeaker,
  stopAll,
} from './harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stopAll();
});

const PREFIXES = 4000;
const prefixAt = (i: number) => `20.${i >> 8}.${i & 255}.0/24`;

/**
 * The speaker's outgoing sockets, each write held for a few milliseconds before it reaches the socket (a
 * slow kernel): the bytes must stay untouched until the write callback, or the peer receives garbage.
 */
const slowSockets: SocketFactory = (options) => {
  const socket = netSocketFactory(options) as Socket;
  const write = socket.write.bind(socket) as (
    data: Uint8Array,
    callback?: (error?: Error | null) => void,
  ) => boolean;
  (socket as { write: unknown }).write = (data: Uint8Array, callback?: (error?: Error | null) => void) => {
    setTimeout(() => {
      if (socket.destroyed) callback?.(new Error('destroyed'));
      else write(data, callback);
    }, 10);
    return true;
  };
  return socket;
};

/** A passive bare session driver listening for the speaker, recording every message it receives. */
async function receiver(
  self: Node,
  speaker: Node,
): Promise<{ received: BgpMessage[]; notifications: unknown[] }> {
  const received: BgpMessage[] = [];
  const notifications: unknown[] = [];
  const peer = new Peer({
    name: self.name,
    local: {
      asNumber: self.asNumber,
      routerId: self.address,
      holdTime: 9,
      families: [{ afi: 1, safi: 1 }],
      routeRefresh: true,
      enhancedRouteRefresh: false,
      extendedMessage: false,
    },
    remote: { address: speaker.address, port: speaker.port, asNumber: speaker.asNumber },
    localAddress: self.address,
    attributes: { connectRetryTime: 1, passiveTcpEstablishment: true },
  });
  peer.on('update', (message, options) =>
    received.push(decodeBgpMessage(message, codecContextOf(options, 'receive'))),
  );
  peer.on('notificationReceived', (notification) => notifications.push(notification));
  const listener = new Listener({ address: self.address, port: self.port });
  listener.addPeer(peer);
  await listener.listen();
  peer.start();
  cleanups.push(async () => {
    peer.stop();
    await listener.close();
  });
  return { received, notifications };
}
/** What a peer holds after applying `received` in order: prefix → its one community. */
function table(received: readonly BgpMessage[]): Map<string, number | undefined> {
  const held = new Map<string, number | undefined>();
  for (const message of received) {
    if (message.type !== 'update') continue;
    for (const prefix of updateWithdrawn(message)) held.delete(formatPrefix(prefix));
    const community = message.attributes.find((a) => a.kind === 'communities')?.values;
    for (const prefix of updateAnnounced(message))
      held.set(formatPrefix(prefix), community?.length === 1 ? community[0] : undefined);
  }
  return held;
}

describe('speaker send path: distinct attribute sets in shared batches', () => {
  it('delivers every prefix with its own community to both members, counters exact, across rounds', async () => {
    const s = await node('s', 65000);
    const p1 = await node('p1', 65001);
    const p2 = await node('p2', 65002);
    const peers = [await receiver(p1, s), await receiver(p2, s)];
    const speaker = await startSpeaker(
      s,
      speakerYaml(s, [
        { node: p1, extra: ACCEPT_ALL },
        { node: p2, extra: ACCEPT_ALL },
      ]),
      { socketFactory: slowSockets },
    );
    await established(speaker, 'p1');
    await established(speaker, 'p2');

    const expected = new Map<string, number>();
    const round = async (community: (i: number) => number) => {
      for (let i = 0; i < PREFIXES; i++) {
        speaker.speaker.announce(prefixAt(i), { communities: [`65000:${community(i)}`] });
        expected.set(prefixAt(i), ((65000 << 16) | community(i)) >>> 0);
        // A flush per 200 prefixes: later flushes write while earlier batches are still held.
        if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
      }
      await eventually('both peers to hold the round', () =>
        peers.every((raw) => {
          const held = table(raw.received);
          return held.size === expected.size && [...expected].every(([prefix, c]) => held.get(prefix) === c);
        }),
      );
    };
    await round((i) => i);
    await round((i) => i + 10_000);
    await round((i) => (i * 7) % 60_000);
    // Same messages, same order, to both members (the same batches).
    const summary = (raw: { received: BgpMessage[] }) =>
      raw.received.map((m) =>
        m.type === 'update' ? [updateWithdrawn(m).length, updateAnnounced(m).map(formatPrefix)] : m.type,
      );
    expect(summary(peers[1]!)).toEqual(summary(peers[0]!));
    // Every UPDATE counted one by one: the speaker's counter equals what each peer received.
    for (const [name, raw] of [
      ['p1', peers[0]!],
      ['p2', peers[1]!],
    ] as const)
      expect(peerRow(speaker, name).messagesOut.update).toBe(
        raw.received.filter((m) => m.type === 'update').length,
      );

    for (let i = 0; i < PREFIXES; i++) speaker.speaker.withdraw(prefixAt(i));
    await eventually('both peers to hold nothing', () =>
      peers.every((raw) => table(raw.received).size === 0),
    );
    expect(peers.map((raw) => raw.notifications)).toEqual([[], []]);
    expect(peerRow(speaker, 'p1').state).toBe('Established');
  }, 60_000);
});
