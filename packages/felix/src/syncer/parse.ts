// Parsing of the datastore values Felix watches into calculation-graph inputs, with a precise error per
// malformed value (key, field path, value, reason). Resources are `{apiVersion, kind, metadata, spec}` in
// Calico's field names; block affinities are IPAM's values under /caracal/v1/ipam/affinities/<node>/<cidr->.
//
// Affinity values: @caracal/ipam writes `{node, cidr, state, updatedAt}` (packages/ipam/src/documents.ts,
// `AffinityDocument`). Felix reads them defensively without depending on IPAM: `state` is
// `pending` | `confirmed` | `pendingDeletion` (default `confirmed` when absent), an optional `deleted: true`
// marks it as gone (as Calico's AllocationAffinity), and the node and CIDR come from the key; when the value
// also names them they must agree with the key.

import { keySegmentToCidr, keys } from '@caracal/datastore';
import type {
  BlockAffinityInput,
  EncapMode,
  FelixSettingsInput,
  IpPoolInput,
  WorkloadEndpointInput,
} from '../calc/inputs.js';

/** A stored value Felix cannot use; `message` names the key, the field and the reason. */
export class MalformedValueError extends Error {
  readonly code = 'MALFORMED_VALUE';
  constructor(
    readonly key: string,
    readonly field: string,
    reason: string,
  ) {
    super(`${key}: ${field === '' ? '' : `${field} `}${reason}`);
    this.name = 'MalformedValueError';
  }
}

type Json = Record<string, unknown>;

const describe = (value: unknown): string =>
  value === undefined
    ? 'missing'
    : `${JSON.stringify(value)} (${Array.isArray(value) ? 'array' : typeof value})`;

