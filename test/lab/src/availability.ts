// Whether lab tests can run here: root, Linux, iproute2, and a network namespace that can actually
// be created and deleted. Checked once, synchronously (test collection needs the answer up front).
import { runSync } from './kernel.js';
import { namespaceName, newRunId } from './naming.js';

export interface LabAvailability {
  available: boolean;
  /** Why not, in one line (undefined when available). */
  reason?: string;
}

let cached: LabAvailability | undefined;

/** Whether namespaces can be built here; cached after the first call. */
export function labAvailable(): LabAvailability {
  cached ??= probe();
  return cached;
}

function probe(): LabAvailability {
  if (process.platform !== 'linux')
    return { available: false, reason: `network namespaces need Linux, this is ${process.platform}` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { available: false, reason: `not root (uid ${process.getuid()}); run the lab tests as root` };
  }
  const ns = namespaceName(newRunId(), 'probe');
  const add = runSync(['ip', 'netns', 'add', ns]);
  if (add.code !== 0) {
    const why =
      add.code === null && add.stdout === '' && add.stderr === ''
        ? 'iproute2 `ip` not found'
        : add.stderr.trim();
    return { available: false, reason: `cannot create a network namespace: ${why}` };
  }
  runSync(['ip', 'netns', 'del', ns]);
  return { available: true };
}
