// The caracal-node agent: registers the Node, claims its IPAM blocks, keeps the BGP peering plan current
// (<run-dir>/peers.json) and turns it, with the node's affine blocks and the /32s of its pods whose address
// was borrowed from another node's block (this node's WorkloadEndpoints, watched), into caracal-bgpd's
// configuration (<run-dir>/bgpd.yaml, rewritten atomically and reloaded with SIGHUP on every change, the SIGHUP
// resent with backoff until bgpd's status says it runs that file: bgpd-reload.ts); supervises
// caracal-felix and caracal-bgpd (children that outlive an agent crash and are adopted by the next agent,
// so restarting the agent flushes nothing); serves health (readiness includes Felix's dataplane and every
// BGP session Established, asked on bgpd's control socket) and metrics. State files: node.pid, nodename,
// status.json, peers.json, bgpd.yaml, felix.pid, bgpd.pid, felix.log, bgpd.log under the run dir.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { configDigest, parseConfig, type SpeakerStatus } from '@caracal/bgp-speaker';
import { connectDatastore, type EtcdKeyValueStore, keys, ResourceStore } from '@caracal/datastore';
import { IpamClient, type IpamPool } from '@caracal/ipam';
import { type IPPoolResource, type NodeResource, parseSelector } from '@caracal/model';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import {
  type BgpdConfigDocument,
  bgpdConfigFor,
  bgpdControlSocket,
  renderBgpdConfig,
} from '../bgpd-config.js';
import type { PeeringPlan } from '../peering.js';
import { type BgpdStatusAnswer, queryBgpdStatus, sessionProblems } from './bgpd-control.js';
import { BgpdReloadKeeper } from './bgpd-reload.js';
import { AffinityState, blocksToAdvertise } from './blocks-state.js';
import { detectNodeAddress } from './detect.js';
import { detectNodeIpv6Address } from './detect-ipv6.js';
import type { AgentOptions } from './options.js';
import { ClaimedLabels, PeeringState, WATCHED_KINDS } from './plan-state.js';
import { registerNode } from './register.js';
import { ChildSupervisor } from './supervisor.js';
import { borrowedAddressesToAdvertise, LocalWorkloadState } from './workloads-state.js';

