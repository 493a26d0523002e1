// caracalctl ipam show / check / release with the REAL built executable against a REAL etcd: a pool
// applied through caracalctl, addresses allocated through @caracal/ipam (one for a workload that has a
// WorkloadEndpoint, one leaked: no workload holds it), then the leak is found, saved, released.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EtcdKeyValueStore, TestEtcd } from '@caracal/datastore';
import { IpamClient } from '@caracal/ipam';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuiltCli } from './built-cli.js';

let etcd: TestEtcd;
let kv: EtcdKeyValueStore;
let ipam: IpamClient;
let workDir: string;
let endpoint: string;

const ctl = (...args: string[]) => runBuiltCli(['--etcd-endpoints', endpoint, ...args]);

beforeAll(async () => {
  await buildPackagesForLab(['packages/ctl']);
  etcd = await TestEtcd.start();
  kv = etcd.connect();
  endpoint = etcd.endpoints[0] as string;
  workDir = mkdtempSync(join(tmpdir(), 'caracalctl-ipam-'));
  ipam = new IpamClient({ store: kv, pools: [{ name: 'ipam-pool', cidr: '10.88.0.0/24', blockSize: 26 }] });
}, 120_000);

afterAll(async () => {
  await etcd?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

describe('ipam', () => {
  it('show, check finds the injected leak only, release from the report frees it', async () => {
    const manifest = join(workDir, 'ipam.yaml');
    writeFileSync(
      manifest,
      `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: ipam-pool}
spec: {cidr: 10.88.0.0/24, blockSize: 26}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-a}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node--a-k8s-live-eth0, namespace: default}
spec: {orchestrator: k8s, node: node-a, pod: live, workload: live, containerID: c0ffee01, endpoint: eth0, interfaceName: cara00000000001}
`,
    );
    expect((await ctl('apply', '-f', manifest)).code).toBe(0);
    const live = await ipam.autoAssign({
      node: 'node-a',
      handleId: 'k8s-pod-network.c0ffee01',
      num4: 1,
      attrs: { namespace: 'default', pod: 'live' },
    });
    const leaked = await ipam.autoAssign({
      node: 'node-a',
      handleId: 'k8s-pod-network.deadbeef',
      num4: 1,
      attrs: { namespace: 'default', pod: 'gone' },
    });
    const leakedIp = leaked.ipv4[0] as string;
    const liveIp = live.ipv4[0] as string;

    const show = await ctl('ipam', 'show');
    expect(show.stderr).toBe('');
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^GROUPING\s+CIDR\s+IPS TOTAL\s+IPS IN USE\s+IPS FREE\n/);
    expect(show.stdout).toMatch(/IP Pool\s+10\.88\.0\.0\/24\s+256\s+2 \(0\.8%\)\s+254 \(99\.2%\)/);
    const blocks = await ctl('ipam', 'show', '--show-blocks');
    expect(blocks.stdout).toMatch(/Block\s+10\.88\.0\.\d+\/26 \(node-a\)\s+64\s+2 \(3\.1%\)/);

    const reportFile = join(workDir, 'report.json');
    const check = await ctl('ipam', 'check', '-o', reportFile);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('Found 1 leaked address(es)');
    expect(check.stdout).toContain(`leaked: ${leakedIp} in block`);
    expect(check.stdout).not.toContain(`leaked: ${liveIp} `);
    expect(check.stdout).toContain(`caracalctl ipam release --from-report ${reportFile}`);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.leakedIps.map((leak: { ip: string }) => leak.ip)).toEqual([leakedIp]);

    const released = await ctl('ipam', 'release', '--from-report', reportFile);
    expect(released.stderr).toBe('');
    expect(released.code).toBe(0);
    expect(released.stdout).toBe(`${leakedIp} released\n`);
    expect((await ctl('ipam', 'show')).stdout).toMatch(/IP Pool\s+10\.88\.0\.0\/24\s+256\s+1 \(0\.4%\)/);
    expect((await ctl('ipam', 'check')).stdout).toContain('No problems found.');

    // The same report again: that allocation is gone, so nothing is released and it says why.
    const again = await ctl('ipam', 'release', '--from-report', reportFile);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${leakedIp} not released: no longer the leaked allocation`);
  }, 90_000); // eight caracalctl processes (each loads the etcd client): 3 s idle, over 30 s on a machine under heavy load

  it('release --ip frees an address; an address not allocated is reported, exit 1', async () => {
    const extra = await ipam.autoAssign({ node: 'node-a', handleId: 'k8s-pod-network.feed0002', num4: 1 });
    const ip = extra.ipv4[0] as string;
    const released = await ctl('ipam', 'release', '--ip', ip);
    expect(released.code).toBe(0);
    expect(released.stdout).toBe(`${ip} released\n`);
    const twice = await ctl('ipam', 'release', '--ip', ip);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`${ip} not released: not allocated`);
  });
});
