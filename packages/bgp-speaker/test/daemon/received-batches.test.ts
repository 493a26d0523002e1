// Many UPDATEs received in one socket write (one event-loop turn, so one Loc-RIB → FIB / Adj-RIB-Out
// flush for all of them) leave the speaker's FIB and Loc-RIB, and what a downstream peer holds, exactly as
// the same UPDATEs applied one by one: the last word on each prefix wins, including a withdrawal followed
// by a new announcement of the same prefix, an announcement then its withdrawal, and two announcements
// of one prefix with different communities. The same sequence is then sent one UPDATE per write (waiting
// for each to be applied) to a second speaker, and both downstream peers end with the same table.

import { describe, expect, it } from 'vitest';
import {
  type BgpMessage,
  encodeBgpMessage,
  formatPrefix,
  makeUpdate,
  parseIpv4,
  parsePrefix,
} from '../../src/codec/index.js';
import {
  ACCEPT_ALL,
  established,
  eventually,
  type Node,
  node,
  peerRow,
  rawPeersStoppedAfterEach,
  speakerYaml,
  startSpeaker,
} from './harness.js';
import { RawPeer } from './raw-peer.js';

const raws = rawPeersStoppedAfterEach();

type Step = { readonly announce: string; readonly community: number } | { readonly withdraw: string };

/** The sequence the sender sends: every case of "the last word on a prefix wins" within one batch. */
const STEPS: readonly Step[] = [
  { announce: '20.0.1.0/24', community: 1 },
  { announce: '20.0.2.0/24', community: 2 },
  { withdraw: '20.0.1.0/24' },
  { announce: '20.0.1.0/24', community: 3 }, // withdraw then announce again: announced, community 3
  { announce: '20.0.3.0/24', community: 4 },
  { withdraw: '20.0.3.0/24' }, // announce then withdraw: gone
  { announce: '20.0.4.0/24', community: 5 },
  { announce: '20.0.4.0/24', community: 6 }, // announced twice: the second set
  { withdraw: '20.0.5.0/24' }, // never announced: nothing
  ...Array.from({ length: 200 }, (_, i): Step => ({ announce: `20.1.${i}.0/24`, community: 100 + i })),
  ...Array.from({ length: 100 }, (_, i): Step => ({ withdraw: `20.1.${2 * i}.0/24` })),
];

/** Prefix → community text after applying `steps` in order (the model). */
function finalTable(steps: readonly Step[], senderAs: number): Map<string, string> {
  const table = new Map<string, string>();
  for (const step of steps)
    if ('withdraw' in step) table.delete(step.withdraw);
    else table.set(step.announce, `${senderAs}:${step.community}`);
  return table;
}

function encodeStep(step: Step, sender: Node): Uint8Array {
  if ('withdraw' in step)
    return encodeBgpMessage(makeUpdate({ withdrawn: [parsePrefix(step.withdraw)] }), { as4: true });
  return encodeBgpMessage(
    makeUpdate({
      attributes: [
        { kind: 'origin', value: 0 },
        { kind: 'as-path', segments: [{ type: 2, asns: [sender.asNumber] }] },
        { kind: 'next-hop', address: parseIpv4(sender.address) },
        { kind: 'communities', values: [((sender.asNumber << 16) | step.community) >>> 0] },
      ],
      nlri: [parsePrefix(step.announce)],
    }),
    { as4: true },
  );
}

/** What a downstream peer holds after the UPDATEs it received: prefix → communities text. */
function receivedTable(received: readonly BgpMessage[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const message of received) {
    if (message.type !== 'update') continue;
    for (const prefix of message.withdrawn) table.delete(formatPrefix(prefix));
    const communities = message.attributes.find((a) => a.kind === 'communities');
    const text =
      communities?.kind === 'communities'
        ? communities.values.map((v) => `${v >>> 16}:${v & 0xffff}`).join(' ')
        : '';
    for (const prefix of message.nlri) table.set(formatPrefix(prefix), text);
  }
  return table;
}

const sorted = (table: ReadonlyMap<string, string>) => [...table].sort(([a], [b]) => (a < b ? -1 : 1));

/** A speaker between a raw sender and a raw receiver, both Established. */
async function setUp(speakerName: string) {
  const self = await node(speakerName, 65002);
  const sender = await node(`${speakerName}-in`, 65010);
  const receiver = await node(`${speakerName}-out`, 65020);
  const running = await startSpeaker(
    self,
    speakerYaml(self, [
      { node: sender, extra: `${ACCEPT_ALL}\npassive: true` },
      { node: receiver, extra: `${ACCEPT_ALL}\npassive: true` },
    ]),
  );
  const input = new RawPeer(sender, self);
  const output = new RawPeer(receiver, self);
  raws.push(input, output);
  input.start();
  output.start();
  await established(running, sender.name);
  await established(running, receiver.name);
  await eventually('both raw peers established', () => input.options !== null && output.options !== null);
  return { self, sender, running, input, output };
}

describe('Speaker: UPDATEs received in one batch', () => {
  it('end in the FIB, the Loc-RIB and at the downstream peer as applied one by one', async () => {
    const batched = await setUp('rb');
    const expected = finalTable(STEPS, batched.sender.asNumber);
    expect(expected.has('20.0.1.0/24') && !expected.has('20.0.3.0/24')).toBe(true);

    // Every UPDATE back to back in one write: one read, one flush on the speaker.
    const messages = STEPS.map((step) => encodeStep(step, batched.sender));
    const bytes = new Uint8Array(messages.reduce((total, m) => total + m.length, 0));
    let at = 0;
    for (const message of messages) {
      bytes.set(message, at);
      at += message.length;
    }
    expect(batched.input.peer.sendUpdates(bytes, messages.length)).toBe(true);
    const senderName = batched.sender.name;
    await eventually('the speaker counted every UPDATE', () => {
      return peerRow(batched.running, senderName).messagesIn.update >= STEPS.length;
    });
    const downstream = () => sorted(receivedTable(batched.output.received));
    await eventually('the downstream peer holds the final table', () =>
      JSON.stringify(downstream()) === JSON.stringify(sorted(expected)) ? true : undefined,
    ).catch(() => undefined);
    expect(downstream()).toEqual(sorted(expected));

    const locRib = new Map(
      batched.running.speaker
        .routes()
        .map((route) => [route.prefix, (route.paths[0]?.communities ?? []).join(' ')] as const),
    );
    expect(sorted(locRib)).toEqual(sorted(expected));
    expect([...batched.running.fib.routes.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const entry of batched.running.fib.routes.values())
      expect(entry).toEqual({ kind: 'unicast', nextHops: [{ gateway: batched.sender.address }] });

    // The same UPDATEs one per write, each applied before the next: the same end state downstream.
    const single = await setUp('rs');
    for (let i = 0; i < STEPS.length; i++) {
      single.input.peer.sendUpdate(encodeStep(STEPS[i]!, single.sender));
      await eventually(`UPDATE ${i + 1} counted`, () => {
        return peerRow(single.running, single.sender.name).messagesIn.update >= i + 1;
      });
    }
    const expectedSingle = finalTable(STEPS, single.sender.asNumber);
    await eventually('the second downstream peer holds the final table', () =>
      JSON.stringify(sorted(receivedTable(single.output.received))) === JSON.stringify(sorted(expectedSingle))
        ? true
        : undefined,
    ).catch(() => undefined);
    expect(sorted(receivedTable(single.output.received))).toEqual(sorted(expectedSingle));
    expect([...single.running.fib.routes.keys()].sort()).toEqual(
      [...batched.running.fib.routes.keys()].sort(),
    );
  }, 60_000);
});
