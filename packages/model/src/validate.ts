// Validation and defaulting of every kind: collects ALL problems of a document (field path, value, reason),
// refuses unknown fields (suggesting the closest known one), and returns the defaulted caracal.io/v1 form.

import { IpParseError, ipParseResult, parseAddressWithPort } from '@caracal/ip';
import { formatIp, parseCidrDetailed, parseIp } from './cidr.js';
import { labelKeyProblem, labelValueProblem, parseSelectorAst, SelectorSyntaxError } from './selector.js';
import {
  API_VERSION,
  CALICO_API_VERSION,
  type CaracalResource,
  type EntityRule,
  type IcmpFields,
  KINDS,
  type Kind,
  NAMESPACED_KINDS,
  type ObjectMeta,
  ResourceValidationError,
  type Rule,
  type ValidationProblem,
  type ValidationResult,
} from './types.js';

type Json = Record<string, unknown>;

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** The known name closest to `name`, when it is close enough to be a likely typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

const DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'];
const PORT_PROTOCOLS = ['TCP', 'UDP', 'SCTP', 6, 17, 132];
const ICMP_PROTOCOLS = ['ICMP', 'ICMPv6', 1, 58];
const PROTOCOL_ALREADY_REPORTED = Symbol('protocol already reported');

/** Collects problems while walking one document. */
class Checker {
  readonly problems: ValidationProblem[] = [];

  add(path: string, value: unknown, reason: string): void {
    this.problems.push({ path, value, reason });
  }

  /** A mapping with only `known` fields (unknown ones are reported); undefined when not a mapping. */
  object(value: unknown, path: string, known: readonly string[]): Json | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.add(path, value, 'must be a mapping');
      return undefined;
    }
    for (const field of Object.keys(value)) {
      if (known.includes(field)) continue;
      const suggestion = closestName(field, known);
      this.add(
        join(path, field),
        (value as Json)[field],
        `unknown field "${field}"${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`,
      );
    }
    return value as Json;
  }

  string(value: unknown, path: string): string | undefined {
    if (typeof value === 'string') return value;
    this.add(path, value, 'must be a string');
    return undefined;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (typeof value === 'boolean') return value;
    this.add(path, value, 'must be true or false');
    return undefined;
  }

  integer(value: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    this.add(path, value, `must be an integer ${min}-${max}`);
    return undefined;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T | undefined {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.add(path, value, `must be one of ${allowed.join(', ')}`);
    return undefined;
  }

  list(value: unknown, path: string): unknown[] | undefined {
    if (Array.isArray(value)) return value;
    this.add(path, value, 'must be a list');
    return undefined;
  }

  selector(value: unknown, path: string): string | undefined {
    const text = this.string(value, path);
    if (text === undefined) return undefined;
    try {
      parseSelectorAst(text);
    } catch (error) {
      if (!(error instanceof SelectorSyntaxError)) throw error;
      this.add(path, value, `invalid selector: ${error.reason} at column ${error.column}`);
    }
    return text;
  }

  /** A CIDR; host bits are cleared (Calico normalises), the normalised text is returned. */
  cidr(value: unknown, path: string, version?: 4 | 6): string | undefined {
    const text = this.string(value, path);
    if (text === undefined) return undefined;
    const parsed = parseCidrDetailed(text);
    if (!parsed.ok) {
      this.add(path, value, `invalid CIDR: ${parsed.reason}`);
      return undefined;
    }
    if (version !== undefined && parsed.cidr.version !== version) {
      this.add(path, value, `must be an IPv${version} CIDR`);
      return undefined;
    }
    return `${formatAddress(parsed.cidr.version, parsed.cidr.network)}/${parsed.cidr.prefixLength}`;
  }

  duration(value: unknown, path: string): string | undefined {
    const text = this.string(value, path);
    if (text !== undefined && !DURATION.test(text)) {
      this.add(path, value, 'must be a duration such as "90s", "1m30s" or "500ms"');
      return undefined;
    }
    return text;
  }

  labels(value: unknown, path: string): Record<string, string> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.add(path, value, 'must be a mapping of label key to string value');
      return undefined;
    }
    for (const [key, labelValue] of Object.entries(value)) {
      const keyProblem = labelKeyProblem(key);
      if (keyProblem !== undefined) this.add(join(path, key), key, keyProblem);
      if (typeof labelValue !== 'string')
        this.add(join(path, key), labelValue, 'label value must be a string');
      else {
        const valueProblem = labelValueProblem(labelValue);
        if (valueProblem !== undefined) this.add(join(path, key), labelValue, valueProblem);
      }
    }
    return value as Record<string, string>;
  }

  stringList(value: unknown, path: string): string[] | undefined {
    const items = this.list(value, path);
    if (items === undefined) return undefined;
    items.forEach((item, i) => {
      this.string(item, `${path}[${i}]`);
    });
    return items as string[];
  }
}

function formatAddress(version: 4 | 6, value: bigint): string {
  return formatIp({ version, value });
}

function join(path: string, field: string): string {
  const segment = /^[A-Za-z_][A-Za-z0-9_]*$/.test(field) ? field : `["${field}"]`;
  if (path === '') return segment;
  return segment.startsWith('[') ? `${path}${segment}` : `${path}.${segment}`;
}

