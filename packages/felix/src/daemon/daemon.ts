// The caracal-felix process: datastore syncer → CalcGraph → ApplyLoop → kernel, plus the health server
// (/liveness, /readiness), the Prometheus metrics server, the PID file and a status JSON in the run dir.
// Calico's rules: nothing touches the kernel before the datastore is in sync for the first time, and
// stopping never removes routes (a restart finds them in place and writes nothing).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { connectDatastore, type EtcdKeyValueStore } from '@caracal/datastore';
import { NetlinkRouteTable, ProcSysctls, type RouteTable, type Sysctls } from '@caracal/kernel';
import type { Logger } from 'pino';
import { CalcGraph, type DesiredDataplane } from '../calc/graph.js';
import { DEFAULT_FELIX_SETTINGS } from '../calc/inputs.js';
import {
  ApplyLoop,
  type ApplyReport,
  DataplaneApplier,
  desiredKernelRoutes,
} from '../dataplane/dataplane.js';
import { type Nft, NftCli } from '../dataplane/nft.js';
import { DatastoreSyncer, type SyncerBatch, type WatchSource } from '../syncer/syncer.js';
import { createFelixMetrics, type FelixMetrics } from './metrics.js';
import type { FelixDaemonOptions } from './options.js';

/** Kernel access, injectable so the daemon can be tested with fakes. */
export interface FelixKernel {
  readonly routes: RouteTable & { close?(): void };
  readonly sysctls: Sysctls;
  readonly nft: Nft;
}

export interface FelixDaemonDeps {
  readonly datastore?: WatchSource & { close?(): Promise<void> };
  /** Called once, at the first in-sync (nothing touches the kernel before). */
  readonly kernel?: () => FelixKernel;
  readonly logger: Logger;
}

export interface HealthStatus {
  readonly healthy: boolean;
  readonly reasons: string[];
}

const refreshIntervalMs = (desired: DesiredDataplane): number =>
  Math.min(desired.settings.routeRefreshIntervalSeconds, desired.settings.nftablesRefreshIntervalSeconds) *
  1000;

/** How long the event loop may stall before /liveness fails. */
const LIVENESS_STALL_MS = 10_000;

