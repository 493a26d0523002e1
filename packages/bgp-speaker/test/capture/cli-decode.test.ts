// `caracal-bgp decode` run as the real built executable on the real fixtures: JSON lines with the
// injected routes, --summary, --hex, raw files with flags, corrupted files (typed errors, the rest still
// decoded), and exit codes 0 / 1 / 2.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = join(import.meta.dirname, '..', '..');
const repoDir = join(packageDir, '..', '..');
const cli = join(packageDir, 'dist', 'src', 'cli', 'caracal-bgp.js');
const fixtures = join(packageDir, 'test', 'fixtures');
let scratch: string;

beforeAll(async () => {
  // The test runs the real executable: compile the package (incremental, fast when up to date). Other
  // engineers' files in the package may be mid-edit: tsc still emits, so only a missing CLI is fatal.
  const buildError = await buildPackagesForLab(['packages/bgp-speaker']).then(
    () => undefined,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  if (!existsSync(cli))
    throw new Error(`building packages/bgp-speaker did not produce ${cli}:\n${buildError ?? ''}`);
  scratch = mkdtempSync(join(tmpdir(), 'caracal-bgp-decode-'));
}, 300_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function run(...args: string[]) {
  const result = spawnSync('node', [cli, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('caracal-bgp decode', () => {
  it('prints one JSON object per message of a capture, with connection, direction, timestamp and prefixes', () => {
    const { status, stdout } = run('decode', join(fixtures, 'ipv4-as4.pcap'));
    expect(status).toBe(0);
    const records = jsonLines(stdout);
    expect(records).toHaveLength(17);
    for (const record of records) {
      expect(record.connection).toMatch(/^10\.255\.0\.1:\d+ → 10\.255\.0\.2:179$/);
      expect(['initiator-to-listener', 'listener-to-initiator']).toContain(record.direction);
      expect(record.timestamp).toMatch(/^2026-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      expect(record.type).not.toBe('error');
    }
    const updates = records.filter((record) => record.type === 'update');
    const gobgpRoute = updates.find((record) => (record.announced as string[]).includes('10.1.0.0/24'));
    expect(gobgpRoute?.sender).toBe('10.255.0.2:179');
    expect(gobgpRoute).toMatchObject({
      origin: 'incomplete',
      asPathSegments: [{ type: 'sequence', asns: [65001] }],
      nextHop: '10.255.0.2',
      med: 10,
      communities: ['65000:1'],
      largeCommunities: ['1:2:3'],
    });
    const birdRoutes = updates.find((record) => (record.announced as string[]).includes('10.2.0.0/24'));
    expect(birdRoutes).toMatchObject({
      origin: 'igp',
      asPathSegments: [{ type: 'sequence', asns: [4200000001] }],
      med: 20,
      communities: ['65000:100', '65000:200'],
      largeCommunities: ['4200000001:7:8'],
    });
    expect(updates.some((record) => (record.withdrawn as string[]).includes('10.1.1.0/24'))).toBe(true);
    expect(
      records.some((record) => record.type === 'route-refresh' && record.afi === 1 && record.safi === 1),
    ).toBe(true);
    expect(records.at(-1)).toMatchObject({ type: 'notification', code: 6, subcode: 2 });
    // Both OPENs carry the capabilities configured for the capture: 4-octet AS, graceful restart, route refresh.
    for (const open of records.filter((record) => record.type === 'open')) {
      const kinds = (open.capabilities as Array<{ kind: string }>).map((capability) => capability.kind);
      expect(kinds).toEqual(expect.arrayContaining(['four-octet-as', 'graceful-restart', 'route-refresh']));
    }
  });

  it('every message of every fixture capture and raw file decodes without an error', () => {
    for (const file of readdirSync(fixtures).filter((name) => /\.(pcap|pcapng\.gz|bgp)$/.test(name))) {
      const { status, stdout } = run('decode', join(fixtures, file));
      expect(status, file).toBe(0);
      const records = jsonLines(stdout);
      expect(records.length, file).toBeGreaterThanOrEqual(4);
      expect(
        records.filter((record) => record.type === 'error' || record.type === 'gap'),
        file,
      ).toEqual([]);
    }
  });

  it('decodes MP-BGP IPv6 with global and link-local next hops from the ipv6 capture', () => {
    const records = jsonLines(run('decode', join(fixtures, 'ipv6-mp.pcap')).stdout);
    const fromBird = records.find((record) =>
      (record.announced as string[] | undefined)?.includes('2001:db8:2::/48'),
    );
    expect(fromBird?.mpReach).toEqual({
      afi: 2,
      safi: 1,
      nextHop: expect.stringMatching(/^fd00:caca::1 fe80::/),
    });
    const announced = records.flatMap((record) => (record.announced as string[] | undefined) ?? []);
    expect(announced).toContain('2001:db8:1:8000::/49');
    const withdrawn = records.flatMap((record) => (record.withdrawn as string[] | undefined) ?? []);
    expect(withdrawn).toContain('2001:db8:1::/48');
  });

  it('shows the ADD-PATH path identifiers of the two paths BIRD sent for 10.3.0.0/24', () => {
    const records = jsonLines(run('decode', join(fixtures, 'ipv4-add-path.pcap')).stdout);
    const announced = records.flatMap((record) => (record.announced as string[] | undefined) ?? []);
    const paths = announced.filter((prefix) => prefix.startsWith('10.3.0.0/24 path-id '));
    expect(paths).toHaveLength(2);
    // BIRD resets MED on eBGP export, so the two paths are told apart by their communities.
    const communities = records
      .filter((record) =>
        (record.announced as string[] | undefined)?.some((prefix) =>
          prefix.startsWith('10.3.0.0/24 path-id '),
        ),
      )
      .map((record) => record.communities);
    expect(communities.sort()).toEqual([['65000:31'], ['65000:32']]);
    expect(new Set(paths.map((prefix) => prefix.split(' ')[2])).size).toBe(2);
  });

  it('the gzipped pcapng variant prints the same lines as the pcap', () => {
    expect(run('decode', join(fixtures, 'ipv4-as4.pcapng.gz')).stdout).toBe(
      run('decode', join(fixtures, 'ipv4-as4.pcap')).stdout,
    );
  });

  it('--summary prints counts by type and prefix totals per family', () => {
    const { status, stdout } = run('decode', join(fixtures, 'ipv4-as4.pcap'), '--summary');
    expect(status).toBe(0);
    const records = jsonLines(run('decode', join(fixtures, 'ipv4-as4.pcap')).stdout);
    for (const type of ['open', 'update', 'keepalive', 'notification', 'route-refresh']) {
      const count = records.filter((record) => record.type === type).length;
      expect(stdout).toMatch(new RegExp(`^${type}\\s+${count}$`, 'm'));
    }
    expect(stdout).toMatch(new RegExp(`^total\\s+${records.length}$`, 'm'));
    const announced = records.flatMap((record) => (record.announced as string[] | undefined) ?? []).length;
    const withdrawn = records.flatMap((record) => (record.withdrawn as string[] | undefined) ?? []).length;
    expect(stdout).toMatch(new RegExp(`^ipv4-unicast\\s+${announced}\\s+${withdrawn}$`, 'm'));
    expect(stdout.trim().startsWith('{')).toBe(false);
  });

  it('--hex adds the raw bytes of each message', () => {
    const records = jsonLines(run('decode', join(fixtures, 'ipv4-as4.from-10.255.0.1.bgp'), '--hex').stdout);
    const raw = readFileSync(join(fixtures, 'ipv4-as4.from-10.255.0.1.bgp')).toString('hex');
    expect(records.map((record) => record.hex).join('')).toBe(raw);
  });

  it('raw files: context inferred from the OPEN, or set by flags', () => {
    const file = join(fixtures, 'ipv4-add-path.from-10.255.0.1.bgp');
    const inferred = jsonLines(run('decode', file).stdout);
    expect(
      inferred
        .flatMap((record) => (record.announced as string[] | undefined) ?? [])
        .some((p) => p.startsWith('10.3.0.0/24 path-id ')),
    ).toBe(true);
    // Without its OPEN the file's ADD-PATH NLRI only decode with --add-path ipv4.
    const withoutOpen = join(scratch, 'updates-only.bgp');
    const bytes = readFileSync(file);
    writeFileSync(withoutOpen, bytes.subarray(bytes.readUInt16BE(16)));
    const flagged = jsonLines(run('decode', withoutOpen, '--add-path', 'ipv4').stdout);
    expect(flagged.flatMap((record) => (record.announced as string[] | undefined) ?? [])).toEqual(
      inferred.flatMap((record) => (record.announced as string[] | undefined) ?? []),
    );
    expect(run('decode', withoutOpen).stdout).not.toBe(
      run('decode', withoutOpen, '--add-path', 'ipv4').stdout,
    );
  });

  it('--no-as4 reads AS_PATH as 2-octet numbers', () => {
    // Synthetic UPDATE: AS_PATH AS_SEQUENCE of two 2-octet ASes (65001 65002).
    const attributes = [0x40, 1, 1, 0, 0x40, 2, 6, 2, 2, 0xfd, 0xe9, 0xfd, 0xea, 0x40, 3, 4, 192, 0, 2, 1];
    const nlri = [24, 198, 51, 100];
    const body = [0, 0, 0, attributes.length, ...attributes, ...nlri];
    const message = Buffer.from([...new Array(16).fill(0xff), 0, 19 + body.length, 2, ...body]);
    const file = join(scratch, 'two-octet.bgp');
    writeFileSync(file, message);
    const decode = (args: string[]) => jsonLines(run('decode', file, ...args).stdout)[0];
    expect(decode(['--no-as4'])?.asPathSegments).toEqual([{ type: 'sequence', asns: [65001, 65002] }]);
    // As 4-octet ASes the 2-AS segment overruns the 6-octet attribute: malformed AS_PATH, treat-as-withdraw.
    expect(decode(['--as4'])).toMatchObject({ type: 'update', treatAsWithdraw: true });
    expect(decode(['--as4'])?.errors).toContainEqual(
      expect.objectContaining({ code: 3, subcode: 11, action: 'treat-as-withdraw' }),
    );
  });

  it('bin/caracal-bgp runs the built CLI from any path (readlink -f)', () => {
    const link = join(scratch, 'caracal-bgp-link');
    symlinkSync(join(repoDir, 'bin', 'caracal-bgp'), link);
    const result = spawnSync(link, ['decode', join(fixtures, 'ipv4-as4.pcap'), '--summary'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^total\s+17$/m);
  });

  it('a corrupted file prints typed errors and still decodes the other messages', () => {
    const bytes = Buffer.from(readFileSync(join(fixtures, 'ipv4-as4.from-10.255.0.2.bgp')));
    const open = bytes.readUInt16BE(16);
    bytes[open + 5] = 0x00; // break the marker of the second message
    let offset = 0;
    let updateAt = -1;
    while (offset < bytes.length) {
      if (bytes[offset + 18] === 2 && bytes.readUInt16BE(offset + 16) > 30) updateAt = offset;
      offset += bytes.readUInt16BE(offset + 16);
      if (updateAt >= 0) break;
    }
    bytes.writeUInt16BE(0xffff, updateAt + 19 + 2); // total path attribute length overruns the message
    const corrupted = join(scratch, 'corrupted.bgp');
    writeFileSync(corrupted, bytes);
    const { status, stdout } = run('decode', corrupted);
    expect(status).toBe(0);
    const records = jsonLines(stdout);
    const errors = records.filter((record) => record.type === 'error');
    expect(errors).toContainEqual(
      expect.objectContaining({
        error: expect.stringMatching(/bad marker byte 0x0 at header offset 5/),
        action: 'session-reset',
      }),
    );
    expect(errors).toContainEqual(
      expect.objectContaining({
        error: expect.stringMatching(/total path attribute length 65535 overruns the message/),
        code: 3,
        subcode: 1,
        action: 'session-reset',
      }),
    );
    expect(records.filter((record) => record.type === 'update').length).toBeGreaterThan(3);
    const intact = jsonLines(run('decode', join(fixtures, 'ipv4-as4.from-10.255.0.2.bgp')).stdout);
    expect(records.at(-1)).toEqual(intact.at(-1));
  });

  it('exit 1 naming a missing file or a file of another kind; exit 2 for unknown flags and bad values', () => {
    const missing = run('decode', join(scratch, 'nope.pcap'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`cannot read '${join(scratch, 'nope.pcap')}'`);
    const text = join(scratch, 'notes.txt');
    writeFileSync(text, 'hello, not a capture\n');
    const other = run('decode', text);
    expect(other.status).toBe(1);
    expect(other.stderr).toContain(`'${text}' is neither a pcap/pcapng capture`);
    const unknown = run('decode', join(fixtures, 'ipv4-as4.pcap'), '--frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--frobnicate'");
    const badFamily = run('decode', join(fixtures, 'ipv4-as4.pcap'), '--add-path', 'ipv5');
    expect(badFamily.status).toBe(2);
    expect(badFamily.stderr).toContain("unknown address family 'ipv5'");
    expect(run('decode').status).toBe(2);
  });
});