/** Sets `out[field]` from `input[field]` through `check` when present; otherwise to `fallback` when given. */
function copy<T>(
  out: Json,
  input: Json,
  field: string,
  path: string,
  check: (value: unknown, path: string) => T | undefined,
  fallback?: T,
): void {
  if (input[field] !== undefined && input[field] !== null) {
    const checked = check(input[field], join(path, field));
    if (checked !== undefined) out[field] = checked;
  } else if (fallback !== undefined) {
    out[field] = fallback;
  }
}

const ENCAPSULATION = ['Always', 'CrossSubnet', 'Never'] as const;
const LOG_SEVERITY = ['Debug', 'Info', 'Warning', 'Error', 'Fatal'] as const;

function asNumber(c: Checker) {
  return (value: unknown, path: string) => {
    // Calico accepts "64512" and dotted "1.10" forms too.
    if (typeof value === 'string') {
      const dotted = /^([0-9]+)\.([0-9]+)$/.exec(value);
      if (dotted !== null && Number(dotted[1]) <= 65535 && Number(dotted[2]) <= 65535) {
        return Number(dotted[1]) * 65536 + Number(dotted[2]);
      }
      if (/^[0-9]+$/.test(value)) return c.integer(Number(value), path, 0, 4294967295);
    }
    return c.integer(value, path, 0, 4294967295);
  };
}

function nodeSpec(c: Checker, spec: Json, path: string): Json {
  const out: Json = {};
  copy(out, spec, 'bgp', path, (value, bgpPath) => {
    const bgp = c.object(value, bgpPath, [
      'ipv4Address',
      'ipv6Address',
      'asNumber',
      'routeReflectorClusterID',
      'ipv4IPIPTunnelAddr',
    ]);
    if (bgp === undefined) return undefined;
    const result: Json = {};
    const address = (version: 4 | 6) => (raw: unknown, fieldPath: string) => {
      const text = c.string(raw, fieldPath);
      if (text === undefined) return undefined;
      if (!text.includes('/')) {
        c.add(
          fieldPath,
          raw,
          `must include the prefix length of the node's subnet (e.g. ${version === 4 ? '10.0.0.5/24' : 'fd00::5/64'}); a bare address is refused because a /32 breaks CrossSubnet detection`,
        );
        return undefined;
      }
      const parsed = parseCidrDetailed(text);
      if (!parsed.ok) c.add(fieldPath, raw, `invalid address/prefix: ${parsed.reason}`);
      else if (parsed.address.version !== version)
        c.add(fieldPath, raw, `must be an IPv${version} address/prefix`);
      else return `${formatIp(parsed.address)}/${parsed.cidr.prefixLength}`;
      return undefined;
    };
    copy(result, bgp, 'ipv4Address', bgpPath, address(4));
    copy(result, bgp, 'ipv6Address', bgpPath, address(6));
    copy(result, bgp, 'asNumber', bgpPath, asNumber(c));
    copy(result, bgp, 'ipv4IPIPTunnelAddr', bgpPath, (raw, p) => ipAddress(c, raw, p));
    copy(result, bgp, 'routeReflectorClusterID', bgpPath, (raw, p) => {
      const parsed = typeof raw === 'string' ? parseIp(raw) : undefined;
      if (parsed?.version === 4) return raw as string;
      c.add(p, raw, 'must be an IPv4 address such as 224.0.0.1');
      return undefined;
    });
    return result;
  });
  copy(out, spec, 'ipv4VXLANTunnelAddr', path, (v, p) => ipAddress(c, v, p, 4));
  copy(out, spec, 'vxlanTunnelMACAddr', path, (v, p) => macAddress(c, v, p));
  for (const field of ['addresses', 'orchRefs', 'wireguard']) copy(out, spec, field, path, (v) => v);
  return out;
}

function macAddress(c: Checker, raw: unknown, path: string): string | undefined {
  const text = c.string(raw, path);
  if (text !== undefined && !/^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/.test(text)) {
    c.add(path, raw, 'must be a MAC address such as ee:ee:ee:ee:ee:ee');
    return undefined;
  }
  return text;
}

function ipAddress(c: Checker, raw: unknown, path: string, version?: 4 | 6): string | undefined {
  const text = c.string(raw, path);
  if (text === undefined) return undefined;
  const parsed = parseIp(text);
  if (parsed === undefined || (version !== undefined && parsed.version !== version)) {
    c.add(path, raw, `must be an IPv${version ?? '4 or IPv6'} address`);
    return undefined;
  }
  return formatIp(parsed);
}

