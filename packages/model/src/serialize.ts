// Stable serialisation of resources: fixed key order for the envelope and metadata, so the same resource
// always prints the same YAML/JSON (what `get -o yaml` shows and what the datastore stores).

import { stringify } from 'yaml';
import type { CaracalResource } from './types.js';

const METADATA_ORDER = [
  'name',
  'namespace',
  'labels',
  'annotations',
  'resourceVersion',
  'uid',
  'creationTimestamp',
] as const;

/** A plain copy with keys ordered apiVersion, kind, metadata (fixed order), spec (as validated). */
export function canonicalObject(resource: CaracalResource): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const field of METADATA_ORDER) {
    const value = resource.metadata[field];
    if (value !== undefined) metadata[field] = value;
  }
  return { apiVersion: resource.apiVersion, kind: resource.kind, metadata, spec: resource.spec };
}

/** Pretty JSON (2-space indent) with a trailing newline. */
export function toJson(resource: CaracalResource): string {
  return `${JSON.stringify(canonicalObject(resource), null, 2)}\n`;
}

/** YAML document text (no leading `---`). */
export function toYaml(resource: CaracalResource): string {
  return stringify(canonicalObject(resource), { lineWidth: 0 });
}
