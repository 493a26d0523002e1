// Manifest parsing: multi-document YAML, JSON arrays, Lists, syntax errors with line/column.
import { describe, expect, it } from 'vitest';
import { parseManifests, toYaml } from '../src/index.js';

describe('parseManifests', () => {
  it('reads ---separated YAML with line numbers and defaults', () => {
    const text = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
spec:
  cidr: 10.1.0.0/16
---
apiVersion: caracal.io/v1
kind: IPPool
metadata:
  name: pool-b
spec:
  cidr: 10.2.0.0/16
  ipipMode: Always
  vxlanMode: Always
`;
    const docs = parseManifests(text, 'pools.yaml');
    expect(docs).toHaveLength(2);
    expect(docs[0]?.line).toBe(1);
    expect(docs[0]?.resource?.apiVersion).toBe('caracal.io/v1');
    expect(docs[0]?.resource?.spec).toMatchObject({
      blockSize: 26,
      ipipMode: 'Never',
      nodeSelector: 'all()',
    });
    expect(docs[1]?.line).toBe(8);
    expect(docs[1]?.problems.map((p) => p.path)).toEqual(['spec.vxlanMode']);
    expect(toYaml(docs[0]?.resource as never)).toContain('blockSize: 26');
  });
});

describe('parseManifests input forms', () => {
  const pool = (name: string) => ({
    apiVersion: 'caracal.io/v1',
    kind: 'IPPool',
    metadata: { name },
    spec: { cidr: '10.0.0.0/16' },
  });

  it('reads a single JSON object, a JSON array and a List', () => {
    expect(parseManifests(JSON.stringify(pool('a')), 'a.json').map((d) => d.name)).toEqual(['a']);
    const array = parseManifests(JSON.stringify([pool('a'), pool('b')], null, 2), 'b.json');
    expect(array.map((d) => [d.index, d.name, d.line])).toEqual([
      [1, 'a', 2],
      [2, 'b', 12],
    ]);
    const list = parseManifests(
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [pool('c'), { ...pool('d'), spec: {} }] }),
      'c.json',
    );
    expect(list.map((d) => [d.name, d.problems.map((p) => p.path)])).toEqual([
      ['c', []],
      ['d', ['spec.cidr']],
    ]);
  });

  it('names the line and column of YAML syntax errors and keeps the other documents', () => {
    const text = 'apiVersion: caracal.io/v1\nkind: Profile\nmetadata:\n  name: p\n---\nkind: [unclosed\n';
    const documents = parseManifests(text, 'bad.yaml');
    expect(documents[0]?.problems).toEqual([]);
    expect(documents[1]?.index).toBe(2);
    expect(documents[1]?.line).toBeGreaterThanOrEqual(6);
    expect(documents[1]?.problems[0]?.reason).toMatch(
      /^YAML syntax error at line \d+, column \d+: Flow sequence[^:]*$/,
    );
  });

  it('skips empty documents and reports non-objects', () => {
    expect(parseManifests('', 'empty.yaml')).toEqual([]);
    const documents = parseManifests('---\n---\n42\n', 'n.yaml');
    expect(documents).toHaveLength(1);
    expect(documents[0]?.problems[0]).toMatchObject({ path: '', reason: 'must be a mapping' });
  });
});
