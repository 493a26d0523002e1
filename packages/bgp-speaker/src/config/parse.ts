// Parsing and validation of the caracal-bgpd YAML configuration: every problem is collected with the
// file, the field path, the line:column of the YAML node and the reason; unknown keys get a suggestion.
import { readFile } from 'node:fs/promises';
import {
  bitsOf,
  formatCidr,
  formatIp,
  type IpAddress,
  IpParseError,
  ipParseResult,
  ipVersionOf,
  parseAddressWithLength,
  parseIp,
  prefixMask,
} from '@caracal/ip';
import { LineCounter, parseDocument } from 'yaml';
import { KNOWN_FAMILY_NAMES } from '../fsm/open.js';
import {
  type BgpdConfig,
  CONFIG_DEFAULTS,
  ConfigError,
  type ConfigIssue,
  type GracefulRestartConfig,
  type LogLevel,
  type MaxPrefixConfig,
  type OriginateConfig,
  type PeerConfig,
  type PolicyDefinitions,
  type PolicyRef,
  type PolicyTerm,
  type PrefixMatch,
  type TermActions,
  type TermMatch,
} from './types.js';

type Path = ReadonlyArray<string | number>;
type Obj = Record<string, unknown>;

export type ParseConfigResult =
  | { readonly ok: true; readonly config: BgpdConfig }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

function pathText(path: Path): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text ? `.${part}` : part;
  return text;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The closest allowed key, if it is close enough to be a plausible typo. */
export function suggestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Walks the plain JS value of the document, reporting issues at YAML node positions. */
class Validator {
  readonly issues: ConfigIssue[] = [];

  constructor(
    private readonly file: string,
    private readonly locate: (path: Path, key: boolean) => { line: number; column: number } | undefined,
  ) {}

  error(path: Path, reason: string, atKey = false): void {
    const position = this.locate(path, atKey);
    this.issues.push({ file: this.file, path: pathText(path), ...(position ?? {}), reason });
  }

