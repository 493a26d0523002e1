// `caracal-bgp status` and `caracal-bgp routes` run as the real built executable against a real control
// socket served by this test (over a fake SpeakerView): tables, JSON, the prefix filter, the socket from
// the environment, and the exit codes 0 (ok), 1 (daemon unreachable or refusing) and 2 (usage).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlServer, startControlServer } from '../../src/control/index.js';
import { FakeSpeakerView } from '../control/fake-view.js';

const packageDir = join(import.meta.dirname, '..', '..');
const cli = join(packageDir, 'dist', 'src', 'cli', 'caracal-bgp.js');
let scratch = '';
let socketPath = '';
let server: ControlServer | undefined;
const fake = new FakeSpeakerView();

beforeAll(async () => {
  // Others' files in the package may be mid-edit: tsc still emits, so only a missing CLI is fatal.
  const buildError = await buildPackagesForLab(['packages/bgp-speaker']).then(
    () => undefined,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  if (!existsSync(cli))
    throw new Error(`building packages/bgp-speaker did not produce ${cli}:\n${buildError ?? ''}`);
  scratch = mkdtempSync(join(tmpdir(), 'caracal-bgp-cli-'));
  socketPath = join(scratch, 'bgpd.sock');
  server = await startControlServer({ socketPath, view: fake.view });
}, 300_000);

afterAll(async () => {
  await server?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Runs the CLI without blocking this process's event loop (it serves the socket the CLI asks). */
function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { PATH: process.env.PATH, ...env } },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('caracal-bgp status and routes', () => {
  it('prints the status table and JSON', async () => {
    const table = await run(['status', '--socket', socketPath]);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'BGP router id 10.0.0.1, local AS 64512, caracal-bgpd 0.1.0, started 2026-11-21T17:00:00.000Z',
    );
    expect(lines[3]).toMatch(/^NAME\s+ADDRESS\s+AS\s+STATE\s+UPTIME\/INFO\s+RECV\s+ACCEPTED\s+ADV$/);
    expect(lines[4]).toMatch(/^node2\s+10\.0\.0\.2\s+64512\s+Established\s+2h03m\s+10\s+9\s+3$/);
    expect(lines[5]).toMatch(
      /^upstream\s+192\.0\.2\.1\s+65001\s+Active\s+Connection refused \(4 stale\)\s+0\s+0\s+0$/,
    );
    const json = await run(['status', '-o', 'json'], { CARACAL_BGPD_SOCKET: socketPath });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(fake.statusData);
  });

  it('prints routes, optionally for one prefix', async () => {
    const all = await run(['routes', '--socket', socketPath]);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain(
      '*>  10.65.1.0/26     10.0.0.2   -            200    -  node2     best: local-pref',
    );
    expect(all.stdout.trimEnd().split('\n').at(-1)).toBe('2 prefixes, 3 paths');
    const one = await run(['routes', '2001:db8:1::/48', '-o', 'json', '--socket', socketPath]);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({ routes: [fake.routeRows[1]] });
    expect(fake.routeFilters.at(-1)).toEqual({ prefix: '2001:db8:1::/48' });
  });

  it('exits 1 naming the problem when the daemon is not there', async () => {
    const missing = join(scratch, 'none.sock');
    const result = await run(['status', '--socket', missing]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `caracal-bgp: caracal-bgpd is not running (no socket at ${missing})\n`,
    });
  });

  it('exits 2 on usage errors, naming the flag or value', async () => {
    const unknown = await run(['status', '--frobnicate', '--socket', socketPath]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--frobnicate'");
    const format = await run(['routes', '-o', 'yaml', '--socket', socketPath]);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("argument 'yaml' is invalid. Allowed choices are table, json.");
    const prefix = await run(['routes', '10.0.0.1/8', '--socket', socketPath]);
    expect(prefix.code).toBe(2);
    expect(prefix.stderr).toContain('host bits set');
  });
});
