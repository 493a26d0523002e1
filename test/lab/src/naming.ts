// Names of everything a lab creates. Every kernel object carries the run id (`crl` + 4 base36
// characters), so a crashed run's leftovers can be recognised by name, and interface names stay
// within the kernel's 15-character limit (IFNAMSIZ - 1).
import { createHash, randomInt } from 'node:crypto';

/** Kernel limit on interface names (IFNAMSIZ is 16 including the terminating NUL). */
export const MAX_INTERFACE_NAME_LENGTH = 15;

/** Every run id starts with this; it is what `cleanup` looks for. */
export const RUN_ID_PREFIX = 'crl';

/** A run id: `crl` followed by exactly four lowercase base36 characters. */
export const RUN_ID_PATTERN = /^crl[0-9a-z]{4}$/;

/** A namespace made by some run: `<runId>-<node>`. */
export const LAB_NAMESPACE_PATTERN = /^(crl[0-9a-z]{4})-([a-z0-9][a-z0-9-]*)$/;

/** A root-namespace interface made by some run: `<runId><suffix>` (suffix: letter then digits). */
export const LAB_ROOT_LINK_PATTERN = /^(crl[0-9a-z]{4})[a-z][0-9]+$/;

/** The name every lab gives its fabric namespace (the one holding the segment bridges). */
export const FABRIC_NODE_NAME = 'fabric';

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A fresh random run id such as `crl7x2a`. */
export function newRunId(): string {
  let suffix = '';
  for (let i = 0; i < 4; i++) suffix += BASE36[randomInt(36)];
  return `${RUN_ID_PREFIX}${suffix}`;
}

/** The network namespace of node (host, router, pod or fabric) `node` in run `runId`. */
export function namespaceName(runId: string, node: string): string {
  return `${runId}-${node}`;
}

/** The run id encoded in a lab namespace name, or undefined when the name is not ours. */
export function runIdOfNamespace(name: string): string | undefined {
  return LAB_NAMESPACE_PATTERN.exec(name)?.[1];
}

/** The run id encoded in a root-namespace interface name, or undefined when the name is not ours. */
export function runIdOfRootLink(name: string): string | undefined {
  return LAB_ROOT_LINK_PATTERN.exec(name)?.[1];
}

/** A root-namespace interface of run `runId`: `<runId>` + one letter `kind` + a number. */
export function rootLinkName(runId: string, kind: string, index: number): string {
  return checkedInterfaceName(`${runId}${kind}${index}`);
}

/** The bridge of the `index`-th segment inside the fabric namespace. */
export function bridgeName(index: number): string {
  return checkedInterfaceName(`br${index}`);
}

/** The fabric-side end of the `index`-th attachment to a segment bridge. */
export function fabricPortName(index: number): string {
  return checkedInterfaceName(`p${index}`);
}

/**
 * The host-side interface of a pod, Calico style: `cali` + 11 hex characters of a hash of the pod
 * name, so it is stable for a pod and always 15 characters.
 */
export function podHostInterfaceName(podName: string): string {
  const digest = createHash('sha1').update(podName).digest('hex');
  return `cali${digest.slice(0, MAX_INTERFACE_NAME_LENGTH - 4)}`;
}

/** Why `name` cannot be an interface name, or undefined when it can. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_INTERFACE_NAME_LENGTH) {
    return `is ${name.length} characters long; interface names are limited to ${MAX_INTERFACE_NAME_LENGTH}`;
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    return 'may only contain letters, digits, ".", "_" and "-", and must start with a letter or digit';
  }
  if (name === 'lo') return 'is the loopback interface, which every namespace already has';
  return undefined;
}

function checkedInterfaceName(name: string): string {
  const problem = interfaceNameProblem(name);
  if (problem) throw new Error(`interface name '${name}' ${problem}`);
  return name;
}
