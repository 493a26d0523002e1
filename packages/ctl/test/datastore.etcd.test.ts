// `caracalctl datastore start|status|stop` and `version` with the REAL built executable: a detached
// local etcd on free ports in a temp data dir, its status table, the version it reports, then stop
// (the PID from the PID file must be gone). Also `node status` through the executable, with and
// without a fake bgpd socket.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, stopProcess } from '@caracal/datastore';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBuiltCli } from './built-cli.js';

// Each test runs several caracalctl processes one after another, each a Node start that loads the etcd
// client (about 0.5 s idle, several seconds on 2 cores under a load average near 18, where a test with
// five to nine of them passed the default 30 s): the limit is for the file's process starts, not a wait.
vi.setConfig({ testTimeout: 90_000 });

let workDir: string;
let dataDir: string;
let clientUrl: string;
let peerUrl: string;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pidFromFile(): number | undefined {
  const file = join(dataDir, 'etcd.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

beforeAll(async () => {
  await buildPackagesForLab(['packages/ctl']);
  workDir = mkdtempSync(join(tmpdir(), 'caracalctl-ds-'));
  dataDir = join(workDir, 'etcd');
  clientUrl = `http://127.0.0.1:${await findFreePort()}`;
  let peerPort = await findFreePort();
  while (clientUrl.endsWith(`:${peerPort}`)) peerPort = await findFreePort();
  peerUrl = `http://127.0.0.1:${peerPort}`;
}, 120_000);

afterAll(async () => {
  // Whatever happened in the tests, the etcd this file started is stopped by its PID.
  const pid = dataDir === undefined ? undefined : pidFromFile();
  if (pid !== undefined && isAlive(pid)) await stopProcess(pid);
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

describe('datastore start / status / stop', () => {
  it('starts a detached single-member etcd, reports its status and version, stops it', async () => {
    const started = await runBuiltCli([
      'datastore',
      'start',
      '--data-dir',
      dataDir,
      '--listen-client',
      clientUrl,
      '--listen-peer',
      peerUrl,
    ]);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const pid = pidFromFile();
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid as number)).toBe(true);
    expect(started.stdout).toContain(`etcd started (pid ${pid}), serving ${clientUrl}, data in ${dataDir}`);
    expect(started.stdout).toContain(`--etcd-endpoints ${clientUrl}`);

    const status = await runBuiltCli(['datastore', 'status', '--etcd-endpoints', clientUrl]);
    expect(status.code).toBe(0);
    const lines = status.stdout.split('\n');
    expect(lines[0]).toMatch(/^ENDPOINT\s+HEALTH\s+VERSION\s+REVISION\s+DB SIZE\s+LEADER/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${clientUrl.replace(/\./g, '\\.')}\\s+healthy\\s+3\\.\\d+\\.\\d+\\s+\\d+\\s+[\\d.]+ (B|KiB|MiB)\\s+yes`,
      ),
    );
    expect(status.stdout).toMatch(/MEMBER ID\s+NAME\s+CLIENT URLS\s+PEER URLS/);
    expect(status.stdout).toContain(peerUrl);

    const version = await runBuiltCli(['version', '--etcd-endpoints', clientUrl]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^Client Version:\s+0\.1\.0\n/);
    expect(version.stdout).toMatch(new RegExp(`Datastore Version: etcd 3\\.\\d+\\.\\d+ at ${clientUrl}`));

    const stopped = await runBuiltCli(['datastore', 'stop', '--data-dir', dataDir]);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toBe(`etcd stopped (data dir ${dataDir})\n`);
    expect(isAlive(pid as number)).toBe(false);

    const stoppedAgain = await runBuiltCli(['datastore', 'stop', '--data-dir', dataDir]);
    expect(stoppedAgain.code).toBe(1);
    expect(stoppedAgain.stderr).toContain(`no local etcd is running for data dir ${dataDir}`);
  });

  it('status and version against nothing: exit 1 / unreachable, naming the endpoint', async () => {
    const deadUrl = `http://127.0.0.1:${await findFreePort()}`;
    const status = await runBuiltCli(['datastore', 'status', '--etcd-endpoints', deadUrl]);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(
      `no datastore endpoint answered (tried ${deadUrl}, from --etcd-endpoints)`,
    );
    expect(status.stderr).toContain('caracalctl datastore start');
    const version = await runBuiltCli(['version'], { env: { ETCD_ENDPOINTS: deadUrl } });
    expect(version.code).toBe(0);
    expect(version.stdout).toContain(`Datastore Version: unreachable (tried ${deadUrl};`);
  });

  it('a bad --listen-client is a usage error naming the flag', async () => {
    const result = await runBuiltCli([
      'datastore',
      'start',
      '--data-dir',
      dataDir,
      '--listen-client',
      '127.0.0.1',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--listen-client: "127.0.0.1" is not a URL');
  });
});

describe('exit codes of the executable', () => {
  it('0 for help, 2 for an unknown flag or command naming it', async () => {
    expect((await runBuiltCli(['--help'])).code).toBe(0);
    const flag = await runBuiltCli(['get', 'ippool', '--colour']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--colour'");
    const command = await runBuiltCli(['aply']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain("unknown command 'aply'");
    expect(command.stderr).toContain('(Did you mean apply?)');
  });

  it('bin/caracalctl runs the same executable', async () => {
    const { execFileSync } = await import('node:child_process');
    const { repoRoot } = await import('./built-cli.js');
    const text = execFileSync(join(repoRoot, 'bin', 'caracalctl'), ['--help'], { encoding: 'utf8' });
    expect(text).toContain('Usage: caracalctl');
  });
});

describe('node status through the executable', () => {
  let runDir: string;
  let server: Server | undefined;

  beforeAll(() => {
    runDir = mkdtempSync(join(tmpdir(), 'caracalctl-run-'));
  });
  afterAll(async () => {
    if (server !== undefined) await new Promise<void>((resolve) => server?.close(() => resolve()));
    rmSync(runDir, { recursive: true, force: true });
  });

  it('without caracal-node: exit 1 and a clear sentence', async () => {
    const result = await runBuiltCli(['node', 'status', '--run-dir', runDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `caracal-node does not appear to be running on this host: no control socket at ${join(runDir, 'bgpd.sock')}`,
    );
  });

  it('with a fake bgpd answering on the socket: the peer table', async () => {
    const requests: string[] = [];
    server = createServer((socket) => {
      socket.setEncoding('utf8');
      let buffer = '';
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        if (!buffer.includes('\n')) return;
        requests.push(buffer.trim());
        socket.end(
          `${JSON.stringify({
            peers: [
              {
                peerAddress: '10.9.0.2',
                peerType: 'node-to-node mesh',
                state: 'up',
                since: '2026-11-21',
                info: 'Established',
              },
            ],
          })}\n`,
        );
      });
    });
    await new Promise<void>((resolve) => server?.listen(join(runDir, 'bgpd.sock'), resolve));
    const result = await runBuiltCli(['node', 'status', '--run-dir', runDir]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(requests).toEqual(['{"op":"status"}']);
    expect(result.stdout).toContain(
      '| PEER ADDRESS | PEER TYPE         | STATE | SINCE      | INFO        |',
    );
    expect(result.stdout).toContain(
      '| 10.9.0.2     | node-to-node mesh | up    | 2026-11-21 | Established |',
    );
    expect(result.stdout).toContain('No IPv6 peers found.');
  });
});

describe('datastore start --foreground', () => {
  it('stays attached until SIGTERM, then stops etcd and exits 0', async () => {
    const { spawn } = await import('node:child_process');
    const { builtMain } = await import('./built-cli.js');
    const foregroundDir = join(workDir, 'etcd-foreground');
    const client = `http://127.0.0.1:${await findFreePort()}`;
    const peer = `http://127.0.0.1:${await findFreePort()}`;
    const child = spawn(
      process.execPath,
      [
        builtMain,
        'datastore',
        'start',
        '--foreground',
        '--data-dir',
        foregroundDir,
        '--listen-client',
        client,
        '--listen-peer',
        peer,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.resume();
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      while (!stdout.includes('running in the foreground')) {
        if (child.exitCode !== null) throw new Error(`caracalctl exited early: ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const etcdPid = Number(readFileSync(join(foregroundDir, 'etcd.pid'), 'utf8').trim());
      expect(isAlive(etcdPid)).toBe(true);
      const status = await runBuiltCli(['datastore', 'status', '--etcd-endpoints', client]);
      expect(status.code).toBe(0);
      child.kill('SIGTERM');
      expect(await closed).toBe(0);
      expect(stdout).toContain('etcd stopped');
      expect(isAlive(etcdPid)).toBe(false);
      expect(existsSync(join(foregroundDir, 'etcd.pid'))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      const pidFile = join(foregroundDir, 'etcd.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        if (isAlive(pid)) await stopProcess(pid);
      }
    }
  });
});
