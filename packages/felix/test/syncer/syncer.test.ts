// Unit tests of the datastore syncer against a fake datastore whose watches are rxjs Subjects: snapshot →
// in-sync → deltas → a gap's re-snapshot with a vanished key (the graph keeps nothing stale), malformed
// values skipped with a logged reason, FelixConfiguration precedence, and the value parsers' errors.
import { keys, type WatchEvent } from '@caracal/datastore';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CalcGraph } from '../../src/calc/graph.js';
import { DEFAULT_FELIX_SETTINGS } from '../../src/calc/inputs.js';
import {
  parseBlockAffinity,
  parseGoDurationSeconds,
  parseIpPool,
  parseWorkloadEndpoint,
} from '../../src/syncer/parse.js';
import { DatastoreSyncer, type SyncerBatch, type WatchSource } from '../../src/syncer/syncer.js';

class FakeDatastore implements WatchSource {
  readonly subjects = new Map<string, Subject<WatchEvent>>();
  revision = 10;
  watchPrefix(prefix: string) {
    const subject = new Subject<WatchEvent>();
    this.subjects.set(prefix, subject);
    return subject.asObservable();
  }
  stream(prefix: string): Subject<WatchEvent> {
    const subject = this.subjects.get(prefix);
    if (!subject) throw new Error(`nobody watches ${prefix}`);
    return subject;
  }
  snapshot(prefix: string, items: Record<string, string>, resync = false): void {
    const revision = ++this.revision;
    const list = Object.entries(items).map(([key, value]) => ({
      key,
      value,
      revision,
      createRevision: revision,
    }));
    this.stream(prefix).next({ type: 'snapshot', items: list, revision, resync });
    this.stream(prefix).next({ type: 'in-sync', revision });
  }
  put(key: string, value: string): void {
    const prefix = [...this.subjects.keys()].find((p) => key.startsWith(p)) ?? '';
    const revision = ++this.revision;
    this.stream(prefix).next({ type: 'put', key, value, revision, createRevision: revision });
  }
  delete(key: string): void {
    const prefix = [...this.subjects.keys()].find((p) => key.startsWith(p)) ?? '';
    this.stream(prefix).next({ type: 'delete', key, value: undefined, revision: ++this.revision });
  }
}

const NODE = 'node1';
const WEP_PREFIX = keys.resourceKindPrefix('WorkloadEndpoint');
const POOL_PREFIX = keys.resourceKindPrefix('IPPool');
const FELIX_PREFIX = keys.resourceKindPrefix('FelixConfiguration');
const AFF_PREFIX = keys.nodeAffinitiesPrefix(NODE);

const wepKey = (name: string) => keys.resource('WorkloadEndpoint', name, 'default');
const wep = (name: string, ip: string, node = NODE) =>
  JSON.stringify({
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace: 'default' },
    spec: { node, interfaceName: `cara${name.padStart(11, '0')}`.slice(0, 15), ipNetworks: [`${ip}/32`] },
  });
const pool = (cidr: string, natOutgoing: boolean) =>
  JSON.stringify({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'p' },
    spec: { cidr, natOutgoing },
  });
const felixConfig = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'projectcalico.org/v3',
    kind: 'FelixConfiguration',
    metadata: { name },
    spec,
  });

function harness() {
  const datastore = new FakeDatastore();
  const graph = new CalcGraph(NODE);
  const batches: SyncerBatch[] = [];
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const syncer = new DatastoreSyncer(datastore, {
    nodeName: NODE,
    defaultSettings: { ...DEFAULT_FELIX_SETTINGS, routeRefreshIntervalSeconds: 30 },
    onBatch: (batch) => {
      graph.apply(batch.updates);
      batches.push(batch);
    },
    logger: { warn: (fields, message) => warnings.push({ fields, message }), info: () => {} },
    retryDelayMs: 20,
  });
  syncer.start();
  const initialSnapshots = () => {
    datastore.snapshot(WEP_PREFIX, {
      [wepKey('a')]: wep('a', '10.65.0.1'),
      [wepKey('b')]: wep('b', '10.65.0.2'),
    });
    datastore.snapshot(POOL_PREFIX, { [keys.resource('IPPool', 'p')]: pool('10.65.0.0/16', true) });
    datastore.snapshot(FELIX_PREFIX, {});
    datastore.snapshot(AFF_PREFIX, {
      [keys.affinity(NODE, '10.65.0.0/26')]: JSON.stringify({ state: 'confirmed' }),
    });
  };
  return { datastore, graph, batches, warnings, syncer, initialSnapshots };
}

