// The codec of src/codec (written by the codec engineer; this file tests it) against the messages of
// real BIRD ↔ GoBGP sessions: every message of every fixture decodes with no error in the context the
// session negotiated and re-encodes byte for byte, and the routes injected when capturing appear with
// their communities, large communities, MED, AS paths, next hops and ADD-PATH path identifiers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BgpMessage,
  type BgpPathAttribute,
  type BgpUpdate,
  captureBgpEvents,
  decodeBgpMessage,
  encodeBgpMessage,
  formatPrefix,
  parseCaptureBytes,
  toCodecContext,
} from '../../src/index.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures');

function decodedFixture(name: string): Array<{ sender: string; bytes: Uint8Array; message: BgpMessage }> {
  const events = captureBgpEvents(parseCaptureBytes(new Uint8Array(readFileSync(join(fixtures, name)))));
  return events.map((event) => {
    if (event.kind !== 'message') throw new Error(`${name}: ${event.kind}: ${event.detail}`);
    return {
      sender: event.sender,
      bytes: event.bytes,
      message: decodeBgpMessage(event.bytes, toCodecContext(event.context)),
    };
  });
}

function attribute<K extends BgpPathAttribute['kind']>(
  update: BgpUpdate,
  kind: K,
): Extract<BgpPathAttribute, { kind: K }> | undefined {
  return update.attributes.find(
    (candidate): candidate is Extract<BgpPathAttribute, { kind: K }> => candidate.kind === kind,
  );
}

const updates = (messages: ReturnType<typeof decodedFixture>) =>
  messages.filter((entry): entry is typeof entry & { message: BgpUpdate } => entry.message.type === 'update');

describe('codec on the real fixtures', () => {
  for (const name of ['ipv4-as4.pcap', 'ipv6-mp.pcap', 'ipv4-add-path.pcap', 'ipv4-as4.pcapng.gz']) {
    it(`${name}: every message decodes without error and re-encodes byte for byte`, () => {
      const events = captureBgpEvents(parseCaptureBytes(new Uint8Array(readFileSync(join(fixtures, name)))));
      expect(events.length).toBeGreaterThan(10);
      for (const event of events) {
        if (event.kind !== 'message') throw new Error(`${event.kind}: ${event.detail}`);
        const context = toCodecContext(event.context);
        const message = decodeBgpMessage(event.bytes, context);
        if (message.type === 'update') expect(message.errors).toEqual([]);
        expect(Buffer.from(encodeBgpMessage(message, context)).toString('hex')).toBe(
          Buffer.from(event.bytes).toString('hex'),
        );
      }
    });
  }

  it('ipv4-as4: the routes injected on GoBGP and BIRD, with their attributes, and the withdrawals', () => {
    const all = updates(decodedFixture('ipv4-as4.pcap'));
    const gobgp = all.find((entry) =>
      entry.message.nlri.map((prefix) => formatPrefix(prefix)).includes('10.1.0.0/24'),
    );
    if (!gobgp) throw new Error('10.1.0.0/24 not announced');
    expect(gobgp.sender).toBe('10.255.0.2:179');
    expect(attribute(gobgp.message, 'communities')?.values).toEqual([65000 * 65536 + 1]);
    expect(attribute(gobgp.message, 'large-communities')?.values).toEqual([
      { global: 1, local1: 2, local2: 3 },
    ]);
    expect(attribute(gobgp.message, 'med')?.value).toBe(10);
    expect(attribute(gobgp.message, 'as-path')?.segments).toEqual([{ type: 2, asns: [65001] }]);
    const bird = all.find((entry) =>
      entry.message.nlri.map((prefix) => formatPrefix(prefix)).includes('10.2.0.0/24'),
    );
    if (!bird) throw new Error('10.2.0.0/24 not announced');
    expect(bird.message.nlri.map((prefix) => formatPrefix(prefix)).sort()).toEqual([
      '10.2.0.0/24',
      '10.2.1.0/24',
      '192.0.2.0/25',
    ]);
    expect(attribute(bird.message, 'as-path')?.segments).toEqual([{ type: 2, asns: [4200000001] }]);
    expect(attribute(bird.message, 'communities')?.values).toEqual([
      65000 * 65536 + 100,
      65000 * 65536 + 200,
    ]);
    expect(attribute(bird.message, 'large-communities')?.values).toEqual([
      { global: 4200000001, local1: 7, local2: 8 },
    ]);
    expect(attribute(bird.message, 'med')?.value).toBe(20);
    const withdrawn = all.flatMap((entry) => entry.message.withdrawn.map((prefix) => formatPrefix(prefix)));
    expect(withdrawn).toEqual(
      expect.arrayContaining(['10.1.1.0/24', '10.2.0.0/24', '10.2.1.0/24', '192.0.2.0/25']),
    );
  });

  it('ipv6-mp: MP_REACH with global + link-local next hop, MP_UNREACH withdrawal', () => {
    const all = updates(decodedFixture('ipv6-mp.pcap'));
    const reaches = all.flatMap((entry) => {
      const reach = attribute(entry.message, 'mp-reach');
      return reach ? [reach] : [];
    });
    const bird = reaches.find((reach) =>
      reach.nlri.map((prefix) => formatPrefix(prefix)).includes('2001:db8:2::/48'),
    );
    expect(bird?.afi).toBe(2);
    expect(bird?.nextHop.length).toBe(32);
    expect(bird?.nextHop[16]).toBe(0xfe);
    expect(bird?.nextHop[17]).toBe(0x80);
    expect(reaches.flatMap((reach) => reach.nlri.map((prefix) => formatPrefix(prefix)))).toContain(
      '2001:db8:1:8000::/49',
    );
    const unreached = all.flatMap(
      (entry) =>
        attribute(entry.message, 'mp-unreach')?.withdrawn.map((prefix) => formatPrefix(prefix)) ?? [],
    );
    expect(unreached).toContain('2001:db8:1::/48');
  });

  it('ipv4-add-path: two paths for 10.3.0.0/24 with distinct path ids, one withdrawn by path id', () => {
    const all = updates(decodedFixture('ipv4-add-path.pcap'));
    const paths = all.flatMap((entry) =>
      entry.message.nlri.filter((prefix) => formatPrefix(prefix).startsWith('10.3.0.0/24 path-id ')),
    );
    expect(paths).toHaveLength(2);
    expect(new Set(paths.map((prefix) => prefix.pathId)).size).toBe(2);
    const withdrawn = all.flatMap((entry) => entry.message.withdrawn);
    expect(withdrawn).toHaveLength(1);
    expect(paths.map((prefix) => prefix.pathId)).toContain(withdrawn[0]?.pathId);
  });
});