function ipPoolSpec(c: Checker, spec: Json, path: string): Json {
  const out: Json = {};
  const cidr = spec.cidr === undefined ? undefined : c.cidr(spec.cidr, join(path, 'cidr'));
  if (spec.cidr === undefined) c.add(join(path, 'cidr'), undefined, 'is required');
  if (cidr !== undefined) out.cidr = cidr;
  const version = cidr?.includes(':') ? 6 : 4;
  const [minBlock, maxBlock, defaultBlock] = version === 4 ? [20, 32, 26] : [116, 128, 122];
  copy(out, spec, 'blockSize', path, (v, p) => c.integer(v, p, minBlock, maxBlock), defaultBlock);
  if (cidr !== undefined && typeof out.blockSize === 'number' && out.blockSize < Number(cidr.split('/')[1])) {
    c.add(
      join(path, 'blockSize'),
      out.blockSize,
      `must not be shorter than the pool's prefix length /${cidr.split('/')[1]}`,
    );
  }
  // Calico's v1 `ipip: {enabled, mode}` is not accepted; only the v3 mode fields.
  copy(out, spec, 'ipipMode', path, (v, p) => c.oneOf(v, p, ENCAPSULATION), 'Never');
  copy(out, spec, 'vxlanMode', path, (v, p) => c.oneOf(v, p, ENCAPSULATION), 'Never');
  if (
    out.ipipMode !== 'Never' &&
    out.vxlanMode !== 'Never' &&
    out.ipipMode !== undefined &&
    out.vxlanMode !== undefined
  ) {
    c.add(
      join(path, 'vxlanMode'),
      out.vxlanMode,
      `cannot enable both IPIP (ipipMode ${out.ipipMode}) and VXLAN on the same pool`,
    );
  }
  if (version === 6 && out.ipipMode !== 'Never' && out.ipipMode !== undefined) {
    c.add(join(path, 'ipipMode'), out.ipipMode, 'IPIP is not supported on an IPv6 pool');
  }
  copy(out, spec, 'natOutgoing', path, (v, p) => c.boolean(v, p), false);
  copy(out, spec, 'disabled', path, (v, p) => c.boolean(v, p), false);
  copy(out, spec, 'disableBGPExport', path, (v, p) => c.boolean(v, p), false);
  copy(out, spec, 'nodeSelector', path, (v, p) => c.selector(v, p), 'all()');
  copy(
    out,
    spec,
    'allowedUses',
    path,
    (v, p) => {
      const items = c.list(v, p);
      items?.forEach((item, i) => {
        c.oneOf(item, `${p}[${i}]`, ['Workload', 'Tunnel']);
      });
      return items as string[] | undefined;
    },
    ['Workload', 'Tunnel'],
  );
  return out;
}

function ipReservationSpec(c: Checker, spec: Json, path: string): Json {
  const out: Json = {};
  const list = c.list(spec.reservedCIDRs, join(path, 'reservedCIDRs'));
  if (list !== undefined)
    out.reservedCIDRs = list.map((item, i) => c.cidr(item, `${path}.reservedCIDRs[${i}]`));
  return out;
}

function bgpConfigurationSpec(c: Checker, spec: Json, path: string, name: string): Json {
  const out: Json = {};
  // Calico applies these defaults only to the cluster-wide "default" resource; per-node ones inherit.
  const isDefault = name === 'default';
  copy(out, spec, 'asNumber', path, asNumber(c), isDefault ? 64512 : undefined);
  copy(out, spec, 'nodeToNodeMeshEnabled', path, (v, p) => c.boolean(v, p), isDefault ? true : undefined);
  copy(out, spec, 'listenPort', path, (v, p) => c.integer(v, p, 1, 65535), isDefault ? 179 : undefined);
  copy(
    out,
    spec,
    'logSeverityScreen',
    path,
    (v, p) => c.oneOf(v, p, LOG_SEVERITY),
    isDefault ? 'Info' : undefined,
  );
  copy(out, spec, 'communities', path, (v, p) =>
    c.list(v, p)?.map((item, i) => {
      const community = c.object(item, `${p}[${i}]`, ['name', 'value']);
      if (community === undefined) return undefined;
      const value = c.string(community.value, `${p}[${i}].value`);
      if (value !== undefined && !/^[0-9]+:[0-9]+(:[0-9]+)?$/.test(value)) {
        c.add(`${p}[${i}].value`, value, 'must be a standard "aa:nn" or large "aa:nn:mm" community');
      }
      const communityName = c.string(community.name, `${p}[${i}].name`);
      return { name: communityName, value };
    }),
  );
  for (const field of ['serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs']) {
    copy(out, spec, field, path, (v, p) =>
      c.list(v, p)?.map((item, i) => {
        const entry = c.object(item, `${p}[${i}]`, ['cidr']);
        return entry === undefined ? undefined : { cidr: c.cidr(entry.cidr, `${p}[${i}].cidr`) };
      }),
    );
  }
  for (const field of [
    'nodeMeshPassword',
    'nodeMeshMaxRestartTime',
    'prefixAdvertisements',
    'bindMode',
    'ignoredInterfaces',
  ]) {
    if (spec[field] !== undefined) out[field] = spec[field];
  }
  return out;
}

function secretRef(c: Checker, raw: unknown, path: string): Json | undefined {
  if (typeof raw === 'string') {
    c.add(
      path,
      '<redacted>',
      'must be a reference to a secret ({secretKeyRef: {name, key}}), never the password itself',
    );
    return undefined;
  }
  const ref = c.object(raw, path, ['secretKeyRef']);
  if (ref === undefined) return undefined;
  const key = c.object(ref.secretKeyRef, `${path}.secretKeyRef`, ['name', 'key']);
  if (key === undefined) return undefined;
  const name = c.string(key.name, `${path}.secretKeyRef.name`);
  const secretKey = c.string(key.key, `${path}.secretKeyRef.key`);
  return { secretKeyRef: { name, key: secretKey } };
}