describe('DatastoreSyncer', () => {
  it('watches the four prefixes, including only this node affinities', () => {
    const { syncer } = harness();
    expect(syncer.prefixes).toEqual([WEP_PREFIX, POOL_PREFIX, FELIX_PREFIX, AFF_PREFIX]);
  });

  it('is in sync only after every prefix delivered in-sync, then applies deltas', () => {
    const { datastore, graph, batches, syncer } = harness();
    datastore.snapshot(WEP_PREFIX, { [wepKey('a')]: wep('a', '10.65.0.1') });
    expect(syncer.inSync).toBe(false);
    expect(batches.at(-1)?.inSync).toBe(false);
    datastore.snapshot(POOL_PREFIX, { [keys.resource('IPPool', 'p')]: pool('10.65.0.0/16', true) });
    datastore.snapshot(FELIX_PREFIX, {});
    expect(syncer.inSync).toBe(false);
    datastore.snapshot(AFF_PREFIX, { [keys.affinity(NODE, '10.65.0.0/26')]: '{}' });
    expect(syncer.inSync).toBe(true);
    expect(batches.at(-1)?.inSync).toBe(true);
    expect([...graph.desired().workloadRoutes.keys()]).toEqual(['10.65.0.1/32']);
    expect(graph.desired().blackholeRoutes).toEqual(['10.65.0.0/26']);
    expect(graph.desired().natOutgoing.masqueradePools).toEqual(['10.65.0.0/16']);
    expect(graph.desired().settings.routeRefreshIntervalSeconds).toBe(30);

    datastore.put(wepKey('c'), wep('c', '10.65.0.3'));
    datastore.put(wepKey('remote'), wep('remote', '10.66.0.1', 'node2'));
    datastore.delete(wepKey('a'));
    expect([...graph.desired().workloadRoutes.keys()]).toEqual(['10.65.0.3/32']);
    datastore.put(keys.affinity(NODE, '10.65.0.0/26'), JSON.stringify({ state: 'pendingDeletion' }));
    expect(graph.desired().blackholeRoutes).toEqual([]);
  });

  it('a resync snapshot replaces the state: vanished keys become deletions, nothing stale stays', () => {
    const { datastore, graph, syncer, initialSnapshots } = harness();
    initialSnapshots();
    expect([...graph.desired().workloadRoutes.keys()].sort()).toEqual(['10.65.0.1/32', '10.65.0.2/32']);
    // During the gap: b deleted, a changed address, d created; the pool and the affinity vanish too.
    datastore.snapshot(
      WEP_PREFIX,
      { [wepKey('a')]: wep('a', '10.65.0.9'), [wepKey('d')]: wep('d', '10.65.0.4') },
      true,
    );
    datastore.snapshot(POOL_PREFIX, {}, true);
    datastore.snapshot(AFF_PREFIX, {}, true);
    expect(syncer.resyncCount).toBe(3);
    expect(syncer.inSync).toBe(true);
    const desired = graph.desired();
    expect([...desired.workloadRoutes.keys()].sort()).toEqual(['10.65.0.4/32', '10.65.0.9/32']);
    expect(desired.blackholeRoutes).toEqual([]);
    expect(desired.natOutgoing.allPools).toEqual([]);
    // Same result as a fresh graph fed only the new state.
    const fresh = harness();
    fresh.datastore.snapshot(WEP_PREFIX, {
      [wepKey('a')]: wep('a', '10.65.0.9'),
      [wepKey('d')]: wep('d', '10.65.0.4'),
    });
    fresh.datastore.snapshot(POOL_PREFIX, {});
    fresh.datastore.snapshot(FELIX_PREFIX, {});
    fresh.datastore.snapshot(AFF_PREFIX, {});
    expect(fresh.graph.desired()).toEqual(desired);
  });

  it('is out of sync between a resync snapshot and its in-sync marker', () => {
    const { datastore, syncer, batches, initialSnapshots } = harness();
    initialSnapshots();
    datastore.stream(WEP_PREFIX).next({ type: 'snapshot', items: [], revision: 99, resync: true });
    expect(syncer.inSync).toBe(false);
    expect(batches.at(-1)?.inSync).toBe(false);
    datastore.stream(WEP_PREFIX).next({ type: 'in-sync', revision: 99 });
    expect(syncer.inSync).toBe(true);
  });

  it('skips malformed values with a logged reason; a valid value turned malformed is removed', () => {
    const { datastore, graph, warnings, syncer, initialSnapshots } = harness();
    initialSnapshots();
    datastore.put(wepKey('bad'), '{not json');
    datastore.put(
      wepKey('a'),
      JSON.stringify({
        kind: 'WorkloadEndpoint',
        metadata: { name: 'a' },
        spec: { node: NODE, interfaceName: 'caraa', ipNetworks: ['10.65.0.300/32'] },
      }),
    );
    datastore.put(
      keys.resource('IPPool', 'q'),
      JSON.stringify({
        kind: 'IPPool',
        metadata: { name: 'q' },
        spec: { cidr: '10.70.0.0/16', ipipMode: 'Sometimes' },
      }),
    );
    expect(syncer.malformedCount).toBe(3);
    expect(warnings.map((w) => w.fields.reason)).toEqual([
      expect.stringMatching(/^\/caracal\/v1\/resources\/workloadendpoints\/default\/bad: is not JSON/),
      `${wepKey('a')}: spec.ipNetworks[0] "10.65.0.300/32" has an octet above 255`,
      `${keys.resource('IPPool', 'q')}: spec.ipipMode is "Sometimes" (string), expected one of Always, CrossSubnet, Never`,
    ]);
    expect([...graph.desired().workloadRoutes.keys()]).toEqual(['10.65.0.2/32']);
    expect(graph.desired().natOutgoing.allPools).toEqual(['10.65.0.0/16']);
  });

  it('FelixConfiguration: defaults ← "default" ← "node.<this node>"; other nodes ignored; deletion reverts', () => {
    const { datastore, graph, initialSnapshots } = harness();
    initialSnapshots();
    const settings = () => graph.desired().settings;
    expect(settings()).toEqual({ routeRefreshIntervalSeconds: 30, nftablesRefreshIntervalSeconds: 180 });
    datastore.put(
      keys.resource('FelixConfiguration', 'default'),
      felixConfig('default', { routeRefreshInterval: '1m30s', nftablesRefreshInterval: '10s' }),
    );
    expect(settings()).toEqual({ routeRefreshIntervalSeconds: 90, nftablesRefreshIntervalSeconds: 10 });
    datastore.put(
      keys.resource('FelixConfiguration', 'node.node2'),
      felixConfig('node.node2', { routeRefreshInterval: '5s' }),
    );
    expect(settings().routeRefreshIntervalSeconds).toBe(90);
    datastore.put(
      keys.resource('FelixConfiguration', `node.${NODE}`),
      felixConfig(`node.${NODE}`, { routeRefreshInterval: '500ms' }),
    );
    expect(settings()).toEqual({ routeRefreshIntervalSeconds: 0.5, nftablesRefreshIntervalSeconds: 10 });
    datastore.delete(keys.resource('FelixConfiguration', `node.${NODE}`));
    datastore.delete(keys.resource('FelixConfiguration', 'default'));
    expect(settings()).toEqual({ routeRefreshIntervalSeconds: 30, nftablesRefreshIntervalSeconds: 180 });
  });

  it('re-subscribes after a watch error; the next snapshot heals the state', async () => {
    const { datastore, graph, syncer, warnings, initialSnapshots } = harness();
    initialSnapshots();
    const old = datastore.stream(WEP_PREFIX);
    old.error(new Error('stream reset'));
    expect(syncer.inSync).toBe(false);
    expect(warnings[0]?.fields.error).toBe('stream reset');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(datastore.stream(WEP_PREFIX)).not.toBe(old);
    datastore.snapshot(WEP_PREFIX, { [wepKey('b')]: wep('b', '10.65.0.2') });
    expect(syncer.inSync).toBe(true);
    expect([...graph.desired().workloadRoutes.keys()]).toEqual(['10.65.0.2/32']);
  });

  it('stop() unsubscribes: later events change nothing', () => {
    const { datastore, graph, syncer, initialSnapshots } = harness();
    initialSnapshots();
    syncer.stop();
    expect(datastore.stream(WEP_PREFIX).observed).toBe(false);
    expect(graph.desired().workloadRoutes.size).toBe(2);
  });
});

