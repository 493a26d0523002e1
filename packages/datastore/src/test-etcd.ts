// A throwaway etcd for tests of any package (vitest-independent): free ports, a temp data dir, stop by
// PID and removal of the dir; restart() on the same dir and ports; compact() of the history.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatastoreOptions } from './config.js';
import { connectDatastore, type EtcdKeyValueStore } from './etcd-kv.js';
import { DEFAULT_ETCD_BINARY, type LocalEtcd, type LocalEtcdTls, startLocalEtcd } from './local-etcd.js';

/** A TCP port that was free a moment ago on 127.0.0.1 (the kernel picks it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Why etcd tests cannot run here, or undefined when they can (the binary exists). */
export function etcdUnavailableReason(binary = DEFAULT_ETCD_BINARY): string | undefined {
  return existsSync(binary) ? undefined : `etcd binary ${binary} is missing (install etcd-server)`;
}

export interface TestEtcdOptions {
  /** Server TLS (files must exist); endpoints become https. */
  tls?: LocalEtcdTls;
  /** Extra etcd arguments. */
  extraArgs?: string[];
}

export class TestEtcd {
  private current: LocalEtcd | undefined;
  private readonly stores: EtcdKeyValueStore[] = [];

  private constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
    private readonly options: TestEtcdOptions,
  ) {}

  /** Starts etcd on free ports in a new temp dir. */
  static async start(options: TestEtcdOptions = {}): Promise<TestEtcd> {
    const dataDir = mkdtempSync(join(tmpdir(), 'caracal-test-etcd-'));
    const clientPort = await findFreePort();
    let peerPort = await findFreePort();
    while (peerPort === clientPort) peerPort = await findFreePort();
    const etcd = new TestEtcd(dataDir, clientPort, peerPort, options);
    try {
      await etcd.launch();
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
    return etcd;
  }

  private async launch(): Promise<void> {
    const launchOptions: Parameters<typeof startLocalEtcd>[0] = {
      dataDir: this.dataDir,
      clientPort: this.clientPort,
      peerPort: this.peerPort,
      name: `test-${this.clientPort}`,
    };
    if (this.options.tls !== undefined) launchOptions.tls = this.options.tls;
    if (this.options.extraArgs !== undefined) launchOptions.extraArgs = this.options.extraArgs;
    this.current = await startLocalEtcd(launchOptions);
  }

  /** Client URLs of this etcd. */
  get endpoints(): string[] {
    const scheme = this.options.tls === undefined ? 'http' : 'https';
    return [`${scheme}://127.0.0.1:${this.clientPort}`];
  }

  /** PID of the running etcd, undefined while stopped. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** A store connected to this etcd (closed by stop()). Extra options (TLS files) are merged in. */
  connect(options: Omit<DatastoreOptions, 'endpoints'> = {}): EtcdKeyValueStore {
    const store = connectDatastore({ ...options, endpoints: this.endpoints });
    this.stores.push(store);
    return store;
  }

  /** Stops etcd (SIGTERM by PID), keeping the data dir and ports for start()/restart(). */
  async stopProcess(): Promise<void> {
    const running = this.current;
    this.current = undefined;
    await running?.stop();
  }

  /** Starts etcd again on the same data dir and ports after stopProcess(). */
  async startProcess(): Promise<void> {
    if (this.current !== undefined) throw new Error(`test etcd already running (PID ${this.current.pid})`);
    await this.launch();
  }

  /** Stop + start on the same data dir and ports. */
  async restart(): Promise<void> {
    await this.stopProcess();
    await this.startProcess();
  }

  /** Compacts the history up to revision (watches starting at or below it get "compacted"). */
  async compact(revision: number): Promise<void> {
    const store = connectDatastore({ endpoints: this.endpoints, ...this.tlsClientOptions() });
    try {
      await store.compact(revision);
    } finally {
      await store.close();
    }
  }

  private tlsClientOptions(): Omit<DatastoreOptions, 'endpoints'> {
    const tls = this.options.tls;
    if (tls === undefined) return {};
    return {
      caCertFile: tls.trustedCaFile,
      certFile: tls.probeCertFile ?? tls.certFile,
      keyFile: tls.probeKeyFile ?? tls.keyFile,
    };
  }

  /** Closes connected stores, stops etcd and removes its data dir. Safe to call twice. */
  async stop(): Promise<void> {
    for (const store of this.stores.splice(0)) await store.close();
    await this.stopProcess();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Runs fn with a throwaway etcd, always stopping it and removing its directory afterwards. */
export async function withTestEtcd<T>(
  fn: (etcd: TestEtcd) => Promise<T>,
  options: TestEtcdOptions = {},
): Promise<T> {
  const etcd = await TestEtcd.start(options);
  try {
    return await fn(etcd);
  } finally {
    await etcd.stop();
  }
}
