// The node name a plugin acts for: config `nodename`, else NODENAME, else /run/caracal/nodename, else the
// hostname. Kept apart from datastore-access.ts (which re-exports it) so the executables can resolve it
// without loading the datastore and IPAM packages.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { NetworkConfig } from './spec.js';

export const NODENAME_FILE = '/run/caracal/nodename';

export function nodeNameFor(
  config: NetworkConfig,
  env: NodeJS.ProcessEnv,
  nodenameFile: string = NODENAME_FILE,
): string {
  if (config.nodename) return config.nodename;
  if (env.NODENAME) return env.NODENAME;
  try {
    const fromFile = readFileSync(nodenameFile, 'utf8').trim();
    if (fromFile !== '') return fromFile;
  } catch {
    // No file: fall through to the hostname.
  }
  return hostname();
}
