// The columns `caracalctl get` prints per kind, as calicoctl does: a short default set (`-o table`) and
// a wide one (`-o wide`). Resources are read as their plain Calico v3 object form (metadata + spec), so
// this works on whatever object the model hands back.

import { kindInfoFor } from '../kinds.js';
import type { Table } from './table.js';

/** A resource in its plain object form: apiVersion, kind, metadata, spec. */
export type PlainResource = Record<string, unknown>;

interface Column {
  readonly header: string;
  readonly value: (resource: PlainResource) => string;
}

/** Reads a dotted path (`spec.bgp.asNumber`) from a plain object; undefined when any step is missing. */
export function valueAt(resource: unknown, path: string): unknown {
  let current: unknown = resource;
  for (const step of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

/** Renders a value for a table cell: lists joined by commas, maps as k=v, nothing for undefined. */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(cellText).join(',');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, entry]) => `${key}=${cellText(entry)}`)
      .join(',');
  }
  return String(value);
}

function field(header: string, path: string, fallback = ''): Column {
  return {
    header,
    value: (resource) => {
      const text = cellText(valueAt(resource, path));
      return text === '' ? fallback : text;
    },
  };
}

const name = field('NAME', 'metadata.name');
const namespace = field('NAMESPACE', 'metadata.namespace');

const bgpPeerNode: Column = {
  header: 'NODE',
  value: (resource) => {
    const node = cellText(valueAt(resource, 'spec.node'));
    if (node !== '') return node;
    const selector = cellText(valueAt(resource, 'spec.nodeSelector'));
    return selector !== '' ? selector : '(global)';
  },
};

const bgpPeerAddress: Column = {
  header: 'PEERIP',
  value: (resource) => {
    const ip = cellText(valueAt(resource, 'spec.peerIP'));
    if (ip !== '') return ip;
    const selector = cellText(valueAt(resource, 'spec.peerSelector'));
    return selector === '' ? '' : `(selector) ${selector}`;
  },
};

const bgpPeerAsn: Column = {
  header: 'ASN',
  value: (resource) => {
    const asn = cellText(valueAt(resource, 'spec.asNumber'));
    return asn === '' ? '(global)' : asn;
  },
};

interface KindColumns {
  readonly table: readonly Column[];
  readonly wide: readonly Column[];
}

const columnsByKind: Record<string, KindColumns> = {
  IPPool: {
    table: [name, field('CIDR', 'spec.cidr'), field('SELECTOR', 'spec.nodeSelector', 'all()')],
    wide: [
      name,
      field('CIDR', 'spec.cidr'),
      field('IPIPMODE', 'spec.ipipMode'),
      field('VXLANMODE', 'spec.vxlanMode'),
      field('NATOUTGOING', 'spec.natOutgoing', 'false'),
      field('DISABLED', 'spec.disabled', 'false'),
      field('BLOCKSIZE', 'spec.blockSize'),
      field('SELECTOR', 'spec.nodeSelector', 'all()'),
    ],
  },
  Node: {
    table: [name],
    wide: [
      name,
      field('ASN', 'spec.bgp.asNumber', '(64512)'),
      field('IPV4', 'spec.bgp.ipv4Address'),
      field('IPV6', 'spec.bgp.ipv6Address'),
    ],
  },
  BGPPeer: {
    table: [name, bgpPeerAddress, bgpPeerNode, bgpPeerAsn],
    wide: [
      name,
      bgpPeerAddress,
      bgpPeerNode,
      bgpPeerAsn,
      field('KEEPORIGINALNEXTHOP', 'spec.keepOriginalNextHop'),
    ],
  },
  BGPConfiguration: {
    table: [
      name,
      field('LOGSEVERITY', 'spec.logSeverityScreen'),
      field('MESHENABLED', 'spec.nodeToNodeMeshEnabled'),
      field('ASNUMBER', 'spec.asNumber'),
    ],
    wide: [
      name,
      field('LOGSEVERITY', 'spec.logSeverityScreen'),
      field('MESHENABLED', 'spec.nodeToNodeMeshEnabled'),
      field('ASNUMBER', 'spec.asNumber'),
      field('SERVICECLUSTERIPS', 'spec.serviceClusterIPs'),
    ],
  },
  WorkloadEndpoint: {
    table: [
      namespace,
      field('WORKLOAD', 'spec.workload'),
      field('NODE', 'spec.node'),
      field('NETWORKS', 'spec.ipNetworks'),
      field('INTERFACE', 'spec.interfaceName'),
    ],
    wide: [
      namespace,
      name,
      field('WORKLOAD', 'spec.workload'),
      field('NODE', 'spec.node'),
      field('NETWORKS', 'spec.ipNetworks'),
      field('INTERFACE', 'spec.interfaceName'),
      field('PROFILES', 'spec.profiles'),
      field('NATS', 'spec.ipNATs'),
    ],
  },
  NetworkPolicy: {
    table: [namespace, name],
    wide: [namespace, name, field('ORDER', 'spec.order'), field('SELECTOR', 'spec.selector')],
  },
  GlobalNetworkPolicy: {
    table: [name],
    wide: [name, field('ORDER', 'spec.order'), field('SELECTOR', 'spec.selector')],
  },
  Profile: {
    table: [name],
    wide: [name, field('LABELS', 'spec.labelsToApply')],
  },
  HostEndpoint: {
    table: [name, field('NODE', 'spec.node')],
    wide: [
      name,
      field('NODE', 'spec.node'),
      field('INTERFACE', 'spec.interfaceName'),
      field('IPS', 'spec.expectedIPs'),
      field('PROFILES', 'spec.profiles'),
    ],
  },
  FelixConfiguration: {
    table: [name],
    wide: [name, field('LOGSEVERITY', 'spec.logSeverityScreen'), field('IPIPENABLED', 'spec.ipipEnabled')],
  },
  IPReservation: {
    table: [name],
    wide: [name, field('CIDRS', 'spec.reservedCIDRs')],
  },
};

export type TableStyle = 'table' | 'wide';

/** The table of a list of resources of one kind; `withNamespace` false drops the NAMESPACE column. */
export function resourceTable(
  kind: string,
  resources: readonly PlainResource[],
  style: TableStyle,
  withNamespace = true,
): Table {
  const canonical = kindInfoFor(kind)?.kind ?? kind;
  const columnSet = columnsByKind[canonical] ?? { table: [name], wide: [name] };
  const columns = (style === 'wide' ? columnSet.wide : columnSet.table).filter(
    (column) => withNamespace || column !== namespace,
  );
  return {
    headers: columns.map((column) => column.header),
    rows: resources.map((resource) => columns.map((column) => column.value(resource))),
  };
}
