// caracal-bgpd (bin/caracal-bgpd, built from this tree) applies a changed `listen` on SIGHUP, in two network
// namespaces joined by a veth pair. n1 runs the daemon under test with two passive peers; n2 runs two more
// caracal-bgpd processes (listening nowhere) as those peers, from 10.89.0.2 and 10.89.0.3:
// - peer A connects to 10.89.0.1 (the only listen address) and is Established;
// - 10.89.0.11 is added to n1's interface (as a node gets a new address): nothing listens there yet; a
//   reload with it in listen.addresses opens it, peer B connects through it, A's session is untouched
//   (one OPEN, no flap, no state change in the log);
// - a reload without 10.89.0.1 closes it (connections refused) while A's session, accepted through it,
//   stays Established and keeps receiving KEEPALIVEs;
// - a reload naming an address that is not on n1 (10.89.0.99) or a port in use there is refused with the
//   address, the port and the reason in the log; nothing of that file is applied (its new origination
//   is not advertised, the sockets are the same).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildPackagesForLab,
  type Lab,
  type LabProcess,
  type LabServer,
  type Topology,
  waitUntil,
} from '@caracal/lab';
import { describeLab, useLab } from '@caracal/lab/vitest';
import { beforeAll, expect, it } from 'vitest';

const repo = resolve(fileURLToPath(import.meta.url), '../../../../..');
const BGPD = join(repo, 'bin/caracal-bgpd');
const BGP = join(repo, 'bin/caracal-bgp');

const FIRST = '10.89.0.1';
const SECOND = '10.89.0.11';
const NOT_ON_HOST = '10.89.0.99';
const PEER_A = '10.89.0.2';
const PEER_B = '10.89.0.3';

const topology: Topology = {
  name: 'caracal-bgpd listen reload',
  hosts: [{ name: 'n1' }, { name: 'n2' }],
  links: [
    {
      a: { host: 'n1', interface: 'eth0', addresses: [`${FIRST}/24`] },
      b: { host: 'n2', interface: 'eth0', addresses: [`${PEER_A}/24`, `${PEER_B}/24`] },
    },
  ],
};

/** The daemon under test: listens on `addresses`, accepts A and B (passive), originates `originate`. */
function underTest(
  dir: string,
  listen: { addresses: readonly string[]; port: number },
  originate: readonly string[] = [],
): string {
  return [
    'asNumber: 65101',
    `routerId: ${FIRST}`,
    `listen: { addresses: [${listen.addresses.join(', ')}], port: ${listen.port} }`,
    'kernel: { install: false }',
    ...(originate.length > 0
      ? ['originate:', ...originate.map((prefix) => `  - { prefix: ${prefix} }`)]
      : []),
    'peers:',
    ...[
      ['a', PEER_A, 65102],
      ['b', PEER_B, 65103],
    ].flatMap(([name, address, asNumber]) => [
      `  - name: ${name}`,
      `    address: ${address}`,
      `    asNumber: ${asNumber}`,
      '    passive: true',
      '    holdTime: 9',
      '    import: { action: accept }',
      '    export: { action: accept }',
    ]),
    `control: { socket: ${join(dir, 'bgpd.sock')} }`,
    'metrics: { address: 127.0.0.1, port: 9092 }',
    'logLevel: debug',
  ].join('\n');
}

/** A peer in n2 that listens nowhere and connects from `self` to n1 at `target`. */
function peerConfig(
  dir: string,
  self: string,
  asNumber: number,
  target: string,
  metricsPort: number,
): string {
  return [
    `asNumber: ${asNumber}`,
    `routerId: ${self}`,
    'listen: { enabled: false }',
    'kernel: { install: false }',
    'peers:',
    '  - name: n1',
    `    address: ${target}`,
    '    asNumber: 65101',
    `    localAddress: ${self}`,
    '    holdTime: 9',
    '    connectRetryTime: 1',
    '    import: { action: accept }',
    '    export: { action: accept }',
    `control: { socket: ${join(dir, 'bgpd.sock')} }`,
    `metrics: { address: 127.0.0.1, port: ${metricsPort} }`,
  ].join('\n');
}

