// Unit tests of the executables' pure parts: one invocation's stdout and exit code (VERSION without a full
// configuration, errors as spec JSON), IPPool parsing with precise errors, error-code mapping, node-name
// precedence, WorkloadEndpoint naming and shape, reading a delegated IPAM plugin's output, the hook that
// lets `caracal` load its datastore modules while the IPAM plugin runs, and the lazy datastore's errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatastoreUnavailableError } from '@caracal/datastore';
import { IpamExhaustedError } from '@caracal/ipam';
import { describe, expect, it } from 'vitest';
import { runCniInvocation } from '../src/cli.js';
import { etcdEndpointsFor, nodeNameFor, parseIpPoolResource, toCniError } from '../src/datastore-access.js';
import { workloadEndpointName, workloadEndpointResource } from '../src/endpoint-store.js';
import { ExecIpamDelegate, findPlugin, parseIpamResult, pluginFailure } from '../src/exec-ipam.js';
import { LazyDatastoreEndpointStore } from '../src/lazy-datastore.js';
import { workloadIdentity } from '../src/plugin.js';
import { CniError, parseEnvironment, parseNetworkConfig } from '../src/spec.js';

const configText =
  '{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"caracal","mtu":1500,"ipam":{"type":"caracal-ipam"}}';
const config = parseNetworkConfig(configText);
const addEnv = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/p',
  CNI_IFNAME: 'eth0',
};

describe('runCniInvocation', () => {
  it('answers VERSION from a configuration holding only cniVersion', async () => {
    const outcome = await runCniInvocation({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}', async () => {
      throw new Error('handler must not run for VERSION');
    });
    expect(outcome.exitCode).toBe(0);
    expect(JSON.parse(outcome.stdout)).toEqual({
      cniVersion: '0.4.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
  });

  it('prints the result for ADD and nothing for DEL', async () => {
    const added = await runCniInvocation(addEnv, configText, async () => ({ cniVersion: '1.0.0', ips: [] }));
    expect(added).toEqual({ stdout: '{"cniVersion":"1.0.0","ips":[]}\n', exitCode: 0 });
    const deleted = await runCniInvocation(
      { ...addEnv, CNI_COMMAND: 'DEL' },
      configText,
      async () => undefined,
    );
    expect(deleted).toEqual({ stdout: '', exitCode: 0 });
  });

  it('turns failures into spec error JSON with a non-zero exit', async () => {
    const badJson = await runCniInvocation(addEnv, '{', async () => undefined);
    expect(badJson.exitCode).toBe(1);
    expect(JSON.parse(badJson.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 6 });
    const noCommand = await runCniInvocation({}, configText, async () => undefined);
    expect(JSON.parse(noCommand.stdout)).toMatchObject({ code: 4, msg: 'CNI_COMMAND is not set' });
    const thrown = await runCniInvocation(addEnv, configText, async () => {
      throw new DatastoreUnavailableError(['http://10.0.0.1:2379'], 'connect ECONNREFUSED');
    });
    expect(JSON.parse(thrown.stdout)).toEqual({
      cniVersion: '1.0.0',
      code: 11,
      msg: 'the datastore is unavailable at http://10.0.0.1:2379',
      details: 'connect ECONNREFUSED',
    });
  });
});

describe('toCniError', () => {
  it('maps exhaustion to 100 naming the pools, and anything else to 999', () => {
    const exhausted = toCniError(new IpamExhaustedError(4, 1, 0, ['tiny', 'other'], 'no free address'));
    expect(exhausted.code).toBe(100);
    expect(exhausted.message).toBe('no free address in pool(s) [tiny, other]');
    const noPool = toCniError(new IpamExhaustedError(6, 1, 0, [], 'no enabled IPv6 pool selects node node1'));
    expect(noPool).toMatchObject({
      code: 100,
      message: 'IPv6: wanted 1 address(es), found 0 in pool(s) []: no enabled IPv6 pool selects node node1',
    });
    expect(toCniError(new TypeError('boom'))).toMatchObject({ code: 999, message: 'TypeError: boom' });
    const own = new CniError(3, 'x');
    expect(toCniError(own)).toBe(own);
  });
});

describe('parseIpPoolResource', () => {
  const key = '/caracal/v1/resources/ippools/_cluster/p';
  it('reads Calico field names', () => {
    const pool = parseIpPoolResource(
      key,
      JSON.stringify({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'p' },
        spec: { cidr: '10.0.0.0/16', blockSize: 26, ipipMode: 'Never', natOutgoing: true, disabled: false },
      }),
    );
    expect(pool).toEqual({ name: 'p', cidr: '10.0.0.0/16', blockSize: 26, disabled: false });
  });
  it('names the key and the field that is wrong', () => {
    expect(() => parseIpPoolResource(key, '{')).toThrow(`IPPool at ${key} is not valid JSON`);
    expect(() =>
      parseIpPoolResource(
        key,
        '{"kind":"IPPool","metadata":{"name":"p"},"spec":{"cidr":"10.0.0.0/16","blockSize":"26"}}',
      ),
    ).toThrow(`IPPool at ${key}: spec.blockSize must be an integer, got "26"`);
    expect(() => parseIpPoolResource(key, '{"kind":"IPPool","metadata":{"name":"p"},"spec":{}}')).toThrow(
      'spec.cidr must be a CIDR string, got undefined',
    );
    expect(() => parseIpPoolResource(key, '{"kind":"Node","metadata":{"name":"p"},"spec":{}}')).toThrow(
      'kind must be "IPPool", got "Node"',
    );
  });
});