export function writeFileAtomic(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

function readTextOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export class NodeAgent {
  private store: EtcdKeyValueStore | undefined;
  private resources: ResourceStore | undefined;
  private readonly state = new PeeringState();
  private readonly affinities = new AffinityState();
  private readonly workloads: LocalWorkloadState;
  private readonly pools = new Map<string, IPPoolResource>();
  private poolsInSync = false;
  private readonly subscriptions: Subscription[] = [];
  private felix: ChildSupervisor | undefined;
  private bgpd: ChildSupervisor | undefined;
  private bgpdStarting: Promise<unknown> | undefined;
  private server: Server | undefined;
  private address: string | undefined;
  /** The IPv6 address `--ip6` gave or autodetection found (`address/length`); undefined with IP6=none. */
  private ipv6Address: string | undefined;
  private registered = false;
  private claimedBlocks: string[] = [];
  private plan: PeeringPlan | undefined;
  private lastPlanText = '';
  /** The bgpd.yaml text last written (or found on disk at start). */
  private bgpdConfigText: string | undefined;
  private bgpdConfig: BgpdConfigDocument | undefined;
  private bgpdConfigError: string | undefined;
  private bgpdWarnings: readonly string[] = [];
  /** SIGHUPs bgpd for every new bgpd.yaml and resends them (backoff) until bgpd reports the file applied. */
  private readonly bgpdReloads: BgpdReloadKeeper;
  private bgpdStatus: BgpdStatusAnswer | undefined;
  private bgpdStatusError: string | undefined;
  private bgpdPoll: NodeJS.Timeout | undefined;
  private startError: string | undefined;
  private claimError: string | undefined;
  private claimQueue: Promise<void> = Promise.resolve();
  private readonly claimedLabels: ClaimedLabels;
  private readonly registry = new Registry();
  private readonly felixRestarts = new Counter({
    name: 'caracal_node_felix_restarts_total',
    help: 'Restarts of the caracal-felix child process',
    registers: [this.registry],
  });
  private readonly bgpdRestarts = new Counter({
    name: 'caracal_node_bgpd_restarts_total',
    help: 'Restarts of the caracal-bgpd child process',
    registers: [this.registry],
  });
  private readonly childrenAdopted = new Counter({
    name: 'caracal_node_children_adopted_total',
    help: 'Children (caracal-felix, caracal-bgpd) left running by an earlier agent and adopted',
    labelNames: ['child'],
    registers: [this.registry],
  });
  private readonly bgpdConfigWrites = new Counter({
    name: 'caracal_node_bgpd_config_writes_total',
    help: 'Writes of bgpd.yaml (each one a changed configuration)',
    registers: [this.registry],
  });
  private readonly bgpdReloadsSent = new Counter({
    name: 'caracal_node_bgpd_reloads_total',
    help: 'SIGHUPs sent to caracal-bgpd after bgpd.yaml changed',
    registers: [this.registry],
  });
  private readonly bgpdReloadRetries = new Counter({
    name: 'caracal_node_bgpd_reload_retries_total',
    help: 'SIGHUPs resent to caracal-bgpd because it had not applied the latest bgpd.yaml (backoff 1 s to 30 s)',
    registers: [this.registry],
  });
  private readonly bgpdReloadsRefused = new Counter({
    name: 'caracal_node_bgpd_reloads_refused_total',
    help: 'Reloads caracal-bgpd reported refused for the latest bgpd.yaml (e.g. a listen address it cannot bind)',
    registers: [this.registry],
  });
  private readonly bgpdConfigApplied = new Gauge({
    name: 'caracal_node_bgpd_config_applied',
    help: '1 when caracal-bgpd reports running the latest bgpd.yaml (its status configDigest), else 0',
    registers: [this.registry],
  });
  private readonly plannedPeers = new Gauge({
    name: 'caracal_node_planned_peers',
    help: 'BGP sessions in the current peering plan',
    registers: [this.registry],
  });
  private readonly establishedSessions = new Gauge({
    name: 'caracal_node_bgp_sessions_established',
    help: 'Planned BGP sessions caracal-bgpd reports Established (last control-socket answer)',
    registers: [this.registry],
  });
  private readonly advertisedBlocks = new Gauge({
    name: 'caracal_node_advertised_blocks',
    help: "Blocks in caracal-bgpd's originate list",
    registers: [this.registry],
  });
  private readonly advertisedBorrowed = new Gauge({
    name: 'caracal_node_advertised_borrowed_addresses',
    help: "Borrowed pod addresses (/32s outside this node's blocks) in caracal-bgpd's originate list",
    registers: [this.registry],
  });
  /** The blocks and borrowed /32s in the bgpd.yaml last rendered. */
  private advertised: { blocks: string[]; borrowed: string[] } = { blocks: [], borrowed: [] };
  private readonly readyGauge = new Gauge({
    name: 'caracal_node_ready',
    help: '1 when /readiness reports healthy',
    registers: [this.registry],
  });

  constructor(
    private readonly options: AgentOptions,
    private readonly logger: Logger,
  ) {
    this.workloads = new LocalWorkloadState(options.nodeName);
    this.claimedLabels = new ClaimedLabels(options.nodeName);
    this.bgpdReloads = new BgpdReloadKeeper({
      sighup: () => this.bgpd?.signal('SIGHUP') ?? false,
      queryStatus: () => queryBgpdStatus(bgpdControlSocket(this.options.runDir)),
      logger,
      onSighup: (why) => {
        (why === 'change' ? this.bgpdReloadsSent : this.bgpdReloadRetries).inc();
        this.logger.info(
          { pid: this.bgpd?.pid, retry: why === 'retry' },
          'caracal-bgpd reloading bgpd.yaml (SIGHUP)',
        );
      },
      onRefused: () => this.bgpdReloadsRefused.inc(),
      onChange: () => {
        this.bgpdConfigApplied.set(this.bgpdReloads.applied ? 1 : 0);
        this.writeStatus();
      },
    });
  }

  /** The configDigest caracal-bgpd reports when it runs this bgpd.yaml text (undefined: not a valid file). */
  private digestOf(text: string): string | undefined {
    const parsed = parseConfig(text, this.bgpdConfigFile);
    return parsed.ok ? configDigest(parsed.config) : undefined;
  }

  private get bgpdConfigFile(): string {
    return join(this.options.runDir, 'bgpd.yaml');
  }

  async start(): Promise<void> {
    const { runDir, nodeName } = this.options;
    mkdirSync(join(runDir, 'felix'), { recursive: true });
    writeFileAtomic(join(runDir, 'node.pid'), `${process.pid}\n`);
    writeFileAtomic(join(runDir, 'nodename'), nodeName);
    // What a bgpd left running by an earlier agent has read: a different text means it needs a reload.
    this.bgpdConfigText = readTextOrEmpty(this.bgpdConfigFile);
    if (this.bgpdConfigText !== '') this.bgpdReloads.want(this.digestOf(this.bgpdConfigText), false);
    await this.startHealthServer();
    this.address = this.options.ipv4Address;
    if (this.address === undefined) {
      const detected = await detectNodeAddress();
      this.address = detected.address;
      this.logger.info(detected, 'detected the node address from the default route');
    }
    const ipv6 = this.options.ipv6;
    if (ipv6.kind === 'address') this.ipv6Address = ipv6.address;
    else if (ipv6.kind === 'autodetect') {
      const detected = await detectNodeIpv6Address(this.options.ipv6AutodetectionMethod);
      this.ipv6Address = detected.address;
      this.logger.info(detected, 'detected the node IPv6 address');
    }
    this.store = connectDatastore(
      this.options.etcdEndpoints === undefined ? {} : { endpoints: this.options.etcdEndpoints },
    );
    this.resources = new ResourceStore(this.store);
    await this.retrying('register the Node', async () => {
      await registerNode(this.resources as ResourceStore, {
        nodeName,
        ipv4Address: this.address as string,
        ipv6Address: this.ipv6Address,
        asNumber: this.options.asNumber,
      });
      this.registered = true;
    });
    await this.startFelix();
    await this.retrying('claim IPAM blocks', () => this.claimBlocks());
    for (const kind of WATCHED_KINDS) {
      this.subscriptions.push(
        this.resources.watch(kind).subscribe({
          next: (event) => {
            if (this.state.apply(kind, event)) this.recompute();
            if (this.claimedLabels.changedSinceClaim(this.state)) this.requestClaim();
          },
          error: (error: Error) => this.logger.error({ kind, error: error.message }, 'watch failed'),
        }),
      );
    }
    // A pool added, changed or removed later may select this node: claim again (claims are idempotent).
    // Pools also say which blocks must not be advertised (disableBGPExport).
    this.subscriptions.push(
      this.resources.watch<IPPoolResource>('IPPool').subscribe({
        next: (event) => {
          switch (event.type) {
            case 'snapshot':
              this.pools.clear();
              for (const pool of event.items) this.pools.set(pool.metadata.name, pool);
              this.poolsInSync = false;
              return;
            case 'in-sync':
              this.poolsInSync = true;
              break;
            case 'put':
              this.pools.set(event.resource.metadata.name, event.resource);
              this.requestClaim();
              break;
            case 'delete':
              this.pools.delete(event.name);
              this.requestClaim();
              break;
          }
          this.recompute();
        },
        error: (error: Error) => this.logger.error({ kind: 'IPPool', error: error.message }, 'watch failed'),
      }),
    );
    // This node's affinities: the blocks caracal-bgpd advertises (a new block claimed by the CNI's IPAM
    // when the first fills up is advertised at once).
    this.subscriptions.push(
      this.store.watchPrefix(keys.nodeAffinitiesPrefix(nodeName)).subscribe({
        next: (event) => {
          if (this.affinities.apply(event)) this.recompute();
        },
        error: (error: Error) =>
          this.logger.error({ kind: 'affinities', error: error.message }, 'watch failed'),
      }),
    );
    // This node's WorkloadEndpoints: a pod whose address IPAM borrowed from another node's block is
    // advertised as a /32 while it exists (raw values: one unreadable endpoint must not end the watch).
    this.subscriptions.push(
      this.store.watchPrefix(keys.resourceKindPrefix('WorkloadEndpoint')).subscribe({
        next: (event) => {
          if (this.workloads.apply(event)) this.recompute();
        },
        error: (error: Error) =>
          this.logger.error({ kind: 'WorkloadEndpoint', error: error.message }, 'watch failed'),
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

  private async claimBlocks(): Promise<void> {
    const resources = this.resources as ResourceStore;
    const nodeName = this.options.nodeName;
    const node = await resources.get<NodeResource>('Node', nodeName);
    const labels = node?.metadata.labels ?? {};
    this.claimedLabels.claiming(labels);
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

  /** Every input of the plan and of bgpd.yaml has been listed once (and is current). */
  private get inputsInSync(): boolean {
    return this.state.inSync && this.affinities.inSync && this.poolsInSync && this.workloads.inSync;
  }

  /** Recomputes peers.json and bgpd.yaml from the current inputs (no-op until they are all in sync). */
  private recompute(): void {
    if (!this.state.inSync) return;
    const nodeName = this.options.nodeName;
    const plan = this.state.plan(nodeName);
    this.plan = plan;
    this.plannedPeers.set(plan.peers.length);
    const text = `${JSON.stringify({ node: nodeName, ...plan }, null, 2)}\n`;
    if (text !== this.lastPlanText) {
      writeFileAtomic(join(this.options.runDir, 'peers.json'), text);
      this.lastPlanText = text;
      this.logger.info({ peers: plan.peers.length, warnings: plan.warnings }, 'peering plan updated');
    }
    if (this.options.bgpdCommand !== undefined && this.inputsInSync) this.updateBgpd(plan);
    this.writeStatus();
  }

  /** Renders bgpd.yaml; writes it and reloads bgpd when it changed; starts bgpd the first time. */
  private updateBgpd(plan: PeeringPlan): void {
    const o = this.options;
    let text: string;
    let digest: string;
    try {
      const pools = [...this.pools.values()].map((p) => p.spec);
      const affineBlocks = this.affinities.blocks;
      // IPv6 blocks and /128s only when this node has an IPv6 address (its IPv6 mesh sessions carry them).
      const ipv6 = { ipv6: plan.localIpv6Address !== undefined };
      const blocks = blocksToAdvertise(affineBlocks, pools, ipv6);
      const borrowed = borrowedAddressesToAdvertise(this.workloads.workloads, affineBlocks, pools, ipv6);
      const { config, warnings: configWarnings } = bgpdConfigFor({
        nodeName: o.nodeName,
        plan,
        listenPort: this.state.global(o.nodeName).listenPort,
        blocks,
        borrowedAddresses: borrowed.prefixes,
        runDir: o.runDir,
        metricsPort: o.bgpdMetricsPort,
        healthPort: o.bgpdHealthPort,
        logLevel: o.logLevel,
      });
      text = renderBgpdConfig(o.nodeName, config);
      // caracal-bgpd's own validation: a file it would refuse is never written.
      const checked = parseConfig(text, this.bgpdConfigFile);
      if (!checked.ok) {
        throw new Error(checked.issues.map((i) => `${i.path}: ${i.reason}`).join('; '));
      }
      digest = configDigest(checked.config);
      const warnings = [...configWarnings, ...borrowed.warnings];
      const changedWarnings = JSON.stringify(warnings) !== JSON.stringify(this.bgpdWarnings);
      this.bgpdConfig = config;
      this.bgpdWarnings = warnings;
      this.bgpdConfigError = undefined;
      this.advertised = { blocks, borrowed: borrowed.prefixes };
      this.advertisedBlocks.set(blocks.length);
      this.advertisedBorrowed.set(borrowed.prefixes.length);
      if (warnings.length > 0 && changedWarnings)
        this.logger.warn({ warnings }, 'bgpd configuration: values left out');
    } catch (error) {
      this.bgpdConfigError = `caracal-bgpd configuration not written: ${(error as Error).message}`;
      this.logger.error({ error: (error as Error).message }, 'cannot render bgpd.yaml');
      return;
    }
    if (text !== this.bgpdConfigText) {
      writeFileAtomic(this.bgpdConfigFile, text);
      this.bgpdConfigText = text;
      this.bgpdConfigWrites.inc();
      this.logger.info(
        {
          peers: this.bgpdConfig?.peers.length,
          originate: this.bgpdConfig?.originate.map((b) => b.prefix),
          configDigest: digest,
        },
        'bgpd.yaml written',
      );
      // SIGHUP now if the running bgpd answers (else once it does), resent until bgpd reports it applied.
      this.bgpdReloads.want(digest, true);
      this.bgpdConfigApplied.set(this.bgpdReloads.applied ? 1 : 0);
    }
    if (this.bgpd === undefined) this.startBgpd();
  }

  private startBgpd(): void {
    const o = this.options;
    if (o.bgpdCommand === undefined || this.stopped) return;
    this.bgpd = new ChildSupervisor({
      name: 'caracal-bgpd',
      argv: [...o.bgpdCommand, '--config', this.bgpdConfigFile],
      logFile: join(o.runDir, 'bgpd.log'),
      pidFile: join(o.runDir, 'bgpd.pid'),
      logger: this.logger,
      onRestart: () => {
        this.bgpdRestarts.inc();
        this.writeStatus();
      },
      onRunning: (pid, how) => {
        // A freshly started bgpd reads the current file (retries end); an adopted one's first status
        // answer says whether it runs the current file.
        this.bgpdReloads.bgpdRunning(how);
        if (how === 'adopted') this.childrenAdopted.inc({ child: 'caracal-bgpd' });
        this.logger.info({ pid, how }, 'caracal-bgpd running');
      },
    });
    this.bgpdStarting = this.bgpd.start().then(
      () => {
        this.writeStatus();
        void this.pollBgpd();
      },
      (error: Error) => this.logger.error({ error: error.message }, 'cannot start caracal-bgpd'),
    );
    // Session states for metrics, and the pending reload once a (re)started bgpd answers.
    this.bgpdPoll = setInterval(() => void this.pollBgpd(), 2000);
  }

  private async pollBgpd(): Promise<void> {
    const bgpd = this.bgpd;
    if (bgpd?.pid === undefined) return;
    const generation = bgpd.generation;
    const summary = () =>
      JSON.stringify([this.bgpdStatusError, this.bgpdStatus?.peers.map((p) => [p.name, p.state])]);
    const previous = summary();
    try {
      const status = await queryBgpdStatus(bgpdControlSocket(this.options.runDir));
      this.bgpdStatus = status;
      this.bgpdStatusError = undefined;
      const planned = this.bgpdConfig?.peers ?? [];
      const problems = sessionProblems(planned, status);
      this.establishedSessions.set(planned.length - problems.length);
      // An answer from the bgpd this poll asked (not one that exited meanwhile): SIGHUP when due, and
      // whether it runs the latest bgpd.yaml.
      if (bgpd.generation === generation && !this.stopped) this.bgpdReloads.observe(status);
    } catch (error) {
      this.bgpdStatus = undefined;
      this.bgpdStatusError = (error as Error).message;
      if (bgpd.generation === generation) this.bgpdReloads.unanswered();
    }
    this.bgpdConfigApplied.set(this.bgpdReloads.applied ? 1 : 0);
    // status.json follows the session states (caracalctl and people read it).
    if (summary() !== previous) this.writeStatus();
  }

  private async startFelix(): Promise<void> {
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
      pidFile: join(o.runDir, 'felix.pid'),
      logger: this.logger,
      onRestart: () => {
        this.felixRestarts.inc();
        this.writeStatus();
      },
      onRunning: (_pid, how) => {
        if (how === 'adopted') this.childrenAdopted.inc({ child: 'caracal-felix' });
      },
    });
    await this.felix.start();
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

  /** Why BGP is not ready: bgpd not configured/started/running/answering, or sessions not Established. */
  private async bgpdProblems(): Promise<string[]> {
    if (this.options.bgpdCommand === undefined) return [];
    if (this.bgpdConfigError) return [this.bgpdConfigError];
    if (this.bgpd === undefined)
      return ['caracal-bgpd not started: waiting for the peering plan and the blocks'];
    if (this.bgpd.pid === undefined) return ['caracal-bgpd is not running'];
    const generation = this.bgpd.generation;
    let status: SpeakerStatus;
    try {
      status = await queryBgpdStatus(bgpdControlSocket(this.options.runDir));
    } catch (error) {
      return [`caracal-bgpd control socket: ${(error as Error).message}`];
    }
    if (this.bgpd.generation === generation && !this.stopped) this.bgpdReloads.observe(status);
    this.bgpdConfigApplied.set(this.bgpdReloads.applied ? 1 : 0);
    const problems = sessionProblems(this.bgpdConfig?.peers ?? [], status);
    // Not ready while bgpd does not run the latest bgpd.yaml: its new peers and blocks are not in BGP.
    const refusal = this.bgpdReloads.refusal;
    if (refusal !== undefined)
      problems.push(
        `caracal-bgpd refused the latest bgpd.yaml (since ${refusal.since}; resending SIGHUP with backoff, ${this.bgpdReloads.retries} resent so far): ${refusal.error}`,
      );
    else if (!this.bgpdReloads.applied)
      problems.push('caracal-bgpd has not applied the latest bgpd.yaml yet');
    return problems;
  }

  async readiness(): Promise<{ healthy: boolean; reasons: string[] }> {
    const reasons: string[] = [];
    if (this.startError) reasons.push(this.startError);
    if (this.claimError) reasons.push(this.claimError);
    if (!this.registered) reasons.push('Node not registered');
    if (this.claimedBlocks.length === 0) reasons.push('no IPAM block claimed');
    if (!this.state.inSync) reasons.push('peering inputs not in sync');
    else if (!this.inputsInSync) reasons.push('IP pools, block affinities or workload endpoints not in sync');
    const [felix, bgp] = await Promise.all([this.felixReady(), this.bgpdProblems()]);
    if (felix) reasons.push(felix);
    reasons.push(...bgp);
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
      ipv6Address: this.ipv6Address ?? null,
      registered: this.registered,
      blocks: this.claimedBlocks,
      felixPid: this.felix?.pid ?? null,
      felixRestarts: this.felix?.restarts ?? 0,
      felixAdopted: this.felix?.adopted ?? false,
      bgpdPid: this.bgpd?.pid ?? null,
      bgpdRestarts: this.bgpd?.restarts ?? 0,
      bgpdAdopted: this.bgpd?.adopted ?? false,
      bgpdSessions:
        this.bgpdStatus?.peers.map((p) => ({ name: p.name, address: p.peerAddress, state: p.state })) ?? [],
      bgpdControlError: this.bgpdStatusError ?? null,
      bgpdConfigApplied: this.bgpdReloads.applied,
      bgpdReloadRefused: this.bgpdReloads.refusal ?? null,
      bgpdReloadRetries: this.bgpdReloads.retries,
      advertisedBlocks: this.advertised.blocks,
      advertisedBorrowedAddresses: this.advertised.borrowed,
      bgpdConfigError: this.bgpdConfigError ?? null,
      bgpdWarnings: this.bgpdWarnings,
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

  /** Stops the watches, caracal-bgpd and caracal-felix (SIGTERM, SIGKILL after 10 s), the health server. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.bgpdReloads.stop();
    for (const s of this.subscriptions) s.unsubscribe();
    if (this.bgpdPoll) clearInterval(this.bgpdPoll);
    await this.claimQueue;
    await this.bgpdStarting;
    await Promise.all([this.felix?.stop(), this.bgpd?.stop()]);
    await this.store?.close().catch(() => {});
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    rmSync(join(this.options.runDir, 'node.pid'), { force: true });
  }
}