interface StatusPeer {
  name: string;
  state: string;
  flaps: number;
  messagesIn: { open: number; keepalive: number };
  prefixes: { advertised: number };
}
interface Status {
  peers: StatusPeer[];
  listening: Array<{ address: string; port: number }>;
}

async function status(lab: Lab, node: string, dir: string): Promise<Status> {
  const result = await lab.exec(node, [BGP, 'status', '--socket', join(dir, 'bgpd.sock'), '-o', 'json'], {
    check: true,
  });
  return JSON.parse(result.stdout) as Status;
}

function peerOf(current: Status, name: string): StatusPeer {
  const row = current.peers.find((peer) => peer.name === name);
  if (row === undefined) throw new Error(`no peer ${name} in ${JSON.stringify(current.peers)}`);
  return row;
}

/** Log lines of `process` matching `pattern`. */
function logLines(process: LabProcess, pattern: RegExp): string[] {
  return process
    .log()
    .split('\n')
    .filter((line) => pattern.test(line));
}

describeLab('caracal-bgpd: SIGHUP applies listen changes', () => {
  const lab = useLab(topology);
  beforeAll(() => buildPackagesForLab(['packages/bgp-speaker']), 300_000);

  it('opens an added address, closes a removed one, refuses an unbindable one; sessions stay up', async () => {
    const processes: LabProcess[] = [];
    const servers: LabServer[] = [];
    const dirs: string[] = [];
    const folder = (name: string) => {
      const dir = join(lab().runDir, name);
      mkdirSync(dir, { recursive: true });
      dirs.push(dir);
      return dir;
    };
    try {
      const dir = folder('bgpd-under-test');
      const file = join(dir, 'bgpd.yaml');
      writeFileSync(file, underTest(dir, { addresses: [FIRST], port: 179 }));
      const bgpd = await lab().spawn('n1', [BGPD, '--config', file], { name: 'bgpd' });
      processes.push(bgpd);
      await bgpd.waitForLog(/"msg":"listening"/);
      let reloads = 0;
      /** Writes the file, sends SIGHUP and waits for the reload's outcome line; returns that line. */
      const reload = async (text: string): Promise<string> => {
        writeFileSync(file, text);
        reloads += 1;
        await lab().exec('n1', ['kill', '-HUP', String(bgpd.pid)], { check: true });
        return waitUntil(
          `reload ${reloads} of caracal-bgpd`,
          () => logLines(bgpd, /configuration reloaded|reload failed/)[reloads - 1],
          { timeoutMs: 20_000 },
        );
      };

      const dirA = folder('peer-a');
      writeFileSync(join(dirA, 'bgpd.yaml'), peerConfig(dirA, PEER_A, 65102, FIRST, 9093));
      processes.push(
        await lab().spawn('n2', [BGPD, '--config', join(dirA, 'bgpd.yaml')], { name: 'peer-a' }),
      );
      await waitUntil(
        'peer a Established on n1',
        async () => peerOf(await status(lab(), 'n1', dir), 'a').state === 'Established' || undefined,
        { timeoutMs: 30_000 },
      );
      const initial = await status(lab(), 'n1', dir);
      expect(initial.listening).toEqual([{ address: FIRST, port: 179 }]);

      // n1 gets a second address; nothing listens on it yet (n1 connects to itself from that address,
      // which is no peer, so no session is disturbed).
      await lab().exec('n1', ['ip', 'addr', 'add', `${SECOND}/24`, 'dev', 'eth0'], { check: true });
      expect(await lab().tcpConnect('n1', SECOND, 179)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });

      // Reload 1: listen on both. Peer B connects through the new address; A's session is untouched.
      const added = await reload(underTest(dir, { addresses: [FIRST, SECOND], port: 179 }));
      expect(added).toMatch(/configuration reloaded/);
      expect(added).toContain(`"listenersOpened":[{"address":"${SECOND}","port":179}]`);
      expect(added).toContain('"needsRestart":[]');
      expect(logLines(bgpd, /take effect only after a restart/)).toEqual([]);
      expect((await status(lab(), 'n1', dir)).listening).toEqual([
        { address: FIRST, port: 179 },
        { address: SECOND, port: 179 },
      ]);
      const dirB = folder('peer-b');
      writeFileSync(join(dirB, 'bgpd.yaml'), peerConfig(dirB, PEER_B, 65103, SECOND, 9094));
      processes.push(
        await lab().spawn('n2', [BGPD, '--config', join(dirB, 'bgpd.yaml')], { name: 'peer-b' }),
      );
      await waitUntil(
        'peer b Established on n1 through the new address',
        async () => peerOf(await status(lab(), 'n1', dir), 'b').state === 'Established' || undefined,
        { timeoutMs: 30_000 },
      );
      expect(peerOf(await status(lab(), 'n1', dir), 'a')).toMatchObject({
        state: 'Established',
        flaps: 0,
        messagesIn: { open: 1 },
      });

      // Reload 2: the first address removed. New connections there are refused; A's session stays and
      // keeps exchanging KEEPALIVEs.
      const removed = await reload(underTest(dir, { addresses: [SECOND], port: 179 }));
      expect(removed).toContain(`"listenersClosed":[{"address":"${FIRST}","port":179}]`);
      expect(await lab().tcpConnect('n1', FIRST, 179)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      expect(await lab().tcpConnect('n1', SECOND, 179)).toMatchObject({ ok: true });
      const keepalives = peerOf(await status(lab(), 'n1', dir), 'a').messagesIn.keepalive;
      await waitUntil(
        'a KEEPALIVE from peer a after the reload',
        async () =>
          peerOf(await status(lab(), 'n1', dir), 'a').messagesIn.keepalive > keepalives || undefined,
        { timeoutMs: 15_000 },
      );
      const afterRemoval = await status(lab(), 'n1', dir);
      expect(afterRemoval.listening).toEqual([{ address: SECOND, port: 179 }]);
      for (const name of ['a', 'b'])
        expect(peerOf(afterRemoval, name)).toMatchObject({
          state: 'Established',
          flaps: 0,
          messagesIn: { open: 1 },
        });

      // Reload 3: an address that is not on n1, with a new origination: refused as a whole.
      const notOnHost = await reload(
        underTest(dir, { addresses: [SECOND, NOT_ON_HOST], port: 179 }, ['10.77.0.0/24']),
      );
      expect(notOnHost).toMatch(/reload failed; keeping the running configuration/);
      expect(notOnHost).toMatch(
        new RegExp(
          `cannot listen on ${NOT_ON_HOST.replaceAll('.', '\\.')} port 179: .*EADDRNOTAVAIL.*not on this host`,
        ),
      );
      // Reload 4: a changed port that is in use on n1's address: refused, naming address and port.
      const occupant = await lab().tcpListen('n1', { address: SECOND, port: 1790 });
      servers.push(occupant);
      const portInUse = await reload(underTest(dir, { addresses: [SECOND], port: 1790 }, ['10.77.0.0/24']));
      expect(portInUse).toMatch(/reload failed; keeping the running configuration/);
      expect(portInUse).toMatch(
        new RegExp(`cannot listen on ${SECOND.replaceAll('.', '\\.')} port 1790: .*EADDRINUSE.*in use`),
      );
      // Nothing changed: the same sockets, no origination advertised, both sessions up since their OPEN.
      const afterRefusals = await status(lab(), 'n1', dir);
      expect(afterRefusals.listening).toEqual([{ address: SECOND, port: 179 }]);
      expect(await lab().tcpConnect('n1', SECOND, 179)).toMatchObject({ ok: true });
      expect(await lab().tcpConnect('n1', FIRST, 179)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      for (const name of ['a', 'b'])
        expect(peerOf(afterRefusals, name)).toMatchObject({
          state: 'Established',
          flaps: 0,
          messagesIn: { open: 1 },
          prefixes: { advertised: 0 },
        });
      // Through every reload, no session of the daemon left Established.
      expect(bgpd.log()).not.toMatch(/"from":"Established"/);
      expect(bgpd.running).toBe(true);
    } finally {
      for (const server of servers) await server.stop();
      for (const process of processes) if (process.running) await process.stop({ signal: 'SIGKILL' });
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
