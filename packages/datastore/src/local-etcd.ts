// Launches and inspects etcd on this machine: the single-member datastore behind `caracalctl datastore
// start` (data under /var/lib/caracal/etcd, PID file, log file) and the throwaway etcds of the tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DatastoreOptions, resolveDatastoreConfig } from './config.js';
import { EtcdKeyValueStore } from './etcd-kv.js';

export const DEFAULT_ETCD_BINARY = '/usr/bin/etcd';
export const DEFAULT_ETCD_DATA_DIR = '/var/lib/caracal/etcd';

/** Server-side TLS of a launched etcd (client-cert auth when clientCertAuth is true). */
export interface LocalEtcdTls {
  certFile: string;
  keyFile: string;
  /** CA that signs client certificates (required with clientCertAuth). */
  trustedCaFile: string;
  clientCertAuth: boolean;
  /** Client pair the readiness probe presents under clientCertAuth (default: certFile/keyFile). */
  probeCertFile?: string;
  probeKeyFile?: string;
}

export interface LocalEtcdOptions {
  /** Data directory (created if missing). Default /var/lib/caracal/etcd. */
  dataDir?: string;
  /** Client port (default 2379) and peer port (default 2380). */
  clientPort?: number;
  peerPort?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Member name (default "caracal"). */
  name?: string;
  /** Keep etcd attached to this process (logs to this process's stderr) instead of detaching it. */
  foreground?: boolean;
  /** Log file of a detached etcd (default <dataDir>/etcd.log). */
  logFile?: string;
  /** PID file (default <dataDir>/etcd.pid). */
  pidFile?: string;
  /** etcd binary (default /usr/bin/etcd). */
  binary?: string;
  /** How long to wait for etcd to become healthy, in ms (default 20000). */
  readyTimeoutMs?: number;
  tls?: LocalEtcdTls;
  /** Extra etcd command-line arguments. */
  extraArgs?: string[];
}

/** A running etcd started by startLocalEtcd. */
export interface LocalEtcd {
  pid: number;
  /** Client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: string[];
  dataDir: string;
  logFile: string | undefined;
  pidFile: string;
  /** The child process (only for foreground launches; detached ones are unref'ed). */
  process: ChildProcess | undefined;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes the PID file. */
  stop(): Promise<void>;
}

