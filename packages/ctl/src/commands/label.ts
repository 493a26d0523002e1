// `caracalctl label KIND NAME key=value ... [--overwrite] [--remove key]`: changes metadata.labels of
// one resource with a compare-and-swap update (the resourceVersion read is the one written against).

import type { ResourceModel, ResourceStore } from '../backend.js';
import { CommandFailure, UsageError } from '../errors.js';
import type { PlainResource } from '../format/resource-table.js';
import type { KindInfo } from '../kinds.js';
import { describeProblem, resourceLabel } from './manifest-actions.js';

export interface LabelRequest {
  readonly kind: KindInfo;
  readonly name: string;
  readonly namespace?: string;
  readonly assignments: readonly string[];
  readonly removals: readonly string[];
  readonly overwrite: boolean;
}

/** Parses `key=value` arguments; a missing `=` or empty key is a usage error naming the argument. */
export function parseLabelAssignments(assignments: readonly string[]): Map<string, string> {
  const labels = new Map<string, string>();
  for (const assignment of assignments) {
    const equals = assignment.indexOf('=');
    if (equals <= 0) {
      throw new UsageError(
        `label "${assignment}" must be written key=value (to remove a label use --remove key)`,
      );
    }
    const key = assignment.slice(0, equals);
    if (labels.has(key)) throw new UsageError(`label key "${key}" is given twice`);
    labels.set(key, assignment.slice(equals + 1));
  }
  return labels;
}

/** Checks the label arguments before anything is read: usage errors come first. */
export function checkLabelRequest(
  request: Pick<LabelRequest, 'assignments' | 'removals'>,
): Map<string, string> {
  const assignments = parseLabelAssignments(request.assignments);
  if (assignments.size === 0 && request.removals.length === 0) {
    throw new UsageError('nothing to do: give at least one key=value or --remove key');
  }
  for (const key of request.removals) {
    if (assignments.has(key)) throw new UsageError(`label key "${key}" is both set and removed`);
  }
  return assignments;
}

export async function runLabel(
  store: ResourceStore,
  model: ResourceModel,
  request: LabelRequest,
): Promise<string> {
  const assignments = checkLabelRequest(request);
  const key = {
    kind: request.kind.kind,
    name: request.name,
    ...(request.namespace === undefined ? {} : { namespace: request.namespace }),
  };
  const current = await store.get(key);
  if (current === undefined)
    throw new CommandFailure(`${request.kind.lowerName} "${request.name}" not found`);
  const metadata = { ...((current.metadata ?? {}) as Record<string, unknown>) };
  const labels = { ...((metadata.labels ?? {}) as Record<string, string>) };
  for (const [labelKey, value] of assignments) {
    const existing = labels[labelKey];
    if (existing !== undefined && existing !== value && !request.overwrite) {
      throw new CommandFailure(
        `${resourceLabel(current)} already has label ${labelKey}=${existing}; use --overwrite to set ${labelKey}=${value}`,
      );
    }
    labels[labelKey] = value;
  }
  for (const labelKey of request.removals) {
    if (!(labelKey in labels)) {
      throw new CommandFailure(`${resourceLabel(current)} has no label "${labelKey}" to remove`);
    }
    delete labels[labelKey];
  }
  metadata.labels = labels;
  const updated: PlainResource = { ...current, metadata };
  const checked = model.check(updated);
  if (checked.problems.length > 0) {
    throw new CommandFailure(
      `invalid labels for ${resourceLabel(current)}:\n${checked.problems.map((p) => `  ${describeProblem(p)}`).join('\n')}`,
    );
  }
  await store.update(updated);
  return `${resourceLabel(current)} labeled\n`;
}
