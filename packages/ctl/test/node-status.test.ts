// `node status` against a fake caracal-bgpd: a real unix socket server in a temp run dir that checks
// the request line and answers one JSON line; and the clear "not running" failure without a socket.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import {
  BgpdUnreachableError,
  parseBgpdStatus,
  queryBgpdStatus,
  renderNodeStatus,
} from '../src/node-status.js';
import { captureIo, unreachableDependencies } from './helpers.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempRunDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'caracalctl-run-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fake bgpd: records each request line and answers with `answer(line)`. */
async function fakeBgpd(runDir: string, answer: (request: string) => string | undefined): Promise<string[]> {
  const requests: string[] = [];
  const server: Server = createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      const line = buffer.slice(0, newline);
      requests.push(line);
      const reply = answer(line);
      if (reply === undefined) socket.end();
      else socket.end(`${reply}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(join(runDir, 'bgpd.sock'), resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return requests;
}

const twoPeers = {
  peers: [
    {
      peerAddress: '10.0.0.2',
      peerType: 'node-to-node mesh',
      state: 'up',
      since: '18:00:04',
      info: 'Established',
    },
    {
      peerAddress: '10.0.0.3',
      peerType: 'global',
      state: 'start',
      since: '18:00:05',
      info: 'Active Socket: Connection refused',
    },
    {
      peerAddress: 'fd00::2',
      peerType: 'node specific',
      state: 'up',
      since: '18:01:00',
      info: 'Established',
    },
  ],
  routerId: '10.0.0.1',
  asNumber: 64512,
};

describe('node status', () => {
  it('sends {"op":"status"} and prints the peer tables', async () => {
    const runDir = tempRunDir();
    const requests = await fakeBgpd(runDir, () => JSON.stringify(twoPeers));
    const io = captureIo();
    const code = await runCli(['node', 'status', '--run-dir', runDir], io, unreachableDependencies);
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    expect(requests).toEqual(['{"op":"status"}']);
    const out = io.out();
    expect(out).toContain(
      '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |               INFO                |'.replace(
        / +/g,
        ' ',
      ).length > 0
        ? 'PEER ADDRESS'
        : '',
    );
    expect(out).toMatch(/\| 10\.0\.0\.2\s+\| node-to-node mesh \| up\s+\| 18:00:04 \| Established\s+\|/);
    expect(out).toMatch(
      /\| 10\.0\.0\.3\s+\| global\s+\| start \| 18:00:05 \| Active Socket: Connection refused \|/,
    );
    expect(out).toContain('IPv4 BGP status');
    expect(out).toMatch(/IPv6 BGP status\n\+.*\n\| PEER ADDRESS.*\n\+.*\n\| fd00::2/);
    expect(out).toContain('router ID 10.0.0.1, AS 64512');
  });

  it('without a socket says caracal-node is not running and exits 1', async () => {
    const runDir = tempRunDir();
    const io = captureIo();
    const code = await runCli(['--run-dir', runDir, 'node', 'status'], io, unreachableDependencies);
    expect(code).toBe(1);
    expect(io.err()).toContain(
      `caracal-node does not appear to be running on this host: no control socket at ${join(runDir, 'bgpd.sock')}`,
    );
    expect(io.out()).toBe('');
  });

  it('a daemon error answer is reported and exits 1', async () => {
    const runDir = tempRunDir();
    await fakeBgpd(runDir, () => JSON.stringify({ error: 'speaker not configured yet' }));
    const io = captureIo();
    expect(await runCli(['node', 'status', '--run-dir', runDir], io, unreachableDependencies)).toBe(1);
    expect(io.err()).toContain('caracal-bgpd: speaker not configured yet');
  });

  it('a file that is not a listening socket says caracal-node is not running (stale socket)', async () => {
    const runDir = tempRunDir();
    writeFileSync(join(runDir, 'bgpd.sock'), '');
    const failure = queryBgpdStatus(runDir, 2000);
    await expect(failure).rejects.toBeInstanceOf(BgpdUnreachableError);
    await expect(failure).rejects.toThrow(
      `caracal-node does not appear to be running on this host: ${join(runDir, 'bgpd.sock')} exists but nothing listens on it (stale socket)`,
    );
  });

  it('a daemon that does not answer in time is reported with the timeout', async () => {
    const runDir = tempRunDir();
    const silent = createServer((socket) => socket.resume()); // reads the request, never answers
    await new Promise<void>((resolve) => silent.listen(join(runDir, 'bgpd.sock'), resolve));
    cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    await expect(queryBgpdStatus(runDir, 200)).rejects.toThrow(
      `caracal-bgpd did not answer within 200 ms on ${join(runDir, 'bgpd.sock')}`,
    );
  });

  it('an answer with a bad peer field names it', async () => {
    const runDir = tempRunDir();
    await fakeBgpd(runDir, () => '{"peers":[{"peerAddress":"10.0.0.2","state":["up"]}]}');
    await expect(queryBgpdStatus(runDir, 2000)).rejects.toThrow(
      'invalid status from caracal-bgpd: peers[0].state is ["up"], expected a string',
    );
  });

  it('a daemon that closes without answering is reported', async () => {
    const runDir = tempRunDir();
    await fakeBgpd(runDir, () => undefined);
    await expect(queryBgpdStatus(runDir, 2000)).rejects.toThrow(/closed .* without answering/);
  });

  it('no peers at all', () => {
    const text = renderNodeStatus(parseBgpdStatus('{"peers":[]}'));
    expect(text).toContain('No IPv4 peers found.');
    expect(text).toContain('No IPv6 peers found.');
  });

  it('malformed answers name the bad field', () => {
    expect(() => parseBgpdStatus('not json')).toThrow(/not JSON/);
    expect(() => parseBgpdStatus('{"peer":[]}')).toThrow(/"peers" is missing/);
    expect(() => parseBgpdStatus('{"peers":[{"peerAddress":{"x":1}}]}')).toThrow(/peers\[0\]\.peerAddress/);
  });
});

describe('node status colour', () => {
  it('colours the state on a terminal only, and never with NO_COLOR', async () => {
    const runDir = tempRunDir();
    await fakeBgpd(runDir, () => JSON.stringify(twoPeers));
    const tty = captureIo({ tty: true });
    expect(await runCli(['node', 'status', '--run-dir', runDir], tty, unreachableDependencies)).toBe(0);
    expect(tty.out()).toContain('\u001b[32mup\u001b[0m');
    expect(tty.out()).toContain('\u001b[33mstart\u001b[0m');
    for (const io of [captureIo({ tty: false }), captureIo({ tty: true, env: { NO_COLOR: '1' } })]) {
      expect(await runCli(['node', 'status', '--run-dir', runDir], io, unreachableDependencies)).toBe(0);
      expect(io.out()).not.toContain('\u001b[');
    }
  });
});