function bgpPeerSpec(c: Checker, spec: Json, path: string): Json {
  const out: Json = {};
  copy(out, spec, 'peerIP', path, (v, p) => {
    const text = c.string(v, p);
    if (text === undefined) return undefined;
    // @caracal/ip's grammar, the one caracal-node reads the peer with: "10.0.0.1", "10.0.0.1:1179", "fd00::1"
    // or "[fd00::1]:1179" (an IPv6 address takes a port only in brackets: "fd00::1:179" is one address).
    const parsed = ipParseResult(() => parseAddressWithPort(text));
    if (parsed instanceof IpParseError) {
      c.add(
        p,
        v,
        `must be an IP address with an optional port (10.0.0.1, 10.0.0.1:179, fd00::1, [fd00::1]:179): ${parsed.reason}`,
      );
      return undefined;
    }
    return text;
  });
  copy(out, spec, 'asNumber', path, asNumber(c));
  copy(out, spec, 'node', path, (v, p) => c.string(v, p));
  copy(out, spec, 'nodeSelector', path, (v, p) => c.selector(v, p));
  copy(out, spec, 'peerSelector', path, (v, p) => c.selector(v, p));
  copy(out, spec, 'password', path, (v, p) => secretRef(c, v, p));
  copy(out, spec, 'holdTime', path, (v, p) => c.duration(v, p));
  copy(out, spec, 'keepaliveTime', path, (v, p) => c.duration(v, p));
  copy(out, spec, 'maxRestartTime', path, (v, p) => c.duration(v, p));
  copy(out, spec, 'sourceAddress', path, (v, p) => c.oneOf(v, p, ['UseNodeIP', 'None']));
  copy(out, spec, 'nextHopMode', path, (v, p) => c.oneOf(v, p, ['Auto', 'Self', 'Keep']));
  copy(out, spec, 'keepOriginalNextHop', path, (v, p) => c.boolean(v, p));
  copy(out, spec, 'numAllowedLocalASNumbers', path, (v, p) => c.integer(v, p, 0, 10));
  copy(out, spec, 'ttlSecurity', path, (v, p) => c.integer(v, p, 0, 255));
  copy(out, spec, 'filters', path, (v, p) => c.stringList(v, p));
  copy(out, spec, 'reachableBy', path, (v, p) => ipAddress(c, v, p));
  if ((spec.peerIP === undefined) === (spec.peerSelector === undefined)) {
    c.add(join(path, 'peerIP'), spec.peerIP, 'exactly one of peerIP and peerSelector must be set');
  }
  if (spec.peerIP !== undefined && spec.asNumber === undefined) {
    c.add(join(path, 'asNumber'), undefined, 'is required when peerIP is set');
  }
  if (spec.node !== undefined && spec.nodeSelector !== undefined) {
    c.add(join(path, 'nodeSelector'), spec.nodeSelector, 'node and nodeSelector cannot both be set');
  }
  return out;
}

const WEP_FIELDS = [
  'node',
  'orchestrator',
  'workload',
  'pod',
  'endpoint',
  'containerID',
  'interfaceName',
  'ipNetworks',
  'mac',
  'profiles',
  'ipNATs',
  'ports',
  'serviceAccountName',
];

function workloadEndpointSpec(c: Checker, spec: Json, path: string): Json {
  const out: Json = {};
  for (const field of [
    'node',
    'orchestrator',
    'workload',
    'pod',
    'endpoint',
    'containerID',
    'interfaceName',
    'serviceAccountName',
  ]) {
    copy(out, spec, field, path, (v, p) => c.string(v, p));
  }
  for (const required of ['node', 'orchestrator', 'endpoint']) {
    if (spec[required] === undefined) c.add(join(path, required), undefined, 'is required');
  }
  copy(out, spec, 'ipNetworks', path, (v, p) => c.list(v, p)?.map((item, i) => c.cidr(item, `${p}[${i}]`)));
  copy(out, spec, 'mac', path, (v, p) => macAddress(c, v, p));
  copy(out, spec, 'interfaceName', path, (v, p) => {
    const text = c.string(v, p);
    if (text !== undefined && !/^[^\s/]{1,15}$/.test(text))
      c.add(p, v, 'must be a Linux interface name (1-15 characters, no "/" or spaces)');
    return text;
  });
  copy(out, spec, 'profiles', path, (v, p) => c.stringList(v, p));
  copy(out, spec, 'ports', path, (v, p) => endpointPorts(c, v, p));
  if (spec.ipNATs !== undefined) out.ipNATs = spec.ipNATs;
  return out;
}

function endpointPorts(c: Checker, raw: unknown, path: string): unknown[] | undefined {
  return c.list(raw, path)?.map((item, i) => {
    const entry = c.object(item, `${path}[${i}]`, ['name', 'protocol', 'port', 'hostPort', 'hostIP']);
    if (entry === undefined) return undefined;
    return {
      name: c.string(entry.name, `${path}[${i}].name`),
      protocol: c.oneOf(entry.protocol, `${path}[${i}].protocol`, ['TCP', 'UDP', 'SCTP']),
      port: c.integer(entry.port, `${path}[${i}].port`, 1, 65535),
    };
  });
}

