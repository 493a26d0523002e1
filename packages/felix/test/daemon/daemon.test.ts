// Unit tests of FelixDaemon with a fake datastore and the kernel fakes: the kernel is not even opened
// before the first in-sync; readiness follows in-sync + a clean apply (with reasons); a failed apply makes
// it unready until the retry succeeds; stop() keeps the routes and removes only the PID file; the
// health and metrics HTTP servers answer.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, keys, type WatchEvent } from '@caracal/datastore';
import { FakeRouteTable, FakeSysctls } from '@caracal/kernel';
import { pino } from 'pino';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { FelixDaemon } from '../../src/daemon/daemon.js';
import { FakeNft } from '../../src/dataplane/nft.js';

const NODE = 'node1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function setup(healthPort = 0, metricsPort = 0, logLines?: string[]) {
  const subjects = new Map<string, Subject<WatchEvent>>();
  const datastore = {
    watchPrefix(prefix: string) {
      const subject = new Subject<WatchEvent>();
      subjects.set(prefix, subject);
      return subject.asObservable();
    },
  };
  const routes = new FakeRouteTable();
  routes.addLink('cara0000000000a');
  const sysctls = new FakeSysctls();
  let kernelOpened = 0;
  const runDir = mkdtempSync(join(tmpdir(), 'caracal-felix-daemon-test-'));
  const daemon = new FelixDaemon(
    {
      nodeName: NODE,
      etcdEndpoints: ['http://127.0.0.1:1'],
      healthPort,
      healthHost: '127.0.0.1',
      metricsPort,
      metricsHost: '127.0.0.1',
      refreshIntervalSeconds: 90,
      runDir,
      logLevel: 'silent',
    },
    {
      datastore,
      kernel: () => {
        kernelOpened++;
        return { routes, sysctls, nft: new FakeNft() };
      },
      logger: logLines
        ? pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) })
        : pino({ level: 'silent' }),
    },
  );
  let revision = 1;
  const snapshot = (prefix: string, items: Record<string, string>) => {
    const subject = subjects.get(prefix);
    if (!subject) throw new Error(`not watched: ${prefix}`);
    revision++;
    subject.next({
      type: 'snapshot',
      items: Object.entries(items).map(([key, value]) => ({
        key,
        value,
        revision,
        createRevision: revision,
      })),
      revision,
      resync: false,
    });
    subject.next({ type: 'in-sync', revision });
  };
  const syncAll = () => {
    snapshot(keys.resourceKindPrefix('WorkloadEndpoint'), {
      [keys.resource('WorkloadEndpoint', 'a', 'ns')]: JSON.stringify({
        kind: 'WorkloadEndpoint',
        metadata: { name: 'a', namespace: 'ns' },
        spec: { node: NODE, interfaceName: 'cara0000000000a', ipNetworks: ['10.65.0.1/32'] },
      }),
    });
    snapshot(keys.resourceKindPrefix('IPPool'), {});
    snapshot(keys.resourceKindPrefix('FelixConfiguration'), {});
    snapshot(keys.nodeAffinitiesPrefix(NODE), { [keys.affinity(NODE, '10.65.0.0/26')]: '{}' });
  };
  return { daemon, routes, runDir, syncAll, snapshot, kernelOpened: () => kernelOpened };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('FelixDaemon', () => {
  it('opens the kernel only at the first in-sync; readiness follows in-sync and a clean apply', async () => {
    const t = setup();
    cleanups.push(async () => {
      await t.daemon.stop();
      rmSync(t.runDir, { recursive: true, force: true });
    });
    await t.daemon.start();
    expect(Number(readFileSync(join(t.runDir, 'felix.pid'), 'utf8'))).toBe(process.pid);
    expect(t.daemon.readiness()).toEqual({
      healthy: false,
      reasons: ['datastore not in sync', 'no dataplane apply completed yet'],
    });
    expect(t.daemon.liveness().healthy).toBe(true);
    t.snapshot(keys.resourceKindPrefix('WorkloadEndpoint'), {});
    expect(t.kernelOpened()).toBe(0);
    t.syncAll();
    expect(t.kernelOpened()).toBe(1);
    await until('readiness', () => t.daemon.readiness().healthy);
    expect([...t.routes.routes.values()].map((r) => r.dst).sort()).toEqual(['10.65.0.0/26', '10.65.0.1/32']);
    const status = JSON.parse(readFileSync(join(t.runDir, 'status.json'), 'utf8'));
    expect(status).toMatchObject({ datastoreInSync: true, readiness: { healthy: true } });
    expect(status.lastApply.report.routesReplaced).toBe(2);
  });

  it('a failing apply makes it unready with the reason until the retry succeeds', async () => {
    const t = setup();
    cleanups.push(async () => {
      await t.daemon.stop();
      rmSync(t.runDir, { recursive: true, force: true });
    });
    await t.daemon.start();
    t.routes.failNext(2);
    t.syncAll();
    await until('a failed apply', () =>
      t.daemon.readiness().reasons.some((r) => r.startsWith('last apply failed')),
    );
    expect(t.daemon.readiness().healthy).toBe(false);
    expect(await t.daemon.metrics.applyErrors.get()).toMatchObject({
      values: [{ value: expect.any(Number) }],
    });
    expect((await t.daemon.metrics.applyErrors.get()).values[0]?.value).toBeGreaterThan(0);
    await until('the retry to succeed', () => t.daemon.readiness().healthy);
  });

  it('stop() keeps the routes, removes the PID file; HTTP health and metrics answer', async () => {
    const t = setup(await findFreePort(), await findFreePort());
    cleanups.push(async () => rmSync(t.runDir, { recursive: true, force: true }));
    await t.daemon.start();
    const get = (port: number, path: string) => fetch(`http://127.0.0.1:${port}${path}`);
    const notReady = await get(t.daemon.healthPort, '/readiness');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ healthy: false });
    expect((await get(t.daemon.healthPort, '/liveness')).status).toBe(200);
    expect((await get(t.daemon.healthPort, '/other')).status).toBe(404);
    t.syncAll();
    await until('readiness', () => t.daemon.readiness().healthy);
    expect((await get(t.daemon.healthPort, '/readiness')).status).toBe(200);
    const metrics = await (await get(t.daemon.metricsPort, '/metrics')).text();
    expect(metrics).toMatch(/^felix_routes_programmed 2$/m);
    expect(metrics).toMatch(/^felix_datastore_in_sync 1$/m);
    expect(metrics).toMatch(/^felix_route_writes_total\{operation="replace"\} 2$/m);
    const routesBefore = [...t.routes.routes.keys()];
    const logBefore = t.routes.log.length;
    await t.daemon.stop();
    expect([...t.routes.routes.keys()]).toEqual(routesBefore);
    expect(t.routes.log.length).toBe(logBefore);
    expect(() => readFileSync(join(t.runDir, 'felix.pid'))).toThrow();
    expect(JSON.parse(readFileSync(join(t.runDir, 'status.json'), 'utf8')).stopped).toBe(true);
  });

  it('logs malformed values and graph conflicts (once) as structured warnings', async () => {
    const lines: string[] = [];
    const t = setup(0, 0, lines);
    cleanups.push(async () => {
      await t.daemon.stop();
      rmSync(t.runDir, { recursive: true, force: true });
    });
    await t.daemon.start();
    t.syncAll();
    const endpoint = (name: string, ip: string) =>
      JSON.stringify({
        kind: 'WorkloadEndpoint',
        metadata: { name, namespace: 'ns' },
        spec: { node: NODE, interfaceName: `cara${name}`, ipNetworks: [ip] },
      });
    const prefix = keys.resourceKindPrefix('WorkloadEndpoint');
    t.snapshot(prefix, {
      [keys.resource('WorkloadEndpoint', 'a', 'ns')]: endpoint('a', '10.65.0.1/32'),
      [keys.resource('WorkloadEndpoint', 'b', 'ns')]: endpoint('b', '10.65.0.1/32'),
      [keys.resource('WorkloadEndpoint', 'c', 'ns')]: endpoint('c', 'nonsense'),
    });
    t.snapshot(prefix, {
      [keys.resource('WorkloadEndpoint', 'a', 'ns')]: endpoint('a', '10.65.0.1/32'),
      [keys.resource('WorkloadEndpoint', 'b', 'ns')]: endpoint('b', '10.65.0.1/32'),
    });
    const records = lines.map(
      (line) => JSON.parse(line) as { level: number; msg: string; reason?: string; warning?: string },
    );
    expect(
      records.filter((r) => r.msg === 'skipping malformed datastore value').map((r) => r.reason),
    ).toEqual([
      `${keys.resource('WorkloadEndpoint', 'c', 'ns')}: spec.ipNetworks[0] "nonsense" is not an IPv4 or IPv6 CIDR (address/prefix-length)`,
    ]);
    expect(records.filter((r) => r.msg === 'datastore conflict worked around').map((r) => r.warning)).toEqual(
      [
        `address 10.65.0.1/32 of endpoint ${keys.resource('WorkloadEndpoint', 'b', 'ns')} is already routed to ${keys.resource('WorkloadEndpoint', 'a', 'ns')}`,
      ],
    );
    expect(records.filter((r) => r.msg === 'datastore resync snapshot')).toHaveLength(2);
  });
});
