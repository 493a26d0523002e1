// The etcd key layout of Caracal, as functions, so every package builds the same keys. README.md
// documents the layout; value formats belong to the owning package (IPAM owns the /ipam values).
import { InvalidKeyError } from './errors.js';

/** Root of every Caracal key; the version segment lets a future layout live next to this one. */
export const ROOT_PREFIX = '/caracal/v1/';
/** Namespace segment of cluster-scoped resources. */
export const CLUSTER_SCOPE = '_cluster';

/** A single key segment: non-empty, no '/', no control characters. */
function segment(value: string, what: string): string {
  if (typeof value !== 'string' || value === '')
    throw new InvalidKeyError(`${what} must be a non-empty string`);
  if (value.includes('/')) throw new InvalidKeyError(`${what} "${value}" must not contain "/"`);
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new InvalidKeyError(`${what} "${value}" contains a control character`);
  return value;
}

/** "10.0.0.0/26" → "10.0.0.0-26"; "fd00::/122" → "fd00::-122". */
export function cidrToKeySegment(cidr: string): string {
  if (typeof cidr !== 'string' || !/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(cidr)) {
    throw new InvalidKeyError(`CIDR "${cidr}" is not of the form address/prefix-length`);
  }
  return cidr.replace('/', '-');
}

/** Inverse of cidrToKeySegment: "10.0.0.0-26" → "10.0.0.0/26". */
export function keySegmentToCidr(segmentText: string): string {
  const index = segmentText.lastIndexOf('-');
  if (index <= 0)
    throw new InvalidKeyError(`key segment "${segmentText}" is not a CIDR with "/" replaced by "-"`);
  return `${segmentText.slice(0, index)}/${segmentText.slice(index + 1)}`;
}

/** Lower-case plural of a kind: "IPPool" → "ippools", "BGPPeer" → "bgppeers", "NetworkPolicy" → "networkpolicies". */
export function kindToPlural(kind: string): string {
  segment(kind, 'kind');
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(kind)) throw new InvalidKeyError(`kind "${kind}" must be alphanumeric`);
  const lower = kind.toLowerCase();
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

export const keys = {
  root: ROOT_PREFIX,
  /** Prefix of all resources. */
  resourcesPrefix: `${ROOT_PREFIX}resources/`,
  /** Prefix of all resources of a kind: /caracal/v1/resources/<plural>/ */
  resourceKindPrefix: (kind: string): string => `${ROOT_PREFIX}resources/${kindToPlural(kind)}/`,
  /** Prefix of a kind in one namespace (or cluster scope when namespace is undefined). */
  resourceNamespacePrefix: (kind: string, namespace?: string): string =>
    `${keys.resourceKindPrefix(kind)}${namespace === undefined ? CLUSTER_SCOPE : segment(namespace, 'namespace')}/`,
  /** /caracal/v1/resources/<plural>/<namespace or _cluster>/<name> */
  resource: (kind: string, name: string, namespace?: string): string =>
    `${keys.resourceNamespacePrefix(kind, namespace)}${segment(name, 'name')}`,

  /** Prefix of all IPAM keys. */
  ipamPrefix: `${ROOT_PREFIX}ipam/`,
  /** Prefix of all allocation blocks. */
  blocksPrefix: `${ROOT_PREFIX}ipam/blocks/`,
  /** /caracal/v1/ipam/blocks/<cidr with / replaced by -> */
  block: (cidr: string): string => `${ROOT_PREFIX}ipam/blocks/${cidrToKeySegment(cidr)}`,
  /** Prefix of all block affinities. */
  affinitiesPrefix: `${ROOT_PREFIX}ipam/affinities/`,
  /** Prefix of one node's affinities. */
  nodeAffinitiesPrefix: (node: string): string => `${ROOT_PREFIX}ipam/affinities/${segment(node, 'node')}/`,
  /** /caracal/v1/ipam/affinities/<node>/<cidr with / replaced by -> */
  affinity: (node: string, cidr: string): string =>
    `${ROOT_PREFIX}ipam/affinities/${segment(node, 'node')}/${cidrToKeySegment(cidr)}`,
  /** Prefix of all allocation handles. */
  handlesPrefix: `${ROOT_PREFIX}ipam/handles/`,
  /** /caracal/v1/ipam/handles/<handle> */
  handle: (handle: string): string => `${ROOT_PREFIX}ipam/handles/${segment(handle, 'handle')}`,
  /** /caracal/v1/ipam/config */
  ipamConfig: `${ROOT_PREFIX}ipam/config`,
} as const;