describe('value parsers', () => {
  it('parses a workload endpoint with spoofing prefixes', () => {
    const text = JSON.stringify({
      kind: 'WorkloadEndpoint',
      metadata: { name: 'w' },
      spec: {
        node: 'n',
        interfaceName: 'cara1',
        ipNetworks: ['10.0.0.1/32', 'fd00::1/128'],
        allowSpoofedSourcePrefixes: ['10.9.0.0/16'],
      },
    });
    expect(parseWorkloadEndpoint('k', text)).toEqual({
      node: 'n',
      interfaceName: 'cara1',
      ipNetworks: ['10.0.0.1/32', 'fd00::1/128'],
      allowSpoofedSourcePrefixes: ['10.9.0.0/16'],
    });
  });

  it('names the missing or wrong field', () => {
    expect(() =>
      parseWorkloadEndpoint(
        'k',
        JSON.stringify({
          kind: 'WorkloadEndpoint',
          metadata: { name: 'w' },
          spec: { node: 'n', ipNetworks: [] },
        }),
      ),
    ).toThrow('k: spec.interfaceName is missing, expected a non-empty string');
    expect(() =>
      parseWorkloadEndpoint('k', JSON.stringify({ kind: 'IPPool', metadata: { name: 'w' }, spec: {} })),
    ).toThrow('k: kind is "IPPool" (string), expected "WorkloadEndpoint"');
    expect(() => parseIpPool('k', JSON.stringify({ kind: 'IPPool', metadata: {}, spec: {} }))).toThrow(
      'k: metadata.name is missing',
    );
    expect(() =>
      parseIpPool(
        'k',
        JSON.stringify({ kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/33' } }),
      ),
    ).toThrow('k: spec.cidr "10.0.0.0/33" has a prefix length above 32');
    expect(() =>
      parseIpPool(
        'k',
        JSON.stringify({
          kind: 'IPPool',
          metadata: { name: 'p' },
          spec: { cidr: '10.0.0.0/8', natOutgoing: 'yes' },
        }),
      ),
    ).toThrow('k: spec.natOutgoing is "yes" (string), expected a boolean');
  });

  it('affinities: node and CIDR from the key, state defaulting to confirmed, deleted → absent', () => {
    const key = keys.affinity('n1', '10.1.2.0/26');
    expect(parseBlockAffinity(key, '{}')).toEqual({ node: 'n1', cidr: '10.1.2.0/26', state: 'confirmed' });
    expect(parseBlockAffinity(key, '{"state":"pending"}')?.state).toBe('pending');
    expect(parseBlockAffinity(key, '{"state":"confirmed","deleted":true}')).toBeUndefined();
    expect(() => parseBlockAffinity(key, '{"state":"maybe"}')).toThrow(`${key}: state is "maybe" (string)`);
    expect(() => parseBlockAffinity(`${keys.affinitiesPrefix}n1/garbage`, '{}')).toThrow('key CIDR segment');
    // @caracal/ipam's AffinityDocument shape.
    const ipamDocument = {
      node: 'n1',
      cidr: '10.1.2.0/26',
      state: 'pendingDeletion',
      updatedAt: '2026-11-21T19:00:00Z',
    };
    expect(parseBlockAffinity(key, JSON.stringify(ipamDocument))).toEqual({
      node: 'n1',
      cidr: '10.1.2.0/26',
      state: 'pendingDeletion',
    });
    expect(() => parseBlockAffinity(key, JSON.stringify({ ...ipamDocument, node: 'n2' }))).toThrow(
      `${key}: node is "n2" (string), but the key names node "n1"`,
    );
    expect(() => parseBlockAffinity(key, JSON.stringify({ ...ipamDocument, cidr: '10.1.2.64/26' }))).toThrow(
      `${key}: cidr is "10.1.2.64/26" (string), but the key names block "10.1.2.0/26"`,
    );
  });

  it('Go durations', () => {
    expect(parseGoDurationSeconds('90s')).toBe(90);
    expect(parseGoDurationSeconds('1h2m3s')).toBe(3723);
    expect(parseGoDurationSeconds('250ms')).toBe(0.25);
    expect(parseGoDurationSeconds('90')).toBeUndefined();
    expect(parseGoDurationSeconds('s')).toBeUndefined();
  });
});
