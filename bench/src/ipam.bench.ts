// Benchmark: IPAM autoAssign of 10,000 addresses (one handle each) across 100 nodes against a throwaway
// etcd, IN_FLIGHT allocations at once; reports total time, allocations per second and etcd round trips
// per allocation (the datastore's request counter), beside the raw etcd3 put rate on the same etcd as the
// floor (one round trip per put), and the ratio. Every allocated address is checked unique at the end.
// Run: bench/run ipam   (ALLOCATIONS, NODES, IN_FLIGHT override the defaults)

import { TestEtcd } from '@caracal/datastore';
import { IpamClient } from '@caracal/ipam';

const ALLOCATIONS = Number(process.env.ALLOCATIONS ?? 10_000);
const NODES = Number(process.env.NODES ?? 100);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 32);

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

async function runIpam(etcd: TestEtcd): Promise<{ seconds: number; roundTrips: number; commits: number }> {
  const store = etcd.connect();
  const ipam = new IpamClient({ store, pools: [{ name: 'bench', cidr: '10.128.0.0/14', blockSize: 26 }] });
  const seen = new Set<string>();
  const before = store.requestCounts();
  const start = nowMs();
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < ALLOCATIONS) {
        const index = next++;
        const node = `node-${index % NODES}`;
        const result = await ipam.autoAssign({
          node,
          handleId: `caracal.${node}.bench.pod-${index}`,
          attrs: { namespace: 'bench', pod: `pod-${index}` },
          num4: 1,
        });
        for (const ip of result.ipv4) {
          if (seen.has(ip)) throw new Error(`address ${ip} handed out twice`);
          seen.add(ip);
        }
        done += 1;
        if (done % 1000 === 0) {
          const seconds = (nowMs() - start) / 1000;
          console.log(`  ipam: ${done}/${ALLOCATIONS} allocated, ${(done / seconds).toFixed(0)}/s`);
        }
      }
    }),
  );
  const seconds = (nowMs() - start) / 1000;
  const after = store.requestCounts();
  const show = await ipam.ipamShow();
  console.log(`  ipam: ${show.pools[0]?.blocks} blocks claimed, ${show.pools[0]?.inUse} addresses in use`);
  return {
    seconds,
    roundTrips: after.total - before.total,
    commits: (after.byOperation.commitAll ?? 0) - (before.byOperation.commitAll ?? 0),
  };
}

async function runRawPuts(etcd: TestEtcd): Promise<number> {
  const store = etcd.connect();
  const start = nowMs();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < ALLOCATIONS) {
        const index = next++;
        await store.client.put(`/bench/raw/k${index}`).value(JSON.stringify({ index, pad: 'x'.repeat(200) }));
        if ((index + 1) % 2500 === 0) console.log(`  raw etcd3: ${index + 1}/${ALLOCATIONS} puts`);
      }
    }),
  );
  return (nowMs() - start) / 1000;
}

async function main(): Promise<void> {
  console.log(
    `ipam: ${ALLOCATIONS} allocations across ${NODES} nodes, ${IN_FLIGHT} in flight, on a throwaway etcd`,
  );
  const etcd = await TestEtcd.start();
  try {
    const rawSeconds = await runRawPuts(etcd);
    const ipam = await runIpam(etcd);
    const ipamRate = ALLOCATIONS / ipam.seconds;
    const rawRate = ALLOCATIONS / rawSeconds;
    console.log('');
    console.log('| what | total s | per second | etcd round trips per op |');
    console.log('| --- | ---: | ---: | ---: |');
    console.log(
      `| caracal ipam autoAssign | ${ipam.seconds.toFixed(2)} | ${ipamRate.toFixed(0)} | ${(ipam.roundTrips / ALLOCATIONS).toFixed(2)} (txns ${(ipam.commits / ALLOCATIONS).toFixed(2)}) |`,
    );
    console.log(`| raw etcd3 put (floor) | ${rawSeconds.toFixed(2)} | ${rawRate.toFixed(0)} | 1.00 |`);
    console.log(`ratio: ipam allocations/s ÷ raw puts/s = ${(ipamRate / rawRate).toFixed(3)}`);
  } finally {
    await etcd.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
