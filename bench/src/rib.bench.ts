// RIB benchmark of caracal-bgpd's route pipeline, in one process, no namespaces:
//  1. unit level: N IPv4 prefixes (100k and 1M) as decoded UPDATEs (500 prefixes each, a fresh attribute
//     object per UPDATE as the decoder gives, equal sets across UPDATEs; and a "varied" run where every
//     UPDATE carries its own MED, so 1 set per UPDATE — which eBGP export strips: 1 outbound set; and a
//     "distinct" run, one prefix per UPDATE with its own community, so 1 outbound set and UPDATE per
//     prefix, the route-reflector shape) through AdjRibIn → LocRib → AdjRibOut flush (one eBGP update
//     group of two peers): prefixes/s per stage and in all, heap after a GC, socket sends per peer;
//  2. two hops: a bare session driver sends 100k prefixes to Speaker A over TCP on 127.0.0.x, A passes
//     them to Speaker B: time from the first UPDATE written to the last prefix in B's Loc-RIB, and the
//     process's CPU time meanwhile (steadier than wall time on a loaded machine); shared
//     attributes, and distinct (a community per prefix: A sends B one UPDATE per prefix).
//  3. memory: retained heap per prefix of each RIB (1M "shared" prefixes, and 200k "distinct": one UPDATE
//     and attribute set per prefix): Adj-RIB-In alone, + Loc-RIB, + Adj-RIB-Out (the decoded UPDATEs —
//     prefix and attribute objects — exist before the baseline and are not counted).
// Run: bench/run rib (or node --expose-gc bench/dist/src/rib.bench.js
// [--only unit|unit-distinct|hops|hops-distinct|memory]);
// RIB_BENCH_DIST=DIR runs it against another build of @caracal/bgp-speaker (DIR = that build's dist).

import { parseArgs } from 'node:util';
import type { BgpPathAttribute, BgpPrefix, BgpUpdate, ExportPeer, PeerInfo } from '@caracal/bgp-speaker';
import { freeTcpPort } from '@caracal/lab';

// RIB_BENCH_DIST=/path/to/an/older/bgp-speaker/dist runs the same bench against another build of the
// package (before/after comparisons, interleaved); default: this workspace's @caracal/bgp-speaker.
const library: typeof import('@caracal/bgp-speaker') =
  process.env.RIB_BENCH_DIST === undefined
    ? await import('@caracal/bgp-speaker')
    : await import(`${process.env.RIB_BENCH_DIST}/src/index.js`);
const {
  AdjRibIn,
  AdjRibOut,
  AttributeInterner,
  compilePolicy,
  formatConfigIssue,
  LocRib,
  makeUpdate,
  Peer,
  packUpdates,
  parseConfig,
  Speaker,
} = library;

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const gc = (globalThis as { gc?: () => void }).gc;
const heapMiB = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const ms = (start: number) => performance.now() - start;
const rate = (count: number, milliseconds: number) => Math.round(count / (milliseconds / 1000));

const PREFIXES_PER_UPDATE = 500;
const NO_DEFINITIONS = { prefixLists: {}, communityLists: {}, asPathLists: {}, filters: {} };
const accept = () => compilePolicy({ kind: 'action', action: 'accept' }, NO_DEFINITIONS);

type Shape = 'shared' | 'varied' | 'distinct';

/**
 * Decoded-UPDATE look-alikes: `count` /24s from 20.0.0.0, 500 per UPDATE, attributes fresh per UPDATE;
 * `varied`: a MED per UPDATE; `distinct`: a community per UPDATE (kept by eBGP export, unlike MED).
 */
function updates(
  count: number,
  varied: boolean,
  perUpdate = PREFIXES_PER_UPDATE,
  distinctCommunity = false,
): BgpUpdate[] {
  const out: BgpUpdate[] = [];
  for (let first = 0; first < count; first += perUpdate) {
    const nlri: BgpPrefix[] = [];
    for (let i = first; i < Math.min(count, first + perUpdate); i++)
      nlri.push({ afi: 1, address: (0x14000000 + i * 256) >>> 0, length: 24 });
    const attributes: BgpPathAttribute[] = [
      { kind: 'origin', value: 0 },
      { kind: 'as-path', segments: [{ type: 2, asns: [65100, 65001] }] },
      { kind: 'next-hop', address: 0x0a000001 },
      ...(varied ? [{ kind: 'med' as const, value: first / perUpdate }] : []),
      { kind: 'communities', values: [distinctCommunity ? (0xfde80000 + first) >>> 0 : 0xfde80001] },
    ];
    out.push(makeUpdate({ attributes, nlri }));
  }
  return out;
}