function hostEndpointSpec(c: Checker, spec: Json, path: string): Json {
  const out: Json = {};
  copy(out, spec, 'node', path, (v, p) => c.string(v, p));
  if (spec.node === undefined) c.add(join(path, 'node'), undefined, 'is required');
  copy(out, spec, 'interfaceName', path, (v, p) => c.string(v, p));
  copy(out, spec, 'expectedIPs', path, (v, p) =>
    c.list(v, p)?.map((item, i) => ipAddress(c, item, `${p}[${i}]`)),
  );
  if (spec.interfaceName === undefined && spec.expectedIPs === undefined) {
    c.add(join(path, 'interfaceName'), undefined, 'interfaceName or expectedIPs must be set');
  }
  copy(out, spec, 'profiles', path, (v, p) => c.stringList(v, p));
  copy(out, spec, 'ports', path, (v, p) => endpointPorts(c, v, p));
  return out;
}

function protocolValue(c: Checker, raw: unknown, path: string): string | number | undefined {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 1 && raw <= 255) return raw;
  if (typeof raw === 'string' && PROTOCOL_NAMES.includes(raw)) return raw;
  if (typeof raw === 'string' && /^[0-9]+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 255)
    return Number(raw);
  c.add(path, raw, `must be one of ${PROTOCOL_NAMES.join(', ')} or a protocol number 1-255`);
  return undefined;
}

function icmpFields(c: Checker, raw: unknown, path: string): IcmpFields | undefined {
  const icmp = c.object(raw, path, ['type', 'code']);
  if (icmp === undefined) return undefined;
  const out: IcmpFields = {};
  if (icmp.type !== undefined) {
    const type = c.integer(icmp.type, `${path}.type`, 0, 254);
    if (type !== undefined) out.type = type;
  }
  if (icmp.code !== undefined) {
    const code = c.integer(icmp.code, `${path}.code`, 0, 255);
    if (code !== undefined) out.code = code;
    if (icmp.type === undefined) c.add(`${path}.code`, icmp.code, 'ICMP code requires an ICMP type');
  }
  return out;
}

function portValue(c: Checker, raw: unknown, path: string): number | string | undefined {
  if (typeof raw === 'number') return c.integer(raw, path, 0, 65535);
  if (typeof raw !== 'string') {
    c.add(path, raw, 'must be a port number, a "first:last" range or a named port');
    return undefined;
  }
  const range = /^([0-9]+):([0-9]+)$/.exec(raw);
  if (range !== null) {
    const first = Number(range[1]);
    const last = Number(range[2]);
    if (first > 65535 || last > 65535 || first > last)
      c.add(path, raw, 'port range must be "first:last" with 0 <= first <= last <= 65535');
    return raw;
  }
  if (/^[0-9]+$/.test(raw)) {
    if (Number(raw) <= 65535) return Number(raw);
    c.add(path, raw, 'must be an integer 0-65535');
    return undefined;
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/.test(raw) || !/[a-z]/.test(raw)) {
    c.add(
      path,
      raw,
      'must be a port number, a "first:last" range or a named port (1-15 lowercase alphanumerics and "-")',
    );
  }
  return raw;
}

function entityRule(
  c: Checker,
  raw: unknown,
  path: string,
  protocol: unknown,
  ipVersion: unknown,
): EntityRule | undefined {
  const entity = c.object(raw, path, [
    'selector',
    'namespaceSelector',
    'nets',
    'notNets',
    'ports',
    'notPorts',
    'notSelector',
    'serviceAccounts',
    'services',
  ]);
  if (entity === undefined) return undefined;
  const out: Json = {};
  for (const field of ['selector', 'namespaceSelector', 'notSelector'])
    copy(out, entity, field, path, (v, p) => c.selector(v, p));
  for (const field of ['nets', 'notNets'])
    copy(out, entity, field, path, (v, p) =>
      c
        .list(v, p)
        ?.map((item, i) =>
          c.cidr(item, `${p}[${i}]`, ipVersion === 4 || ipVersion === 6 ? ipVersion : undefined),
        ),
    );
  for (const field of ['ports', 'notPorts']) {
    copy(out, entity, field, path, (v, p) => {
      if (protocol !== PROTOCOL_ALREADY_REPORTED && !PORT_PROTOCOLS.includes(protocol as string | number)) {
        c.add(
          p,
          v,
          `${field} are only allowed with protocol TCP, UDP or SCTP (rule protocol is ${protocol === undefined ? 'not set' : JSON.stringify(protocol)})`,
        );
      }
      return c.list(v, p)?.map((item, i) => portValue(c, item, `${p}[${i}]`));
    });
  }
  for (const field of ['serviceAccounts', 'services'])
    if (entity[field] !== undefined) out[field] = entity[field];
  return out as EntityRule;
}

