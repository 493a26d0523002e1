// Two caracal-bgpd processes (bin/caracal-bgpd, built from this tree) in two network namespaces joined by
// a veth pair: each originates a prefix, the other installs it in its kernel with our protocol (201) via
// the peer's address; a SIGHUP reload without the origination withdraws it from the other kernel; a
// blackhole origination is installed locally; `caracal-bgp status` reads the control socket; SIGTERM
// without graceful restart removes our routes from the kernel, and the peer withdraws what it learned.
// Graceful restart with the real kernel FIB: after kill -9 both kernels keep the routes, the helper marks
// them stale, and the restarted daemon sweeps the previous run's routes its peer no longer announces.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPackagesForLab, type Lab, type LabProcess, type Topology, waitUntil } from '@caracal/lab';
import { describeLab, useLab } from '@caracal/lab/vitest';
import { beforeAll, expect, it } from 'vitest';

const repo = resolve(fileURLToPath(import.meta.url), '../../../../..');
const BGPD = join(repo, 'bin/caracal-bgpd');
const BGP = join(repo, 'bin/caracal-bgp');

const topology: Topology = {
  name: 'caracal-bgpd to caracal-bgpd',
  hosts: [{ name: 'n1' }, { name: 'n2' }],
  links: [
    {
      a: { host: 'n1', interface: 'eth0', addresses: ['10.88.0.1/24'] },
      b: { host: 'n2', interface: 'eth0', addresses: ['10.88.0.2/24'] },
    },
  ],
};

interface NodeSetup {
  readonly name: 'n1' | 'n2';
  readonly address: string;
  readonly asNumber: number;
  readonly peer: { readonly name: string; readonly address: string; readonly asNumber: number };
}

const N1: NodeSetup = {
  name: 'n1',
  address: '10.88.0.1',
  asNumber: 65101,
  peer: { name: 'n2', address: '10.88.0.2', asNumber: 65102 },
};
const N2: NodeSetup = {
  name: 'n2',
  address: '10.88.0.2',
  asNumber: 65102,
  peer: { name: 'n1', address: '10.88.0.1', asNumber: 65101 },
};

function configText(
  node: NodeSetup,
  dir: string,
  originate: readonly string[],
  extra: string[] = [],
): string {
  return [
    ...extra,
    `asNumber: ${node.asNumber}`,
    `routerId: ${node.address}`,
    `listen: { address: ${node.address}, port: 179 }`,
    'kernel: { install: true }',
    'originate:',
    ...originate.map((line) => `  - ${line}`),
    'peers:',
    `  - name: ${node.peer.name}`,
    `    address: ${node.peer.address}`,
    `    asNumber: ${node.peer.asNumber}`,
    '    holdTime: 9',
    '    connectRetryTime: 1',
    '    import: { action: accept }',
    '    export: { action: accept }',
    `control: { socket: ${join(dir, 'bgpd.sock')} }`,
    // Inside its own namespace each daemon may use any port; 127.0.0.1 keeps it off the lab link.
    'metrics: { address: 127.0.0.1, port: 9092 }',
    'logLevel: debug',
  ].join('\n');
}

