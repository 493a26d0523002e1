// queryLabBgpStatus (the lab's `bgpStatus` of one node) against a real unix socket in a temp run dir:
// the peers reduced to the printed columns, and every failure as an `error` text naming the socket
// (the texts of caracal-bgpd's own control client), never an exception.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { queryLabBgpStatus } from '../src/lab/bgp-status.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function tempRunDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'caracal-lab-bgp-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fake caracal-bgpd on `<runDir>/bgpd.sock` that answers every request line with `answer`. */
async function fakeBgpd(runDir: string, answer: string): Promise<string[]> {
  const requests: string[] = [];
  const server: Server = createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (line: string) => {
      requests.push(line);
      socket.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(join(runDir, 'bgpd.sock'), resolve));
  cleanups.push(() => server.close());
  return requests;
}

describe('queryLabBgpStatus', () => {
  it('asks {"op":"status"} and keeps the printed columns of each peer', async () => {
    const runDir = tempRunDir();
    const requests = await fakeBgpd(
      runDir,
      `${JSON.stringify({
        routerId: '10.0.0.1',
        asNumber: 64512,
        peers: [
          {
            name: 'mesh-n2',
            peerAddress: '10.0.0.2',
            peerType: 'node-to-node mesh',
            state: 'Established',
            since: '2026-11-21T18:00:00.000Z',
            info: 'Established',
            flaps: 0,
          },
        ],
      })}\n`,
    );
    expect(await queryLabBgpStatus('n1', runDir)).toEqual({
      node: 'n1',
      socketPath: join(runDir, 'bgpd.sock'),
      routerId: '10.0.0.1',
      asNumber: 64512,
      peers: [
        {
          peerAddress: '10.0.0.2',
          peerType: 'node-to-node mesh',
          state: 'Established',
          since: '2026-11-21T18:00:00.000Z',
          info: 'Established',
        },
      ],
    });
    expect(requests).toEqual(['{"op":"status"}\n']);
  });

  it('returns why there is no answer instead of throwing', async () => {
    const missing = tempRunDir();
    expect(await queryLabBgpStatus('n1', missing)).toEqual({
      node: 'n1',
      socketPath: join(missing, 'bgpd.sock'),
      error: `caracal-bgpd is not running (no socket at ${join(missing, 'bgpd.sock')})`,
    });
    const failing = tempRunDir();
    await fakeBgpd(failing, '{"error":"speaker not configured yet"}\n');
    expect((await queryLabBgpStatus('n2', failing)).error).toBe('caracal-bgpd: speaker not configured yet');
    const peerless = tempRunDir();
    await fakeBgpd(peerless, '{"routerId":"10.0.0.3"}\n');
    expect((await queryLabBgpStatus('n3', peerless)).error).toBe(
      `caracal-bgpd answered status on ${join(peerless, 'bgpd.sock')} without a "peers" list`,
    );
  });
});
