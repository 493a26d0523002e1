// The caracal-node agent: registers the Node, claims its IPAM blocks, keeps the BGP peering plan current
// (written to <run-dir>/peers.json for caracal-bgpd), supervises caracal-felix, and serves health and
// metrics. State files: node.pid, nodename, status.json, peers.json, felix.log under the run dir.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { connectDatastore, type EtcdKeyValueStore, ResourceStore } from '@caracal/datastore';
import { IpamClient, type IpamPool } from '@caracal/ipam';
import { type IPPoolResource, type NodeResource, parseSelector } from '@caracal/model';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { PeeringPlan } from '../peering.js';
import { detectNodeAddress } from './detect.js';
import type { AgentOptions } from './options.js';
import { PeeringState, WATCHED_KINDS } from './plan-state.js';
import { registerNode } from './register.js';
import { ChildSupervisor } from './supervisor.js';

export function writeFileAtomic(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

export class NodeAgent {
  private store: EtcdKeyValueStore | undefined;
  private resources: ResourceStore | undefined;
  private readonly state = new PeeringState();
  private readonly subscriptions: Subscription[] = [];
  private felix: ChildSupervisor | undefined;
  private server: Server | undefined;
  private address: string | undefined;
  private registered = false;
  private claimedBlocks: string[] = [];
  private plan: PeeringPlan | undefined;
  private lastPlanText = '';
  private startError: string | undefined;
  private claimError: string | undefined;
  private claimQueue: Promise<void> = Promise.resolve();
  private claimedWithLabels: string | undefined;
  private readonly registry = new Registry();
  private readonly felixRestarts = new Counter({
    name: 'caracal_node_felix_restarts_total',
    help: 'Restarts of the caracal-felix child process',
    registers: [this.registry],
  });
  private readonly plannedPeers = new Gauge({
    name: 'caracal_node_planned_peers',
    help: 'BGP sessions in the current peering plan',
    registers: [this.registry],
  });
  private readonly readyGauge = new Gauge({
    name: 'caracal_node_ready',
    help: '1 when /readiness reports healthy',
    registers: [this.registry],
  });

  constructor(
    private readonly options: AgentOptions,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const { runDir, nodeName } = this.options;
    mkdirSync(join(runDir, 'felix'), { recursive: true });
    writeFileAtomic(join(runDir, 'node.pid'), `${process.pid}\n`);
    writeFileAtomic(join(runDir, 'nodename'), nodeName);
    await this.startHealthServer();
    this.address = this.options.ipv4Address;
    if (this.address === undefined) {
      const detected = await detectNodeAddress();
      this.address = detected.address;
      this.logger.info(detected, 'detected the node address from the default route');
    }
    this.store = connectDatastore(
      this.options.etcdEndpoints === undefined ? {} : { endpoints: this.options.etcdEndpoints },
    );
    this.resources = new ResourceStore(this.store);
    await this.retrying('register the Node', async () => {
      await registerNode(this.resources as ResourceStore, {
        nodeName,
        ipv4Address: this.address as string,
        asNumber: this.options.asNumber,
      });
      this.registered = true;
    });
    this.startFelix();
    await this.retrying('claim IPAM blocks', () => this.claimBlocks());
    for (const kind of WATCHED_KINDS) {
      this.subscriptions.push(
        this.resources.watch(kind).subscribe({
          next: (event) => {
            if (this.state.apply(kind, event) && this.state.inSync) this.replan();
            if (kind === 'Node' && this.state.inSync) this.reclaimIfLabelsChanged();
          },
          error: (error: Error) => this.logger.error({ kind, error: error.message }, 'watch failed'),
        }),
      );
    }
    // A pool added, changed or removed later may select this node: claim again (claims are idempotent).
    this.subscriptions.push(
      this.resources.watch('IPPool').subscribe({
        next: (event) => {
          if (event.type !== 'snapshot') this.requestClaim();
        },
        error: (error: Error) => this.logger.error({ kind: 'IPPool', error: error.message }, 'watch failed'),
      }),
    );
    this.writeStatus();
  }

  /** Retries a start-up step (etcd may not be reachable yet) until it succeeds or the agent stops. */
  private async retrying(what: string, step: () => Promise<void>): Promise<void> {
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      if (this.stopped) throw new Error('stopped');
      try {
        await step();
        this.startError = undefined;
        return;
      } catch (error) {
        this.startError = `${what}: ${(error as Error).message}`;
        this.logger.warn({ error: (error as Error).message, retryInMs: delay }, `could not ${what}`);
        this.writeStatus();
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Serialised re-claims (pool changes, label changes); failures are logged and retried on the next one. */
  private requestClaim(): void {
    this.claimQueue = this.claimQueue
      .then(() => (this.stopped ? undefined : this.claimBlocks()))
      .then(
        () => {
          this.claimError = undefined;
          this.writeStatus();
        },
        (error: Error) => {
          this.claimError = `claim IPAM blocks: ${error.message}`;
          this.logger.warn({ error: error.message }, 'could not claim IPAM blocks');
          this.writeStatus();
        },
      );
  }

  private reclaimIfLabelsChanged(): void {
    const labels = JSON.stringify(this.state.node(this.options.nodeName)?.metadata.labels ?? {});
    if (this.claimedWithLabels !== undefined && labels !== this.claimedWithLabels) this.requestClaim();
  }

  private async claimBlocks(): Promise<void> {
    const resources = this.resources as ResourceStore;
    const nodeName = this.options.nodeName;
    const node = await resources.get<NodeResource>('Node', nodeName);
    const labels = node?.metadata.labels ?? {};
    this.claimedWithLabels = JSON.stringify(labels);
    const ipam = new IpamClient({
      store: this.store as EtcdKeyValueStore,
      pools: async () => {
        const { items } = await resources.list<IPPoolResource>('IPPool');
        return items.map(
          (pool): IpamPool => ({
            name: pool.metadata.name,
            cidr: pool.spec.cidr,
            blockSize: pool.spec.blockSize,
            nodeSelector: pool.spec.nodeSelector,
            disabled: pool.spec.disabled,
          }),
        );
      },
      nodeMatchesSelector: (_node, selector) => parseSelector(selector).matches(labels),
    });
    await ipam.claimAffinityBlocks(nodeName);
    this.claimedBlocks = (await ipam.blocksAffineTo(nodeName))
      .filter((b) => b.state === 'confirmed')
      .map((b) => b.cidr);
    this.logger.info({ blocks: this.claimedBlocks }, 'blocks affine to this node');
  }

  private replan(): void {
    const plan = this.state.plan(this.options.nodeName);
    this.plan = plan;
    this.plannedPeers.set(plan.peers.length);
    const text = `${JSON.stringify({ node: this.options.nodeName, ...plan }, null, 2)}\n`;
    if (text !== this.lastPlanText) {
      writeFileAtomic(join(this.options.runDir, 'peers.json'), text);
      this.lastPlanText = text;
      this.logger.info({ peers: plan.peers.length, warnings: plan.warnings }, 'peering plan updated');
    }
    this.writeStatus();
  }

  private startFelix(): void {
    const o = this.options;
    this.felix = new ChildSupervisor({
      name: 'caracal-felix',
      argv: [
        ...o.felixCommand,
        '--node-name',
        o.nodeName,
        // Felix writes its own status.json: a subdirectory keeps it from overwriting the agent's.
        '--run-dir',
        join(o.runDir, 'felix'),
        '--health-port',
        String(o.felixHealthPort),
        ...(o.etcdEndpoints === undefined ? [] : ['--etcd-endpoints', o.etcdEndpoints]),
      ],
      logFile: join(o.runDir, 'felix.log'),
      logger: this.logger,
      onRestart: () => {
        this.felixRestarts.inc();
        this.writeStatus();
      },
    });
    this.felix.start();
  }

  private async felixReady(): Promise<string | undefined> {
    if (this.felix?.pid === undefined) return 'caracal-felix is not running';
    try {
      const response = await fetch(`http://127.0.0.1:${this.options.felixHealthPort}/readiness`, {
        signal: AbortSignal.timeout(2000),
      });
      if (response.status === 200) return undefined;
      const body = (await response.json().catch(() => ({}))) as { reasons?: string[] };
      return `caracal-felix not ready: ${(body.reasons ?? [String(response.status)]).join('; ')}`;
    } catch (error) {
      return `caracal-felix readiness unreachable: ${(error as Error).message}`;
    }
  }

  async readiness(): Promise<{ healthy: boolean; reasons: string[] }> {
    const reasons: string[] = [];
    if (this.startError) reasons.push(this.startError);
    if (this.claimError) reasons.push(this.claimError);
    if (!this.registered) reasons.push('Node not registered');
    if (this.claimedBlocks.length === 0) reasons.push('no IPAM block claimed');
    if (!this.state.inSync) reasons.push('peering inputs not in sync');
    const felix = await this.felixReady();
    if (felix) reasons.push(felix);
    this.readyGauge.set(reasons.length === 0 ? 1 : 0);
    return { healthy: reasons.length === 0, reasons };
  }

  private async startHealthServer(): Promise<void> {
    if (this.options.healthPort === 0) return;
    this.server = createServer((request, response) => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
      };
      if (request.url === '/liveness')
        reply(this.stopped ? 503 : 200, { healthy: !this.stopped, reasons: [] });
      else if (request.url === '/readiness') {
        this.readiness().then(
          (r) => reply(r.healthy ? 200 : 503, r),
          (e: Error) => reply(500, { error: e.message }),
        );
      } else if (request.url === '/metrics') {
        this.readiness()
          .then(() => this.registry.metrics())
          .then((text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(text))
          .catch((e: Error) => reply(500, { error: e.message }));
      } else reply(404, { error: `no such path ${request.url}` });
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.options.healthPort, this.options.healthHost, resolve);
    });
  }

  private writeStatus(): void {
    const status = {
      node: this.options.nodeName,
      ipv4Address: this.address ?? null,
      registered: this.registered,
      blocks: this.claimedBlocks,
      felixPid: this.felix?.pid ?? null,
      felixRestarts: this.felix?.restarts ?? 0,
      plannedPeers: this.plan?.peers.length ?? null,
      planWarnings: this.plan?.warnings ?? [],
      startError: this.startError ?? null,
      claimError: this.claimError ?? null,
      updatedAt: new Date().toISOString(),
    };
    try {
      writeFileAtomic(join(this.options.runDir, 'status.json'), `${JSON.stringify(status, null, 2)}\n`);
    } catch (error) {
      this.logger.error({ error: (error as Error).message }, 'cannot write status.json');
    }
  }

  private stopped = false;

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.subscriptions) s.unsubscribe();
    await this.claimQueue;
    await this.felix?.stop();
    await this.store?.close().catch(() => {});
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    rmSync(join(this.options.runDir, 'node.pid'), { force: true });
  }
}
