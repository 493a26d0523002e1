// The narrow view caracalctl has of the model, the datastore and IPAM: just the operations its commands
// need, over resources in their plain Calico v3 object form. `caracal-backend.ts` implements it on
// @caracal/model, @caracal/datastore and @caracal/ipam; commands only see this interface.

import type { PlainResource } from './format/resource-table.js';

/** One reason a manifest document is invalid. */
export interface ValidationProblem {
  /** Field path inside the document, e.g. `spec.cidr` (empty for the document as a whole). */
  readonly path: string;
  readonly value: unknown;
  readonly reason: string;
}

/** One document of a manifest file after parsing and validation. */
export interface ManifestDocument {
  /** File name (or `<stdin>`). */
  readonly source: string;
  /** 1-based position of the document in its file. */
  readonly index: number;
  /** 1-based line where the document starts (or where its first syntax error is). */
  readonly line?: number;
  readonly kind?: string;
  readonly name?: string;
  /** The resource with defaults applied, when the document is valid. */
  readonly resource?: PlainResource;
  readonly problems: readonly ValidationProblem[];
}

export interface ResourceModel {
  /** Parses every document of a YAML or JSON (multi-document) text and validates each one. */
  parseManifests(text: string, source: string): ManifestDocument[];
  /** Validates a resource in plain form; returns its defaulted form or the problems. */
  check(resource: PlainResource): { resource?: PlainResource; problems: readonly ValidationProblem[] };
}

export interface ResourceKey {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** Raised by the store for the ordinary per-resource failures, so result lines can name them. */
export class StoreConflict extends Error {
  constructor(
    message: string,
    readonly reason: 'exists' | 'not-found' | 'version-mismatch' | 'invalid',
  ) {
    super(message);
    this.name = 'StoreConflict';
  }
}

export interface ResourceStore {
  get(key: ResourceKey): Promise<PlainResource | undefined>;
  /** Every resource of a kind; `namespace` undefined means all namespaces. */
  list(kind: string, namespace?: string): Promise<PlainResource[]>;
  /** Fails with StoreConflict('exists') when it already exists. */
  create(resource: PlainResource): Promise<PlainResource>;
  /** Fails with StoreConflict('not-found'), or ('version-mismatch') when metadata.resourceVersion is stale. */
  update(resource: PlainResource): Promise<PlainResource>;
  /** Fails with StoreConflict('not-found'). */
  delete(key: ResourceKey): Promise<PlainResource>;
  close(): Promise<void>;
}