/** The one eBGP peer every run receives from. */
const SENDER: PeerInfo = {
  address: '10.0.0.1',
  asNumber: 65100,
  routerId: 0x0a000001,
  ibgp: false,
  routeReflectorClient: false,
};

function exportPeer(address: string): ExportPeer {
  return {
    info: { address, asNumber: 65300, routerId: 0x0a0000fe, ibgp: false, routeReflectorClient: false },
    families: ['ipv4-unicast'],
    fourOctetAs: true,
    maxMessageLength: 4096,
    addPathSend: false,
    nextHopMode: 'auto',
    localAddress: '10.0.0.2',
    exportPolicyKey: 'accept',
    exportPolicy: accept(),
  };
}

/** What a flush sends a peer: UPDATE octets and socket sends, from this build's runs or an older build's messages. */
function sentToPeer(list: readonly unknown[] | undefined): { bytes: number; sends: number } {
  let bytes = 0;
  for (const item of list ?? [])
    bytes += item instanceof Uint8Array ? item.length : (item as { bytes: Uint8Array }).bytes.length;
  return { bytes, sends: list?.length ?? 0 };
}

/** Gives the flush's batches back to the Adj-RIB-Out's pool, as the speaker does once written (if it has one). */
function recycleAll(out: InstanceType<typeof AdjRibOut>, sent: Map<string, readonly unknown[]>): void {
  const recycle = (out as { recycle?: (batch: Uint8Array) => void }).recycle;
  if (recycle === undefined) return;
  const batches = new Set<Uint8Array>();
  for (const list of sent.values())
    for (const item of list)
      if (!(item instanceof Uint8Array)) batches.add((item as { batch: Uint8Array }).batch);
  for (const batch of batches) recycle.call(out, batch);
}

function unitRun(count: number, shape: Shape): Record<string, string | number> {
  const input = shape === 'distinct' ? updates(count, false, 1, true) : updates(count, shape === 'varied');
  const heapBefore = heapMiB();
  const peer = SENDER;
  const interner = new AttributeInterner();
  const ribIn = new AdjRibIn(peer, {
    localAs: 65200,
    localRouterId: 0x0a000002,
    importPolicy: accept(),
    softReconfiguration: false,
    interner,
  });
  const loc = new LocRib();
  const out = new AdjRibOut({ localAs: 65200, localRouterId: 0x0a000002 });
  out.addPeer(exportPeer('10.0.0.3'), []);
  out.addPeer(exportPeer('10.0.0.4'), []);
  recycleAll(out, out.flush()); // End-of-RIB of the empty table: the members are established

  const start = performance.now();
  let t = start;
  let inMs = 0;
  let locMs = 0;
  for (const update of input) {
    const { changes } = ribIn.applyUpdate(update);
    const afterIn = performance.now();
    inMs += afterIn - t;
    loc.applyPeerChanges(peer, changes);
    t = performance.now();
    locMs += t - afterIn;
  }
  const changes = loc.takeChanges();
  const afterTake = performance.now();
  locMs += afterTake - t;
  out.enqueue(changes);
  const messages = out.flush();
  const outMs = ms(afterTake);
  const totalMs = ms(start);
  const sent = sentToPeer(messages.get('10.0.0.3'));
  recycleAll(out, messages);
  if (changes.length !== count)
    throw new Error(`rib bench: ${changes.length} best-path changes, expected ${count}`);
  const heapAfter = heapMiB();
  return {
    run: `${count.toLocaleString('en')} ${shape}`,
    'adj-rib-in /s': rate(count, inMs),
    'loc-rib /s': rate(count, locMs),
    'adj-rib-out flush /s': rate(count, outMs),
    'total ms': Math.round(totalMs),
    'total /s': rate(count, totalMs),
    'heap MiB (retained)': Math.round(heapAfter - heapBefore),
    'UPDATE bytes/peer': sent.bytes,
    'sends/peer': sent.sends,
  };
}

function feedRibs(
  input: readonly BgpUpdate[],
  stages: number,
  peer: PeerInfo,
  ribIn: InstanceType<typeof AdjRibIn>,
  loc: InstanceType<typeof LocRib>,
  out: InstanceType<typeof AdjRibOut>,
): void {
  for (const update of input) {
    const { changes } = ribIn.applyUpdate(update);
    if (stages > 1) loc.applyPeerChanges(peer, changes);
  }
  if (stages < 2) return;
  const changes = loc.takeChanges();
  if (stages < 3) return;
  out.enqueue(changes);
  out.flush();
}

