// caracalctl resource commands end to end: the REAL built executable against a REAL etcd started for
// this file (free ports, temp data dir, killed by PID afterwards). Checks what lands in etcd, not only
// what the CLI prints.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EtcdKeyValueStore, keys, TestEtcd } from '@caracal/datastore';
import { buildPackagesForLab } from '@caracal/lab';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runBuiltCli } from './built-cli.js';

// Each test runs several caracalctl processes one after another, each a Node start that loads the etcd
// client (about 0.5 s idle, several seconds on 2 cores under a load average near 18, where a test with
// five to nine of them passed the default 30 s): the limit is for the file's process starts, not a wait.
vi.setConfig({ testTimeout: 90_000 });

let etcd: TestEtcd;
let kv: EtcdKeyValueStore;
let workDir: string;
let endpoint: string;

beforeAll(async () => {
  await buildPackagesForLab(['packages/ctl']);
  etcd = await TestEtcd.start();
  kv = etcd.connect();
  endpoint = etcd.endpoints[0] as string;
  workDir = mkdtempSync(join(tmpdir(), 'caracalctl-test-'));
}, 120_000);

afterAll(async () => {
  await etcd?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

function ctl(...args: string[]) {
  return runBuiltCli(['--etcd-endpoints', endpoint, ...args]);
}

function manifest(name: string, text: string): string {
  const file = join(workDir, name);
  writeFileSync(file, text);
  return file;
}

async function storedKeys(prefix: string): Promise<string[]> {
  return (await kv.list(prefix)).items.map((item) => item.key);
}

const poolsAndNode = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
spec:
  cidr: 10.70.0.0/16
  ipipMode: Never
  natOutgoing: true
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-b
spec:
  cidr: 10.71.0.0/24
  nodeSelector: rack == 'b'
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-1
  labels:
    rack: a
spec:
  bgp:
    ipv4Address: 192.168.50.1/24
    asNumber: 64513
`;

describe('apply, create, replace, delete', () => {
  it('apply creates every document, re-apply is unchanged, a change is configured', async () => {
    const file = manifest('pools.yaml', poolsAndNode);
    const first = await ctl('apply', '-f', file);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('ippool/pool-a created\nippool/pool-b created\nnode/node-1 created\n');
    expect(await storedKeys(keys.resourceKindPrefix('IPPool'))).toEqual([
      keys.resource('IPPool', 'pool-a'),
      keys.resource('IPPool', 'pool-b'),
    ]);

    const again = await ctl('apply', '-f', file);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('ippool/pool-a unchanged\nippool/pool-b unchanged\nnode/node-1 unchanged\n');

    const changed = manifest(
      'pools-changed.yaml',
      poolsAndNode.replace('natOutgoing: true', 'natOutgoing: false'),
    );
    const third = await ctl('apply', '-f', changed);
    expect(third.code).toBe(0);
    expect(third.stdout).toBe('ippool/pool-a configured\nippool/pool-b unchanged\nnode/node-1 unchanged\n');
    const stored = await kv.get(keys.resource('IPPool', 'pool-a'));
    expect(JSON.parse(stored?.value ?? '{}').spec.natOutgoing).toBe(false);
  });

  it('one invalid document among valid ones: every problem reported, nothing written, exit 1', async () => {
    const before = (await kv.list(keys.resourcesPrefix)).items.map((item) => `${item.key}@${item.revision}`);
    const file = manifest(
      'mixed.yaml',
      `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-new
spec:
  cidr: 10.80.0.0/16
---
apiVersion: projectcalico.org/v3
kind: IPPol
metadata:
  name: Bad_Name
spec:
  cidr: 10.81.0.0/16
---
apiVersion: v1
kind: BGPPeer
metadata: {}
`,
    );
    const result = await ctl('apply', '-f', file);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('2 of 3 document(s) invalid; nothing was written');
    expect(result.stderr).toContain(`${file} document 2 (line 8) IPPol Bad_Name:`);
    expect(result.stderr).toContain('kind: "IPPol": unknown kind; did you mean "IPPool"?');
    expect(result.stderr).toContain('metadata.name: "Bad_Name": must be lower-case');
    expect(result.stderr).toContain(`${file} document 3 (line 15) BGPPeer:`);
    expect(result.stderr).toContain('apiVersion: "v1": must be "projectcalico.org/v3"');
    expect(result.stderr).toContain('metadata.name: (missing): is required');
    const after = (await kv.list(keys.resourcesPrefix)).items.map((item) => `${item.key}@${item.revision}`);
    expect(after).toEqual(before);
  });

  it("the model's kind-specific problems are reported with path, value and reason; nothing written", async () => {
    const file = manifest(
      'model-invalid.yaml',
      `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-ok}
spec: {cidr: 10.82.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-bad}
spec: {cidr: 10.83.0.0/33, ipipMode: Sometimes}
`,
    );
    const result = await ctl('apply', '-f', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file} document 2 (line 6) IPPool pool-bad:`);
    expect(result.stderr).toMatch(/spec\.cidr: "10\.83\.0\.0\/33": /);
    expect(result.stderr).toMatch(/spec\.ipipMode: "Sometimes": /);
    expect(await kv.get(keys.resource('IPPool', 'pool-ok'))).toBeUndefined();
  });

  it('a YAML syntax error names the file, document and line', async () => {
    const file = manifest(
      'broken.yaml',
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: x\n',
    );
    const result = await ctl('create', '-f', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${file} document 1 \\(line \\d+\\)`));
    expect(await kv.get(keys.resource('IPPool', 'x'))).toBeUndefined();
  });

  it('create fails for an existing resource and still creates the others; --skip-exists skips', async () => {
    const file = manifest(
      'create.yaml',
      `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-a}
spec: {cidr: 10.70.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-c}
spec: {cidr: 10.72.0.0/16}
`,
    );
    const result = await ctl('create', '-f', file);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'ippool/pool-a failed: already exists (use apply or replace to change it)',
    );
    expect(result.stdout).toContain('ippool/pool-c created');
    expect(result.stderr).toContain('1 of 2 resource(s) failed');
    const skipping = await ctl('create', '--skip-exists', '-f', file);
    expect(skipping.code).toBe(0);
    expect(skipping.stdout).toBe(
      'ippool/pool-a skipped (already exists)\nippool/pool-c skipped (already exists)\n',
    );
  });

  it('replace fails when the resource does not exist, and on a stale resourceVersion', async () => {
    const missing = manifest(
      'replace-missing.yaml',
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: nowhere}\nspec: {cidr: 10.90.0.0/16}\n',
    );
    const notThere = await ctl('replace', '-f', missing);
    expect(notThere.code).toBe(1);
    expect(notThere.stdout).toContain('ippool/nowhere failed: does not exist (use create or apply)');
    expect(await kv.get(keys.resource('IPPool', 'nowhere'))).toBeUndefined();

    const current = await kv.get(keys.resource('IPPool', 'pool-c'));
    const revision = current?.revision as number;
    const withVersion = (version: number, cidr: string) =>
      manifest(
        `replace-${version}-${cidr.replace(/\W/g, '')}.yaml`,
        `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool-c, resourceVersion: "${version}"}\nspec: {cidr: ${cidr}}\n`,
      );
    const replaced = await ctl('replace', '-f', withVersion(revision, '10.73.0.0/16'));
    expect(replaced.stdout).toBe('ippool/pool-c replaced\n');
    expect(replaced.code).toBe(0);
    const stale = await ctl('replace', '-f', withVersion(revision, '10.74.0.0/16'));
    expect(stale.code).toBe(1);
    expect(stale.stdout).toContain('ippool/pool-c failed: resourceVersion conflict');
    expect(JSON.parse((await kv.get(keys.resource('IPPool', 'pool-c')))?.value ?? '{}').spec.cidr).toBe(
      '10.73.0.0/16',
    );
  });

  it('reads a manifest from stdin with -f -, and JSON lists', async () => {
    const json = JSON.stringify({
      apiVersion: 'projectcalico.org/v3',
      kind: 'List',
      items: [
        {
          apiVersion: 'projectcalico.org/v3',
          kind: 'Profile',
          metadata: { name: 'stdin-profile' },
          spec: { labelsToApply: { team: 'blue' } },
        },
      ],
    });
    const result = await runBuiltCli(['--etcd-endpoints', endpoint, 'apply', '-f', '-'], { stdin: json });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('profile/stdin-profile created\n');
  });
});

describe('manifest sources', () => {
  it('a directory applies its .yaml/.yml/.json files in name order; a missing file fails naming it', async () => {
    const { mkdirSync } = await import('node:fs');
    const dir = join(workDir, 'manifests');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'b-profile.json'),
      JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'dir-b' } }),
    );
    writeFileSync(
      join(dir, 'a-profile.yaml'),
      'apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: dir-a}\n',
    );
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    const applied = await ctl('apply', '-f', dir);
    expect(applied.stdout).toBe('profile/dir-a created\nprofile/dir-b created\n');
    const missing = await ctl('apply', '-f', join(workDir, 'nope.yaml'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read ${join(workDir, 'nope.yaml')}: ENOENT`);
  });
});