function rule(c: Checker, raw: unknown, path: string): Rule | undefined {
  const input = c.object(raw, path, [
    'action',
    'protocol',
    'notProtocol',
    'icmp',
    'notICMP',
    'ipVersion',
    'source',
    'destination',
    'metadata',
  ]);
  if (input === undefined) return undefined;
  const out: Json = {};
  if (input.action === undefined)
    c.add(join(path, 'action'), undefined, 'is required (Allow, Deny, Pass or Log)');
  copy(out, input, 'action', path, (v, p) => c.oneOf(v, p, ['Allow', 'Deny', 'Pass', 'Log']));
  copy(out, input, 'ipVersion', path, (v, p) => {
    if (v === 4 || v === 6) return v;
    c.add(p, v, 'must be 4 or 6');
    return undefined;
  });
  copy(out, input, 'protocol', path, (v, p) => protocolValue(c, v, p));
  copy(out, input, 'notProtocol', path, (v, p) => protocolValue(c, v, p));
  // A bad protocol is reported once; the checks that depend on it are skipped rather than repeated.
  const protocol =
    input.protocol !== undefined && out.protocol === undefined ? PROTOCOL_ALREADY_REPORTED : out.protocol;
  for (const field of ['icmp', 'notICMP']) {
    copy(out, input, field, path, (v, p) => {
      if (protocol !== PROTOCOL_ALREADY_REPORTED && !ICMP_PROTOCOLS.includes(protocol as string | number)) {
        c.add(p, v, `${field} is only allowed with protocol ICMP or ICMPv6`);
      }
      if (input.ipVersion === 6 && input.protocol === 'ICMP')
        c.add(p, v, 'ICMP (v4) cannot be used with ipVersion 6; use ICMPv6');
      if (input.ipVersion === 4 && input.protocol === 'ICMPv6')
        c.add(p, v, 'ICMPv6 cannot be used with ipVersion 4; use ICMP');
      return icmpFields(c, v, p);
    });
  }
  copy(out, input, 'source', path, (v, p) => entityRule(c, v, p, protocol, input.ipVersion));
  copy(out, input, 'destination', path, (v, p) => entityRule(c, v, p, protocol, input.ipVersion));
  if (input.metadata !== undefined) out.metadata = input.metadata;
  return out as unknown as Rule;
}

function rules(c: Checker, raw: unknown, path: string): Rule[] | undefined {
  return c.list(raw, path)?.map((item, i) => rule(c, item, `${path}[${i}]`)) as Rule[] | undefined;
}

