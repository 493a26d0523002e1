// Command-line mechanics, in process: usage errors exit 2 with a message naming the flag or argument,
// help exits 0 everywhere, unknown kinds exit 1 with the list of kinds — all before any datastore access.
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { captureIo, unreachableDependencies } from './helpers.js';

async function run(args: string[]) {
  const io = captureIo();
  const code = await runCli(args, io, unreachableDependencies);
  return { code, out: io.out(), err: io.err() };
}

describe('usage errors exit 2 and name what is wrong', () => {
  it.each([
    [['get'], "missing required argument 'kind'"],
    [['get', 'ippool', '--bogus'], "unknown option '--bogus'"],
    [['get', 'ippool', '-o', 'xml'], "option '-o, --output <format>' argument 'xml' is invalid"],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['apply'], "required option '-f, --filename <file>' not specified"],
    [['apply', '-f'], "option '-f, --filename <file>' argument missing"],
    [['label', 'node', 'n1'], 'nothing to do'],
    [['label', 'node'], "missing required argument 'name'"],
    [['ipam', 'release'], "needs '--ip <address>' or '--from-report <file>'"],
    [['ipam', 'release', '--ip', '10.0.0.1', '--from-report', 'r.json'], "either '--ip' or '--from-report'"],
    [['ipam', 'release', '--ip', 'not-an-ip'], '--ip: "not-an-ip" is not an IP address'],
    [['node', 'status', '--timeout', 'soon'], '--timeout: "soon"'],
    [
      ['get', 'ippool', '--etcd-endpoints', 'localhost:2379'],
      '--etcd-endpoints: "localhost:2379" is not a URL',
    ],
    [['delete', 'ippool'], "missing required argument 'name'"],
    [['delete', 'ippool', 'x', '-f', 'a.yaml'], 'either -f FILE or KIND NAME'],
  ])('%j', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
  });

  it('a bare group command shows its help and exits 2', async () => {
    for (const args of [[], ['ipam'], ['node'], ['datastore']]) {
      const result = await run(args);
      expect(result.code, JSON.stringify(args)).toBe(2);
      expect(result.err).toContain('Usage:');
    }
  });

  it('label key=value syntax errors name the argument (before the datastore is contacted)', async () => {
    const result = await run(['label', 'node', 'n1', 'rack']);
    expect(result.code).toBe(2);
    expect(result.err).toContain('label "rack" must be written key=value');
  });
});

describe('help exits 0 everywhere', () => {
  it.each([
    [['--help']],
    [['get', '--help']],
    [['apply', '--help']],
    [['delete', '--help']],
    [['label', '--help']],
    [['ipam', '--help']],
    [['ipam', 'check', '--help']],
    [['node', 'status', '--help']],
    [['datastore', 'start', '--help']],
    [['version', '--help']],
    [['help', 'get']],
  ])('%j', async (args) => {
    const result = await run(args);
    expect(result.code).toBe(0);
    expect(result.out).toContain('Usage: caracalctl');
  });

  it('top-level help lists the commands, the global flags and the kinds', async () => {
    const { out } = await run(['--help']);
    for (const word of [
      'apply',
      'create',
      'replace',
      'delete',
      'get',
      'label',
      'ipam',
      'node',
      'datastore',
      'version',
    ]) {
      expect(out).toContain(word);
    }
    for (const flag of [
      '--etcd-endpoints',
      '--etcd-ca-cert-file',
      '--etcd-cert-file',
      '--etcd-key-file',
      '--run-dir',
    ]) {
      expect(out).toContain(flag);
    }
    expect(out).toContain('GlobalNetworkPolicy');
    expect(out).toContain('Exit codes: 0 success, 1 failure, 2 usage error.');
  });
});

describe('unknown kind exits 1', () => {
  it('lists the kinds and suggests one', async () => {
    const result = await run(['get', 'ippol']);
    expect(result.code).toBe(1);
    expect(result.err).toContain('unknown resource kind "ippol"');
    expect(result.err).toContain('Did you mean "ippool"');
    expect(result.err).toContain('BGPConfiguration');
  });
});
