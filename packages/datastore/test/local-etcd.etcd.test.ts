// The local etcd launcher and status against the real etcd binary: PID file, log file, refusal to
// start twice on one data dir, status (health, version, revision, members), stop by PID file.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  datastoreStatus,
  etcdUnavailableReason,
  findFreePort,
  LocalEtcdError,
  startLocalEtcd,
  stopLocalEtcd,
} from '../src/index.js';

const skipReason = etcdUnavailableReason();
if (skipReason !== undefined) console.log(`SKIP datastore local etcd tests: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('startLocalEtcd / datastoreStatus / stopLocalEtcd', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'caracal-local-etcd-'));
  afterAll(async () => {
    await stopLocalEtcd(join(dataDir, 'etcd.pid'));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts a detached member with PID and log files, reports status, refuses a second start, stops', async () => {
    const clientPort = await findFreePort();
    const peerPort = await findFreePort();
    const etcd = await startLocalEtcd({ dataDir, clientPort, peerPort, name: 'status-test' });
    expect(etcd.endpoints).toEqual([`http://127.0.0.1:${clientPort}`]);
    expect(readFileSync(join(dataDir, 'etcd.pid'), 'utf8').trim()).toBe(String(etcd.pid));
    expect(existsSync(join(dataDir, 'etcd.log'))).toBe(true);

    const status = await datastoreStatus({ endpoints: etcd.endpoints });
    expect(status.healthy).toBe(true);
    expect(status.endpoints[0]).toMatchObject({ endpoint: etcd.endpoints[0], healthy: true, isLeader: true });
    expect(status.endpoints[0]?.version).toMatch(/^3\.\d+\.\d+/);
    expect(status.endpoints[0]?.revision).toBeGreaterThanOrEqual(1);
    expect(status.endpoints[0]?.dbSizeBytes).toBeGreaterThan(0);
    expect(status.members).toEqual([
      {
        id: expect.any(String),
        name: 'status-test',
        peerUrls: [`http://127.0.0.1:${peerPort}`],
        clientUrls: etcd.endpoints,
      },
    ]);

    await expect(startLocalEtcd({ dataDir, clientPort, peerPort })).rejects.toThrow(
      new RegExp(`already running with PID ${etcd.pid}`),
    );
    expect(await stopLocalEtcd(join(dataDir, 'etcd.pid'))).toBe(true);
    expect(existsSync(join(dataDir, 'etcd.pid'))).toBe(false);
    expect(await stopLocalEtcd(join(dataDir, 'etcd.pid'))).toBe(false);

    const down = await datastoreStatus({ endpoints: etcd.endpoints, requestTimeoutMs: 1000 });
    expect(down.healthy).toBe(false);
    expect(down.endpoints[0]?.healthy).toBe(false);
    expect(down.members).toEqual([]);
  });

  it('explains a failed start with the log tail', async () => {
    const port = await findFreePort();
    const error = await startLocalEtcd({
      dataDir: join(dataDir, 'bad'),
      clientPort: port,
      peerPort: port, // same port twice: etcd cannot bind the second listener
      readyTimeoutMs: 10_000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalEtcdError);
    expect((error as Error).message).toMatch(/etcd (exited during start-up|did not become healthy)/);
    await expect(startLocalEtcd({ dataDir, clientPort: 70000 })).rejects.toThrow(
      /clientPort: 70000 is not a TCP port/,
    );
  });
});