function policySpec(c: Checker, spec: Json, path: string): Json {
  const out: Json = {};
  copy(out, spec, 'order', path, (v, p) => {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    c.add(p, v, 'must be a number');
    return undefined;
  });
  copy(out, spec, 'tier', path, (v, p) => c.string(v, p));
  copy(out, spec, 'selector', path, (v, p) => c.selector(v, p), 'all()');
  copy(out, spec, 'namespaceSelector', path, (v, p) => c.selector(v, p));
  copy(out, spec, 'serviceAccountSelector', path, (v, p) => c.selector(v, p));
  copy(out, spec, 'ingress', path, (v, p) => rules(c, v, p));
  copy(out, spec, 'egress', path, (v, p) => rules(c, v, p));
  copy(out, spec, 'doNotTrack', path, (v, p) => c.boolean(v, p));
  copy(out, spec, 'preDNAT', path, (v, p) => c.boolean(v, p));
  copy(out, spec, 'applyOnForward', path, (v, p) => c.boolean(v, p));
  if (spec.types !== undefined) {
    const types = c.list(spec.types, join(path, 'types'));
    types?.forEach((t, i) => {
      c.oneOf(t, `${path}.types[${i}]`, ['Ingress', 'Egress']);
    });
    if (types !== undefined) {
      out.types = types;
      if (
        spec.ingress !== undefined &&
        (spec.ingress as unknown[]).length > 0 &&
        !types.includes('Ingress')
      ) {
        c.add(
          join(path, 'ingress'),
          spec.ingress,
          'ingress rules are present but types does not include Ingress',
        );
      }
      if (spec.egress !== undefined && (spec.egress as unknown[]).length > 0 && !types.includes('Egress')) {
        c.add(
          join(path, 'egress'),
          spec.egress,
          'egress rules are present but types does not include Egress',
        );
      }
    }
  } else {
    // Calico's defaulting: Ingress always, unless there are only egress rules; Egress when egress rules exist.
    const hasEgress = Array.isArray(spec.egress) && spec.egress.length > 0;
    const hasIngress = Array.isArray(spec.ingress) && spec.ingress.length > 0;
    out.types = hasEgress && !hasIngress ? ['Egress'] : hasEgress ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  if (spec.preDNAT === true && spec.egress !== undefined)
    c.add(join(path, 'egress'), spec.egress, 'preDNAT policy cannot have egress rules');
  return out;
}

function profileSpec(c: Checker, spec: Json, path: string): Json {
  const out: Json = {};
  copy(out, spec, 'labelsToApply', path, (v, p) => c.labels(v, p));
  copy(out, spec, 'ingress', path, (v, p) => rules(c, v, p));
  copy(out, spec, 'egress', path, (v, p) => rules(c, v, p));
  return out;
}

function felixConfigurationSpec(c: Checker, spec: Json, path: string, name: string): Json {
  const out: Json = {};
  const isDefault = name === 'default';
  const d = <T>(value: T) => (isDefault ? value : undefined);
  for (const [field, fallback] of [
    ['routeRefreshInterval', '90s'],
    ['iptablesRefreshInterval', '180s'],
    ['nftablesRefreshInterval', '180s'],
    ['reportingInterval', undefined],
  ] as const) {
    copy(out, spec, field, path, (v, p) => c.duration(v, p), d(fallback));
  }
  copy(out, spec, 'healthPort', path, (v, p) => c.integer(v, p, 1, 65535), d(9099));
  copy(out, spec, 'prometheusMetricsEnabled', path, (v, p) => c.boolean(v, p), d(false));
  copy(out, spec, 'prometheusMetricsPort', path, (v, p) => c.integer(v, p, 1, 65535), d(9091));
  copy(out, spec, 'logSeverityScreen', path, (v, p) => c.oneOf(v, p, LOG_SEVERITY), d('Info'));
  copy(out, spec, 'ipipEnabled', path, (v, p) => c.boolean(v, p));
  copy(out, spec, 'vxlanEnabled', path, (v, p) => c.boolean(v, p));
  copy(out, spec, 'ipipMTU', path, (v, p) => c.integer(v, p, 576, 65535));
  copy(out, spec, 'vxlanMTU', path, (v, p) => c.integer(v, p, 576, 65535));
  copy(out, spec, 'bpfEnabled', path, (v, p) => c.boolean(v, p));
  copy(
    out,
    spec,
    'defaultEndpointToHostAction',
    path,
    (v, p) => c.oneOf(v, p, ['Drop', 'Accept', 'Return']),
    d('Drop'),
  );
  for (const field of ['failsafeInboundHostPorts', 'failsafeOutboundHostPorts']) {
    copy(out, spec, field, path, (v, p) =>
      c.list(v, p)?.map((item, i) => {
        const entry = c.object(item, `${p}[${i}]`, ['protocol', 'port', 'net']);
        if (entry === undefined) return undefined;
        const result: Json = {
          protocol: c.oneOf(entry.protocol ?? 'tcp', `${p}[${i}].protocol`, [
            'tcp',
            'udp',
            'sctp',
            'TCP',
            'UDP',
            'SCTP',
          ]),
          port: c.integer(entry.port, `${p}[${i}].port`, 0, 65535),
        };
        if (entry.net !== undefined) result.net = c.cidr(entry.net, `${p}[${i}].net`);
        return result;
      }),
    );
  }
  return out;
}

interface KindRule {
  fields: readonly string[];
  spec: (c: Checker, spec: Json, path: string, name: string) => Json;
  /** Whether the spec may be absent (then validated as {}). */
  specOptional?: boolean;
}

const KIND_RULES: Record<Kind, KindRule> = {
  Node: {
    fields: ['bgp', 'addresses', 'orchRefs', 'wireguard', 'ipv4VXLANTunnelAddr', 'vxlanTunnelMACAddr'],
    spec: nodeSpec,
    specOptional: true,
  },
  IPPool: {
    fields: [
      'cidr',
      'blockSize',
      'ipipMode',
      'vxlanMode',
      'natOutgoing',
      'disabled',
      'disableBGPExport',
      'nodeSelector',
      'allowedUses',
    ],
    spec: ipPoolSpec,
  },
  IPReservation: { fields: ['reservedCIDRs'], spec: ipReservationSpec },
  BGPConfiguration: {
    fields: [
      'asNumber',
      'nodeToNodeMeshEnabled',
      'listenPort',
      'logSeverityScreen',
      'communities',
      'serviceClusterIPs',
      'serviceExternalIPs',
      'serviceLoadBalancerIPs',
      'nodeMeshPassword',
      'nodeMeshMaxRestartTime',
      'prefixAdvertisements',
      'bindMode',
      'ignoredInterfaces',
    ],
    spec: bgpConfigurationSpec,
    specOptional: true,
  },
  BGPPeer: {
    fields: [
      'peerIP',
      'asNumber',
      'node',
      'nodeSelector',
      'peerSelector',
      'password',
      'holdTime',
      'keepaliveTime',
      'maxRestartTime',
      'sourceAddress',
      'nextHopMode',
      'keepOriginalNextHop',
      'numAllowedLocalASNumbers',
      'ttlSecurity',
      'filters',
      'reachableBy',
    ],
    spec: bgpPeerSpec,
  },
  WorkloadEndpoint: { fields: WEP_FIELDS, spec: workloadEndpointSpec },
  HostEndpoint: {
    fields: ['node', 'interfaceName', 'expectedIPs', 'profiles', 'ports'],
    spec: hostEndpointSpec,
  },
  NetworkPolicy: {
    fields: ['order', 'tier', 'selector', 'types', 'ingress', 'egress', 'serviceAccountSelector'],
    spec: policySpec,
  },
  GlobalNetworkPolicy: {
    fields: [
      'order',
      'tier',
      'selector',
      'namespaceSelector',
      'serviceAccountSelector',
      'types',
      'ingress',
      'egress',
      'doNotTrack',
      'preDNAT',
      'applyOnForward',
    ],
    spec: policySpec,
  },
  Profile: { fields: ['labelsToApply', 'ingress', 'egress'], spec: profileSpec, specOptional: true },
  FelixConfiguration: {
    fields: [
      'routeRefreshInterval',
      'iptablesRefreshInterval',
      'nftablesRefreshInterval',
      'reportingInterval',
      'healthPort',
      'prometheusMetricsEnabled',
      'prometheusMetricsPort',
      'logSeverityScreen',
      'ipipEnabled',
      'vxlanEnabled',
      'ipipMTU',
      'vxlanMTU',
      'bpfEnabled',
      'defaultEndpointToHostAction',
      'failsafeInboundHostPorts',
      'failsafeOutboundHostPorts',
    ],
    spec: felixConfigurationSpec,
    specOptional: true,
  },
};

/** Whether `name` is acceptable as metadata.name of `kind` (Calico's per-kind rules); the reason when not. */
export function nameProblem(kind: Kind, name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 253) return 'must be at most 253 characters';
  // Calico's Profile names (e.g. "kns.default", "ksa.ns.my_sa") also allow upper case and "_".
  if (kind === 'Profile') {
    return /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(name)
      ? undefined
      : 'must be alphanumerics, "-", "_" and ".", starting and ending with an alphanumeric';
  }
  if (!DNS_SUBDOMAIN.test(name)) {
    return 'must be a DNS-1123 subdomain (lowercase alphanumerics, "-" and ".", starting and ending with an alphanumeric)';
  }
  // Policy names: a "tier." prefix is Calico's tier syntax; this model has no tiers besides "default".
  if (
    (kind === 'NetworkPolicy' || kind === 'GlobalNetworkPolicy') &&
    name.split('.').some((part) => part.length > 63)
  ) {
    return 'each "."-separated part must be at most 63 characters';
  }
  return undefined;
}

