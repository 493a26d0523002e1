// Serialisation: fixed key order, metadata kept, and the stored form is a fixed point of validation.
import { describe, expect, it } from 'vitest';
import {
  type CaracalResource,
  parseManifests,
  toJson,
  toYaml,
  validateOrThrow,
  validateResource,
} from '../src/index.js';

const policy = validateOrThrow({
  spec: {
    ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['8000:8080', 'http'] } }],
    selector: "app == 'web'",
  },
  metadata: {
    creationTimestamp: '2026-11-21T00:00:00Z',
    uid: 'u-7',
    resourceVersion: '12',
    labels: { team: 'net' },
    namespace: 'prod',
    name: 'web',
  },
  kind: 'NetworkPolicy',
  apiVersion: 'projectcalico.org/v3',
});

describe('toJson / toYaml', () => {
  it('orders envelope and metadata keys and keeps server metadata', () => {
    const json = JSON.parse(toJson(policy)) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(Object.keys(json.metadata as object)).toEqual([
      'name',
      'namespace',
      'labels',
      'resourceVersion',
      'uid',
      'creationTimestamp',
    ]);
    expect(json.apiVersion).toBe('caracal.io/v1');
    expect(toJson(policy).endsWith('}\n')).toBe(true);
  });

  it('YAML output parses back to the same stored resource', () => {
    const [document] = parseManifests(toYaml(policy), 'out.yaml');
    expect(document?.problems).toEqual([]);
    expect(document?.resource).toEqual(policy);
  });

  it('the defaulted form is a fixed point of validation', () => {
    const samples: unknown[] = [
      { apiVersion: 'caracal.io/v1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: 'fd00::1/64' } },
      { apiVersion: 'caracal.io/v1', kind: 'FelixConfiguration', metadata: { name: 'default' } },
      { apiVersion: 'caracal.io/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: {} },
      {
        apiVersion: 'caracal.io/v1',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'g' },
        spec: { egress: [{ action: 'Deny' }] },
      },
      policy,
    ];
    for (const sample of samples) {
      const once = validateOrThrow(sample);
      expect(validateResource(once as CaracalResource)).toEqual({ resource: once, problems: [] });
    }
  });
});