async function kernelRoutes(lab: Lab, node: string): Promise<string[]> {
  const result = await lab.exec(node, ['ip', '-4', 'route', 'show', 'proto', '201'], { check: true });
  return result.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

function build(): Promise<void> {
  return buildPackagesForLab(['packages/bgp-speaker']);
}

describeLab('caracal-bgpd ↔ caracal-bgpd in two namespaces', () => {
  const lab = useLab(topology);
  beforeAll(build, 300_000);

  it('exchanges originated prefixes into each kernel, withdraws on reload, cleans up on SIGTERM', async () => {
    const dirs = new Map<string, string>();
    const processes: LabProcess[] = [];
    try {
      for (const node of [N1, N2]) {
        const dir = join(lab().runDir, `${node.name}-bgpd`);
        mkdirSync(dir, { recursive: true });
        dirs.set(node.name, dir);
      }
      const dir1 = dirs.get('n1')!;
      const dir2 = dirs.get('n2')!;
      writeFileSync(
        join(dir1, 'bgpd.yaml'),
        configText(N1, dir1, ['{ prefix: 10.201.1.0/24 }', '{ prefix: 10.201.9.0/24, blackhole: true }']),
      );
      writeFileSync(join(dir2, 'bgpd.yaml'), configText(N2, dir2, ['{ prefix: 10.202.2.0/24 }']));
      const bgpd1 = await lab().spawn('n1', [BGPD, '--config', join(dir1, 'bgpd.yaml')], { name: 'bgpd' });
      processes.push(bgpd1);
      const bgpd2 = await lab().spawn('n2', [BGPD, '--config', join(dir2, 'bgpd.yaml')], { name: 'bgpd' });
      processes.push(bgpd2);

      // n2 learns both of n1's advertised prefixes (the blackhole one too) via 10.88.0.1; n1 learns n2's.
      const at2 = await waitUntil(
        'n2 to install n1’s prefixes',
        async () => {
          const routes = await kernelRoutes(lab(), 'n2');
          return routes.some((r) => r.startsWith('10.201.1.0/24 via 10.88.0.1 dev eth0')) &&
            routes.some((r) => r.startsWith('10.201.9.0/24 via 10.88.0.1 dev eth0'))
            ? routes
            : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(at2).toHaveLength(2);
      const at1 = await waitUntil(
        'n1 to install n2’s prefix',
        async () => {
          const routes = await kernelRoutes(lab(), 'n1');
          return routes.some((r) => r.startsWith('10.202.2.0/24 via 10.88.0.2 dev eth0'))
            ? routes
            : undefined;
        },
        { timeoutMs: 30_000 },
      );
      // n1: n2's prefix and its own blackhole; its own plain origination is not installed locally.
      expect(at1.some((r) => r.startsWith('blackhole 10.201.9.0/24'))).toBe(true);
      expect(at1.some((r) => r.startsWith('10.201.1.0/24'))).toBe(false);
      expect(at1).toHaveLength(2);

      // The control socket answers `caracal-bgp status` inside the namespace.
      const status = await lab().exec(
        'n1',
        [BGP, 'status', '--socket', join(dir1, 'bgpd.sock'), '-o', 'json'],
        {
          check: true,
        },
      );
      const parsed = JSON.parse(status.stdout) as {
        peers: Array<{ name: string; state: string; prefixes: { accepted: number; advertised: number } }>;
      };
      expect(parsed.peers[0]).toMatchObject({
        name: 'n2',
        state: 'Established',
        prefixes: { accepted: 1, advertised: 2 },
      });

      // Reload n1 without 10.201.1.0/24: n2 withdraws it from its kernel; the session stays up.
      writeFileSync(
        join(dir1, 'bgpd.yaml'),
        configText(N1, dir1, ['{ prefix: 10.201.9.0/24, blackhole: true }']),
      );
      await lab().exec('n1', ['kill', '-HUP', String(bgpd1.pid)], { check: true });
      await waitUntil(
        'n2 to remove 10.201.1.0/24',
        async () =>
          !(await kernelRoutes(lab(), 'n2')).some((r) => r.startsWith('10.201.1.0/24')) || undefined,
        { timeoutMs: 20_000 },
      );
      expect((await kernelRoutes(lab(), 'n2')).some((r) => r.startsWith('10.201.9.0/24'))).toBe(true);
      await bgpd1.waitForLog(/configuration reloaded/);
      expect(bgpd1.log()).not.toMatch(/"from":"Established"/);

      // A bad file on SIGHUP is logged and changes nothing.
      writeFileSync(join(dir1, 'bgpd.yaml'), 'asNumber: nope\n');
      await lab().exec('n1', ['kill', '-HUP', String(bgpd1.pid)], { check: true });
      await bgpd1.waitForLog(/reload failed; keeping the running configuration/);
      expect(bgpd1.running).toBe(true);

      // SIGTERM on n1 (no graceful restart): exit 0, n1's kernel loses our routes, n2 withdraws n1's.
      await bgpd1.stop({ signal: 'SIGTERM', graceMs: 10_000 });
      const exit = await bgpd1.exited;
      expect(exit.code).toBe(0);
      expect(await kernelRoutes(lab(), 'n1')).toEqual([]);
      await waitUntil(
        'n2 to withdraw n1’s routes',
        async () => (await kernelRoutes(lab(), 'n2')).length === 0 || undefined,
        { timeoutMs: 20_000 },
      );
    } finally {
      for (const process of processes) if (process.running) await process.stop({ signal: 'SIGKILL' });
      for (const dir of dirs.values()) rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('graceful restart: kill -9 keeps routes on both sides; the restarted daemon sweeps what was not re-learned', async () => {
    const dirs: string[] = [];
    const processes: LabProcess[] = [];
    const gr = ['gracefulRestart: { enabled: true, restartTime: 60 }'];
    try {
      for (const name of ['n1', 'n2']) await lab().exec(name, ['ip', 'route', 'flush', 'proto', '201']);
      const dir1 = join(lab().runDir, 'n1-gr');
      const dir2 = join(lab().runDir, 'n2-gr');
      for (const dir of [dir1, dir2]) {
        mkdirSync(dir, { recursive: true });
        dirs.push(dir);
      }
      writeFileSync(join(dir1, 'bgpd.yaml'), configText(N1, dir1, ['{ prefix: 10.201.1.0/24 }'], gr));
      writeFileSync(
        join(dir2, 'bgpd.yaml'),
        configText(N2, dir2, ['{ prefix: 10.202.2.0/24 }', '{ prefix: 10.202.5.0/24 }'], gr),
      );
      const first = await lab().spawn('n1', [BGPD, '--config', join(dir1, 'bgpd.yaml')], {
        name: 'bgpd-gr-1',
      });
      processes.push(first);
      const bgpd2 = await lab().spawn('n2', [BGPD, '--config', join(dir2, 'bgpd.yaml')], { name: 'bgpd-gr' });
      processes.push(bgpd2);
      await waitUntil(
        'n1 to install both of n2’s prefixes',
        async () => (await kernelRoutes(lab(), 'n1')).length === 2 || undefined,
        { timeoutMs: 60_000 },
      );
      await waitUntil(
        'n2 to install n1’s prefix',
        async () => (await kernelRoutes(lab(), 'n2')).length === 1 || undefined,
        { timeoutMs: 30_000 },
      );

      // kill -9 n1: its kernel keeps n2's routes; n2 (helper) keeps n1's route, stale, in its kernel.
      await first.stop({ signal: 'SIGKILL' });
      const peerOfN2 = async () => {
        const out = await lab().exec(
          'n2',
          [BGP, 'status', '--socket', join(dir2, 'bgpd.sock'), '-o', 'json'],
          {
            check: true,
          },
        );
        return (JSON.parse(out.stdout) as { peers: Array<Record<string, unknown>> }).peers[0] as {
          state: string;
          prefixes: { stale: number };
          gracefulRestart: { negotiated: boolean; peerRestarting: boolean };
        };
      };
      await waitUntil(
        'n2 to see n1 restarting',
        async () => (await peerOfN2()).gracefulRestart.peerRestarting || undefined,
        {
          timeoutMs: 30_000,
        },
      );
      expect((await peerOfN2()).prefixes.stale).toBe(1);
      expect((await kernelRoutes(lab(), 'n2')).some((r) => r.startsWith('10.201.1.0/24 via 10.88.0.1'))).toBe(
        true,
      );
      expect((await kernelRoutes(lab(), 'n1')).length).toBe(2);

      // While n1 is down, n2 stops originating 10.202.5.0/24.
      writeFileSync(join(dir2, 'bgpd.yaml'), configText(N2, dir2, ['{ prefix: 10.202.2.0/24 }'], gr));
      await lab().exec('n2', ['kill', '-HUP', String(bgpd2.pid)], { check: true });
      await bgpd2.waitForLog(/configuration reloaded/);

      // n1 restarts: it finds its previous routes, restarts gracefully, and after n2's End-of-RIB keeps
      // 10.202.2.0/24 and sweeps 10.202.5.0/24; n2 sweeps nothing of n1's (re-announced).
      const second = await lab().spawn('n1', [BGPD, '--config', join(dir1, 'bgpd.yaml')], {
        name: 'bgpd-gr-2',
      });
      processes.push(second);
      await second.waitForLog(/graceful restart: restarting speaker/, { timeoutMs: 20_000 });
      await second.waitForLog(/graceful restart complete/, { timeoutMs: 60_000 });
      await waitUntil(
        'n1 to sweep 10.202.5.0/24',
        async () => {
          const routes = await kernelRoutes(lab(), 'n1');
          return routes.length === 1 && routes[0]?.startsWith('10.202.2.0/24 via 10.88.0.2')
            ? routes
            : undefined;
        },
        { timeoutMs: 20_000 },
      );
      await waitUntil(
        'n2 to end the helper role',
        async () => {
          const peer = await peerOfN2();
          return (
            (peer.state === 'Established' &&
              !peer.gracefulRestart.peerRestarting &&
              peer.prefixes.stale === 0) ||
            undefined
          );
        },
        { timeoutMs: 30_000 },
      );
      expect((await kernelRoutes(lab(), 'n2')).some((r) => r.startsWith('10.201.1.0/24 via 10.88.0.1'))).toBe(
        true,
      );
    } finally {
      for (const process of processes) if (process.running) await process.stop({ signal: 'SIGKILL' });
      for (const name of ['n1', 'n2']) await lab().exec(name, ['ip', 'route', 'flush', 'proto', '201']);
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('exits 2 with file:line:col for a bad configuration', async () => {
    const dir = join(lab().runDir, 'bad-config');
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, 'bgpd.yaml'), 'asNumber: 65000\nrouterId: 10.0.0.1\nholdTim: 3\n');
      const result = await lab().exec('n1', [BGPD, '--config', join(dir, 'bgpd.yaml')]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `${join(dir, 'bgpd.yaml')}:3:1: holdTim: unknown key "holdTim"; did you mean "holdTime"?`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