export class FelixDaemon {
  readonly metrics: FelixMetrics = createFelixMetrics();
  readonly graph: CalcGraph;
  private readonly syncer: DatastoreSyncer;
  private readonly datastore: WatchSource & { close?(): Promise<void> };
  private kernel: FelixKernel | undefined;
  private loop: ApplyLoop | undefined;
  private readonly servers: Server[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private lastHeartbeat = Date.now();
  private readonly startedAt = new Date();
  private lastApply: { report: ApplyReport; reason: string; at: string } | undefined;
  private applies = 0;
  private stopped = false;
  /** Resyncs already counted in the felix_resync_total metric. */
  private metricsResyncs = 0;
  /** The calc graph's warnings as last logged (logged again only when they change). */
  private lastWarnings = '';
  /** Listening ports (after start), 0 when disabled. */
  healthPort = 0;
  metricsPort = 0;

  constructor(
    private readonly options: FelixDaemonOptions,
    private readonly deps: FelixDaemonDeps,
  ) {
    this.graph = new CalcGraph(options.nodeName);
    this.datastore =
      deps.datastore ?? (connectDatastore({ endpoints: options.etcdEndpoints }) as EtcdKeyValueStore);
    this.syncer = new DatastoreSyncer(this.datastore, {
      nodeName: options.nodeName,
      defaultSettings: {
        ...DEFAULT_FELIX_SETTINGS,
        routeRefreshIntervalSeconds: options.refreshIntervalSeconds,
      },
      onBatch: (batch) => this.onBatch(batch),
      logger: {
        warn: (fields, message) => deps.logger.warn(fields, message),
        info: (fields, message) => deps.logger.info(fields, message),
      },
    });
  }

  async start(): Promise<void> {
    mkdirSync(this.options.runDir, { recursive: true });
    writeFileSync(join(this.options.runDir, 'felix.pid'), `${process.pid}\n`);
    this.heartbeat = setInterval(() => {
      this.lastHeartbeat = Date.now();
    }, 1000);
    if (this.options.healthPort !== 0) {
      this.healthPort = await this.listen(this.options.healthPort, this.options.healthHost, (path) => {
        if (path === '/liveness') return this.liveness();
        if (path === '/readiness') return this.readiness();
        return undefined;
      });
    }
    if (this.options.metricsPort !== 0) {
      this.metricsPort = await this.listen(this.options.metricsPort, this.options.metricsHost, undefined);
    }
    this.deps.logger.info(
      {
        node: this.options.nodeName,
        etcd: this.options.etcdEndpoints,
        prefixes: this.syncer.prefixes,
        healthPort: this.healthPort,
        metricsPort: this.metricsPort,
      },
      'felix starting; waiting for the datastore to be in sync before touching the kernel',
    );
    this.syncer.start();
    this.writeStatus();
  }

  liveness(): HealthStatus {
    const stalledMs = Date.now() - this.lastHeartbeat;
    const reasons: string[] = [];
    if (this.stopped) reasons.push('felix is stopping');
    if (stalledMs > LIVENESS_STALL_MS) reasons.push(`event loop heartbeat is ${stalledMs} ms old`);
    return { healthy: reasons.length === 0, reasons: reasons.length ? reasons : ['event loop alive'] };
  }

  readiness(): HealthStatus {
    const reasons: string[] = [];
    if (!this.syncer.inSync) reasons.push('datastore not in sync');
    if (!this.lastApply) reasons.push('no dataplane apply completed yet');
    else if (this.lastApply.report.errors.length > 0)
      reasons.push(`last apply failed: ${this.lastApply.report.errors.join('; ')}`);
    else if (!this.loop?.inSync) reasons.push('dataplane apply pending for the latest datastore state');
    if (this.lastApply && this.lastApply.report.routesWaitingForInterface > 0)
      reasons.push(`${this.lastApply.report.routesWaitingForInterface} route(s) waiting for their interface`);
    const ready =
      this.syncer.inSync && this.lastApply?.report.errors.length === 0 && this.loop?.inSync === true;
    return {
      healthy: ready,
      reasons: ready ? ['datastore in sync and dataplane applied', ...reasons] : reasons,
    };
  }

  /** Stops watching and applying; routes, sysctls and nftables stay as they are. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.syncer.stop();
    this.loop?.stop();
    await this.loop?.settled();
    clearInterval(this.heartbeat);
    this.kernel?.routes.close?.();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
    await this.datastore.close?.();
    this.writeStatus();
    rmSync(join(this.options.runDir, 'felix.pid'), { force: true });
    this.deps.logger.info({}, 'felix stopped; dataplane left in place');
  }

  private onBatch(batch: SyncerBatch): void {
    const endTimer = this.metrics.calcGraphUpdateSeconds.startTimer();
    this.graph.apply(batch.updates);
    const desired = batch.inSync ? this.graph.desired() : undefined;
    endTimer();
    this.metrics.datastoreInSync.set(batch.inSync ? 1 : 0);
    this.metrics.resyncs.inc(this.syncer.resyncCount - this.metricsResyncs);
    this.metricsResyncs = this.syncer.resyncCount;
    if (desired && desired.warnings.join('\n') !== this.lastWarnings) {
      this.lastWarnings = desired.warnings.join('\n');
      for (const warning of desired.warnings)
        this.deps.logger.warn({ warning }, 'datastore conflict worked around');
    }
    if (desired) this.dataplane().update(desired);
    if (desired) this.refreshSettings(desired);
    if (batch.updates.length === 0) this.writeStatus();
  }

  private refreshSettings(desired: DesiredDataplane): void {
    // One periodic refresh repairs routes, sysctls and the nft table: it runs at the shorter interval.
    this.loop?.setRefreshInterval(refreshIntervalMs(desired));
  }

  /** Created at the first in-sync: before it, Felix has not opened netlink nor touched anything. */
  private dataplane(): ApplyLoop {
    if (this.loop) return this.loop;
    const kernel = this.deps.kernel?.() ?? {
      routes: new NetlinkRouteTable(),
      sysctls: new ProcSysctls(),
      nft: new NftCli(),
    };
    this.kernel = kernel;
    const metrics = this.metrics;
    class TimedApplier extends DataplaneApplier {
      override async apply(desired: DesiredDataplane): Promise<ApplyReport> {
        const endTimer = metrics.applySeconds.startTimer();
        try {
          return await super.apply(desired);
        } finally {
          endTimer();
        }
      }
    }
    const desiredNow = this.graph.desired();
    this.loop = new ApplyLoop(new TimedApplier(kernel), kernel.routes, {
      minIntervalMs: 100,
      refreshIntervalMs: refreshIntervalMs(desiredNow),
      retryDelayMs: 500,
      maxRetryDelayMs: 30_000,
      onReport: (report, reason) => this.onReport(report, reason),
    });
    this.loop.start();
    this.deps.logger.info({}, 'datastore in sync: programming the dataplane');
    return this.loop;
  }

  private onReport(report: ApplyReport, reason: string): void {
    this.applies++;
    this.lastApply = { report, reason, at: new Date().toISOString() };
    this.metrics.applyErrors.inc(report.errors.length);
    this.metrics.routeWrites.inc({ operation: 'replace' }, report.routesReplaced);
    this.metrics.routeWrites.inc({ operation: 'remove' }, report.routesRemoved);
    const desiredRoutes = desiredKernelRoutes(this.graph.desired()).length;
    this.metrics.routesProgrammed.set(desiredRoutes - report.routesWaitingForInterface);
    const fields = { reason, ...report };
    if (report.errors.length > 0) this.deps.logger.warn(fields, 'dataplane apply failed; will retry');
    else this.deps.logger.info(fields, 'dataplane applied');
    this.writeStatus();
  }

  /** run-dir/status.json, written atomically (rename). */
  private writeStatus(): void {
    const status = {
      pid: process.pid,
      nodeName: this.options.nodeName,
      startedAt: this.startedAt.toISOString(),
      stopped: this.stopped,
      datastoreInSync: this.syncer.inSync,
      resyncs: this.syncer.resyncCount,
      malformedValues: this.syncer.malformedCount,
      applies: this.applies,
      lastApply: this.lastApply,
      readiness: this.readiness(),
      healthPort: this.healthPort,
      metricsPort: this.metricsPort,
    };
    const path = join(this.options.runDir, 'status.json');
    try {
      writeFileSync(`${path}.tmp`, `${JSON.stringify(status, null, 2)}\n`);
      renameSync(`${path}.tmp`, path);
    } catch (error) {
      this.deps.logger.warn({ path, error: (error as Error).message }, 'cannot write the status file');
    }
  }

  private listen(
    port: number,
    host: string,
    health: ((path: string) => HealthStatus | undefined) | undefined,
  ): Promise<number> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      if (health) {
        const status = health(path);
        if (!status) {
          response
            .writeHead(404, { 'content-type': 'application/json' })
            .end(`${JSON.stringify({ error: `unknown path ${path}; use /liveness or /readiness` })}\n`);
          return;
        }
        response.writeHead(status.healthy ? 200 : 503, { 'content-type': 'application/json' });
        response.end(`${JSON.stringify(status)}\n`);
        return;
      }
      if (path !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end(`unknown path ${path}; use /metrics\n`);
        return;
      }
      this.metrics.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
        (error: Error) => response.writeHead(500).end(error.message),
      );
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', (error) =>
        reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`)),
      );
      server.listen(port, host, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }
}
