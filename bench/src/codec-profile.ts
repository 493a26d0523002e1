// CPU profile of the codec bench's "distinct" shape (1,000,000 UPDATEs, one /32 each, every one with its own
// attribute set), limited to the timed work: three pooled BgpMessageWriter encodes from the prebuilt model
// (batches handed over and given back, as the speaker sends), then —
// with the model released — three decodes of the framer's views. Writes both .cpuprofile files (open them in
// Chrome DevTools) and prints the functions by self samples, garbage collection included.
// Run: node --expose-gc bench/dist/src/codec-profile.js [output directory, default /tmp]   (PREFIXES=…)

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { BgpFramer, type BgpPrefix, decodeBgpMessage } from '@caracal/bgp-speaker';
import {
  benchAttributes,
  benchPrefixes,
  encodeDistinctKept,
  encodeDistinctPooled,
} from './codec-workload.js';

const PREFIXES = Number(process.env.PREFIXES ?? 1_000_000);
const CONTEXT = { as4: true };
const outputDirectory = process.argv[2] ?? '/tmp';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

const session = new Session();
session.connect();
function post<T>(method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))),
  );
}

/**
 * Functions by self time as "samples  %  name file:line". Samples are counted rather than their time deltas
 * summed: the delta of the sample taken while the profiler is being stopped spans the gap after the runs.
 */
function topFunctions(profile: Profile, count: number): string[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}:${frame.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([name, samples]) =>
        `${String(samples).padStart(7)} ${((100 * samples) / total).toFixed(1).padStart(5)} %  ${name}`,
    );
}

async function profiled(name: string, run: () => void): Promise<void> {
  run(); // warm-up (JIT)
  (globalThis as { gc?: () => void }).gc?.();
  await post('Profiler.start');
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < 3; i++) run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9 / 3;
  const used = process.cpuUsage(cpuStart);
  const { profile } = await post<{ profile: Profile }>('Profiler.stop');
  const path = join(outputDirectory, `codec-${name}.cpuprofile`);
  writeFileSync(path, JSON.stringify(profile));
  const cpuSeconds = (used.user + used.system) / 1e6 / 3;
  console.log(
    `\n${name}: ${(PREFIXES / seconds / 1e6).toFixed(2)} M prefixes/s wall, ${(PREFIXES / cpuSeconds / 1e6).toFixed(2)} per CPU-second (${path})`,
  );
  for (const line of topFunctions(profile, 12)) console.log(line);
}

/**
 * Profiles the pooled encode (the speaker's send path: batches handed over and given back) with the model
 * alive only inside; returns the ~64 KiB batches of the stream, encoded once more and kept, for decoding.
 */
async function encodePhase(all: readonly BgpPrefix[]): Promise<Uint8Array[]> {
  const attributeSets = all.map((_, i) => benchAttributes(i, i & 0xffff));
  await profiled('distinct-encode', () => {
    encodeDistinctPooled(all, attributeSets, CONTEXT, () => {});
  });
  return encodeDistinctKept(all, attributeSets, CONTEXT);
}

async function main(): Promise<void> {
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  const all = benchPrefixes(PREFIXES);
  const batches = await encodePhase(all);
  const framer = new BgpFramer(CONTEXT);
  const views: Uint8Array[] = [];
  for (const batch of batches) for (const view of framer.push(batch)) views.push(view);
  await profiled('distinct-decode', () => {
    let announced = 0;
    for (const view of views) {
      const message = decodeBgpMessage(view, CONTEXT);
      if (message.type === 'update') announced += message.nlri.length;
    }
    if (announced !== PREFIXES) throw new Error(`decoded ${announced} of ${PREFIXES} prefixes`);
  });
  session.disconnect();
}

await main();
