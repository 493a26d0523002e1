// Integration tests of the resource layer against a real etcd: key layout, uid/creationTimestamp on
// create, resourceVersion = modRevision with CAS update/delete, replace, namespaced lists, the
// validate hook, corrupt stored values, and the typed watch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  CorruptResourceError,
  type EtcdKeyValueStore,
  etcdUnavailableReason,
  InvalidResourceError,
  NotFoundError,
  type Resource,
  ResourceStore,
  type ResourceWatchEvent,
  RevisionConflictError,
  TestEtcd,
} from '../src/index.js';
import { waitFor } from './watch-helpers.js';

const skipReason = etcdUnavailableReason();
if (skipReason !== undefined) console.log(`SKIP datastore resource etcd tests: ${skipReason}`);

interface Pool extends Resource {
  kind: 'IPPool';
  spec: { cidr: string };
}

const run = `r${process.pid}x${Date.now()}`;
function pool(name: string, cidr = '10.0.0.0/16'): Pool {
  return {
    apiVersion: 'caracal.dev/v1',
    kind: 'IPPool',
    metadata: { name: `${run}-${name}` },
    spec: { cidr },
  };
}

describe.skipIf(skipReason !== undefined)('ResourceStore against a real etcd', () => {
  let etcd: TestEtcd;
  let kv: EtcdKeyValueStore;
  let resources: ResourceStore;

  beforeAll(async () => {
    etcd = await TestEtcd.start();
    kv = etcd.connect();
    resources = new ResourceStore(kv, { now: () => new Date('2026-01-02T03:04:05.000Z') });
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('creates under the documented key with uid, creationTimestamp and resourceVersion = modRevision', async () => {
    const created = await resources.create(pool('a'));
    const key = `/caracal/v1/resources/ippools/_cluster/${run}-a`;
    const stored = await kv.get(key);
    expect(stored).toBeDefined();
    expect(created.metadata.resourceVersion).toBe(String(stored?.revision));
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.creationTimestamp).toBe('2026-01-02T03:04:05.000Z');
    expect(JSON.parse(stored?.value ?? '{}').metadata.resourceVersion).toBeUndefined();
    expect(await resources.get('IPPool', `${run}-a`)).toEqual(created);
    await expect(resources.create(pool('a'))).rejects.toBeInstanceOf(AlreadyExistsError);
  });

  it('updates only at the read resourceVersion and keeps uid and creationTimestamp', async () => {
    const created = await resources.create(pool('b'));
    const first = await resources.update({ ...created, spec: { cidr: '10.1.0.0/16' } });
    expect(Number(first.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    const stale = await resources
      .update({ ...created, spec: { cidr: '10.2.0.0/16' } })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(RevisionConflictError);
    expect((stale as RevisionConflictError).currentRevision).toBe(Number(first.metadata.resourceVersion));
    // Without uid/creationTimestamp in the input, they are taken from the stored object.
    const { uid: _u, creationTimestamp: _c, ...bare } = first.metadata;
    const second = await resources.update<Pool>({ ...first, metadata: bare, spec: { cidr: '10.3.0.0/16' } });
    expect(second.metadata.uid).toBe(created.metadata.uid);
    expect((await resources.get<Pool>('IPPool', `${run}-b`))?.spec.cidr).toBe('10.3.0.0/16');
    await expect(resources.update({ ...pool('b'), spec: { cidr: '1.0.0.0/8' } })).rejects.toThrow(
      /metadata.resourceVersion is required/,
    );
  });

  it('replaces whatever the version, keeping identity; refuses to replace a missing object', async () => {
    const created = await resources.create(pool('c'));
    await resources.update({ ...created, spec: { cidr: '10.9.0.0/16' } });
    const replaced = await resources.replace(pool('c', '192.168.0.0/16'));
    expect(replaced.metadata.uid).toBe(created.metadata.uid);
    expect((await resources.get<Pool>('IPPool', `${run}-c`))?.spec.cidr).toBe('192.168.0.0/16');
    await expect(resources.replace(pool('missing'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      resources.update({
        ...pool('missing'),
        metadata: { ...pool('missing').metadata, resourceVersion: '5' },
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('deletes with and without a resourceVersion check', async () => {
    const created = await resources.create(pool('d'));
    const updated = await resources.update({ ...created, spec: { cidr: '10.4.0.0/16' } });
    await expect(
      resources.delete('IPPool', `${run}-d`, undefined, created.metadata.resourceVersion),
    ).rejects.toBeInstanceOf(RevisionConflictError);
    expect(await resources.delete('IPPool', `${run}-d`, undefined, updated.metadata.resourceVersion)).toBe(
      true,
    );
    expect(await resources.delete('IPPool', `${run}-d`)).toBe(false);
  });

  it('lists per namespace or across all, with the listing revision', async () => {
    const endpoint = (namespace: string, name: string): Resource => ({
      apiVersion: 'caracal.dev/v1',
      kind: 'WorkloadEndpoint',
      metadata: { name, namespace: `${run}-${namespace}` },
      spec: {},
    });
    await resources.create(endpoint('ns1', 'w1'));
    await resources.create(endpoint('ns1', 'w2'));
    await resources.create(endpoint('ns2', 'w1'));
    expect(await kv.get(`/caracal/v1/resources/workloadendpoints/${run}-ns1/w1`)).toBeDefined();
    const ns1 = await resources.list('WorkloadEndpoint', `${run}-ns1`);
    expect(ns1.items.map((item) => item.metadata.name)).toEqual(['w1', 'w2']);
    const all = await resources.list('WorkloadEndpoint');
    expect(all.items.map((item) => `${item.metadata.namespace}/${item.metadata.name}`)).toEqual([
      `${run}-ns1/w1`,
      `${run}-ns1/w2`,
      `${run}-ns2/w1`,
    ]);
    expect(Number(all.resourceVersion)).toBeGreaterThanOrEqual(
      Number(ns1.items[1]?.metadata.resourceVersion),
    );
  });

  it('rejects bad envelopes with the field path and runs the validate hook before writing', async () => {
    await expect(resources.create({ ...pool('e'), metadata: { name: 'a/b' } })).rejects.toThrow(
      /metadata.name must be a non-empty string without "\/", got "a\/b"/,
    );
    await expect(resources.create({ ...pool('e'), kind: '' as 'IPPool' })).rejects.toBeInstanceOf(
      InvalidResourceError,
    );
    const strict = new ResourceStore(kv, {
      validate: (resource) => {
        const cidr = (resource.spec as { cidr?: unknown }).cidr;
        if (cidr !== '10.0.0.0/16') throw new Error(`spec.cidr: ${cidr} is not allowed`);
      },
    });
    await expect(strict.create(pool('f', '1.2.3.0/24'))).rejects.toThrow(
      /spec.cidr: 1.2.3.0\/24 is not allowed/,
    );
    expect(await strict.get('IPPool', `${run}-f`)).toBeUndefined();
  });

  it('reports a corrupt stored value with its key', async () => {
    const key = `/caracal/v1/resources/ippools/_cluster/${run}-corrupt`;
    await kv.put(key, '{not json');
    await expect(resources.get('IPPool', `${run}-corrupt`)).rejects.toBeInstanceOf(CorruptResourceError);
    await kv.put(key, JSON.stringify(pool('elsewhere')));
    await expect(resources.get('IPPool', `${run}-corrupt`)).rejects.toThrow(/belong at/);
    await kv.delete(key);
  });

  it('watches a kind: snapshot, in-sync, put and delete with parsed objects', async () => {
    const events: ResourceWatchEvent<Pool>[] = [];
    const before = await resources.list('BGPPeer');
    expect(before.items).toEqual([]);
    const peer = (name: string): Resource => ({
      apiVersion: 'caracal.dev/v1',
      kind: 'BGPPeer',
      metadata: { name: `${run}-${name}` },
      spec: { asNumber: 64512 },
    });
    const existing = await resources.create(peer('p1'));
    const subscription = resources.watch<Pool>('BGPPeer').subscribe((event) => events.push(event));
    await waitFor('in-sync', () => events.some((event) => event.type === 'in-sync'));
    const created = await resources.create(peer('p2'));
    await resources.delete('BGPPeer', `${run}-p1`);
    await waitFor('delete', () => events.some((event) => event.type === 'delete'));
    subscription.unsubscribe();
    expect(events[0]).toEqual({
      type: 'snapshot',
      items: [existing],
      revision: expect.any(Number),
      resync: false,
    });
    expect(events.slice(2)).toEqual([
      { type: 'put', resource: created, revision: Number(created.metadata.resourceVersion) },
      {
        type: 'delete',
        kind: 'BGPPeer',
        name: `${run}-p1`,
        namespace: undefined,
        revision: expect.any(Number),
      },
    ]);
  });
});