/** Thrown when etcd cannot be launched or does not become healthy; the message includes its log tail. */
export class LocalEtcdError extends Error {
  override readonly name = 'LocalEtcdError';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPidFile(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Waits (polling) until the process with this PID has exited; SIGKILLs it after graceMs. */
export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function tail(file: string | undefined, lines = 15): string {
  if (file === undefined || !existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/**
 * Starts a single-member etcd and resolves once it answers a status request. Refuses to start when the
 * PID file names a live process (an etcd is already running there).
 */
export async function startLocalEtcd(options: LocalEtcdOptions = {}): Promise<LocalEtcd> {
  const dataDir = options.dataDir ?? DEFAULT_ETCD_DATA_DIR;
  const host = options.host ?? '127.0.0.1';
  const clientPort = options.clientPort ?? 2379;
  const peerPort = options.peerPort ?? 2380;
  const name = options.name ?? 'caracal';
  const binary = options.binary ?? DEFAULT_ETCD_BINARY;
  for (const [field, port] of [
    ['clientPort', clientPort],
    ['peerPort', peerPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new LocalEtcdError(`${field}: ${port} is not a TCP port (1-65535)`);
    }
  }
  if (!existsSync(binary)) {
    throw new LocalEtcdError(`etcd binary ${binary} not found; install etcd (Debian package etcd-server)`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pidFile = options.pidFile ?? join(dataDir, 'etcd.pid');
  const running = readPidFile(pidFile);
  if (running !== undefined && isAlive(running)) {
    throw new LocalEtcdError(`etcd is already running with PID ${running} (PID file ${pidFile})`);
  }
  const scheme = options.tls === undefined ? 'http' : 'https';
  const clientUrl = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${clientPort}`;
  const peerUrl = `http://${host.includes(':') ? `[${host}]` : host}:${peerPort}`;
  const args = [
    '--name',
    name,
    '--data-dir',
    join(dataDir, 'data'),
    '--listen-client-urls',
    clientUrl,
    '--advertise-client-urls',
    clientUrl,
    '--listen-peer-urls',
    peerUrl,
    '--initial-advertise-peer-urls',
    peerUrl,
    '--initial-cluster',
    `${name}=${peerUrl}`,
    '--initial-cluster-state',
    'new',
    '--logger',
    'zap',
    '--log-outputs',
    'stderr',
  ];
  if (options.tls !== undefined) {
    args.push('--cert-file', options.tls.certFile, '--key-file', options.tls.keyFile);
    args.push('--trusted-ca-file', options.tls.trustedCaFile);
    if (options.tls.clientCertAuth) args.push('--client-cert-auth');
  }
  args.push(...(options.extraArgs ?? []));

  let child: ChildProcess;
  let logFile: string | undefined;
  if (options.foreground === true) {
    child = spawn(binary, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  } else {
    logFile = options.logFile ?? join(dataDir, 'etcd.log');
    const logFd = openSync(logFile, 'a');
    child = spawn(binary, args, { stdio: ['ignore', logFd, logFd], detached: true });
    closeSync(logFd);
    child.unref();
  }
  const pid = child.pid;
  if (pid === undefined) throw new LocalEtcdError(`could not spawn ${binary}`);
  let exitCode: number | null | undefined;
  child.once('exit', (code, signal) => {
    exitCode = code ?? (signal === null ? -1 : -2);
  });
  writeFileSync(pidFile, `${pid}\n`);

  const stop = async (): Promise<void> => {
    await stopProcess(pid);
    if (readPidFile(pidFile) === pid) unlinkSync(pidFile);
  };
  const endpoints = [clientUrl];
  const tlsClientOptions: DatastoreOptions =
    options.tls === undefined
      ? { endpoints }
      : {
          endpoints,
          caCertFile: options.tls.trustedCaFile,
          // With client-cert auth the readiness probe needs a client certificate; without a dedicated
          // probe pair, the server pair (signed by the same CA on a single machine) is presented.
          certFile: options.tls.probeCertFile ?? options.tls.certFile,
          keyFile: options.tls.probeKeyFile ?? options.tls.keyFile,
        };
  const probe = new EtcdKeyValueStore(
    resolveDatastoreConfig({ ...tlsClientOptions, requestTimeoutMs: 1000 }, {}),
  );
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  try {
    for (;;) {
      if (exitCode !== undefined || !isAlive(pid)) {
        throw new LocalEtcdError(
          `etcd exited during start-up (code ${exitCode}); log tail:\n${tail(logFile)}`,
        );
      }
      try {
        await probe.client.maintenance.status({});
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          await stop();
          throw new LocalEtcdError(
            `etcd did not become healthy at ${clientUrl} within ${options.readyTimeoutMs ?? 20_000} ms ` +
              `(${(error as Error).message}); log tail:\n${tail(logFile)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    await probe.close();
  }
  return {
    pid,
    endpoints,
    dataDir,
    logFile,
    pidFile,
    process: options.foreground === true ? child : undefined,
    stop,
  };
}

/** Stops the etcd whose PID file is given (default /var/lib/caracal/etcd/etcd.pid). False if none ran. */
export async function stopLocalEtcd(pidFile = join(DEFAULT_ETCD_DATA_DIR, 'etcd.pid')): Promise<boolean> {
  const pid = readPidFile(pidFile);
  if (pid === undefined || !isAlive(pid)) return false;
  await stopProcess(pid);
  if (readPidFile(pidFile) === pid) unlinkSync(pidFile);
  return true;
}

/** One endpoint's answer to a status request. */
export interface EndpointStatus {
  endpoint: string;
  healthy: boolean;
  version?: string;
  dbSizeBytes?: number;
  revision?: number;
  raftTerm?: number;
  isLeader?: boolean;
  error?: string;
}

export interface DatastoreMember {
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
}

export interface DatastoreStatus {
  endpoints: EndpointStatus[];
  /** Member list from the first healthy endpoint; empty when none answered. */
  members: DatastoreMember[];
  /** True when every endpoint answered. */
  healthy: boolean;
}

/** Health, version, db size, revision per endpoint and the member list (`caracalctl datastore status`). */
export async function datastoreStatus(options: DatastoreOptions = {}): Promise<DatastoreStatus> {
  const config = resolveDatastoreConfig(options);
  const result: DatastoreStatus = { endpoints: [], members: [], healthy: true };
  for (const endpoint of config.endpoints) {
    const store = new EtcdKeyValueStore({ ...config, endpoints: [endpoint] });
    try {
      const status = await store.client.maintenance.status({});
      result.endpoints.push({
        endpoint,
        healthy: true,
        version: status.version,
        dbSizeBytes: Number(status.dbSize),
        revision: Number(status.header.revision),
        raftTerm: Number(status.raftTerm),
        isLeader: status.leader === status.header.member_id,
      });
      if (result.members.length === 0) {
        const list = await store.client.cluster.memberList({});
        result.members = list.members.map((member) => ({
          id: member.ID,
          name: member.name,
          peerUrls: member.peerURLs,
          clientUrls: member.clientURLs,
        }));
      }
    } catch (error) {
      result.healthy = false;
      result.endpoints.push({ endpoint, healthy: false, error: (error as Error).message });
    } finally {
      await store.close();
    }
  }
  return result;
}
