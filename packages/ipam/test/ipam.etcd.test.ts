// Integration tests of the IPAM client against a real etcd started per file (the datastore's TestEtcd):
// concurrency without duplicates, affinity, borrowing, strictAffinity, empty-block release, reservations,
// node block release, stale pending claims, CAS conflict retries and show.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdUnavailableReason, type KeyValueStore, keys, TestEtcd } from '@caracal/datastore';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nodeOfAffinity, parseBlockDocument } from '../src/block.js';
import { ipamCheck, ipamRelease, ipamReleaseFromReport } from '../src/check.js';
import { IpamClient, IpamExhaustedError, type IpamPool } from '../src/client.js';
import { cidrContainsIp, parseCidr, parseIp } from '../src/ip.js';

const unavailable = etcdUnavailableReason();
if (unavailable !== undefined) console.log(`skipping IPAM etcd tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('IPAM on a real etcd', () => {
  let etcd: TestEtcd;
  let store: KeyValueStore;

  beforeAll(async () => {
    etcd = await TestEtcd.start();
    store = etcd.connect();
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });
  beforeEach(async () => {
    for (const item of (await store.list(keys.ipamPrefix)).items) await store.delete(item.key);
  });

  const client = (pools: IpamPool[], extra: Partial<ConstructorParameters<typeof IpamClient>[0]> = {}) =>
    new IpamClient({ store, pools, ...extra });

  async function blockOfIp(ip: string) {
    const { version, value } = parseIp(ip);
    const blocks = (await store.list(keys.blocksPrefix)).items.map((item) =>
      parseBlockDocument(JSON.parse(item.value)),
    );
    return blocks.find((block) => cidrContainsIp(parseCidr(block.cidr), version, value));
  }

  it('50 concurrent allocators on 5 nodes never hand out one address twice; addresses sit in affine blocks', async () => {
    const pool = { name: 'default', cidr: '10.50.0.0/22', blockSize: 28 };
    const ipam = client([pool]);
    const jobs = Array.from({ length: 50 }, (_, index) => ({
      node: `node-${index % 5}`,
      handleId: `h-${index}`,
    }));
    const results = await Promise.all(
      jobs.map(async (job) => ({ ...job, result: await client([pool]).autoAssign({ ...job, num4: 2 }) })),
    );
    const all = results.flatMap((entry) => entry.result.ipv4);
    expect(all).toHaveLength(100);
    expect(new Set(all).size).toBe(100);
    for (const entry of results) {
      for (const assignment of entry.result.assignments) {
        expect(cidrContainsIp(parseCidr(pool.cidr), 4, parseIp(assignment.ip).value)).toBe(true);
        const block = await blockOfIp(assignment.ip);
        if (!assignment.borrowed) expect(nodeOfAffinity(block!.affinity)).toBe(entry.node);
      }
    }
    // The stored state agrees: each address is recorded once, under its handle.
    const blocks = await ipam.listBlocks();
    const recorded = blocks.flatMap((block) => block.allocations.filter((a) => a !== null));
    expect(recorded).toHaveLength(100);
    // Each block has exactly one owner and that owner's affinity key is confirmed.
    for (const block of blocks) {
      const node = nodeOfAffinity(block.affinity)!;
      expect((await ipam.blocksAffineTo(node)).find((a) => a.cidr === block.cidr)?.state).toBe('confirmed');
    }
    // Release by handle frees exactly the handle's addresses and removes the handle.
    const first = results[0]!;
    expect((await ipam.releaseByHandle(first.handleId)).sort()).toEqual([...first.result.ipv4].sort());
    expect(await store.get(keys.handle(first.handleId))).toBeUndefined();
  });

  it('borrows from another node when the node cannot claim a block, unless strictAffinity', async () => {
    const pool = { name: 'tiny', cidr: '10.60.0.0/28', blockSize: 28 };
    const ipam = client([pool]);
    const a = await ipam.autoAssign({ node: 'a', handleId: 'ha', num4: 4 });
    expect(a.assignments.every((assignment) => !assignment.borrowed)).toBe(true);
    await expect(
      ipam.autoAssign({ node: 'b', handleId: 'hb', num4: 1, strictAffinity: true }),
    ).rejects.toThrow(/IPv4: wanted 1 address\(es\), found 0 in pool\(s\) \[tiny\].*strictAffinity/);
    await ipam.setConfig({ strictAffinity: true });
    await expect(ipam.autoAssign({ node: 'b', handleId: 'hb', num4: 1 })).rejects.toBeInstanceOf(
      IpamExhaustedError,
    );
    await ipam.setConfig({ strictAffinity: false });
    const b = await ipam.autoAssign({ node: 'b', handleId: 'hb', num4: 1 });
    expect(b.assignments[0]?.borrowed).toBe(true);
    expect(nodeOfAffinity((await blockOfIp(b.ipv4[0]!))!.affinity)).toBe('a');
    expect(a.ipv4).not.toContain(b.ipv4[0]);
    // Exhaustion: 16 addresses in the pool, 5 used, ask 12 → all or nothing, error names the pool.
    await expect(ipam.autoAssign({ node: 'b', handleId: 'hc', num4: 12 })).rejects.toThrow(
      /found 11 in pool\(s\) \[tiny\]/,
    );
    expect((await ipam.ipamShow()).pools[0]).toMatchObject({
      name: 'tiny',
      total: '16',
      inUse: 5,
      free: '11',
      blocks: 1,
    });
  });

  it('never hands out reserved addresses', async () => {
    const pool = { name: 'r', cidr: '10.70.0.0/29', blockSize: 29 };
    const ipam = client([pool], { reservedCidrs: ['10.70.0.0/30', '10.70.0.6'] });
    const got = await ipam.autoAssign({ node: 'n', handleId: 'h', num4: 2 });
    expect(got.ipv4).toEqual(['10.70.0.4', '10.70.0.5']);
    expect((await ipam.autoAssign({ node: 'n', handleId: 'h2', num4: 1 })).ipv4).toEqual(['10.70.0.7']);
    await expect(ipam.autoAssign({ node: 'n', handleId: 'h3', num4: 1 })).rejects.toThrow(/found 0/);
  });

  it('releases an emptied block when the node has another block with free space', async () => {
    const pool = { name: 'p', cidr: '10.80.0.0/24', blockSize: 30 };
    const ipam = client([pool]);
    const first = await ipam.autoAssign({ node: 'n', handleId: 'h1', num4: 4 });
    const second = await ipam.autoAssign({ node: 'n', handleId: 'h2', num4: 1 });
    expect(second.assignments[0]!.block).not.toBe(first.assignments[0]!.block);
    expect(await ipam.blocksAffineTo('n')).toHaveLength(2);
    await ipam.releaseByHandle('h1');
    expect((await ipam.blocksAffineTo('n')).map((a) => a.cidr)).toEqual([second.assignments[0]!.block]);
    expect(await store.get(keys.block(first.assignments[0]!.block))).toBeUndefined();
    // The last block stays (the node keeps one block warm).
    await ipam.releaseIps(second.ipv4);
    expect(await ipam.blocksAffineTo('n')).toHaveLength(1);
    // Node deletion releases the affinity and the empty block.
    expect(await ipam.releaseNodeBlocks('n')).toEqual({ deleted: [second.assignments[0]!.block], kept: [] });
    expect(
      (await store.list(keys.ipamPrefix)).items.filter((item) => !item.key.startsWith(keys.handlesPrefix)),
    ).toEqual([]);
  });

  it('two nodes racing for the same block: exactly one owns it, the loser withdraws its pending claim', async () => {
    const ipam = client([]);
    const outcomes = await Promise.all([
      ipam.claimBlock('x', '10.90.0.0/26'),
      ipam.claimBlock('y', '10.90.0.0/26'),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes[0] ? 'x' : 'y';
    const loser = winner === 'x' ? 'y' : 'x';
    expect(await ipam.blocksAffineTo(winner)).toEqual([{ cidr: '10.90.0.0/26', state: 'confirmed' }]);
    expect(await ipam.blocksAffineTo(loser)).toEqual([]);
  });

  it('a crashed claim (pending affinity, no block) is reclaimed or cleaned up after the grace period', async () => {
    const ipam = client([], { pendingGraceMs: 1000 });
    const stale = {
      node: 'z',
      cidr: '10.91.0.0/26',
      state: 'pending',
      updatedAt: new Date(Date.now() - 5000).toISOString(),
    };
    await store.create(keys.affinity('z', '10.91.0.0/26'), JSON.stringify(stale));
    await store.create(
      keys.affinity('z', '10.91.0.64/26'),
      JSON.stringify({ ...stale, cidr: '10.91.0.64/26' }),
    );
    expect(await ipam.claimBlock('z', '10.91.0.64/26')).toBe(true); // the node re-uses its own pending claim
    expect(await ipam.cleanupStalePendingAffinities()).toEqual([keys.affinity('z', '10.91.0.0/26')]);
    expect(await ipam.blocksAffineTo('z')).toEqual([{ cidr: '10.91.0.64/26', state: 'confirmed' }]);
  });

  it('CAS conflicts on one block are retried: 20 allocators on one node and one block', async () => {
    const pool = { name: 'one', cidr: '10.92.0.0/26', blockSize: 26 };
    const ipam = client([pool]);
    await ipam.claimAffinityBlocks('solo');
    const before = store.requestCounts().byOperation.commitAll ?? 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        client([pool]).autoAssign({ node: 'solo', handleId: `c${index}`, num4: 3 }),
      ),
    );
    const ips = results.flatMap((result) => result.ipv4);
    expect(new Set(ips).size).toBe(60);
    expect(
      results.every((result) => result.assignments.every((a) => a.block === '10.92.0.0/26' && !a.borrowed)),
    ).toBe(true);
    // More transactions than allocators were sent: conflicts happened and were retried.
    expect((store.requestCounts().byOperation.commitAll ?? 0) - before).toBeGreaterThan(20);
  });

  it('check finds an injected leak and other inconsistencies; release from the saved report fixes only real leaks', async () => {
    const pool = { name: 'chk', cidr: '10.93.0.0/26', blockSize: 28 };
    const ipam = client([pool]);
    const live = new Set(['live']);
    const workloadExists = (handleId: string) => live.has(handleId);
    await ipam.autoAssign({ node: 'n1', handleId: 'live', num4: 2 });
    const leaked = await ipam.autoAssign({ node: 'n1', handleId: 'dead', num4: 2, attrs: { pod: 'gone' } });
    const raced = await ipam.autoAssign({ node: 'n1', handleId: 'dead2', num4: 1 });
    // Injected inconsistencies: a handle with no allocations, an affinity without block, a node that is gone.
    await store.put(
      keys.handle('phantom'),
      JSON.stringify({ handleId: 'phantom', blocks: { '10.93.0.0/28': 3 } }),
    );
    await store.put(
      keys.affinity('n2', '10.93.0.48/28'),
      JSON.stringify({
        node: 'n2',
        cidr: '10.93.0.48/28',
        state: 'confirmed',
        updatedAt: new Date().toISOString(),
      }),
    );
    const report = await ipamCheck(ipam, { workloadExists, nodeExists: (node) => node === 'n1' });
    expect(report.leakedIps.map((leak) => leak.ip).sort()).toEqual([...leaked.ipv4, ...raced.ipv4].sort());
    expect(report.leakedIps.find((leak) => leak.ip === leaked.ipv4[0])).toMatchObject({
      handleId: 'dead',
      attrs: { pod: 'gone', node: 'n1' },
    });
    expect(report.handleProblems).toEqual([
      { handleId: 'phantom', recorded: { '10.93.0.0/28': 3 }, actual: {} },
    ]);
    expect(report.orphanedAffinities).toEqual([
      expect.objectContaining({ node: 'n2', cidr: '10.93.0.48/28', reason: 'node does not exist' }),
    ]);
    expect(report.summary).toMatchObject({ allocatedIps: 5, leakedIps: 3 });
    // Saved to a file and read back, as `caracalctl ipam check -o report.json` would.
    const dir = mkdtempSync(join(tmpdir(), 'caracal-ipam-report-'));
    try {
      writeFileSync(join(dir, 'report.json'), JSON.stringify(report));
      const saved = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
      // Between check and release: dead2's address is freed and handed to a new live workload.
      await ipam.releaseByHandle('dead2');
      live.add('new');
      const reused = await ipam.autoAssign({ node: 'n1', handleId: 'new', num4: 13 });
      expect(reused.ipv4).toContain(raced.ipv4[0]);
      const result = await ipamReleaseFromReport(ipam, saved, { workloadExists });
      expect(result.released.sort()).toEqual([...leaked.ipv4].sort());
      expect(result.skipped.map((skip) => skip.ip)).toEqual(raced.ipv4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const after = await ipamCheck(ipam, { workloadExists });
    expect(after.leakedIps).toEqual([]);
    expect(await store.get(keys.handle('dead'))).toBeUndefined();
  });

  it('dual stack: IPv4 and IPv6 from their own pools; maxBlocksPerHost and autoAllocateBlocks are honoured', async () => {
    const pools = [
      { name: 'v4', cidr: '10.94.0.0/24', blockSize: 30 },
      { name: 'v6', cidr: 'fd00:94::/120', blockSize: 126 },
      { name: 'off', cidr: '10.95.0.0/24', disabled: true },
    ];
    const ipam = client(pools);
    const got = await ipam.autoAssign({ node: 'd', handleId: 'dual', num4: 1, num6: 2 });
    expect(got.ipv4).toHaveLength(1);
    expect(got.ipv6).toEqual(expect.arrayContaining([expect.stringMatching(/^fd00:94::/)]));
    expect(got.ipv6).toHaveLength(2);
    expect(got.assignments.map((a) => a.pool).sort()).toEqual(['v4', 'v6', 'v6']);
    await ipam.setConfig({ maxBlocksPerHost: 1, strictAffinity: true });
    await ipam.autoAssign({ node: 'd', handleId: 'fill', num4: 3 });
    await expect(ipam.autoAssign({ node: 'd', handleId: 'more', num4: 1 })).rejects.toThrow(
      /found 0 in pool\(s\) \[v4\]/,
    );
    await ipam.setConfig({ maxBlocksPerHost: 0, autoAllocateBlocks: false });
    await expect(ipam.autoAssign({ node: 'e', handleId: 'none', num4: 1 })).rejects.toBeInstanceOf(
      IpamExhaustedError,
    );
    await ipam.setConfig({ autoAllocateBlocks: true });
    expect((await ipam.autoAssign({ node: 'd', handleId: 'more', num4: 1 })).assignments[0]?.borrowed).toBe(
      false,
    );
    expect(await ipam.releaseByHandle('dual')).toHaveLength(3);
    await expect(ipam.autoAssign({ node: 'd', handleId: 'x', num4: 1, pools: ['off'] })).rejects.toThrow(
      /no enabled IPv4 pool/,
    );
  });

  it('a block that is not empty is kept: re-confirmed by the empty-block policy, left unowned on node deletion', async () => {
    const pool = { name: 'k', cidr: '10.96.0.0/28', blockSize: 28 };
    const ipam = client([pool]);
    const got = await ipam.autoAssign({ node: 'k1', handleId: 'hk', num4: 2 });
    expect(await ipam.releaseBlockAffinity('k1', '10.96.0.0/28', { onlyIfEmpty: true })).toBe(false);
    expect(await ipam.blocksAffineTo('k1')).toEqual([{ cidr: '10.96.0.0/28', state: 'confirmed' }]);
    expect(await ipam.releaseNodeBlocks('k1')).toEqual({ deleted: [], kept: ['10.96.0.0/28'] });
    expect(await ipam.blocksAffineTo('k1')).toEqual([]);
    expect((await blockOfIp(got.ipv4[0]!))?.affinity).toBeNull();
    // The unowned block is still used by borrowers, and its allocations survive.
    expect(
      (await ipam.autoAssign({ node: 'k2', handleId: 'hk2', num4: 1, strictAffinity: false })).assignments[0],
    ).toMatchObject({
      block: '10.96.0.0/28',
      borrowed: true,
    });
    expect(await ipamRelease(ipam, { ips: [got.ipv4[0]!, '10.99.0.1'] })).toEqual({
      released: [got.ipv4[0]],
      notAllocated: ['10.99.0.1'],
    });
  });
});
