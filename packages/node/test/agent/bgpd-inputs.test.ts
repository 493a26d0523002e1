// Unit tests of what feeds and checks caracal-bgpd: affinity watch events → the confirmed blocks (pending,
// pendingDeletion, deleted and unreadable values left out; a resync snapshot replaces the state), which
// blocks are advertised (IPv4, not in a disableBGPExport pool), the control-socket client against a real
// unix socket (answer, error answer, garbage, silence), and the readiness reasons from a status answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keys } from '@caracal/datastore';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { queryBgpdStatus, sessionProblems } from '../../src/agent/bgpd-control.js';
import {
  AffinityState,
  blocksToAdvertise,
  confirmedAffinityCidr,
  ipv4CidrContains,
} from '../../src/agent/blocks-state.js';

const key = (cidr: string) => keys.affinity('n1', cidr);
const value = (cidr: string, state?: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ node: 'n1', cidr, ...(state ? { state } : {}), ...extra });

describe('affinities → blocks', () => {
  it('keeps only confirmed (or state-less) affinities', () => {
    expect(confirmedAffinityCidr(key('10.0.0.0/26'), value('10.0.0.0/26', 'confirmed'))).toBe('10.0.0.0/26');
    expect(confirmedAffinityCidr(key('10.0.0.0/26'), value('10.0.0.0/26'))).toBe('10.0.0.0/26');
    expect(confirmedAffinityCidr(key('10.0.0.0/26'), value('10.0.0.0/26', 'pending'))).toBeUndefined();
    expect(
      confirmedAffinityCidr(key('10.0.0.0/26'), value('10.0.0.0/26', 'pendingDeletion')),
    ).toBeUndefined();
    expect(
      confirmedAffinityCidr(key('10.0.0.0/26'), value('10.0.0.0/26', 'confirmed', { deleted: true })),
    ).toBeUndefined();
    expect(confirmedAffinityCidr(key('10.0.0.0/26'), '{not json')).toBeUndefined();
  });

  it('follows snapshot, in-sync, put, delete and a resync snapshot', () => {
    const state = new AffinityState();
    const a = '10.0.0.0/26';
    const b = '10.0.0.64/26';
    const item = (cidr: string, state = 'confirmed') => ({
      key: key(cidr),
      value: value(cidr, state),
      revision: 1,
      createRevision: 1,
    });
    expect(state.apply({ type: 'snapshot', items: [item(a)], revision: 1, resync: false })).toBe(false);
    expect(state.inSync).toBe(false);
    expect(state.apply({ type: 'in-sync', revision: 1 })).toBe(true);
    expect(state.blocks).toEqual([a]);
    expect(
      state.apply({ type: 'put', key: key(b), value: value(b, 'pending'), revision: 2, createRevision: 2 }),
    ).toBe(true);
    expect(state.blocks).toEqual([a]);
    state.apply({ type: 'put', key: key(b), value: value(b, 'confirmed'), revision: 3, createRevision: 2 });
    expect(state.blocks).toEqual([a, b]);
    state.apply({ type: 'delete', key: key(a), value: undefined, revision: 4 });
    expect(state.blocks).toEqual([b]);
    // After a gap: the new snapshot replaces everything, and the state is out of sync until in-sync.
    state.apply({ type: 'snapshot', items: [item(a)], revision: 9, resync: true });
    expect(state.inSync).toBe(false);
    expect(state.blocks).toEqual([a]);
  });

  it('advertises IPv4 blocks outside disableBGPExport pools', () => {
    expect(ipv4CidrContains('10.1.0.0/16', '10.1.2.64/26')).toBe(true);
    expect(ipv4CidrContains('10.1.0.0/16', '10.2.0.0/26')).toBe(false);
    expect(ipv4CidrContains('10.1.0.0/26', '10.1.0.0/16')).toBe(false);
    expect(
      blocksToAdvertise(
        ['10.2.0.0/26', '10.1.0.0/26', 'fd00::/122', '10.1.0.0/26'],
        [
          { cidr: '10.1.0.0/16', disableBGPExport: false },
          { cidr: '10.2.0.0/16', disableBGPExport: true },
        ],
      ),
    ).toEqual(['10.1.0.0/26']);
  });

  it('contains exactly the ranges inside (any IPv4 prefixes, compared as address ranges)', () => {
    const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    /** The prefix of `length` bits around `address`, as text and as its first and last address. */
    const prefixAround = (address: number, length: number) => {
      const size = 2 ** (32 - length);
      const first = Math.floor(address / size) * size;
      return { text: `${dotted(first)}/${length}`, first, last: first + size - 1 };
    };
    const address = fc.integer({ min: 0, max: 0xffffffff });
    const length = fc.integer({ min: 0, max: 32 });
    // Nested prefixes are rare among random pairs: half the pairs share an address (one may hold the other).
    const pair = fc.oneof(
      fc
        .tuple(address, length, address, length)
        .map(([a, la, b, lb]) => [prefixAround(a, la), prefixAround(b, lb)]),
      fc.tuple(address, length, length).map(([a, la, lb]) => [prefixAround(a, la), prefixAround(a, lb)]),
    );
    fc.assert(
      fc.property(pair, ([outer, inner]) => {
        if (outer === undefined || inner === undefined) throw new Error('a pair has two prefixes');
        const inside = inner.first >= outer.first && inner.last <= outer.last;
        expect(ipv4CidrContains(outer.text, inner.text), `${outer.text} ⊇ ${inner.text}`).toBe(inside);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads CIDRs with @caracal/ip: a leading-zero octet, an octet over 255, a length over 32 or IPv6 contain nothing', () => {
    // The old dotted-quad fold took 010.1.0.0 as 10.1.0.0, 300.0.0.0/8 and /40 as numbers.
    expect(ipv4CidrContains('010.1.0.0/16', '10.1.2.0/26')).toBe(false);
    expect(ipv4CidrContains('10.1.0.0/16', '10.1.02.0/26')).toBe(false);
    expect(ipv4CidrContains('300.0.0.0/8', '300.1.0.0/16')).toBe(false);
    expect(ipv4CidrContains('10.0.0.0/8', '10.1.0.0/40')).toBe(false);
    expect(ipv4CidrContains('fd00::/64', 'fd00::/122')).toBe(false);
    expect(ipv4CidrContains('10.1.0.0/16', '10.1.2.3/32')).toBe(true);
    expect(blocksToAdvertise(['10.1.0.0/26', '10.01.0.64/26', '10.1.0.128/33'], [])).toEqual(['10.1.0.0/26']);
  });
});

describe('caracal-bgpd control socket client', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  async function serve(answer: (line: string) => string | undefined): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'caracal-node-ctl-'));
    const path = join(dir, 'bgpd.sock');
    const server: Server = createServer((socket) => {
      socket.setEncoding('utf8');
      socket.on('data', (line: string) => {
        const text = answer(line);
        if (text !== undefined) socket.end(text);
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    cleanups.push(() => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return path;
  }

  it('sends {"op":"status"} and returns the answer', async () => {
    let request = '';
    const path = await serve((line) => {
      request = line;
      return '{"routerId":"10.0.0.1","peers":[{"name":"mesh-n2","peerAddress":"10.0.0.2","state":"Established"}]}\n';
    });
    const status = await queryBgpdStatus(path);
    expect(request).toBe('{"op":"status"}\n');
    expect(status.peers[0]?.state).toBe('Established');
  });

  it('rejects an error answer, a non-JSON answer, silence and a missing socket, naming them', async () => {
    await expect(queryBgpdStatus(await serve(() => '{"error":"starting"}\n'))).rejects.toThrow(
      'caracal-bgpd: starting',
    );
    const garbage = await serve(() => 'hello\n');
    await expect(queryBgpdStatus(garbage)).rejects.toThrow(
      new RegExp(`^caracal-bgpd sent an answer on ${garbage} that is not JSON \\(.+\\): hello$`),
    );
    const silent = await serve(() => undefined);
    await expect(queryBgpdStatus(silent, 200)).rejects.toThrow(
      `caracal-bgpd did not answer within 200 ms on ${silent}`,
    );
    await expect(queryBgpdStatus('/nonexistent/bgpd.sock')).rejects.toThrow(
      'caracal-bgpd is not running (no socket at /nonexistent/bgpd.sock)',
    );
  });

  it('readiness reasons name each planned session that is not Established', () => {
    const planned = [
      { name: 'mesh-n2', address: '10.0.0.2' },
      { name: 'mesh-n3', address: '10.0.0.3' },
      { name: 'mesh-n4', address: '10.0.0.4' },
    ];
    expect(
      sessionProblems(planned, {
        peers: [
          { name: 'mesh-n2', peerAddress: '10.0.0.2', state: 'Established', info: 'Established' },
          { name: 'mesh-n3', peerAddress: '10.0.0.3', state: 'Active', info: 'Connection refused' },
        ],
      }),
    ).toEqual([
      'BGP session mesh-n3 (10.0.0.3) is Active: Connection refused',
      'BGP session mesh-n4 (10.0.0.4) is not in caracal-bgpd yet (reload pending)',
    ]);
  });
});
