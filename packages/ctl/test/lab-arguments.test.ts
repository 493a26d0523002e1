// Unit tests of `caracalctl lab` command-line mechanics that stop before any namespace is made: bad flag
// values are usage errors (exit 2) naming the flag; `status` of a cluster that is not up fails (exit 1)
// saying how to start one, and of one whose namespaces are gone says so (its `down` removes its state);
// `down` of one that is not up succeeds with "nothing to do" (idempotent).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { labUpOptions } from '../src/commands/lab.js';
import { captureIo, unreachableDependencies } from './helpers.js';

let stateDir = '';
let previous: string | undefined;
beforeAll(() => {
  // An empty lab state directory of this test's own, so no real cluster of the machine is seen.
  stateDir = mkdtempSync(join(tmpdir(), 'caracal-lab-state-'));
  previous = process.env.CARACAL_LAB_STATE_DIR;
  process.env.CARACAL_LAB_STATE_DIR = stateDir;
});
afterAll(() => {
  if (previous === undefined) delete process.env.CARACAL_LAB_STATE_DIR;
  else process.env.CARACAL_LAB_STATE_DIR = previous;
  rmSync(stateDir, { recursive: true, force: true });
});

async function run(...argv: string[]) {
  const io = captureIo();
  const code = await runCli(argv, io, unreachableDependencies);
  return { code, out: io.out(), err: io.err() };
}

describe('caracalctl lab', () => {
  it('refuses a bad --nodes, --pods-per-node, --timeout or --name with exit 2 naming the flag', async () => {
    expect(await run('lab', 'up', '--nodes', 'four')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--nodes: "four" is not a whole number'),
    });
    expect(await run('lab', 'up', '--pods-per-node', '-1')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--pods-per-node: "-1" is not a whole number'),
    });
    expect(await run('lab', 'up', '--timeout', '1.5')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--timeout: "1.5" is not a whole number'),
    });
    expect(await run('lab', 'status', '--name', 'My_Lab')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--name: "My_Lab" must start with a lower-case letter'),
    });
    expect(await run('lab', 'up', '--no-such-flag')).toMatchObject({
      code: 2,
      err: expect.stringContaining("unknown option '--no-such-flag'"),
    });
  });

  it("refuses out-of-range values through the builder's validation, named by flag", async () => {
    const result = await run('lab', 'up', '--nodes', '12', '--pool-cidr', '10.244.0.1/16');
    expect(result.code).toBe(2);
    expect(result.err).toContain('--nodes: 12 must be a whole number from 1 to 9');
    expect(result.err).toContain('--pool-cidr: 10.244.0.1/16 has host bits set');
  });

  it('fails status of a cluster that is not up, and says how to start one', async () => {
    const result = await run('lab', 'status', '--name', 'absent');
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      "no lab cluster named 'absent' is up (start one with: caracalctl lab up --name absent)",
    );
  });

  it('fails status of a cluster whose namespaces are gone, saying how to remove what is left', async () => {
    const dir = join(stateDir, 'gone');
    mkdirSync(dir, { recursive: true });
    const state = {
      version: 1,
      name: 'gone',
      runId: 'crlzzzz',
      createdAt: '2026-11-21T20:00:00.000Z',
      ownerPid: 1,
      detached: true,
      complete: true,
      clusterDir: dir,
      logDir: join(dir, 'logs'),
      subnet: '10.199.1.0/24',
      rootAddress: '10.199.1.1',
      etcdEndpoint: 'http://10.199.1.2:2379',
      pool: { name: 'default-ipv4-ippool', cidr: '10.244.0.0/16', blockSize: 26 },
      nodes: [
        {
          name: 'node1',
          namespace: 'crlzzzz-node1',
          address: '10.199.1.11',
          cidr: '10.199.1.11/24',
          runDir: join(dir, 'node1'),
          pid: 1,
          healthPort: 9098,
        },
      ],
      pods: [],
      podCounters: {},
    };
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
    const result = await run('lab', 'status', '--name', 'gone');
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      "lab cluster 'gone' (run crlzzzz) is not running any more: its namespaces are gone; `caracalctl lab down --name gone` removes what is left",
    );
    const down = await run('lab', 'down', '--name', 'gone');
    expect(down.code).toBe(0);
    expect(down.out).toContain(
      "lab cluster 'gone' (run crlzzzz) is down: processes stopped (0 PIDs signalled",
    );
    expect(existsSync(dir)).toBe(false);
  });

  it('takes down a cluster that is not up as a success with nothing to do', async () => {
    expect(await run('lab', 'down', '--name', 'absent')).toEqual({
      code: 0,
      out: "no lab cluster named 'absent' is up; nothing to do\n",
      err: '',
    });
  });

  it('maps the flags to builder options', () => {
    expect(
      labUpOptions({
        name: 'x',
        nodes: '3',
        podsPerNode: '0',
        blockSize: '28',
        timeout: '5000',
        subnet: '10.9.9.0/24',
      }),
    ).toEqual({
      name: 'x',
      nodes: 3,
      podsPerNode: 0,
      blockSize: 28,
      readyTimeoutMs: 5000,
      subnet: '10.9.9.0/24',
    });
  });
});