/** Retained heap per prefix with only the first `stages` RIBs fed (1 Adj-RIB-In, 2 + Loc-RIB, 3 + Adj-RIB-Out). */
function memoryRun(count: number, stages: 1 | 2 | 3, distinct: boolean): number {
  // distinct: one prefix per UPDATE with its own MED, so every prefix has its own attribute set.
  const input = distinct ? updates(count, true, 1) : updates(count, false);
  const heapBefore = heapMiB();
  const peer = SENDER;
  const ribIn = new AdjRibIn(peer, {
    localAs: 65200,
    localRouterId: 0x0a000002,
    importPolicy: accept(),
    softReconfiguration: false,
  });
  const loc = new LocRib();
  const out = new AdjRibOut({ localAs: 65200, localRouterId: 0x0a000002 });
  out.addPeer(exportPeer('10.0.0.3'), []);
  out.addPeer(exportPeer('10.0.0.4'), []);
  out.flush();
  // Fed in a function of its own so that no change list stays reachable from this frame while measuring.
  feedRibs(input, stages, peer, ribIn, loc, out);
  const retained = ((heapMiB() - heapBefore) * 2 ** 20) / count;
  if (ribIn.size !== count || out.groups().length !== 1) throw new Error('rib bench: memory run incomplete');
  return retained;
}

function speakerConfig(
  self: { address: string; as: number; port: number },
  peers: Array<{ name: string; address: string; as: number; port: number }>,
) {
  const yaml = [
    `asNumber: ${self.as}`,
    `routerId: ${self.address}`,
    `listen: { address: ${self.address}, port: ${self.port} }`,
    'logLevel: error',
    'peers:',
    ...peers.flatMap((p) => [
      `  - name: ${p.name}`,
      `    address: ${p.address}`,
      `    port: ${p.port}`,
      `    asNumber: ${p.as}`,
      `    localAddress: ${self.address}`,
      '    holdTime: 240',
      '    connectRetryTime: 1',
      '    import: { action: accept }',
      '    export: { action: accept }',
    ]),
  ].join('\n');
  const parsed = parseConfig(yaml, 'rib-bench.yaml');
  if (!parsed.ok) throw new Error(parsed.issues.map(formatConfigIssue).join('\n'));
  return parsed.config;
}

/**
 * Sender → Speaker A → Speaker B over TCP; ms from the first UPDATE written to B holding every prefix.
 * `distinct`: every prefix has its own community (kept by A's eBGP export), so A sends B one UPDATE per
 * prefix — its send path with distinct attribute sets; the sender writes its UPDATEs in ~64 KiB chunks.
 */
