// apply / create / replace / delete from manifest files. Every document of every file is parsed and
// validated before anything is written: one invalid document means a full report and no write at all.
// Then one result line per resource, in file order (`ippool/default-pool created`), and exit 1 if any
// of them failed.

import type { ManifestDocument, ResourceModel, ResourceStore } from '../backend.js';
import { StoreConflict } from '../backend.js';
import { CommandFailure, errorMessage } from '../errors.js';
import type { PlainResource } from '../format/resource-table.js';
import { kindInfoFor } from '../kinds.js';

export type ManifestAction = 'apply' | 'create' | 'replace' | 'delete';

export interface ManifestText {
  readonly source: string;
  readonly text: string;
}

export interface ActionFlags {
  /** create: an existing resource is reported as skipped instead of failing. */
  readonly skipExists?: boolean;
  /** delete: a missing resource is reported as skipped instead of failing. */
  readonly skipNotExists?: boolean;
}

export interface ResultLine {
  readonly text: string;
  readonly failed: boolean;
}

function metadataOf(resource: PlainResource): Record<string, unknown> {
  const metadata = resource.metadata;
  return metadata !== null && typeof metadata === 'object' ? (metadata as Record<string, unknown>) : {};
}

function stringField(object: Record<string, unknown>, key: string): string | undefined {
  const value = object[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `ippool/default-pool`, or `networkpolicy/prod/allow-web` for namespaced kinds. */
export function resourceLabel(resource: PlainResource): string {
  const kind = typeof resource.kind === 'string' ? resource.kind : 'unknown';
  const lower = kindInfoFor(kind)?.lowerName ?? kind.toLowerCase();
  const metadata = metadataOf(resource);
  const name = stringField(metadata, 'name') ?? '<no name>';
  const namespace = stringField(metadata, 'namespace');
  return namespace === undefined ? `${lower}/${name}` : `${lower}/${namespace}/${name}`;
}

function keyOf(resource: PlainResource): { kind: string; name: string; namespace?: string } {
  const metadata = metadataOf(resource);
  const namespace = stringField(metadata, 'namespace');
  return {
    kind: String(resource.kind),
    name: stringField(metadata, 'name') ?? '',
    ...(namespace === undefined ? {} : { namespace }),
  };
}

/** Renders one validation problem: `spec.cidr: "10.0.0.0/33": prefix length must be 0-32`. */
export function describeProblem(problem: { path: string; value: unknown; reason: string }): string {
  const value = problem.value === undefined ? '(missing)' : JSON.stringify(problem.value);
  return `${problem.path === '' ? '(document)' : problem.path}: ${value}: ${problem.reason}`;
}

/** The report printed when any document is invalid. */
export function invalidDocumentsReport(documents: readonly ManifestDocument[]): string {
  const invalid = documents.filter((document) => document.problems.length > 0);
  const lines = [`error: ${invalid.length} of ${documents.length} document(s) invalid; nothing was written`];
  for (const document of invalid) {
    const what = [document.kind, document.name].filter((part) => part !== undefined).join(' ');
    const where = document.line === undefined ? '' : ` (line ${document.line})`;
    lines.push(`${document.source} document ${document.index}${where}${what === '' ? '' : ` ${what}`}:`);
    for (const problem of document.problems) lines.push(`  ${describeProblem(problem)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The parts of a resource an operator sets; `unchanged` when these are equal. */
function desiredState(resource: PlainResource): unknown {
  const metadata = metadataOf(resource);
  return canonical({
    labels: metadata.labels ?? {},
    annotations: metadata.annotations ?? {},
    spec: resource.spec ?? {},
  });
}

/** Sorts object keys recursively so equal content compares equal as JSON. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, entry]) => entry !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, entry]) => [key, canonical(entry)]),
    );
  }
  return value;
}

export function sameDesiredState(a: PlainResource, b: PlainResource): boolean {
  return JSON.stringify(desiredState(a)) === JSON.stringify(desiredState(b));
}

/** Parses and validates every document of every text; throws (after printing the report) if any is invalid. */
export function validateAll(
  model: ResourceModel,
  texts: readonly ManifestText[],
  writeErr: (text: string) => void,
): PlainResource[] {
  const documents = texts.flatMap((entry) => model.parseManifests(entry.text, entry.source));
  if (documents.length === 0) {
    throw new CommandFailure(`no resources found in ${texts.map((entry) => entry.source).join(', ')}`);
  }
  if (documents.some((document) => document.problems.length > 0 || document.resource === undefined)) {
    writeErr(invalidDocumentsReport(documents));
    throw new CommandFailure('invalid documents', { alreadyReported: true });
  }
  return documents.map((document) => document.resource as PlainResource);
}

async function applyOne(
  store: ResourceStore,
  action: ManifestAction,
  resource: PlainResource,
  flags: ActionFlags,
): Promise<string> {
  const key = keyOf(resource);
  const givenVersion = stringField(metadataOf(resource), 'resourceVersion');
  switch (action) {
    case 'create':
      try {
        await store.create(resource);
        return 'created';
      } catch (error) {
        if (error instanceof StoreConflict && error.reason === 'exists' && flags.skipExists === true) {
          return 'skipped (already exists)';
        }
        throw error;
      }
    case 'replace':
      await store.update(resource);
      return 'replaced';
    case 'delete':
      try {
        await store.delete(key);
        return 'deleted';
      } catch (error) {
        if (error instanceof StoreConflict && error.reason === 'not-found' && flags.skipNotExists === true) {
          return 'skipped (does not exist)';
        }
        throw error;
      }
    case 'apply': {
      const existing = await store.get(key);
      if (existing === undefined) {
        try {
          await store.create(resource);
          return 'created';
        } catch (error) {
          // Created by someone else in between: fall through to an update below.
          if (!(error instanceof StoreConflict && error.reason === 'exists')) throw error;
        }
      }
      const current = existing ?? (await store.get(key));
      if (current === undefined) throw new StoreConflict('deleted while being applied', 'not-found');
      if (sameDesiredState(current, resource)) return 'unchanged';
      const currentVersion = stringField(metadataOf(current), 'resourceVersion');
      const version = givenVersion ?? currentVersion;
      const metadata = {
        ...metadataOf(resource),
        ...(version === undefined ? {} : { resourceVersion: version }),
      };
      await store.update({ ...resource, metadata });
      return 'configured';
    }
  }
}

/** Runs the action for every resource in order and returns one result line each. */
export async function runManifestAction(
  store: ResourceStore,
  action: ManifestAction,
  resources: readonly PlainResource[],
  flags: ActionFlags = {},
): Promise<ResultLine[]> {
  const results: ResultLine[] = [];
  for (const resource of resources) {
    const label = resourceLabel(resource);
    try {
      const outcome = await applyOne(store, action, resource, flags);
      results.push({ text: `${label} ${outcome}`, failed: false });
    } catch (error) {
      results.push({ text: `${label} failed: ${describeStoreError(error, action)}`, failed: true });
    }
  }
  return results;
}

function describeStoreError(error: unknown, action: ManifestAction): string {
  if (error instanceof StoreConflict) {
    switch (error.reason) {
      case 'exists':
        return 'already exists (use apply or replace to change it)';
      case 'not-found':
        return action === 'replace' ? 'does not exist (use create or apply)' : 'does not exist';
      case 'version-mismatch':
        return `resourceVersion conflict: ${error.message} (get it again and retry)`;
      case 'invalid':
        return `refused by the datastore: ${error.message}`;
    }
  }
  return errorMessage(error);
}
