// Test helper: what exists on this machine for one run id (namespaces, root links, processes inside
// those namespaces), so lab tests compare before/after without seeing other engineers' concurrent runs.
import { listNamespaces, listRootLinks, namespacePids, systemRunner } from '../src/kernel.js';
import { runIdOfNamespace, runIdOfRootLink } from '../src/naming.js';

export interface RunSnapshot {
  namespaces: string[];
  rootLinks: string[];
  processes: number[];
}

export async function snapshotRun(runId: string): Promise<RunSnapshot> {
  const namespaces = (await listNamespaces(systemRunner))
    .filter((ns) => runIdOfNamespace(ns) === runId)
    .sort();
  const rootLinks = (await listRootLinks(systemRunner)).filter((l) => runIdOfRootLink(l) === runId).sort();
  const processes: number[] = [];
  for (const ns of namespaces) processes.push(...(await namespacePids(systemRunner, ns)));
  return { namespaces, rootLinks, processes: processes.sort((a, b) => a - b) };
}

export const EMPTY_SNAPSHOT: RunSnapshot = { namespaces: [], rootLinks: [], processes: [] };