async function twoHops(count: number, distinct = false): Promise<Record<string, string | number>> {
  const octet = 10 + Math.floor(Math.random() * 200);
  const sender = {
    name: 'sender',
    address: `127.0.${octet}.1`,
    as: 65100,
    port: await freeTcpPort(`127.0.${octet}.1`),
  };
  const a = {
    name: 'a',
    address: `127.0.${octet}.2`,
    as: 65200,
    port: await freeTcpPort(`127.0.${octet}.2`),
  };
  const b = {
    name: 'b',
    address: `127.0.${octet}.3`,
    as: 65300,
    port: await freeTcpPort(`127.0.${octet}.3`),
  };
  const speakerA = new Speaker(speakerConfig(a, [sender, b]));
  const speakerB = new Speaker(speakerConfig(b, [a]));
  await Promise.all([speakerA.start(), speakerB.start()]);
  const peer = new Peer({
    name: 'sender',
    local: {
      asNumber: sender.as,
      routerId: sender.address,
      holdTime: 240,
      families: [{ afi: 1, safi: 1 }],
      routeRefresh: true,
      enhancedRouteRefresh: false,
      extendedMessage: false,
    },
    remote: { address: a.address, port: a.port, asNumber: a.as },
    localAddress: sender.address,
  });
  const prefixes: BgpPrefix[] = [];
  for (let i = 0; i < count; i++)
    prefixes.push({ afi: 1, address: (0x14000000 + i * 256) >>> 0, length: 24 });
  const attributes = (community?: number): BgpPathAttribute[] => [
    { kind: 'origin', value: 0 },
    { kind: 'as-path', segments: [{ type: 2, asns: [65100] }] },
    { kind: 'next-hop', address: 0x7f000001 },
    ...(community === undefined ? [] : [{ kind: 'communities' as const, values: [community] }]),
  ];
  let messages: Uint8Array[];
  if (!distinct) messages = packUpdates({ attributes: attributes(), announced: prefixes }, { as4: true });
  else {
    // One UPDATE per prefix, concatenated into ~64 KiB chunks (one socket write each).
    messages = [];
    let chunk: Uint8Array[] = [];
    let octets = 0;
    const flushChunk = () => {
      const out = new Uint8Array(octets);
      let at = 0;
      for (const part of chunk) {
        out.set(part, at);
        at += part.length;
      }
      messages.push(out);
      chunk = [];
      octets = 0;
    };
    for (let i = 0; i < count; i++) {
      const [update] = packUpdates(
        { attributes: attributes((0xfde80000 + i) >>> 0), announced: [prefixes[i]!] },
        { as4: true },
      );
      chunk.push(update!);
      octets += update!.length;
      if (octets >= 64 * 1024) flushChunk();
    }
    if (octets > 0) flushChunk();
  }
  const bothUp = new Promise<void>((resolve) => {
    const check = () => {
      const ready =
        peer.state === 'Established' &&
        [speakerA, speakerB].every((s) => s.status().peers.every((p) => p.state === 'Established'));
      if (ready) resolve();
      else setTimeout(check, 20);
    };
    check();
  });
  peer.start();
  await bothUp;
  let received = 0;
  let lastAt = 0;
  const done = new Promise<void>((resolve) => {
    speakerB.bestPathChanges$.subscribe((change) => {
      if (change.kind === 'added') received++;
      if (received === count) {
        lastAt = performance.now();
        resolve();
      }
    });
  });
  const heapBefore = heapMiB();
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (const message of messages)
    if (!peer.sendUpdate(message)) throw new Error('rib bench: the sender session is not Established');
  await done;
  const elapsed = lastAt - start;
  // CPU time of the whole process (A, B, the sender and the garbage collector's threads) until B had
  // every prefix: less sensitive than wall time to other processes on a loaded machine.
  const cpu = process.cpuUsage(cpuStart);
  const heapAfter = heapMiB();
  peer.stop();
  await Promise.all([speakerA.stop({ keepRoutes: false }), speakerB.stop({ keepRoutes: false })]);
  return {
    run: `${count.toLocaleString('en')} ${distinct ? 'distinct' : 'shared'} prefixes, sender → A → B`,
    'ms to last prefix in B': Math.round(elapsed),
    'prefixes/s': rate(count, elapsed),
    'CPU ms': Math.round((cpu.user + cpu.system) / 1000),
    'heap MiB (A+B retained)': Math.round(heapAfter - heapBefore),
  };
}

if (gc === undefined) console.warn('rib bench: run with node --expose-gc for heap figures');
const only = values.only;
if (only !== undefined && !['unit', 'unit-distinct', 'hops', 'hops-distinct', 'memory'].includes(only))
  throw new Error(`rib bench: --only ${only}: expected unit, unit-distinct, hops, hops-distinct or memory`);
if (only === undefined || only === 'unit' || only === 'unit-distinct') {
  const rows: Array<Record<string, string | number>> = [];
  // --only unit-distinct: the 100k distinct row alone (before/after comparisons of the send path).
  const runs: ReadonlyArray<readonly [number, Shape]> =
    only === 'unit-distinct'
      ? [[100_000, 'distinct']]
      : [
          [100_000, 'shared'],
          [100_000, 'varied'],
          [100_000, 'distinct'],
          [1_000_000, 'shared'],
          [1_000_000, 'varied'],
        ];
  for (const [count, shape] of runs) {
    unitRun(Math.min(count, 20_000), shape); // warm-up
    rows.push(unitRun(count, shape));
  }
  console.table(rows);
}
if (only === undefined || only === 'hops' || only === 'hops-distinct') {
  const rows = [];
  for (const distinct of only === 'hops-distinct' ? [true] : [false, true]) {
    await twoHops(10_000, distinct); // warm-up
    for (let i = 0; i < 3; i++) rows.push(await twoHops(100_000, distinct));
  }
  console.table(rows);
}
if (only === undefined || only === 'memory') {
  const rows: Array<Record<string, string | number>> = [];
  for (const [count, distinct] of [
    [1_000_000, false],
    [200_000, true],
  ] as const) {
    const adjRibIn = memoryRun(count, 1, distinct);
    const withLocRib = memoryRun(count, 2, distinct);
    const all = memoryRun(count, 3, distinct);
    rows.push({
      run: `${count.toLocaleString('en')} ${distinct ? 'distinct (a set per prefix)' : 'shared'}, retained heap B/prefix`,
      'Adj-RIB-In': Math.round(adjRibIn),
      'Loc-RIB': Math.round(withLocRib - adjRibIn),
      'Adj-RIB-Out (1 group)': Math.round(all - withLocRib),
      total: Math.round(all),
    });
  }
  console.table(rows);
}
