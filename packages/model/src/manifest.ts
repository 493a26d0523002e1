// Manifest reading: multi-document YAML or JSON text (a single object, a JSON array, a `kind: List`, or
// `---`-separated YAML) into per-document validation results with document index and line numbers.

import { isMap, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import type { ManifestDocument, ValidationProblem } from './types.js';
import { validateResource } from './validate.js';

function lineOf(node: Node | null | undefined, lines: LineCounter): number | undefined {
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/** Parses and validates every document of `text`; `sourceName` (file name or `<stdin>`) is copied into each result. */
export function parseManifests(text: string, sourceName: string): ManifestDocument[] {
  const lines = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const results: ManifestDocument[] = [];
  const list = Array.isArray(documents) ? documents : [];
  if (!Array.isArray(documents)) {
    // An empty stream: parseAllDocuments returns an EmptyStream.
    return results;
  }
  for (const document of list) {
    if (document.errors.length > 0) {
      const problems: ValidationProblem[] = document.errors.map((error) => {
        const position = error.linePos?.[0];
        const where = position === undefined ? '' : ` at line ${position.line}, column ${position.col}`;
        return {
          path: '',
          value: undefined,
          reason: `YAML syntax error${where}: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
        };
      });
      const line = document.errors[0]?.linePos?.[0]?.line ?? lineOf(document.contents, lines);
      results.push({
        source: sourceName,
        index: results.length + 1,
        ...(line === undefined ? {} : { line }),
        problems,
      });
      continue;
    }
    const contents = document.contents;
    if (contents === null) continue; // an empty document between separators
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const items: { value: unknown; line: number | undefined }[] = [];
    if (isSeq(contents) && Array.isArray(value)) {
      value.forEach((item, i) => {
        items.push({ value: item, line: lineOf(contents.items[i] as Node | undefined, lines) });
      });
    } else if (
      isMap(contents) &&
      typeof value === 'object' &&
      (value as { kind?: unknown }).kind === 'List'
    ) {
      const listItems = (value as { items?: unknown }).items;
      const itemsNode = contents.get('items', true);
      if (!Array.isArray(listItems)) {
        results.push({
          source: sourceName,
          index: results.length + 1,
          ...lineField(lineOf(contents, lines)),
          problems: [{ path: 'items', value: listItems, reason: 'a List must have an items list' }],
        });
        continue;
      }
      listItems.forEach((item, i) => {
        items.push({
          value: item,
          line: isSeq(itemsNode) ? lineOf(itemsNode.items[i] as Node | undefined, lines) : undefined,
        });
      });
    } else {
      items.push({ value, line: lineOf(contents, lines) });
    }
    for (const item of items) {
      const result = validateResource(item.value);
      const raw = (typeof item.value === 'object' && item.value !== null ? item.value : {}) as {
        kind?: unknown;
        metadata?: { name?: unknown };
      };
      results.push({
        source: sourceName,
        index: results.length + 1,
        ...lineField(item.line),
        ...(typeof raw.kind === 'string' ? { kind: raw.kind } : {}),
        ...(typeof raw.metadata?.name === 'string' ? { name: raw.metadata.name } : {}),
        ...(result.resource === undefined ? {} : { resource: result.resource }),
        problems: result.problems,
      });
    }
  }
  return results;
}

function lineField(line: number | undefined): { line?: number } {
  return line === undefined ? {} : { line };
}
