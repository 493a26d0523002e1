// Splits manifest text into documents and checks the envelope of each: YAML (multi-document, `---`) or
// JSON (one object, an array, or a `List`/`<Kind>List` with `items`); every document gets its file, its
// 1-based position and its first line, so an error can say exactly where it is. The envelope checks are
// the CLI's (apiVersion, a known kind, metadata.name/namespace, spec an object); the kind-specific
// validation and defaults come from the resource model through `validateKind`.

import { type Document, isMap, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { ManifestDocument, ValidationProblem } from './backend.js';
import type { PlainResource } from './format/resource-table.js';
import { findKind, knownKinds, suggestKind } from './kinds.js';

export const calicoApiVersion = 'projectcalico.org/v3';
/** Caracal's own apiVersion (the model's stored form); Calico's is accepted unchanged beside it. */
export const caracalApiVersion = 'caracal.io/v1';
const acceptedApiVersions: readonly unknown[] = [calicoApiVersion, caracalApiVersion];

/** Kind-specific validation: the defaulted resource, or the problems (paths relative to the resource). */
export type KindValidator = (resource: PlainResource) => {
  resource?: PlainResource;
  problems: readonly ValidationProblem[];
};

/** Names and namespaces: lower-case DNS-1123 subdomain, as Calico requires. */
const nameSyntax = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Checks the envelope (apiVersion, kind, metadata, spec) of one resource and normalises it. */
export function checkEnvelope(value: unknown): { resource?: PlainResource; problems: ValidationProblem[] } {
  const problems: ValidationProblem[] = [];
  if (!isPlainObject(value)) {
    return {
      problems: [{ path: '', value, reason: 'a resource must be a mapping with apiVersion, kind, metadata' }],
    };
  }
  if (!acceptedApiVersions.includes(value.apiVersion)) {
    problems.push({
      path: 'apiVersion',
      value: value.apiVersion,
      reason: `must be "${calicoApiVersion}" or "${caracalApiVersion}"`,
    });
  }
  const typedKind = value.kind;
  const info =
    typeof typedKind === 'string' ? knownKinds.find((candidate) => candidate.kind === typedKind) : undefined;
  if (info === undefined) {
    const caseInsensitive = typeof typedKind === 'string' ? findKind(typedKind) : undefined;
    const suggestion =
      typeof typedKind === 'string' ? (caseInsensitive ?? suggestKind(typedKind)) : undefined;
    problems.push({
      path: 'kind',
      value: typedKind,
      reason:
        suggestion === undefined
          ? `unknown kind; known kinds: ${knownKinds.map((candidate) => candidate.kind).join(', ')}`
          : `unknown kind; did you mean "${suggestion.kind}"?`,
    });
  }
  const metadata = value.metadata;
  if (!isPlainObject(metadata)) {
    problems.push({ path: 'metadata', value: metadata, reason: 'must be a mapping with at least a name' });
  } else {
    const name = metadata.name;
    if (typeof name !== 'string' || name === '') {
      problems.push({ path: 'metadata.name', value: name, reason: 'is required (a non-empty string)' });
    } else if (name.length > 253 || !nameSyntax.test(name)) {
      problems.push({
        path: 'metadata.name',
        value: name,
        reason: 'must be lower-case letters, digits, "-" and "." (start and end alphanumeric, at most 253)',
      });
    }
    if (metadata.namespace !== undefined) {
      if (info !== undefined && !info.namespaced) {
        problems.push({
          path: 'metadata.namespace',
          value: metadata.namespace,
          reason: `${info.kind} is cluster-wide and takes no namespace`,
        });
      } else if (typeof metadata.namespace !== 'string' || !nameSyntax.test(metadata.namespace)) {
        problems.push({
          path: 'metadata.namespace',
          value: metadata.namespace,
          reason: 'is not a valid namespace name',
        });
      }
    }
    for (const field of ['labels', 'annotations'] as const) {
      const map = metadata[field];
      if (map === undefined) continue;
      if (!isPlainObject(map)) {
        problems.push({ path: `metadata.${field}`, value: map, reason: 'must be a mapping of strings' });
        continue;
      }
      for (const [key, entry] of Object.entries(map)) {
        if (typeof entry !== 'string') {
          problems.push({
            path: `metadata.${field}.${key}`,
            value: entry,
            reason: 'must be a string (quote it)',
          });
        }
      }
    }
  }
  if (value.spec !== undefined && !isPlainObject(value.spec)) {
    problems.push({ path: 'spec', value: value.spec, reason: 'must be a mapping' });
  }
  if (problems.length > 0) return { problems };
  const resource: PlainResource = { ...value, metadata: { ...(metadata as Record<string, unknown>) } };
  if (info?.namespaced === true && (resource.metadata as Record<string, unknown>).namespace === undefined) {
    (resource.metadata as Record<string, unknown>).namespace = 'default';
  }
  if (resource.spec === undefined) resource.spec = {};
  return { resource, problems };
}

function prefixed(problems: readonly ValidationProblem[], prefix: string): ValidationProblem[] {
  if (prefix === '') return [...problems];
  return problems.map((problem) => ({
    ...problem,
    path: problem.path === '' ? prefix.replace(/\.$/, '') : `${prefix}${problem.path}`,
  }));
}

function describedBy(value: unknown): { kind?: string; name?: string } {
  if (!isPlainObject(value)) return {};
  const metadata = isPlainObject(value.metadata) ? value.metadata : {};
  return {
    ...(typeof value.kind === 'string' ? { kind: value.kind } : {}),
    ...(typeof metadata.name === 'string' ? { name: metadata.name } : {}),
  };
}

function checkOne(
  value: unknown,
  source: string,
  index: number,
  line: number,
  pathPrefix: string,
  validateKind: KindValidator,
): ManifestDocument {
  const envelope = checkEnvelope(value);
  const base = { source, index, line, ...describedBy(value) };
  if (envelope.resource === undefined) return { ...base, problems: prefixed(envelope.problems, pathPrefix) };
  const checked = validateKind(envelope.resource);
  if (checked.problems.length > 0 || checked.resource === undefined) {
    return { ...base, problems: prefixed(checked.problems, pathPrefix) };
  }
  return { ...base, resource: checked.resource, problems: [] };
}

/** Every document of a manifest text, checked. Syntax errors become problems of their document. */
export function readManifests(text: string, source: string, validateKind: KindValidator): ManifestDocument[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const list: Document.Parsed[] = Array.isArray(documents) ? documents : [];
  const results: ManifestDocument[] = [];
  list.forEach((document, position) => {
    const index = position + 1;
    const start = document.range[0];
    const line = lineCounter.linePos(start).line;
    if (document.errors.length > 0) {
      const errorLine = (pos: readonly [number, number]): number => lineCounter.linePos(pos[0]).line;
      results.push({
        source,
        index,
        line: errorLine(document.errors[0]?.pos ?? [start, start]),
        problems: document.errors.map((error) => ({
          path: '',
          value: undefined,
          reason: `line ${errorLine(error.pos)}: ${error.message.split('\n')[0]}`,
        })),
      });
      return;
    }
    const contents = document.contents;
    const value: unknown = document.toJS();
    // An empty document (between two `---`, or after a trailing one) holds no resource.
    if (contents === null || value === null || value === undefined) return;
    const contentLine = contents.range === undefined ? line : lineCounter.linePos(contents.range[0]).line;
    if (isSeq(contents) && Array.isArray(value)) {
      value.forEach((item, itemIndex) => {
        results.push(checkOne(item, source, index, contentLine, `[${itemIndex}].`, validateKind));
      });
      return;
    }
    if (
      isMap(contents) &&
      isPlainObject(value) &&
      typeof value.kind === 'string' &&
      /List$/.test(value.kind)
    ) {
      const items = value.items;
      if (!Array.isArray(items)) {
        results.push({
          source,
          index,
          line: contentLine,
          kind: value.kind,
          problems: [{ path: 'items', value: items, reason: `a ${value.kind} needs an items list` }],
        });
        return;
      }
      items.forEach((item, itemIndex) => {
        results.push(checkOne(item, source, index, contentLine, `items[${itemIndex}].`, validateKind));
      });
      return;
    }
    results.push(checkOne(value, source, index, contentLine, '', validateKind));
  });
  return results;
}
