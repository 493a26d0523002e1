// Rendering of IPAM usage, release results and datastore status from given data (the data itself comes
// from the ipam and datastore packages; these tests pin what the operator reads).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DatastoreAdmin, IpamOperations } from '../src/admin.js';
import { formatBytes, parseListenUrl, runDatastoreStatus } from '../src/commands/datastore.js';
import { runIpamCheck, runIpamRelease, runIpamShow } from '../src/commands/ipam.js';
import { resolveConnection } from '../src/connection.js';
import { CommandFailure, UsageError } from '../src/errors.js';

const settings = resolveConnection({}, { env: {} });

function ipamWith(overrides: Partial<IpamOperations>): IpamOperations {
  const fail = async (): Promise<never> => {
    throw new Error('not used');
  };
  return { usage: fail, check: fail, releaseIps: fail, releaseFromReport: fail, ...overrides };
}

describe('ipam show', () => {
  it('pools, and blocks with --show-blocks, with percentages', async () => {
    const ipam = ipamWith({
      usage: async () => ({
        pools: [{ cidr: '10.65.0.0/16', total: '65536', inUse: 3, free: '65533' }],
        blocks: [
          { cidr: '10.65.0.0/26', node: 'node-1', inUse: 2, free: 62 },
          { cidr: '10.65.0.64/26', inUse: 1, free: 63 },
        ],
      }),
    });
    const pools = await runIpamShow(ipam, settings, false);
    expect(pools).toBe(
      'GROUPING   CIDR           IPS TOTAL   IPS IN USE   IPS FREE\n' +
        'IP Pool    10.65.0.0/16   65536       3 (0.0%)     65533 (100.0%)\n',
    );
    const blocks = await runIpamShow(ipam, settings, true);
    expect(blocks).toContain('Block      10.65.0.0/26 (node-1)   64          2 (3.1%)');
    expect(blocks).toContain('Block      10.65.0.64/26           64          1 (1.6%)');
  });

  it('says so when there are no pools', async () => {
    const ipam = ipamWith({ usage: async () => ({ pools: [], blocks: [] }) });
    expect(await runIpamShow(ipam, settings, true)).toContain('No IP pools configured');
  });
});

describe('ipam check and release', () => {
  it('writes the report as JSON and says how to release from it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caracalctl-report-'));
    try {
      const report = { leaks: [{ ip: '10.65.0.9' }] };
      const ipam = ipamWith({ check: async () => ({ report, summary: ['1 leaked address'], leakCount: 1 }) });
      const file = join(dir, 'report.json');
      const outcome = await runIpamCheck(ipam, settings, file);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report);
      expect(outcome.text).toBe(
        `1 leaked address\nReport written to ${file} (release with: caracalctl ipam release --from-report ${file})\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('release lists each address; any not released makes it a failure', async () => {
    const released = ipamWith({ releaseIps: async (_s, ips) => ips.map((ip) => ({ ip, released: true })) });
    expect(await runIpamRelease(released, settings, ['10.65.0.9'], undefined)).toBe('10.65.0.9 released\n');
    const refused = ipamWith({
      releaseIps: async (_s, ips) => ips.map((ip) => ({ ip, released: false, reason: 'not allocated' })),
    });
    await expect(runIpamRelease(refused, settings, ['10.65.0.10'], undefined)).rejects.toThrow(
      /10\.65\.0\.10 not released: not allocated\n1 of 1 address\(es\) not released/,
    );
    await expect(runIpamRelease(released, settings, [], '/nonexistent/report.json')).rejects.toBeInstanceOf(
      CommandFailure,
    );
  });
});

describe('datastore', () => {
  it('status table with members; no healthy endpoint is a failure naming the endpoints', async () => {
    const admin: DatastoreAdmin = {
      start: async () => {
        throw new Error('not used');
      },
      stop: async () => false,
      status: async () => ({
        endpoints: [
          {
            endpoint: 'http://127.0.0.1:2379',
            healthy: true,
            version: '3.4.23',
            revision: 42,
            dbSizeBytes: 20480,
            isLeader: true,
          },
        ],
        members: [
          {
            id: '8e9e05c52164694d',
            name: 'caracal',
            clientUrls: ['http://127.0.0.1:2379'],
            peerUrls: ['http://127.0.0.1:2380'],
          },
        ],
      }),
    };
    const text = await runDatastoreStatus(admin, settings);
    expect(text).toContain('http://127.0.0.1:2379   healthy   3.4.23    42         20.0 KiB   yes');
    expect(text).toContain('8e9e05c52164694d   caracal   http://127.0.0.1:2379   http://127.0.0.1:2380');
    const down: DatastoreAdmin = {
      ...admin,
      status: async () => ({
        endpoints: [{ endpoint: 'http://127.0.0.1:2379', healthy: false, error: 'connect ECONNREFUSED' }],
        members: [],
      }),
    };
    await expect(runDatastoreStatus(down, settings)).rejects.toThrow(
      /no datastore endpoint answered \(tried http:\/\/127\.0\.0\.1:2379, the default\)/,
    );
  });

  it('listen URLs and sizes', () => {
    expect(parseListenUrl('http://127.0.0.1:2379', '--listen-client')).toEqual({
      host: '127.0.0.1',
      port: 2379,
    });
    expect(() => parseListenUrl('http://127.0.0.1', '--listen-client')).toThrow(UsageError);
    expect(() => parseListenUrl('https://127.0.0.1:1', '--listen-peer')).toThrow(
      /--listen-peer: .* must be an http/,
    );
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
  });
});