describe('get', () => {
  it('table, wide, yaml and json', async () => {
    const table = await ctl('get', 'ippools');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+CIDR\s+SELECTOR$/);
    expect(table.stdout).toMatch(/pool-a\s+10\.70\.0\.0\/16\s+all\(\)/);
    expect(table.stdout).toMatch(/pool-b\s+10\.71\.0\.0\/24\s+rack == 'b'/);

    const wide = await ctl('get', 'IPPool', '-o', 'wide');
    expect(wide.stdout.split('\n')[0]).toMatch(
      /^NAME\s+CIDR\s+IPIPMODE\s+VXLANMODE\s+NATOUTGOING\s+DISABLED\s+BLOCKSIZE\s+SELECTOR$/,
    );
    expect(wide.stdout).toMatch(/pool-a\s+10\.70\.0\.0\/16\s+Never\s+.*false/);

    const yaml = await ctl('get', 'ipp', 'pool-a', '-o', 'yaml');
    expect(yaml.code).toBe(0);
    const pool = parseYaml(yaml.stdout);
    // Stored in the model's form, with its defaults applied (blockSize, vxlanMode were not in the file).
    expect(pool).toMatchObject({
      apiVersion: 'caracal.io/v1',
      kind: 'IPPool',
      metadata: { name: 'pool-a' },
      spec: {
        cidr: '10.70.0.0/16',
        ipipMode: 'Never',
        natOutgoing: false,
        blockSize: 26,
        vxlanMode: 'Never',
      },
    });
    expect(pool.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(pool.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);

    const json = await ctl('get', 'nodes', '-o', 'json');
    const list = JSON.parse(json.stdout);
    expect(list.kind).toBe('NodeList');
    expect(list.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['node-1']);

    const nodeWide = await ctl('get', 'node', '-o', 'wide');
    expect(nodeWide.stdout).toMatch(/node-1\s+64513\s+192\.168\.50\.1\/24/);
  });

  it('a missing name fails with exit 1; an unknown kind lists the kinds', async () => {
    const missing = await ctl('get', 'ippool', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ippool "nope" not found');
    const unknown = await ctl('get', 'ipools');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Did you mean "ippool"');
    expect(unknown.stderr).toContain('FelixConfiguration');
  });
});

describe('label', () => {
  it('sets, refuses to overwrite without --overwrite, overwrites, removes', async () => {
    const set = await ctl('label', 'node', 'node-1', 'zone=z1', 'routeReflector=true');
    expect(set.code).toBe(0);
    expect(set.stdout).toBe('node/node-1 labeled\n');
    const labels = async () =>
      JSON.parse((await kv.get(keys.resource('Node', 'node-1')))?.value ?? '{}').metadata.labels;
    expect(await labels()).toEqual({ rack: 'a', zone: 'z1', routeReflector: 'true' });

    const refused = await ctl('label', 'nodes', 'node-1', 'rack=b');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('already has label rack=a; use --overwrite');
    expect((await labels()).rack).toBe('a');

    const overwritten = await ctl('label', 'node', 'node-1', 'rack=b', '--overwrite', '--remove', 'zone');
    expect(overwritten.code).toBe(0);
    expect(await labels()).toEqual({ rack: 'b', routeReflector: 'true' });

    const absent = await ctl('label', 'node', 'node-1', '--remove', 'nothere');
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain('has no label "nothere"');
  });
});

describe('delete', () => {
  it('by KIND NAME and by file; a missing one fails unless --skip-not-exists', async () => {
    const byName = await ctl('delete', 'ippool', 'pool-c');
    expect(byName.code).toBe(0);
    expect(byName.stdout).toBe('ippool/pool-c deleted\n');
    expect(await kv.get(keys.resource('IPPool', 'pool-c'))).toBeUndefined();

    const again = await ctl('delete', 'ippool', 'pool-c');
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('ippool/pool-c failed: does not exist\n');
    const skipped = await ctl('delete', 'ippool', 'pool-c', '--skip-not-exists');
    expect(skipped.code).toBe(0);

    const byFile = await ctl('delete', '-f', join(workDir, 'pools.yaml'));
    expect(byFile.code).toBe(0);
    expect(byFile.stdout).toBe('ippool/pool-a deleted\nippool/pool-b deleted\nnode/node-1 deleted\n');
    expect(await storedKeys(keys.resourceKindPrefix('IPPool'))).toEqual([]);
  });
});

describe('namespaced kinds', () => {
  it('NetworkPolicy defaults to namespace "default"; -n and -A select', async () => {
    const file = manifest(
      'netpol.yaml',
      `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: allow-web}
spec: {selector: app == 'web', order: 100}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: allow-db, namespace: prod}
spec: {selector: app == 'db'}
`,
    );
    const applied = await ctl('apply', '-f', file);
    expect(applied.stdout).toBe(
      'networkpolicy/default/allow-web created\nnetworkpolicy/prod/allow-db created\n',
    );
    expect(await kv.get(keys.resource('NetworkPolicy', 'allow-web', 'default'))).toBeDefined();

    const inDefault = await ctl('get', 'netpol');
    expect(inDefault.stdout).toBe('NAME\nallow-web\n');
    const inProd = await ctl('get', 'networkpolicies', '-n', 'prod');
    expect(inProd.stdout).toBe('NAME\nallow-db\n');
    const everywhere = await ctl('get', 'np', '-A', '-o', 'wide');
    expect(everywhere.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+ORDER\s+SELECTOR$/);
    expect(everywhere.stdout).toMatch(/default\s+allow-web\s+100\s+app == 'web'/);
    expect(everywhere.stdout).toMatch(/prod\s+allow-db/);

    const deleted = await ctl('delete', 'netpol', 'allow-db', '-n', 'prod');
    expect(deleted.stdout).toBe('networkpolicy/prod/allow-db deleted\n');
  });

  it('WorkloadEndpoint tables: WORKLOAD NODE NETWORKS INTERFACE, NAMESPACE first with -A', async () => {
    const file = manifest(
      'wep.yaml',
      `apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node--1-k8s-web--0-eth0
  namespace: shop
  labels: {app: web}
spec:
  orchestrator: k8s
  node: node-1
  pod: web-0
  workload: web-0
  endpoint: eth0
  interfaceName: cara0123456789a
  ipNetworks: [10.70.0.5/32]
  profiles: [kns.shop]
`,
    );
    expect((await ctl('apply', '-f', file)).stdout).toBe(
      'workloadendpoint/shop/node--1-k8s-web--0-eth0 created\n',
    );
    const inShop = await ctl('get', 'weps', '-n', 'shop');
    expect(inShop.stdout).toMatch(
      /^WORKLOAD\s+NODE\s+NETWORKS\s+INTERFACE\nweb-0\s+node-1\s+10\.70\.0\.5\/32\s+cara0123456789a\n$/,
    );
    const all = await ctl('get', 'workloadendpoints', '--all-namespaces');
    expect(all.stdout).toMatch(/^NAMESPACE\s+WORKLOAD\s+NODE\s+NETWORKS\s+INTERFACE\nshop\s+web-0/);
    const none = await ctl('get', 'wep');
    expect(none.stdout).toBe('WORKLOAD   NODE   NETWORKS   INTERFACE\n');
  });
});

describe('datastore unreachable', () => {
  it('names the endpoints tried and how to start one', async () => {
    const result = await runBuiltCli(['get', 'ippool'], { env: { ETCD_ENDPOINTS: 'http://127.0.0.1:9' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot reach the datastore (etcd)');
    expect(result.stderr).toContain('endpoints tried: http://127.0.0.1:9 (from ETCD_ENDPOINTS)');
    expect(result.stderr).toContain('caracalctl datastore start');
  });
});

describe('Calico v3 manifests', () => {
  it('an IPPool, BGPConfiguration, BGPPeer and GlobalNetworkPolicy as Calico documents them apply unchanged', async () => {
    const { fileURLToPath } = await import('node:url');
    const { readFileSync } = await import('node:fs');
    const file = fileURLToPath(new URL('./fixtures/calico-v3.yaml', import.meta.url));
    const result = await ctl('apply', '-f', file);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'ippool/my.ippool-1 created\nbgpconfiguration/default created\nbgppeer/some.name created\nglobalnetworkpolicy/allow-tcp-6379 created\n',
    );
    // What is stored is what the file says (defaults may add fields, never change given ones).
    const documents = readFileSync(file, 'utf8')
      .split(/^---$/m)
      .map((text) => parseYaml(text));
    for (const document of documents) {
      const shown = await ctl('get', document.kind, document.metadata.name, '-o', 'json');
      expect(shown.code).toBe(0);
      const stored = JSON.parse(shown.stdout);
      expect(stored.apiVersion).toBe('caracal.io/v1');
      expect(stored).toMatchObject({ kind: document.kind, metadata: document.metadata, spec: document.spec });
    }
    const peers = await ctl('get', 'bgppeers');
    expect(peers.stdout).toMatch(/^NAME\s+PEERIP\s+NODE\s+ASN\n/);
    expect(peers.stdout).toMatch(/some\.name\s+192\.168\.1\.1\s+rack1-host1\s+63400/);
    const config = await ctl('get', 'bgpconfig');
    expect(config.stdout).toMatch(/default\s+Info\s+false\s+63400/);
    const gnp = await ctl('get', 'gnp', '-o', 'wide');
    expect(gnp.stdout).toMatch(/allow-tcp-6379\s+\s*role == 'database'/);
    expect((await ctl('apply', '-f', file)).stdout).toBe(
      'ippool/my.ippool-1 unchanged\nbgpconfiguration/default unchanged\nbgppeer/some.name unchanged\nglobalnetworkpolicy/allow-tcp-6379 unchanged\n',
    );
  });
});
