// Benchmark: delivery latency of 100 watchers receiving 10,000 changes through @caracal/datastore's
// gap-free watchPrefix, beside the raw etcd3 watcher (the client library's own stream, no snapshot, no
// resync, no dedup) as the floor, in one run against one throwaway etcd. The writer puts each change
// with its send time in the value; every watcher records receive - send. Prints p50/p99 and the ratio.
// Run: bench/run watch   (WATCHERS, CHANGES, RATE, IN_FLIGHT override the defaults)

import { type EtcdKeyValueStore, TestEtcd } from '@caracal/datastore';

const WATCHERS = Number(process.env.WATCHERS ?? 100);
const CHANGES = Number(process.env.CHANGES ?? 10_000);
/** Puts in flight at most at once. */
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 16);
/**
 * Changes per second the writer aims at: a steady stream both sides can keep up with, so the latency is
 * the cost of the delivery path and not the length of a backlog (RATE=0: as fast as etcd takes them).
 */
const RATE = Number(process.env.RATE ?? 1000);
const KEYS = 500;

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

interface Result {
  name: string;
  deliveries: number;
  p50: number;
  p99: number;
  max: number;
  writeSeconds: number;
}

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

/** Writes CHANGES puts under prefix, IN_FLIGHT at a time, each value carrying its send time. */
async function writeChanges(writer: EtcdKeyValueStore, prefix: string): Promise<number> {
  const start = nowMs();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < CHANGES) {
        const index = next++;
        const due = start + (RATE > 0 ? (index * 1000) / RATE : 0);
        const wait = due - nowMs();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        await writer.put(`${prefix}k${index % KEYS}`, `${nowMs()}|${index}`);
      }
    }),
  );
  return (nowMs() - start) / 1000;
}

/** Collects latencies until every watcher has seen every change. */
class LatencyCollector {
  readonly latencies = new Float64Array(WATCHERS * CHANGES);
  count = 0;
  private resolveDone: (() => void) | undefined;
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  record(value: string): void {
    const sentAt = Number(value.slice(0, value.indexOf('|')));
    this.latencies[this.count++] = nowMs() - sentAt;
    if (this.count === this.latencies.length) this.resolveDone?.();
  }

  summarise(name: string, writeSeconds: number): Result {
    const sorted = this.latencies.subarray(0, this.count).sort();
    return {
      name,
      deliveries: this.count,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? Number.NaN,
      writeSeconds,
    };
  }
}

async function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function runCaracal(etcd: TestEtcd, round: number): Promise<Result> {
  const prefix = `/bench/caracal-${round}/`;
  const watcherStore = etcd.connect();
  const writer = etcd.connect();
  const collector = new LatencyCollector();
  let inSync = 0;
  const subscriptions = Array.from({ length: WATCHERS }, () =>
    watcherStore.watchPrefix(prefix).subscribe((event) => {
      if (event.type === 'put') collector.record(event.value);
      else if (event.type === 'in-sync') inSync += 1;
      else if (event.type === 'snapshot' && event.resync)
        throw new Error('unexpected resync during the benchmark');
    }),
  );
  while (inSync < WATCHERS) await new Promise((resolve) => setTimeout(resolve, 10));
  const writeSeconds = await writeChanges(writer, prefix);
  await timeout(collector.done, 120_000, 'caracal watchers');
  for (const subscription of subscriptions) subscription.unsubscribe();
  await watcherStore.close();
  await writer.close();
  return collector.summarise('caracal watchPrefix', writeSeconds);
}

async function runRawEtcd3(etcd: TestEtcd, round: number): Promise<Result> {
  const prefix = `/bench/raw-${round}/`;
  const watcherStore = etcd.connect();
  const writer = etcd.connect();
  const collector = new LatencyCollector();
  const watchers = await Promise.all(
    Array.from({ length: WATCHERS }, () => watcherStore.client.watch().prefix(prefix).create()),
  );
  for (const watcher of watchers) watcher.on('put', (kv) => collector.record(kv.value.toString()));
  const writeSeconds = await writeChanges(writer, prefix);
  await timeout(collector.done, 120_000, 'raw etcd3 watchers');
  await Promise.all(watchers.map((watcher) => watcher.cancel()));
  await watcherStore.close();
  await writer.close();
  return collector.summarise('raw etcd3 watcher (floor)', writeSeconds);
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  console.log(
    `watch: ${WATCHERS} watchers x ${CHANGES} changes at ${RATE > 0 ? `${RATE}/s` : 'full speed'} (at most ${IN_FLIGHT} puts in flight, ${KEYS} keys)`,
  );
  const etcd = await TestEtcd.start();
  const results: Result[] = [];
  try {
    // Alternate the two sides twice so drift (etcd's growing db, JIT warm-up) hits both alike.
    for (let round = 0; round < 2; round++) {
      gc();
      results.push(await runRawEtcd3(etcd, round));
      gc();
      results.push(await runCaracal(etcd, round));
    }
  } finally {
    await etcd.stop();
  }
  const header = `${'side'.padEnd(28)} ${'round'.padStart(5)} ${'deliveries'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'write s'.padStart(8)}`;
  console.log(header);
  results.forEach((result, index) => {
    console.log(
      `${result.name.padEnd(28)} ${String(Math.floor(index / 2)).padStart(5)} ${String(result.deliveries).padStart(10)} ${result.p50.toFixed(2).padStart(8)} ${result.p99.toFixed(2).padStart(8)} ${result.max.toFixed(2).padStart(8)} ${result.writeSeconds.toFixed(2).padStart(8)}`,
    );
  });
  const last = (name: string) => results.filter((result) => result.name.startsWith(name)).at(-1);
  const raw = last('raw');
  const caracal = last('caracal');
  if (raw !== undefined && caracal !== undefined) {
    console.log(
      `ratio caracal/raw (last round): p50 ${(caracal.p50 / raw.p50).toFixed(2)}x, p99 ${(caracal.p99 / raw.p99).toFixed(2)}x`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