describe('node name and endpoints', () => {
  it('prefers config nodename, then NODENAME, then the file, then the hostname', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caracal-cni-unit-'));
    try {
      const file = join(dir, 'nodename');
      const withName = parseNetworkConfig(configText.replace('"mtu"', '"nodename":"cfg","mtu"'));
      expect(nodeNameFor(withName, { NODENAME: 'env' }, file)).toBe('cfg');
      expect(nodeNameFor(config, { NODENAME: 'env' }, file)).toBe('env');
      expect(nodeNameFor(config, {}, file)).toBe(hostname());
      writeFileSync(file, 'from-file\n');
      expect(nodeNameFor(config, {}, file)).toBe('from-file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('takes etcd_endpoints, else ETCD_ENDPOINTS, and rejects a malformed one with code 7', () => {
    const withEndpoints = parseNetworkConfig(
      configText.replace('"mtu"', '"etcd_endpoints":"http://10.1.1.1:2379","mtu"'),
    );
    expect(etcdEndpointsFor(withEndpoints, { ETCD_ENDPOINTS: 'http://10.2.2.2:2379' })).toEqual([
      'http://10.1.1.1:2379',
    ]);
    expect(etcdEndpointsFor(config, { ETCD_ENDPOINTS: 'http://10.2.2.2:2379' })).toEqual([
      'http://10.2.2.2:2379',
    ]);
    const bad = parseNetworkConfig(configText.replace('"mtu"', '"etcd_endpoints":"ftp://x","mtu"'));
    expect(() => etcdEndpointsFor(bad, {})).toThrow(/etcd_endpoints.*scheme "ftp"/);
  });
});

describe('WorkloadEndpoint', () => {
  it("uses Calico's name with '-' doubled and records the pod", () => {
    const identity = workloadIdentity(
      parseNetworkConfig(configText.replace('"mtu"', '"nodename":"node-1","mtu"')),
      parseEnvironment({ ...addEnv, CNI_ARGS: 'K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=core-dns' }),
      'unused',
    );
    expect(workloadEndpointName(identity)).toBe('node--1-k8s-core--dns-eth0');
    const resource = workloadEndpointResource({
      identity,
      interfaceName: 'cara0123456789a',
      ipNetworks: ['10.0.0.5/32'],
      mac: '02:00:00:00:00:01',
    });
    expect(resource.metadata).toEqual({
      name: 'node--1-k8s-core--dns-eth0',
      namespace: 'kube-system',
      labels: { 'projectcalico.org/namespace': 'kube-system', 'projectcalico.org/orchestrator': 'k8s' },
    });
    expect(resource.spec).toMatchObject({ pod: 'core-dns', profiles: ['kns.kube-system'], node: 'node-1' });
  });
  it('names non-Kubernetes workloads by container id', () => {
    const identity = workloadIdentity(config, parseEnvironment(addEnv), 'n1');
    expect(workloadEndpointName(identity)).toBe('n1-cni-c1-eth0');
  });
});

describe('delegated IPAM output', () => {
  it('keeps the plugin error code, and calls anything else an I/O failure', () => {
    const failure = pluginFailure('/bin/x', {
      exitCode: 1,
      stdout: '{"cniVersion":"1.0.0","code":100,"msg":"exhausted","details":"d"}',
      stderr: '',
    });
    expect(failure).toMatchObject({ code: 100, message: 'exhausted', details: 'd' });
    expect(pluginFailure('/bin/x', { exitCode: 2, stdout: 'oops', stderr: 'trace' })).toMatchObject({
      code: 5,
      message: 'IPAM plugin /bin/x exited with 2 without a CNI error on stdout',
    });
  });
  it('validates the result and finds the plugin on CNI_PATH', () => {
    expect(
      parseIpamResult('/bin/x', '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/32"}]}').ips,
    ).toHaveLength(1);
    expect(() => parseIpamResult('/bin/x', '{"ips":[{}]}')).toThrow('has no "ips" array of {address}');
    expect(() => findPlugin('caracal-ipam', ['/nonexistent-a', '/nonexistent-b'])).toThrow(
      'IPAM plugin "caracal-ipam" not found on CNI_PATH (/nonexistent-a:/nonexistent-b)',
    );
    expect(() => findPlugin('../evil', ['/bin'])).toThrow('is not a plugin file name');
    expect(findPlugin('sh', ['/nonexistent', '/bin'])).toBe('/bin/sh');
  });
});

describe('ExecIpamDelegate', () => {
  it('runs afterSpawn once the plugin process is started, before its result is read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caracal-exec-ipam-'));
    try {
      const plugin = join(dir, 'fake-ipam');
      // The plugin answers only after the parent has had its turn, so the order is observable.
      writeFileSync(
        plugin,
        '#!/bin/sh\ncat >/dev/null\nsleep 0.2\necho \'{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.1/32"}]}\'\n',
        { mode: 0o755 },
      );
      const events: string[] = [];
      const delegate = new ExecIpamDelegate({ PATH: process.env.PATH }, () => events.push('afterSpawn'));
      const env = parseEnvironment({ ...addEnv, CNI_PATH: dir });
      const pending = delegate
        .add(parseNetworkConfig(configText.replace('caracal-ipam', 'fake-ipam')), env)
        .then((result) => {
          events.push('result');
          return result;
        });
      expect(events).toEqual(['afterSpawn']);
      expect((await pending).ips).toEqual([{ address: '10.9.0.1/32' }]);
      expect(events).toEqual(['afterSpawn', 'result']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LazyDatastoreEndpointStore', () => {
  it('reports a malformed etcd endpoint on load and use, never from prefetch', async () => {
    const bad = parseNetworkConfig(configText.replace('"mtu"', '"etcd_endpoints":"ftp://x:1","mtu"'));
    const lazy = new LazyDatastoreEndpointStore(bad, {});
    expect(() => lazy.prefetch()).not.toThrow();
    await expect(lazy.load()).rejects.toMatchObject({ code: 7 });
    const identity = workloadIdentity(config, parseEnvironment(addEnv), 'node1');
    await expect(lazy.remove(identity)).rejects.toMatchObject({ code: 7 });
    await expect(lazy.close()).resolves.toBeUndefined();
  });

  it('closes nothing when it was never used', async () => {
    await expect(new LazyDatastoreEndpointStore(config, {}).close()).resolves.toBeUndefined();
  });
});
