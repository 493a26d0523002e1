// Tests of the control socket over a real unix socket: answers to status and routes, errors for bad
// requests on a connection that stays usable, the stale-socket rules, mode 0660, and the client's errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ControlClientError,
  type ControlServer,
  parseControlAnswer,
  parseControlRequest,
  queryControlSocket,
  queryRoutes,
  queryStatus,
  startControlServer,
} from '../../src/control/index.js';
import { FakeSpeakerView } from './fake-view.js';

let dir = '';
let server: ControlServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caracal-ctl-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a connection, sends `lines` one by one, and resolves with one answer line per request. */
function converse(socketPath: string, lines: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const answers: string[] = [];
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`${lines[0]}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        answers.push(buffer.slice(0, i));
        buffer = buffer.slice(i + 1);
        if (answers.length === lines.length) {
          socket.end();
          resolve(answers);
        } else socket.write(`${lines[answers.length]}\n`);
      }
    });
  });
}

describe('control socket', () => {
  it('answers status and routes, and errors on bad requests while the connection stays usable', async () => {
    const fake = new FakeSpeakerView();
    const socketPath = join(dir, 'sub', 'dir', 'bgpd.sock');
    server = await startControlServer({ socketPath, view: fake.view });
    expect(statSync(socketPath).mode & 0o777).toBe(0o660);
    const answers = await converse(socketPath, [
      '{"op":"status"}',
      'not json',
      '{"op":"frobnicate"}',
      '{"op":"routes","prefix":"10.65.1.0/26"}',
      '{"op":"routes","prefix":"bad"}',
      '{"op":"routes","prefix":7}',
      '{"op":"routes"}',
    ]);
    const status = JSON.parse(answers[0] ?? '');
    expect(status).toEqual(fake.statusData);
    // The fields caracalctl node status parses.
    expect(Object.keys(status.peers[0])).toEqual(
      expect.arrayContaining(['peerAddress', 'peerType', 'state', 'since', 'info']),
    );
    expect(JSON.parse(answers[1] ?? '').error).toMatch(/^bad request: not JSON/);
    expect(JSON.parse(answers[2] ?? '')).toEqual({
      error: 'unknown op "frobnicate": expected one of status, routes',
    });
    expect(JSON.parse(answers[3] ?? '')).toEqual({ routes: [fake.routeRows[0]] });
    expect(JSON.parse(answers[4] ?? '')).toEqual({ error: "routes: 'bad' is not a prefix" });
    expect(JSON.parse(answers[5] ?? '').error).toContain('"prefix" must be a string');
    expect(JSON.parse(answers[6] ?? '')).toEqual({ routes: fake.routeRows });
    expect(fake.routeFilters).toEqual([{ prefix: '10.65.1.0/26' }, { prefix: 'bad' }, {}]);
  });

  it('answers what the view says now, through the client helpers', async () => {
    const fake = new FakeSpeakerView();
    const socketPath = join(dir, 'bgpd.sock');
    server = await startControlServer({ socketPath, view: fake.view });
    expect((await queryStatus(socketPath)).peers.map((p) => p.state)).toEqual(['Established', 'Active']);
    fake.statusData = { ...fake.statusData, peers: [] };
    expect((await queryStatus(socketPath)).peers).toEqual([]);
    expect(await queryRoutes(socketPath, '2001:db8:1::/48')).toEqual([fake.routeRows[1]]);
    await expect(queryControlSocket(socketPath, { op: 'routes', prefix: 'bad' })).rejects.toMatchObject({
      reason: 'daemon-error',
      message: "caracal-bgpd: routes: 'bad' is not a prefix",
    });
  });

  it('replaces a stale socket file but refuses a live socket or a regular file', async () => {
    const socketPath = join(dir, 'bgpd.sock');
    // A socket file left behind by a process that died listening (SIGKILL: nothing unlinks it).
    const crashed = spawnSync(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(crashed.signal).toBe('SIGKILL');
    expect(statSync(socketPath).isSocket()).toBe(true);
    server = await startControlServer({ socketPath, view: new FakeSpeakerView().view });
    expect((await queryStatus(socketPath)).routerId).toBe('10.0.0.1');
    await expect(startControlServer({ socketPath, view: new FakeSpeakerView().view })).rejects.toThrow(
      `another process is listening on ${socketPath}`,
    );
    const regular = join(dir, 'file.sock');
    writeFileSync(regular, 'x');
    await expect(
      startControlServer({ socketPath: regular, view: new FakeSpeakerView().view }),
    ).rejects.toThrow(`${regular} exists and is not a socket`);
    await server.close();
    server = undefined;
    expect(() => statSync(socketPath)).toThrow(/ENOENT/);
  });

  it('tells why the daemon cannot be asked', async () => {
    const missing = join(dir, 'nothing.sock');
    await expect(queryStatus(missing)).rejects.toThrow(
      `caracal-bgpd is not running (no socket at ${missing})`,
    );
    await expect(queryStatus(missing)).rejects.toBeInstanceOf(ControlClientError);
    // A server that accepts but never answers.
    const silentPath = join(dir, 'silent.sock');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
    try {
      await expect(queryStatus(silentPath, { timeoutMs: 100 })).rejects.toMatchObject({
        reason: 'timeout',
        message: `caracal-bgpd did not answer within 100 ms on ${silentPath}`,
      });
    } finally {
      silent.close();
    }
    // A server that answers garbage.
    const garbagePath = join(dir, 'garbage.sock');
    const garbage = createServer((socket) => socket.end('hello\n'));
    await new Promise<void>((resolve) => garbage.listen(garbagePath, resolve));
    try {
      await expect(queryStatus(garbagePath)).rejects.toMatchObject({ reason: 'bad-answer' });
      await expect(queryStatus(garbagePath)).rejects.toThrow(
        new RegExp(`^caracal-bgpd sent an answer on ${garbagePath} that is not JSON \\(.+\\): hello$`),
      );
    } finally {
      garbage.close();
    }
    // A server whose status answer has no peers list.
    const peerlessPath = join(dir, 'peerless.sock');
    const peerless = createServer((socket) => socket.end('{"routerId":"10.0.0.1"}\n'));
    await new Promise<void>((resolve) => peerless.listen(peerlessPath, resolve));
    try {
      await expect(queryStatus(peerlessPath)).rejects.toMatchObject({
        reason: 'bad-answer',
        message: `caracal-bgpd answered status on ${peerlessPath} without a "peers" list`,
      });
    } finally {
      peerless.close();
    }
  });

  it('parses answer lines: JSON values pass, error answers and non-JSON are ControlClientErrors', () => {
    expect(parseControlAnswer('{"peers":[]}')).toEqual({ peers: [] });
    expect(parseControlAnswer('[1]')).toEqual([1]);
    expect(() => parseControlAnswer('{"error":"starting"}')).toThrow(
      expect.objectContaining({ reason: 'daemon-error', message: 'caracal-bgpd: starting' }),
    );
    expect(() => parseControlAnswer('hello')).toThrow(
      expect.objectContaining({
        reason: 'bad-answer',
        message: expect.stringMatching(/^caracal-bgpd sent an answer that is not JSON \(.+\): hello$/),
      }),
    );
  });

  it('parses requests strictly', () => {
    expect(parseControlRequest('{"op":"status"}')).toEqual({ op: 'status' });
    expect(parseControlRequest('{"op":"routes"}')).toEqual({ op: 'routes' });
    expect(parseControlRequest('[1]')).toEqual({
      error: 'bad request: expected a JSON object like {"op":"status"}',
    });
    expect(parseControlRequest('{}')).toEqual({
      error: 'bad request: "op" is missing (one of status, routes)',
    });
    expect(parseControlRequest('{"op":"status","x":1}')).toEqual({
      error: 'bad request: op "status" takes no "x"',
    });
    expect(parseControlRequest('{"op":"routes","limit":1}')).toEqual({
      error: 'bad request: op "routes" takes no "limit" (only "prefix")',
    });
  });
});
