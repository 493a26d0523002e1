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
