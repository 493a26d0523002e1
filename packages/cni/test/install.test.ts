// Unit test of bin/caracal-cni-install: it links both plugins into the CNI bin directory and writes a
// configuration list whose plugin entry the `caracal` parser accepts; bad values are refused by name.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseNetworkConfig } from '../src/spec.js';

const installer = resolve(import.meta.dirname, '../../../bin/caracal-cni-install');
const binDir = resolve(import.meta.dirname, '../../../bin');
let scratch = '';

afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function install(args: string[]) {
  scratch = mkdtempSync(join(tmpdir(), 'caracal-cni-install-'));
  return spawnSync(
    installer,
    ['--cni-bin-dir', join(scratch, 'bin'), '--cni-net-dir', join(scratch, 'net'), ...args],
    { encoding: 'utf8', env: { PATH: process.env.PATH } },
  );
}

describe('caracal-cni-install', () => {
  it('links the plugins and writes a Calico-shaped conflist', () => {
    const run = install([
      '--etcd-endpoints',
      'http://10.0.0.1:2379',
      '--nodename',
      'node-1',
      '--mtu',
      '1440',
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(readlinkSync(join(scratch, 'bin', 'caracal'))).toBe(join(binDir, 'caracal'));
    expect(readlinkSync(join(scratch, 'bin', 'caracal-ipam'))).toBe(join(binDir, 'caracal-ipam'));
    const list = JSON.parse(readFileSync(join(scratch, 'net', '10-caracal.conflist'), 'utf8'));
    expect(list).toMatchObject({ cniVersion: '1.0.0', name: 'k8s-pod-network' });
    // A runtime hands each plugin its entry plus the list's name and cniVersion.
    const config = parseNetworkConfig(
      JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] }),
    );
    expect(config).toMatchObject({
      type: 'caracal',
      etcdEndpoints: 'http://10.0.0.1:2379',
      nodename: 'node-1',
      mtu: 1440,
      ipam: { type: 'caracal-ipam' },
    });
  });

  it('refuses values it cannot put into JSON safely, naming them', () => {
    const badMtu = install(['--mtu', '12']);
    expect(badMtu.status).toBe(2);
    expect(badMtu.stderr).toContain("--mtu '12' must be an integer from 576 to 65535");
    rmSync(scratch, { recursive: true, force: true });
    const badName = install(['--nodename', 'a"b']);
    expect(badName.status).toBe(2);
    expect(badName.stderr).toContain("--nodename 'a\"b' may only contain");
  });
});