function parseObject(key: string, text: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MalformedValueError(key, '', `is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedValueError(key, '', `is ${describe(parsed)}, expected a JSON object`);
  }
  return parsed as Json;
}

function object(key: string, parent: Json, field: string, path: string): Json {
  const value = parent[field];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedValueError(key, path, `is ${describe(value)}, expected an object`);
  }
  return value as Json;
}

function string(key: string, parent: Json, field: string, path: string): string {
  const value = parent[field];
  if (typeof value !== 'string' || value === '') {
    throw new MalformedValueError(key, path, `is ${describe(value)}, expected a non-empty string`);
  }
  return value;
}

function optionalBoolean(key: string, parent: Json, field: string, path: string): boolean {
  const value = parent[field];
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new MalformedValueError(key, path, `is ${describe(value)}, expected a boolean`);
  return value;
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV6_CIDR = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\/(\d{1,3})$/;

/** Returns the reason a CIDR is invalid, or undefined when it is a valid IPv4/IPv6 CIDR. */
export function cidrProblem(cidr: string): string | undefined {
  const v4 = IPV4_CIDR.exec(cidr);
  if (v4) {
    if (v4.slice(1, 5).some((octet) => Number(octet) > 255)) return 'has an octet above 255';
    if (Number(v4[5]) > 32) return 'has a prefix length above 32';
    return undefined;
  }
  const v6 = IPV6_CIDR.exec(cidr);
  if (v6) return Number(v6[1]) > 128 ? 'has a prefix length above 128' : undefined;
  return 'is not an IPv4 or IPv6 CIDR (address/prefix-length)';
}

function cidr(key: string, value: unknown, path: string): string {
  if (typeof value !== 'string')
    throw new MalformedValueError(key, path, `is ${describe(value)}, expected a CIDR string`);
  const problem = cidrProblem(value);
  if (problem) throw new MalformedValueError(key, path, `"${value}" ${problem}`);
  return value;
}

function cidrList(key: string, parent: Json, field: string, path: string, required: boolean): string[] {
  const value = parent[field];
  if (value === undefined && !required) return [];
  if (!Array.isArray(value))
    throw new MalformedValueError(key, path, `is ${describe(value)}, expected a list of CIDRs`);
  return value.map((item, index) => cidr(key, item, `${path}[${index}]`));
}

/** Checks the `{apiVersion, kind, metadata: {name}, spec}` envelope and returns the spec. */
function resourceSpec(key: string, text: string, expectedKind: string): Json {
  const resource = parseObject(key, text);
  const kind = resource.kind;
  if (kind !== expectedKind)
    throw new MalformedValueError(key, 'kind', `is ${describe(kind)}, expected "${expectedKind}"`);
  const metadata = object(key, resource, 'metadata', 'metadata');
  string(key, metadata, 'name', 'metadata.name');
  return object(key, resource, 'spec', 'spec');
}

export function parseWorkloadEndpoint(key: string, text: string): WorkloadEndpointInput {
  const spec = resourceSpec(key, text, 'WorkloadEndpoint');
  const node = string(key, spec, 'node', 'spec.node');
  const interfaceName = string(key, spec, 'interfaceName', 'spec.interfaceName');
  if (interfaceName.length > 15 || /[\s/]/.test(interfaceName)) {
    throw new MalformedValueError(
      key,
      'spec.interfaceName',
      `"${interfaceName}" is not a Linux interface name (at most 15 characters, no "/" or spaces)`,
    );
  }
  const ipNetworks = cidrList(key, spec, 'ipNetworks', 'spec.ipNetworks', true);
  const spoofed = cidrList(key, spec, 'allowSpoofedSourcePrefixes', 'spec.allowSpoofedSourcePrefixes', false);
  return spoofed.length > 0
    ? { node, interfaceName, ipNetworks, allowSpoofedSourcePrefixes: spoofed }
    : { node, interfaceName, ipNetworks };
}

const ENCAP_MODES: readonly EncapMode[] = ['Always', 'CrossSubnet', 'Never'];

function encapMode(key: string, spec: Json, field: string): EncapMode {
  const value = spec[field];
  if (value === undefined || value === '') return 'Never';
  if (typeof value === 'string' && (ENCAP_MODES as readonly string[]).includes(value))
    return value as EncapMode;
  throw new MalformedValueError(
    key,
    `spec.${field}`,
    `is ${describe(value)}, expected one of ${ENCAP_MODES.join(', ')}`,
  );
}

export function parseIpPool(key: string, text: string): IpPoolInput {
  const spec = resourceSpec(key, text, 'IPPool');
  return {
    cidr: cidr(key, spec.cidr, 'spec.cidr'),
    natOutgoing: optionalBoolean(key, spec, 'natOutgoing', 'spec.natOutgoing'),
    disabled: optionalBoolean(key, spec, 'disabled', 'spec.disabled'),
    ipipMode: encapMode(key, spec, 'ipipMode'),
    vxlanMode: encapMode(key, spec, 'vxlanMode'),
  };
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000001,
};

/** Go duration text ("90s", "1m30s", "500ms") → seconds; undefined when it is not one. */
export function parseGoDurationSeconds(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(text)) return undefined;
  let totalMs = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) {
    totalMs += Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? ''] ?? Number.NaN);
  }
  return totalMs / 1000;
}

/** The interval fields a FelixConfiguration may set (unset fields are left to the defaults). */
export type FelixConfigurationOverrides = Partial<FelixSettingsInput>;

function interval(key: string, spec: Json, field: string): number | undefined {
  const value = spec[field];
  if (value === undefined) return undefined;
  const seconds = typeof value === 'string' ? parseGoDurationSeconds(value) : undefined;
  if (seconds === undefined || seconds <= 0) {
    throw new MalformedValueError(
      key,
      `spec.${field}`,
      `is ${describe(value)}, expected a positive Go duration such as "90s" or "1m30s"`,
    );
  }
  return seconds;
}

export function parseFelixConfiguration(key: string, text: string): FelixConfigurationOverrides {
  const spec = resourceSpec(key, text, 'FelixConfiguration');
  const overrides: { routeRefreshIntervalSeconds?: number; nftablesRefreshIntervalSeconds?: number } = {};
  const route = interval(key, spec, 'routeRefreshInterval');
  if (route !== undefined) overrides.routeRefreshIntervalSeconds = route;
  const nft = interval(key, spec, 'nftablesRefreshInterval');
  if (nft !== undefined) overrides.nftablesRefreshIntervalSeconds = nft;
  return overrides;
}

const AFFINITY_STATES: readonly BlockAffinityInput['state'][] = ['pending', 'confirmed', 'pendingDeletion'];

/** A block affinity; undefined when the value marks it deleted. Node and CIDR come from the key. */
export function parseBlockAffinity(key: string, text: string): BlockAffinityInput | undefined {
  if (!key.startsWith(keys.affinitiesPrefix))
    throw new MalformedValueError(key, '', `is not under ${keys.affinitiesPrefix}`);
  const [node, segment, ...rest] = key.slice(keys.affinitiesPrefix.length).split('/');
  if (!node || !segment || rest.length > 0) {
    throw new MalformedValueError(
      key,
      '',
      `is not of the form ${keys.affinitiesPrefix}<node>/<cidr with "-">`,
    );
  }
  let blockCidr: string;
  try {
    blockCidr = cidr(key, keySegmentToCidr(segment), 'key CIDR segment');
  } catch (error) {
    if (error instanceof MalformedValueError) throw error;
    throw new MalformedValueError(key, 'key CIDR segment', (error as Error).message);
  }
  const value = parseObject(key, text);
  if (value.node !== undefined && value.node !== node)
    throw new MalformedValueError(
      key,
      'node',
      `is ${describe(value.node)}, but the key names node "${node}"`,
    );
  if (value.cidr !== undefined && value.cidr !== blockCidr)
    throw new MalformedValueError(
      key,
      'cidr',
      `is ${describe(value.cidr)}, but the key names block "${blockCidr}"`,
    );
  if (optionalBoolean(key, value, 'deleted', 'deleted')) return undefined;
  const state = value.state ?? 'confirmed';
  if (typeof state !== 'string' || !(AFFINITY_STATES as readonly string[]).includes(state)) {
    throw new MalformedValueError(
      key,
      'state',
      `is ${describe(state)}, expected one of ${AFFINITY_STATES.join(', ')}`,
    );
  }
  return { node, cidr: blockCidr, state: state as BlockAffinityInput['state'] };
}
