// Our session driver against real BGP implementations on loopback with free ports: GoBGP (gobgpd 3.x)
// and BIRD 2, each started in the foreground from a config in a per-run temp dir, killed by PID.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from '@caracal/lab';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalOpenSettings, NegotiatedSessionOptions, NotificationError } from '../../src/fsm/index.js';
import { Peer } from '../../src/session/index.js';

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startDaemon(command: string, args: string[], output: string[]): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  cleanups.push(async () => {
    const pid = child.pid;
    if (pid === undefined) return;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const within = (ms: number) => Promise.race([exited, new Promise<void>((r) => setTimeout(r, ms))]);
    const signal = (name: NodeJS.Signals) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(pid, name);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    await within(3000);
    signal('SIGKILL');
    await within(3000);
  });
  return child;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `caracal-bgp-${process.pid}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const local: LocalOpenSettings = {
  asNumber: 65001,
  routerId: '10.255.0.1',
  holdTime: 9,
  families: [{ afi: 1, safi: 1 }],
  routeRefresh: true,
  enhancedRouteRefresh: true,
  extendedMessage: true,
  gracefulRestart: { restartTime: 120, restartState: false, notification: false, forwardingPreserved: [] },
};

/** Starts our active peer towards the daemon and resolves when Established (or rejects with its log). */
async function establish(
  peer: Peer,
  output: string[],
  child: ChildProcess,
): Promise<NegotiatedSessionOptions> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `no Established within 60 s; last error ${peer.stats().lastError}; daemon said:\n${output.join('')}`,
          ),
        ),
      60_000,
    );
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code}:\n${output.join('')}`)));
    peer.once('established', (options) => {
      clearTimeout(timer);
      resolve(options);
    });
    peer.start();
  });
}

describe.skipIf(!hasCommand('gobgpd'))('against GoBGP (gobgpd)', () => {
  it('reaches Established, keeps it with keepalives, and tears down with Cease', async () => {
    const dir = await tempDir();
    const bgpPort = await freeTcpPort('127.0.0.2');
    const apiPort = await freeTcpPort('127.0.0.1');
    const config = `[global.config]
  as = 65010
  router-id = "10.255.0.10"
  port = ${bgpPort}
  local-address-list = ["127.0.0.2"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = 65001
  [neighbors.transport.config]
    passive-mode = true
    local-address = "127.0.0.2"
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
`;
    await writeFile(join(dir, 'gobgpd.toml'), config);
    const output: string[] = [];
    const child = await startDaemon(
      'gobgpd',
      [
        '-f',
        join(dir, 'gobgpd.toml'),
        '-t',
        'toml',
        '-p',
        '--api-hosts',
        `127.0.0.1:${apiPort}`,
        '--pprof-disable',
      ],
      output,
    );
    const peer = new Peer({
      name: 'gobgp',
      local,
      remote: { address: '127.0.0.2', port: bgpPort, asNumber: 65010 },
      localAddress: '127.0.0.1',
      attributes: { connectRetryTime: 1, idleHoldTime: 1 },
    });
    cleanups.push(() => peer.stop());
    const options = await establish(peer, output, child);
    expect(options).toMatchObject({
      peerAs: 65010,
      peerRouterId: '10.255.0.10',
      holdTime: 9,
      fourOctetAs: true,
    });
    expect(options.families).toEqual([{ afi: 1, safi: 1 }]);
    expect(options.routeRefresh).toBe(true);
    // Keepalives from GoBGP keep the session up past one hold time.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect(peer.state).toBe('Established');
    expect(peer.stats().messagesIn.keepalive).toBeGreaterThanOrEqual(3);
    const sent = new Promise<NotificationError>((resolve) => peer.once('notificationSent', resolve));
    peer.stop();
    expect(await sent).toMatchObject({ code: 6, subcode: 2 });
  });
});

describe.skipIf(!hasCommand('bird'))('against BIRD 2', () => {
  it('reaches Established with a passive BIRD on a non-standard port', async () => {
    const dir = await tempDir();
    const bgpPort = await freeTcpPort('127.0.0.3');
    const config = `router id 10.255.0.20;
protocol device {}
protocol bgp caracal {
  local 127.0.0.3 port ${bgpPort} as 65020;
  neighbor 127.0.0.1 as 65001;
  # loopback is no directly connected network to BIRD: without multihop it never starts listening
  multihop;
  passive on;
  hold time 9;
  ipv4 { import all; export none; };
}
`;
    await writeFile(join(dir, 'bird.conf'), config);
    const output: string[] = [];
    const child = await startDaemon(
      'bird',
      ['-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid'), '-f'],
      output,
    );
    const peer = new Peer({
      name: 'bird',
      local,
      remote: { address: '127.0.0.3', port: bgpPort, asNumber: 65020 },
      localAddress: '127.0.0.1',
      attributes: { connectRetryTime: 1, idleHoldTime: 1 },
    });
    cleanups.push(() => peer.stop());
    const options = await establish(peer, output, child);
    expect(options).toMatchObject({
      peerAs: 65020,
      peerRouterId: '10.255.0.20',
      holdTime: 9,
      fourOctetAs: true,
    });
    expect(options.enhancedRouteRefresh).toBe(true);
    expect(options.gracefulRestart).not.toBeNull();
    const birdc = spawnSync('birdc', ['-s', join(dir, 'bird.ctl'), 'show', 'protocols', 'caracal']);
    expect(birdc.stdout.toString()).toMatch(/Established/);
    const sent = new Promise<NotificationError>((resolve) => peer.once('notificationSent', resolve));
    peer.stop();
    expect(await sent).toMatchObject({ code: 6, subcode: 2 });
  });
});