  object(value: unknown, path: Path, allowed: readonly string[]): Obj | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.error(path, `must be a mapping, got ${describe(value)}`);
      return undefined;
    }
    const obj = value as Obj;
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key)) continue;
      if (key === 'password' && allowed.includes('address')) {
        this.error(
          [...path, key],
          'TCP-MD5 session passwords (RFC 2385) are not supported yet; remove the password or use a peer that does not need one',
          true,
        );
        continue;
      }
      const suggestion = suggestKey(key, allowed);
      this.error(
        [...path, key],
        `unknown key "${key}"${suggestion ? `; did you mean "${suggestion}"?` : `; allowed: ${allowed.join(', ')}`}`,
        true,
      );
    }
    return obj;
  }

  required<T>(
    obj: Obj | undefined,
    key: string,
    path: Path,
    read: (v: unknown, p: Path) => T | undefined,
  ): T | undefined {
    if (obj === undefined) return undefined;
    if (obj[key] === undefined || obj[key] === null) {
      this.error(path, `missing required field "${key}"`);
      return undefined;
    }
    return read(obj[key], [...path, key]);
  }

  optional<T>(
    obj: Obj | undefined,
    key: string,
    path: Path,
    read: (v: unknown, p: Path) => T | undefined,
  ): T | undefined {
    if (obj === undefined || obj[key] === undefined || obj[key] === null) return undefined;
    return read(obj[key], [...path, key]);
  }

  integer(min: number, max: number, unit = ''): (v: unknown, p: Path) => number | undefined {
    return (value, path) => {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        this.error(path, `must be an integer${unit}, got ${describe(value)}`);
        return undefined;
      }
      if (value < min || value > max) {
        this.error(path, `must be between ${min} and ${max}${unit}, got ${value}`);
        return undefined;
      }
      return value;
    };
  }

  holdTime = (value: unknown, path: Path): number | undefined => {
    const n = this.integer(0, 65535, ' seconds')(value, path);
    if (n === 1 || n === 2) {
      this.error(path, `hold time must be 0 or at least 3 seconds (RFC 4271 §4.2), got ${n}`);
      return undefined;
    }
    return n;
  };

  asNumber = (value: unknown, path: Path): number | undefined => {
    if (typeof value === 'string' && /^\d+\.\d+$/.test(value)) {
      const [high, low] = value.split('.').map(Number) as [number, number];
      if (high <= 65535 && low <= 65535) return high * 65536 + low;
    }
    const n = this.integer(1, 4294967295)(value, path);
    if (n === 23456) {
      this.error(path, 'AS 23456 is AS_TRANS (RFC 6793) and cannot be a real AS number');
      return undefined;
    }
    return n;
  };

  boolean = (value: unknown, path: Path): boolean | undefined => {
    if (typeof value !== 'boolean') {
      this.error(path, `must be true or false, got ${describe(value)}`);
      return undefined;
    }
    return value;
  };

  string = (value: unknown, path: Path): string | undefined => {
    if (typeof value !== 'string' || value === '') {
      this.error(path, `must be a non-empty string, got ${describe(value)}`);
      return undefined;
    }
    return value;
  };

  ip = (value: unknown, path: Path): string | undefined => {
    const address = typeof value === 'string' ? readAddress(value) : undefined;
    if (typeof value !== 'string' || typeof address !== 'object') {
      const problem = typeof address === 'string' ? address : undefined;
      this.error(path, `must be an IPv4 or IPv6 address, got ${describe(value)}${inParentheses(problem)}`);
      return undefined;
    }
    return value;
  };

  ipv4 = (value: unknown, path: Path): string | undefined => {
    const address = typeof value === 'string' ? readAddress(value) : undefined;
    if (typeof value !== 'string' || typeof address !== 'object' || address.version !== 4) {
      const problem = typeof address === 'object' ? 'an IPv6 address' : address;
      this.error(path, `must be a dotted-quad IPv4 address, got ${describe(value)}${inParentheses(problem)}`);
      return undefined;
    }
    if (address.value === 0n) {
      this.error(path, 'must not be 0.0.0.0 (a BGP identifier is non-zero, RFC 6286)');
      return undefined;
    }
    return value;
  };

  prefix = (value: unknown, path: Path): string | undefined => {
    const problem = prefixProblem(value);
    if (problem) {
      this.error(path, problem);
      return undefined;
    }
    return value as string;
  };

  oneOf<T extends string>(choices: readonly T[]): (v: unknown, p: Path) => T | undefined {
    return (value, path) => {
      if (typeof value !== 'string' || !choices.includes(value as T)) {
        const suggestion = typeof value === 'string' ? suggestKey(value, choices) : undefined;
        this.error(
          path,
          `must be one of ${choices.join(', ')}, got ${describe(value)}${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
        );
        return undefined;
      }
      return value as T;
    };
  }

  list<T>(read: (v: unknown, p: Path) => T | undefined): (v: unknown, p: Path) => T[] | undefined {
    return (value, path) => {
      if (!Array.isArray(value)) {
        this.error(path, `must be a list, got ${describe(value)}`);
        return undefined;
      }
      const out: T[] = [];
      value.forEach((item, i) => {
        const read1 = read(item, [...path, i]);
        if (read1 !== undefined) out.push(read1);
      });
      return out;
    };
  }

  family = (value: unknown, path: Path): string | undefined => this.oneOf(KNOWN_FAMILY_NAMES)(value, path);

  community = (value: unknown, path: Path): string | undefined => {
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || !isCommunity(text)) {
      this.error(
        path,
        `must be a community "ASN:value" (each 0-65535) or one of no-export, no-advertise, no-export-subconfed, blackhole, graceful-shutdown, got ${describe(value)}`,
      );
      return undefined;
    }
    return text;
  };

  largeCommunity = (value: unknown, path: Path): string | undefined => {
    const parts = typeof value === 'string' ? value.split(':') : [];
    if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p) && Number(p) <= 4294967295)) {
      this.error(
        path,
        `must be a large community "ASN:data1:data2" (each 0-4294967295), got ${describe(value)}`,
      );
      return undefined;
    }
    return value as string;
  };

  regex = (value: unknown, path: Path): string | undefined => {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    try {
      new RegExp(s);
      return s;
    } catch (error) {
      this.error(path, `invalid regular expression: ${(error as Error).message}`);
      return undefined;
    }
  };
}

const WELL_KNOWN_COMMUNITIES = [
  'no-export',
  'no-advertise',
  'no-export-subconfed',
  'blackhole',
  'graceful-shutdown',
];

function isCommunity(text: string): boolean {
  if (WELL_KNOWN_COMMUNITIES.includes(text)) return true;
  const match = /^(\d+):(\d+)$/.exec(text);
  return match !== null && Number(match[1]) <= 65535 && Number(match[2]) <= 65535;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'string' ? `"${value}"` : String(value);
}

/** The result of `parse()`, or the reason @caracal/ip gives for refusing the text. */
function ipReason<T>(parse: () => T): T | string {
  const result = ipParseResult(parse);
  return result instanceof IpParseError ? result.reason : result;
}

/** The address in `text` (either family, @caracal/ip's grammar), or why it is not one. */
function readAddress(text: string): IpAddress | string {
  return ipReason(() => parseIp(text));
}

/** " (reason)" to follow a message, or nothing without a reason. */
function inParentheses(reason: string | undefined): string {
  return reason === undefined ? '' : ` (${reason})`;
}

/** Why a value is not an IP prefix "address/length" with no host bits set, or undefined when it is. */
export function prefixProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a prefix like 10.0.0.0/24, got ${describe(value)}`;
  const notAPrefix = (reason: string): string =>
    `must be a prefix like 10.0.0.0/24 or fd00::/64, got "${value}" (${reason})`;
  const slash = value.indexOf('/');
  const address = readAddress(slash < 0 ? value : value.slice(0, slash));
  if (typeof address === 'string') return notAPrefix(address);
  if (slash < 0) return notAPrefix('no prefix length');
  // The address is valid, so what parseAddressWithLength may still refuse is the length.
  const parsed = ipReason(() => parseAddressWithLength(value));
  if (typeof parsed === 'string')
    return `prefix length must be 0-${bitsOf(address.version)}, got "${value.slice(slash + 1)}" in "${value}"`;
  const { length } = parsed;
  const network = address.value & prefixMask(address.version, length);
  if (network !== address.value) {
    const canonical = formatCidr({ version: address.version, network, length });
    return `"${value}" has host bits set beyond /${length} (the network is ${canonical})`;
  }
  return undefined;
}

/** The length and the longest length of a prefix `prefixProblem` accepted ("10.0.0.0/8" → 8 of 32). */
function prefixLengths(prefix: string): { readonly length: number; readonly max: number } {
  const { address, length } = parseAddressWithLength(prefix);
  return { length, max: bitsOf(address.version) };
}

/** The canonical text of an address the validator accepted, so that "FD00::2" and "fd00::2" are one. */
function canonicalAddress(text: string): string {
  return formatIp(parseIp(text));
}

const TOP_KEYS = [
  'asNumber',
  'routerId',
  'listen',
  'holdTime',
  'keepaliveTime',
  'connectRetryTime',
  'families',
  'logLevel',
  'clusterId',
  'kernel',
  'gracefulRestart',
  'originate',
  'policy',
  'import',
  'export',
  'peers',
  'control',
  'metrics',
  'health',
] as const;

const PEER_KEYS = [
  'name',
  'address',
  'asNumber',
  'port',
  'passive',
  'localAddress',
  'multihop',
  'nextHop',
  'routeReflectorClient',
  'holdTime',
  'keepaliveTime',
  'connectRetryTime',
  'families',
  'addPath',
  'gracefulRestart',
  'maxPrefix',
  'delayOpen',
  'enhancedRouteRefresh',
  'extendedMessage',
  'softReconfiguration',
  'importLimit',
  'import',
  'export',
] as const;

const POLICY_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

function readGracefulRestart(
  v: Validator,
  value: unknown,
  path: Path,
  base: GracefulRestartConfig,
): GracefulRestartConfig {
  const obj = v.object(value, path, ['enabled', 'restartTime']);
  return {
    enabled: v.optional(obj, 'enabled', path, v.boolean) ?? base.enabled,
    restartTime: v.optional(obj, 'restartTime', path, v.integer(1, 4095, ' seconds')) ?? base.restartTime,
  };
}

function readPrefixMatch(v: Validator, value: unknown, path: Path): PrefixMatch | undefined {
  if (typeof value === 'string') {
    const prefix = v.prefix(value, path);
    return prefix === undefined ? undefined : { prefix };
  }
  const obj = v.object(value, path, ['prefix', 'ge', 'le']);
  const prefix = v.required(obj, 'prefix', path, v.prefix);
  if (prefix === undefined) return undefined;
  const { length, max } = prefixLengths(prefix);
  const ge = v.optional(obj, 'ge', path, v.integer(length, max));
  const le = v.optional(obj, 'le', path, v.integer(length, max));
  if (ge !== undefined && le !== undefined && ge > le)
    v.error([...path, 'ge'], `ge ${ge} is greater than le ${le}`);
  return { prefix, ...(ge !== undefined ? { ge } : {}), ...(le !== undefined ? { le } : {}) };
}

interface NameSets {
  readonly prefixLists: ReadonlySet<string>;
  readonly communityLists: ReadonlySet<string>;
  readonly asPathLists: ReadonlySet<string>;
  readonly filters: ReadonlySet<string>;
}

function checkReference(
  v: Validator,
  names: ReadonlySet<string>,
  kind: string,
  value: string | undefined,
  path: Path,
): void {
  if (value === undefined || names.has(value)) return;
  const suggestion = suggestKey(value, [...names]);
  v.error(
    path,
    `unknown ${kind} "${value}"${suggestion ? `; did you mean "${suggestion}"?` : names.size ? `; defined: ${[...names].join(', ')}` : ''}`,
  );
}

function readTerm(v: Validator, value: unknown, path: Path, names: NameSets): PolicyTerm | undefined {
  const obj = v.object(value, path, ['name', 'match', 'then']);
  if (obj === undefined) return undefined;
  const matchPath = [...path, 'match'];
  const m = v.object(obj.match, matchPath, [
    'prefix',
    'prefixList',
    'asPath',
    'asPathList',
    'community',
    'communityList',
    'largeCommunity',
    'nextHop',
    'family',
  ]);
  const prefixValue = m?.prefix;
  const prefix =
    prefixValue === undefined
      ? undefined
      : v.list((x, p) => readPrefixMatch(v, x, p))(Array.isArray(prefixValue) ? prefixValue : [prefixValue], [
          ...matchPath,
          'prefix',
        ]);
  const match: TermMatch = {
    ...(prefix ? { prefix } : {}),
    ...opt('prefixList', v.optional(m, 'prefixList', matchPath, v.string)),
    ...opt('asPath', v.optional(m, 'asPath', matchPath, v.regex)),
    ...opt('asPathList', v.optional(m, 'asPathList', matchPath, v.string)),
    ...opt('community', v.optional(m, 'community', matchPath, v.community)),
    ...opt('communityList', v.optional(m, 'communityList', matchPath, v.string)),
    ...opt('largeCommunity', v.optional(m, 'largeCommunity', matchPath, v.largeCommunity)),
    ...opt('nextHop', v.optional(m, 'nextHop', matchPath, v.ip)),
    ...opt('family', v.optional(m, 'family', matchPath, v.family)),
  };
  checkReference(v, names.prefixLists, 'prefix list', match.prefixList, [...matchPath, 'prefixList']);
  checkReference(v, names.asPathLists, 'AS-path list', match.asPathList, [...matchPath, 'asPathList']);
  checkReference(v, names.communityLists, 'community list', match.communityList, [
    ...matchPath,
    'communityList',
  ]);
  const thenPath = [...path, 'then'];
  if (obj.then === undefined || obj.then === null) v.error(path, 'missing required field "then"');
  const t = v.object(obj.then, thenPath, [
    'addCommunity',
    'removeCommunity',
    'addLargeCommunity',
    'setLocalPref',
    'setMed',
    'prepend',
    'action',
  ]);
  const prependPath = [...thenPath, 'prepend'];
  const p = v.object(t?.prepend, prependPath, ['asNumber', 'count']);
  const count = v.optional(p, 'count', prependPath, v.integer(1, 16));
  const prependAs = v.optional(p, 'asNumber', prependPath, v.asNumber);
  const then: TermActions = {
    ...opt('addCommunity', v.optional(t, 'addCommunity', thenPath, v.list(v.community))),
    ...opt('removeCommunity', v.optional(t, 'removeCommunity', thenPath, v.list(v.community))),
    ...opt('addLargeCommunity', v.optional(t, 'addLargeCommunity', thenPath, v.list(v.largeCommunity))),
    ...opt('setLocalPref', v.optional(t, 'setLocalPref', thenPath, v.integer(0, 4294967295))),
    ...opt('setMed', v.optional(t, 'setMed', thenPath, v.integer(0, 4294967295))),
    ...(p ? { prepend: { count: count ?? 1, ...opt('asNumber', prependAs) } } : {}),
    ...opt('action', v.optional(t, 'action', thenPath, v.oneOf(['accept', 'reject'] as const))),
  };
  const name = v.optional(obj, 'name', path, v.string);
  return { ...opt('name', name), match, then };
}

function opt<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}

function readPolicyRef(
  v: Validator,
  value: unknown,
  path: Path,
  names: NameSets,
  fallback: PolicyRef,
): PolicyRef {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') {
    checkReference(v, names.filters, 'filter', value, path);
    return { kind: 'filter', name: value };
  }
  if (Array.isArray(value)) {
    const terms = v.list((x, p) => readTerm(v, x, p, names))(value, path) ?? [];
    return { kind: 'terms', terms };
  }
  const obj = v.object(value, path, ['action', 'filter']);
  if (obj?.filter !== undefined) {
    const name = v.string(obj.filter, [...path, 'filter']);
    checkReference(v, names.filters, 'filter', name, [...path, 'filter']);
    return { kind: 'filter', name: name ?? '' };
  }
  const action = v.required(obj, 'action', path, v.oneOf(['accept', 'reject'] as const));
  return { kind: 'action', action: action ?? 'reject' };
}

function readPolicy(v: Validator, value: unknown, path: Path): { defs: PolicyDefinitions; names: NameSets } {
  const obj = v.object(value, path, ['prefixLists', 'communityLists', 'asPathLists', 'filters']);
  const namedMap = <T>(key: string, read: (x: unknown, p: Path) => T | undefined): Record<string, T> => {
    const p = [...path, key];
    const m = v.object(obj?.[key], p, Object.keys((obj?.[key] as Obj | undefined) ?? {}));
    const out: Record<string, T> = {};
    for (const [name, entry] of Object.entries(m ?? {})) {
      if (!POLICY_NAME.test(name))
        v.error([...p, name], `name "${name}" must start with a letter and use letters, digits, _ . -`, true);
      const parsed = read(entry, [...p, name]);
      if (parsed !== undefined) out[name] = parsed;
    }
    return out;
  };
  const prefixLists = namedMap(
    'prefixLists',
    v.list((x, p) => readPrefixMatch(v, x, p)),
  );
  const communityLists = namedMap('communityLists', v.list(v.community));
  const asPathLists = namedMap('asPathLists', v.list(v.regex));
  const filterNames = new Set(Object.keys((obj?.filters as Obj | undefined) ?? {}));
  const preliminary: NameSets = {
    prefixLists: new Set(Object.keys(prefixLists)),
    communityLists: new Set(Object.keys(communityLists)),
    asPathLists: new Set(Object.keys(asPathLists)),
    filters: filterNames,
  };
  const filters = namedMap(
    'filters',
    v.list((x, p) => readTerm(v, x, p, preliminary)),
  );
  return { defs: { prefixLists, communityLists, asPathLists, filters }, names: preliminary };
}

function readMaxPrefix(v: Validator, value: unknown, path: Path): MaxPrefixConfig | undefined {
  const obj = v.object(value, path, ['limit', 'action', 'restartAfter']);
  if (obj === undefined) return undefined;
  const limit = v.required(obj, 'limit', path, v.integer(1, 4294967295));
  const action = v.optional(obj, 'action', path, v.oneOf(['warn', 'teardown'] as const)) ?? 'teardown';
  const restartAfter = v.optional(obj, 'restartAfter', path, v.integer(1, 86400, ' seconds'));
  if (limit === undefined) return undefined;
  return { limit, action, ...opt('restartAfter', restartAfter) };
}

interface GlobalDefaults {
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly connectRetryTime: number;
  readonly families: readonly string[];
  readonly gracefulRestart: GracefulRestartConfig;
  readonly import: PolicyRef;
  readonly export: PolicyRef;
  readonly localAs: number | undefined;
}

function readPeer(
  v: Validator,
  value: unknown,
  path: Path,
  names: NameSets,
  g: GlobalDefaults,
): PeerConfig | undefined {
  const obj = v.object(value, path, PEER_KEYS);
  if (obj === undefined) {
    if (value === undefined || value === null) v.error(path, 'must be a mapping, got nothing');
    return undefined;
  }
  const name = v.required(obj, 'name', path, v.string);
  const address = v.required(obj, 'address', path, v.ip);
  const asNumber = v.required(obj, 'asNumber', path, v.asNumber);
  const holdTime = v.optional(obj, 'holdTime', path, v.holdTime) ?? g.holdTime;
  const keepaliveTime =
    v.optional(obj, 'keepaliveTime', path, v.integer(0, 21845, ' seconds')) ?? Math.floor(holdTime / 3);
  if (holdTime > 0 && keepaliveTime > holdTime / 3 && obj.keepaliveTime !== undefined) {
    v.error(
      [...path, 'keepaliveTime'],
      `must be at most a third of the hold time (${Math.floor(holdTime / 3)} s)`,
    );
  }
  const multihopPath = [...path, 'multihop'];
  const multihopValue = obj.multihop;
  let multihop: { ttl: number } | undefined;
  if (multihopValue === true) multihop = { ttl: 255 };
  else if (typeof multihopValue === 'number') {
    const ttl = v.integer(1, 255)(multihopValue, multihopPath);
    if (ttl !== undefined) multihop = { ttl };
  } else if (multihopValue !== undefined && multihopValue !== null && multihopValue !== false) {
    const m = v.object(multihopValue, multihopPath, ['ttl']);
    multihop = { ttl: v.optional(m, 'ttl', multihopPath, v.integer(1, 255)) ?? 255 };
  }
  const addPathPath = [...path, 'addPath'];
  const ap = v.object(obj.addPath, addPathPath, ['send', 'receive']);
  const delayOpenValue = obj.delayOpen;
  let delayOpen: number | undefined;
  if (delayOpenValue === true) delayOpen = 5;
  else if (delayOpenValue !== false && delayOpenValue !== undefined && delayOpenValue !== null) {
    delayOpen = v.integer(1, 240, ' seconds')(delayOpenValue, [...path, 'delayOpen']);
  }
  const localAddress = v.optional(obj, 'localAddress', path, v.ip);
  if (
    address !== undefined &&
    localAddress !== undefined &&
    ipVersionOf(address) !== ipVersionOf(localAddress)
  ) {
    v.error([...path, 'localAddress'], `address family differs from the peer address ${address}`);
  }
  const isIbgp = asNumber !== undefined && asNumber === g.localAs;
  const routeReflectorClient = v.optional(obj, 'routeReflectorClient', path, v.boolean) ?? false;
  if (routeReflectorClient && asNumber !== undefined && !isIbgp) {
    v.error(
      [...path, 'routeReflectorClient'],
      `route reflector clients must be iBGP peers (asNumber ${g.localAs})`,
    );
  }
  const maxPrefix = v.optional(obj, 'maxPrefix', path, (x, p) => readMaxPrefix(v, x, p));
  const importLimit = v.optional(obj, 'importLimit', path, v.integer(1, 4294967295));
  if (name === undefined || address === undefined || asNumber === undefined) return undefined;
  return {
    name,
    address,
    asNumber,
    port: v.optional(obj, 'port', path, v.integer(1, 65535)) ?? CONFIG_DEFAULTS.port,
    passive: v.optional(obj, 'passive', path, v.boolean) ?? false,
    ...opt('localAddress', localAddress),
    ...opt('multihop', multihop),
    nextHop: v.optional(obj, 'nextHop', path, v.oneOf(['self', 'keep', 'auto'] as const)) ?? 'auto',
    routeReflectorClient,
    holdTime,
    keepaliveTime,
    connectRetryTime:
      v.optional(obj, 'connectRetryTime', path, v.integer(1, 65535, ' seconds')) ?? g.connectRetryTime,
    families: v.optional(obj, 'families', path, v.list(v.family)) ?? g.families,
    addPath: {
      send: v.optional(ap, 'send', addPathPath, v.boolean) ?? false,
      receive: v.optional(ap, 'receive', addPathPath, v.boolean) ?? false,
    },
    gracefulRestart:
      obj.gracefulRestart === undefined
        ? g.gracefulRestart
        : readGracefulRestart(v, obj.gracefulRestart, [...path, 'gracefulRestart'], g.gracefulRestart),
    ...opt('maxPrefix', maxPrefix),
    ...opt('delayOpen', delayOpen),
    enhancedRouteRefresh: v.optional(obj, 'enhancedRouteRefresh', path, v.boolean) ?? true,
    extendedMessage: v.optional(obj, 'extendedMessage', path, v.boolean) ?? true,
    softReconfiguration: v.optional(obj, 'softReconfiguration', path, v.boolean) ?? false,
    ...opt('importLimit', importLimit),
    import: readPolicyRef(v, obj.import, [...path, 'import'], names, g.import),
    export: readPolicyRef(v, obj.export, [...path, 'export'], names, g.export),
  };
}

/**
 * The addresses bgpd listens on: `listen.address` (one) or `listen.addresses` (a list, e.g. the node's IPv4
 * and IPv6 addresses), never both; none given is an empty list (the caller's default). A list is non-empty,
 * without two spellings of one address, and a wildcard (0.0.0.0, ::) only alone: the kernel refuses to bind
 * a port on an address a wildcard listener of the port already covers.
 */
function readListenAddresses(v: Validator, listenObj: Obj | undefined): string[] {
  const single = v.optional(listenObj, 'address', ['listen'], v.ip);
  const written = listenObj?.addresses;
  const list = v.optional(listenObj, 'addresses', ['listen'], v.list(v.ip));
  if (listenObj?.address != null && written != null) {
    v.error(['listen'], 'give either "address" (one) or "addresses" (a list), not both');
    return [];
  }
  if (list === undefined) return single === undefined ? [] : [single];
  if (Array.isArray(written) && written.length === 0) {
    v.error(['listen', 'addresses'], 'must list at least one address (or leave "addresses" out for 0.0.0.0)');
    return [];
  }
  // An entry that is no address is already reported (and left out of `list`): check the rest by position.
  if (!Array.isArray(written) || list.length !== written.length) return list;
  const seen = new Map<string, number>();
  list.forEach((text, index) => {
    const canonical = formatIp(parseIp(text));
    const first = seen.get(canonical);
    if (first !== undefined) {
      v.error(['listen', 'addresses', index], `"${text}" is the address of entry ${first} again`);
      return;
    }
    seen.set(canonical, index);
    if ((canonical === '0.0.0.0' || canonical === '::') && list.length > 1) {
      v.error(
        ['listen', 'addresses', index],
        `"${text}" (every address) cannot be listed with other addresses: list it alone, or only specific addresses`,
      );
    }
  });
  return list;
}

function validate(v: Validator, root: unknown): BgpdConfig | undefined {
  if (root === undefined || root === null) {
    v.error([], 'the configuration is empty');
    return undefined;
  }
  const obj = v.object(root, [], TOP_KEYS);
  if (obj === undefined) return undefined;
  const asNumber = v.required(obj, 'asNumber', [], v.asNumber);
  const routerId = v.required(obj, 'routerId', [], v.ipv4);
  const listenObj = v.object(obj.listen, ['listen'], ['address', 'addresses', 'port', 'enabled']);
  const listenAddresses = readListenAddresses(v, listenObj);
  const holdTime = v.optional(obj, 'holdTime', [], v.holdTime) ?? CONFIG_DEFAULTS.holdTime;
  const keepaliveTime =
    v.optional(obj, 'keepaliveTime', [], v.integer(0, 21845, ' seconds')) ?? Math.floor(holdTime / 3);
  const connectRetryTime =
    v.optional(obj, 'connectRetryTime', [], v.integer(1, 65535, ' seconds')) ??
    CONFIG_DEFAULTS.connectRetryTime;
  const families = v.optional(obj, 'families', [], v.list(v.family)) ?? [...CONFIG_DEFAULTS.families];
  const kernelObj = v.object(obj.kernel, ['kernel'], ['install', 'protocol', 'table', 'ecmp']);
  const grDefault: GracefulRestartConfig = {
    enabled: false,
    restartTime: CONFIG_DEFAULTS.gracefulRestartTime,
  };
  const gracefulRestart =
    obj.gracefulRestart === undefined
      ? grDefault
      : readGracefulRestart(v, obj.gracefulRestart, ['gracefulRestart'], grDefault);
  const originate =
    v.optional(
      obj,
      'originate',
      [],
      v.list((x, p): OriginateConfig | undefined => {
        const o = v.object(x, p, ['prefix', 'blackhole', 'communities']);
        const prefix = v.required(o, 'prefix', p, v.prefix);
        const blackhole = v.optional(o, 'blackhole', p, v.boolean) ?? false;
        const communities = v.optional(o, 'communities', p, v.list(v.community)) ?? [];
        return prefix === undefined ? undefined : { prefix, blackhole, communities };
      }),
    ) ?? [];
  const { defs: policy, names } = readPolicy(v, obj.policy, ['policy']);
  const acceptAll: PolicyRef = { kind: 'action', action: 'accept' };
  const globalImport = readPolicyRef(v, obj.import, ['import'], names, acceptAll);
  const globalExport = readPolicyRef(v, obj.export, ['export'], names, acceptAll);
  const peersValue = obj.peers;
  const peers =
    peersValue === undefined || peersValue === null
      ? []
      : (v.list((x, p) =>
          readPeer(v, x, p, names, {
            holdTime,
            keepaliveTime,
            connectRetryTime,
            families,
            gracefulRestart,
            import: globalImport,
            export: globalExport,
            localAs: asNumber,
          }),
        )(peersValue, ['peers']) ?? []);
  const seenNames = new Map<string, number>();
  const seenEndpoints = new Map<string, number>();
  peers.forEach((peer, i) => {
    const byName = seenNames.get(peer.name);
    if (byName !== undefined)
      v.error(['peers', i, 'name'], `duplicate peer name "${peer.name}" (also peers[${byName}])`);
    else seenNames.set(peer.name, i);
    const endpoint = `${canonicalAddress(peer.address)}|${peer.port}`;
    const byEndpoint = seenEndpoints.get(endpoint);
    if (byEndpoint !== undefined)
      v.error(['peers', i, 'address'], `duplicate peer address ${peer.address} (also peers[${byEndpoint}])`);
    else seenEndpoints.set(endpoint, i);
  });
  const controlObj = v.object(obj.control, ['control'], ['socket']);
  const metricsObj = v.object(obj.metrics, ['metrics'], ['address', 'port']);
  const healthObj = v.object(obj.health, ['health'], ['address', 'port']);
  const clusterId = v.optional(obj, 'clusterId', [], v.ipv4);
  const logLevel =
    v.optional(obj, 'logLevel', [], v.oneOf<LogLevel>(['trace', 'debug', 'info', 'warn', 'error'])) ??
    CONFIG_DEFAULTS.logLevel;
  const config: BgpdConfig | undefined =
    asNumber === undefined || routerId === undefined
      ? undefined
      : {
          asNumber,
          routerId,
          listen: {
            address: listenAddresses[0] ?? CONFIG_DEFAULTS.listenAddress,
            addresses: listenAddresses.length > 0 ? listenAddresses : [CONFIG_DEFAULTS.listenAddress],
            port: v.optional(listenObj, 'port', ['listen'], v.integer(1, 65535)) ?? CONFIG_DEFAULTS.port,
            enabled: v.optional(listenObj, 'enabled', ['listen'], v.boolean) ?? true,
          },
          holdTime,
          keepaliveTime,
          connectRetryTime,
          families,
          logLevel,
          ...opt('clusterId', clusterId),
          kernel: {
            install: v.optional(kernelObj, 'install', ['kernel'], v.boolean) ?? true,
            protocol:
              v.optional(kernelObj, 'protocol', ['kernel'], v.integer(1, 255)) ??
              CONFIG_DEFAULTS.kernelProtocol,
            table:
              v.optional(kernelObj, 'table', ['kernel'], v.integer(1, 4294967295)) ??
              CONFIG_DEFAULTS.kernelTable,
            ecmp: v.optional(kernelObj, 'ecmp', ['kernel'], v.boolean) ?? true,
          },
          gracefulRestart,
          originate,
          policy,
          import: globalImport,
          export: globalExport,
          peers,
          control: {
            socket: v.optional(controlObj, 'socket', ['control'], v.string) ?? CONFIG_DEFAULTS.controlSocket,
          },
          metrics: {
            address: v.optional(metricsObj, 'address', ['metrics'], v.ip) ?? '0.0.0.0',
            port:
              v.optional(metricsObj, 'port', ['metrics'], v.integer(1, 65535)) ?? CONFIG_DEFAULTS.metricsPort,
          },
          ...(healthObj
            ? {
                health: {
                  address: v.optional(healthObj, 'address', ['health'], v.ip) ?? '0.0.0.0',
                  port: v.required(healthObj, 'port', ['health'], v.integer(1, 65535)) ?? 0,
                },
              }
            : {}),
        };
  return config;
}

/** Parses and validates configuration text; `file` names it in the issues. */
export function parseConfig(text: string, file = '<config>'): ParseConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((error) => {
        const position = error.pos ? lineCounter.linePos(error.pos[0]) : undefined;
        return {
          file,
          path: '',
          ...(position ? { line: position.line, column: position.col } : {}),
          reason: `YAML syntax: ${error.message.split('\n')[0]}`,
        };
      }),
    };
  }
  const locate = (path: Path, atKey: boolean): { line: number; column: number } | undefined => {
    for (let depth = path.length; depth >= 0; depth--) {
      const prefix = path.slice(0, depth);
      let node: unknown;
      if (atKey && depth === path.length && depth > 0) {
        const parent = prefix.length > 1 ? doc.getIn(prefix.slice(0, -1), true) : doc.contents;
        const items = (parent as { items?: Array<{ key?: { value?: unknown; range?: number[] } }> } | null)
          ?.items;
        node = items?.find((pair) => pair.key?.value === prefix[prefix.length - 1])?.key;
      } else {
        node = prefix.length === 0 ? doc.contents : doc.getIn(prefix, true);
      }
      const range = (node as { range?: number[] } | null | undefined)?.range;
      if (range && range[0] !== undefined) {
        const { line, col } = lineCounter.linePos(range[0]);
        return { line, column: col };
      }
    }
    return undefined;
  };
  const validator = new Validator(file, locate);
  const config = validate(validator, doc.toJS());
  if (validator.issues.length > 0 || config === undefined) return { ok: false, issues: validator.issues };
  return { ok: true, config };
}

/** Reads and validates a configuration file; throws ConfigError listing every issue. */
export async function loadConfigFile(file: string): Promise<BgpdConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([{ file, path: '', reason: `cannot read: ${(error as Error).message}` }]);
  }
  const result = parseConfig(text, file);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.config;
}

export type { PrefixMatch, TermMatch };
