// Manifest reading: documents keep their file, position and line; JSON arrays and Lists expand to their
// items; envelope problems name the field path, value and reason; syntax errors name the line.
import { describe, expect, it } from 'vitest';
import type { ValidationProblem } from '../src/backend.js';
import { invalidDocumentsReport } from '../src/commands/manifest-actions.js';
import { type KindValidator, readManifests } from '../src/manifest-reader.js';

const accept: KindValidator = (resource) => ({ resource, problems: [] });

describe('readManifests', () => {
  it('numbers documents from 1 and records the line each starts on; empty documents are skipped', () => {
    const text = [
      'apiVersion: projectcalico.org/v3',
      'kind: IPPool',
      'metadata: {name: a}',
      'spec: {cidr: 10.0.0.0/24}',
      '---',
      '---',
      'apiVersion: projectcalico.org/v3',
      'kind: Node',
      'metadata: {name: n1}',
      '---',
      '',
    ].join('\n');
    const documents = readManifests(text, 'x.yaml', accept);
    expect(documents.map((d) => [d.index, d.line, d.kind, d.name])).toEqual([
      [1, 1, 'IPPool', 'a'],
      [3, 7, 'Node', 'n1'],
    ]);
    expect(documents[1]?.resource?.spec).toEqual({});
  });

  it('expands JSON arrays and List documents, prefixing problem paths with the item', () => {
    const json = JSON.stringify([
      { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'p1' } },
      { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'P2' } },
    ]);
    const documents = readManifests(json, 'list.json', accept);
    expect(documents).toHaveLength(2);
    expect(documents[0]?.problems).toEqual([]);
    expect(documents[1]?.problems.map((p) => p.path)).toEqual(['[1].metadata.name']);

    const list =
      'apiVersion: projectcalico.org/v3\nkind: IPPoolList\nitems:\n  - {apiVersion: projectcalico.org/v3, kind: IPPool}\n';
    const [item] = readManifests(list, 'l.yaml', accept);
    expect(item?.problems).toEqual([
      { path: 'items[0].metadata', value: undefined, reason: 'must be a mapping with at least a name' },
    ]);
  });

  it('namespaced kinds get namespace "default"; cluster kinds refuse one', () => {
    const text = [
      'apiVersion: projectcalico.org/v3',
      'kind: NetworkPolicy',
      'metadata: {name: np}',
      '---',
      'apiVersion: projectcalico.org/v3',
      'kind: IPPool',
      'metadata: {name: p, namespace: prod}',
    ].join('\n');
    const [policy, pool] = readManifests(text, 'ns.yaml', accept);
    expect(policy?.resource?.metadata).toMatchObject({ namespace: 'default' });
    expect(pool?.problems).toEqual([
      { path: 'metadata.namespace', value: 'prod', reason: 'IPPool is cluster-wide and takes no namespace' },
    ]);
  });

  it('labels must be strings', () => {
    const text = 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n\n  labels: {rr: true}\n';
    expect(readManifests(text, 'l.yaml', accept)[0]?.problems).toEqual([
      { path: 'metadata.labels.rr', value: true, reason: 'must be a string (quote it)' },
    ]);
  });

  it('a syntax error is a problem of its document with the line', () => {
    const text = 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: x\n';
    const [document] = readManifests(text, 'bad.yaml', accept);
    expect(document?.resource).toBeUndefined();
    expect(document?.problems[0]?.reason).toMatch(/^line \d+: /);
  });

  it("the kind validator's problems are reported and its defaults kept", () => {
    const validator: KindValidator = (resource) => {
      const spec = resource.spec as Record<string, unknown>;
      const problems: ValidationProblem[] =
        spec.cidr === '10.0.0.0/33'
          ? [{ path: 'spec.cidr', value: spec.cidr, reason: 'prefix length 33 > 32' }]
          : [];
      return problems.length > 0
        ? { problems }
        : { resource: { ...resource, spec: { blockSize: 26, ...spec } }, problems };
    };
    const text = [
      'apiVersion: projectcalico.org/v3',
      'kind: IPPool',
      'metadata: {name: good}',
      'spec: {cidr: 10.0.0.0/16}',
      '---',
      'apiVersion: projectcalico.org/v3',
      'kind: IPPool',
      'metadata: {name: bad}',
      'spec: {cidr: 10.0.0.0/33}',
    ].join('\n');
    const documents = readManifests(text, 'pools.yaml', validator);
    expect(documents[0]?.resource?.spec).toEqual({ blockSize: 26, cidr: '10.0.0.0/16' });
    expect(invalidDocumentsReport(documents)).toBe(
      'error: 1 of 2 document(s) invalid; nothing was written\n' +
        'pools.yaml document 2 (line 6) IPPool bad:\n' +
        '  spec.cidr: "10.0.0.0/33": prefix length 33 > 32\n',
    );
  });
});

describe('apiVersion', () => {
  it("accepts Calico's projectcalico.org/v3 and Caracal's caracal.io/v1, nothing else", () => {
    const doc = (apiVersion: string) => `apiVersion: ${apiVersion}\nkind: Profile\nmetadata: {name: p}\n`;
    expect(readManifests(doc('projectcalico.org/v3'), 'a.yaml', accept)[0]?.problems).toEqual([]);
    expect(readManifests(doc('caracal.io/v1'), 'a.yaml', accept)[0]?.problems).toEqual([]);
    expect(readManifests(doc('crd.projectcalico.org/v1'), 'a.yaml', accept)[0]?.problems).toEqual([
      {
        path: 'apiVersion',
        value: 'crd.projectcalico.org/v1',
        reason: 'must be "projectcalico.org/v3" or "caracal.io/v1"',
      },
    ]);
  });
});
