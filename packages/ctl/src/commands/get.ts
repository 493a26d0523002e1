// `caracalctl get KIND [NAME]`: reads resources and prints them as a table (`-o table`, the default),
// a wide table, YAML or JSON. One named resource prints as itself; several print as a `<Kind>List`
// with `items`, as calicoctl does. YAML and JSON show the stored resource with defaults applied.

import { stringify as toYamlText } from 'yaml';
import type { ResourceModel, ResourceStore } from '../backend.js';
import { CommandFailure } from '../errors.js';
import { type PlainResource, resourceTable } from '../format/resource-table.js';
import { renderTable } from '../format/table.js';
import type { KindInfo } from '../kinds.js';

export const outputFormats = ['table', 'wide', 'yaml', 'json'] as const;
export type OutputFormat = (typeof outputFormats)[number];

export interface GetRequest {
  readonly kind: KindInfo;
  readonly name?: string;
  /** Namespace for namespaced kinds; undefined with allNamespaces. */
  readonly namespace?: string;
  readonly allNamespaces: boolean;
  readonly output: OutputFormat;
}

export function formatResources(
  kind: KindInfo,
  resources: readonly PlainResource[],
  output: OutputFormat,
  single: boolean,
  withNamespace: boolean,
): string {
  switch (output) {
    case 'table':
    case 'wide':
      return renderTable(resourceTable(kind.kind, resources, output, withNamespace));
    case 'yaml':
    case 'json': {
      const document = single
        ? resources[0]
        : { apiVersion: 'projectcalico.org/v3', kind: `${kind.kind}List`, items: resources };
      return output === 'json' ? `${JSON.stringify(document, null, 2)}\n` : toYamlText(document);
    }
  }
}

export async function runGet(
  store: ResourceStore,
  model: ResourceModel,
  request: GetRequest,
): Promise<string> {
  const namespace = request.kind.namespaced && !request.allNamespaces ? request.namespace : undefined;
  const withDefaults = (resource: PlainResource): PlainResource => model.check(resource).resource ?? resource;
  if (request.name !== undefined) {
    const found = await store.get({
      kind: request.kind.kind,
      name: request.name,
      ...(namespace === undefined ? {} : { namespace }),
    });
    if (found === undefined) {
      const where = namespace === undefined ? '' : ` in namespace "${namespace}"`;
      throw new CommandFailure(`${request.kind.lowerName} "${request.name}" not found${where}`);
    }
    return formatResources(request.kind, [withDefaults(found)], request.output, true, request.allNamespaces);
  }
  const listed = await store.list(request.kind.kind, namespace);
  const sorted = [...listed].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  return formatResources(
    request.kind,
    sorted.map(withDefaults),
    request.output,
    false,
    request.allNamespaces,
  );
}

function sortKey(resource: PlainResource): string {
  const metadata = (resource.metadata ?? {}) as Record<string, unknown>;
  return `${String(metadata.namespace ?? '')}/${String(metadata.name ?? '')}`;
}