const META_FIELDS = [
  'name',
  'namespace',
  'labels',
  'annotations',
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generateName',
  'generation',
  'finalizers',
  'ownerReferences',
  'managedFields',
  'deletionTimestamp',
];

/** Validates and defaults one resource object (caracal.io/v1 or projectcalico.org/v3); collects all problems. */
export function validateResource(input: unknown): ValidationResult {
  const c = new Checker();
  const document = c.object(input, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  if (document === undefined) return { problems: c.problems };
  if (document.apiVersion !== API_VERSION && document.apiVersion !== CALICO_API_VERSION) {
    c.add('apiVersion', document.apiVersion, `must be ${API_VERSION} (or ${CALICO_API_VERSION})`);
  }
  const kind = document.kind;
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
    const suggestion = typeof kind === 'string' ? closestName(kind, KINDS) : undefined;
    c.add(
      'kind',
      kind,
      `unknown kind; expected one of ${KINDS.join(', ')}${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
    );
    return { problems: c.problems };
  }
  const knownKind = kind as Kind;
  const metadata: ObjectMeta = { name: '' };
  const meta = c.object(document.metadata ?? {}, 'metadata', META_FIELDS);
  if (meta !== undefined) {
    const name = meta.name === undefined ? undefined : c.string(meta.name, 'metadata.name');
    if (meta.name === undefined) c.add('metadata.name', undefined, 'is required');
    if (name !== undefined) {
      const problem = nameProblem(knownKind, name);
      if (problem !== undefined) c.add('metadata.name', name, problem);
      metadata.name = name;
    }
    if (NAMESPACED_KINDS.includes(knownKind)) {
      const namespace =
        meta.namespace === undefined ? 'default' : c.string(meta.namespace, 'metadata.namespace');
      if (namespace !== undefined && !DNS_LABEL.test(namespace))
        c.add('metadata.namespace', namespace, 'must be a DNS-1123 label');
      if (namespace !== undefined) metadata.namespace = namespace;
    } else if (meta.namespace !== undefined) {
      c.add('metadata.namespace', meta.namespace, `${knownKind} is cluster-scoped and takes no namespace`);
    }
    if (meta.labels !== undefined) {
      const labels = c.labels(meta.labels, 'metadata.labels');
      if (labels !== undefined) metadata.labels = { ...labels };
    }
    if (meta.annotations !== undefined) {
      const annotations = c.object(
        meta.annotations,
        'metadata.annotations',
        Object.keys(meta.annotations as object),
      );
      if (annotations !== undefined) {
        for (const [key, value] of Object.entries(annotations))
          if (typeof value !== 'string') c.add(join('metadata.annotations', key), value, 'must be a string');
        metadata.annotations = { ...(annotations as Record<string, string>) };
      }
    }
    for (const field of ['resourceVersion', 'uid', 'creationTimestamp'] as const) {
      if (meta[field] !== undefined) {
        const value = c.string(meta[field], `metadata.${field}`);
        if (value !== undefined) metadata[field] = value;
      }
    }
  }
  const rules = KIND_RULES[knownKind];
  let spec: Json = {};
  if (document.spec === undefined || document.spec === null) {
    if (!rules.specOptional) c.add('spec', document.spec, 'is required');
    else spec = rules.spec(c, {}, 'spec', metadata.name);
  } else {
    const specInput = c.object(document.spec, 'spec', rules.fields);
    if (specInput !== undefined) spec = rules.spec(c, specInput, 'spec', metadata.name);
  }
  if (c.problems.length > 0) return { problems: c.problems };
  return {
    resource: { apiVersion: API_VERSION, kind: knownKind, metadata, spec } as CaracalResource,
    problems: [],
  };
}

/** Like validateResource, but returns the defaulted resource or throws ResourceValidationError. */
export function validateOrThrow(input: unknown): CaracalResource {
  const result = validateResource(input);
  if (result.resource === undefined) throw new ResourceValidationError(result.problems);
  return result.resource;
}

/** Calico's WorkloadEndpoint name: node-orchestrator-workload-endpoint, each part's "-" doubled. */
export function workloadEndpointName(parts: {
  node: string;
  orchestrator: string;
  workload: string;
  endpoint: string;
}): string {
  return [parts.node, parts.orchestrator, parts.workload, parts.endpoint]
    .map((part) => part.replaceAll('-', '--'))
    .join('-');
}
