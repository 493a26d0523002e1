// Output formatting: aligned tables, boxed tables, per-kind columns (table and wide), and colour only
// on a terminal without NO_COLOR.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatResources } from '../src/commands/get.js';
import { colourEnabled, paletteFor, stripAnsi } from '../src/format/color.js';
import { cellText, resourceTable, valueAt } from '../src/format/resource-table.js';
import { renderBoxedTable, renderTable } from '../src/format/table.js';
import { findKind } from '../src/kinds.js';

const pool = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name: 'default-pool' },
  spec: { cidr: '10.65.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true },
};
const rackPool = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name: 'rack-a' },
  spec: { cidr: '10.66.0.0/24', nodeSelector: "rack == 'a'", disabled: true },
};

describe('renderTable', () => {
  it('aligns columns to the widest cell, three spaces apart, no trailing spaces', () => {
    const text = renderTable({
      headers: ['NAME', 'CIDR'],
      rows: [
        ['a', '10.0.0.0/8'],
        ['longer-name', ''],
      ],
    });
    expect(text).toBe('NAME          CIDR\na             10.0.0.0/8\nlonger-name\n');
  });

  it('ignores colour codes when measuring', () => {
    const text = renderTable({ headers: ['A', 'B'], rows: [['\u001b[31mred\u001b[0m', 'x']] });
    expect(stripAnsi(text)).toBe('A     B\nred   x\n');
  });

  it('boxed table as node status prints it', () => {
    const text = renderBoxedTable({ headers: ['PEER ADDRESS', 'STATE'], rows: [['10.0.0.2', 'up']] });
    expect(text.split('\n')).toEqual([
      '+--------------+-------+',
      '| PEER ADDRESS | STATE |',
      '+--------------+-------+',
      '| 10.0.0.2     | up    |',
      '+--------------+-------+',
      '',
    ]);
  });
});

describe('resource tables', () => {
  it('IPPool: NAME CIDR SELECTOR, and all() when no selector', () => {
    const table = resourceTable('IPPool', [pool, rackPool], 'table');
    expect(table.headers).toEqual(['NAME', 'CIDR', 'SELECTOR']);
    expect(table.rows).toEqual([
      ['default-pool', '10.65.0.0/16', 'all()'],
      ['rack-a', '10.66.0.0/24', "rack == 'a'"],
    ]);
  });

  it('IPPool wide adds the modes, NAT, disabled and block size', () => {
    const table = resourceTable('IPPool', [pool, rackPool], 'wide');
    expect(table.headers).toEqual([
      'NAME',
      'CIDR',
      'IPIPMODE',
      'VXLANMODE',
      'NATOUTGOING',
      'DISABLED',
      'BLOCKSIZE',
      'SELECTOR',
    ]);
    expect(table.rows[0]).toEqual([
      'default-pool',
      '10.65.0.0/16',
      'Never',
      'Never',
      'true',
      'false',
      '26',
      'all()',
    ]);
    expect(table.rows[1]?.[5]).toBe('true');
  });

  it('Node wide shows ASN and addresses', () => {
    const node = {
      kind: 'Node',
      metadata: { name: 'n1' },
      spec: { bgp: { ipv4Address: '10.0.0.1/24', asNumber: 64513 } },
    };
    expect(resourceTable('Node', [node], 'table')).toEqual({ headers: ['NAME'], rows: [['n1']] });
    expect(resourceTable('Node', [node], 'wide').rows).toEqual([['n1', '64513', '10.0.0.1/24', '']]);
  });

  it('BGPPeer: global peers and selector peers', () => {
    const global = {
      kind: 'BGPPeer',
      metadata: { name: 'tor' },
      spec: { peerIP: '192.0.2.1', asNumber: 64600 },
    };
    const rr = {
      kind: 'BGPPeer',
      metadata: { name: 'rr' },
      spec: { nodeSelector: '!has(routeReflector)', peerSelector: 'has(routeReflector)' },
    };
    const table = resourceTable('BGPPeer', [global, rr], 'table');
    expect(table.headers).toEqual(['NAME', 'PEERIP', 'NODE', 'ASN']);
    expect(table.rows).toEqual([
      ['tor', '192.0.2.1', '(global)', '64600'],
      ['rr', '(selector) has(routeReflector)', '!has(routeReflector)', '(global)'],
    ]);
  });

  it('WorkloadEndpoint shows NAMESPACE only across namespaces', () => {
    const wep = {
      kind: 'WorkloadEndpoint',
      metadata: { name: 'n1-k8s-web-eth0', namespace: 'prod' },
      spec: { workload: 'web', node: 'n1', ipNetworks: ['10.65.0.5/32'], interfaceName: 'cara1234567890a' },
    };
    expect(resourceTable('WorkloadEndpoint', [wep], 'table', false)).toEqual({
      headers: ['WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE'],
      rows: [['web', 'n1', '10.65.0.5/32', 'cara1234567890a']],
    });
    expect(resourceTable('WorkloadEndpoint', [wep], 'table', true).headers[0]).toBe('NAMESPACE');
  });

  it('yaml and json list several resources as a <Kind>List, one as itself', () => {
    const kind = findKind('ippool')!;
    const list = parseYaml(formatResources(kind, [pool, rackPool], 'yaml', false, false));
    expect(list.kind).toBe('IPPoolList');
    expect(list.items).toHaveLength(2);
    const one = JSON.parse(formatResources(kind, [pool], 'json', true, false));
    expect(one).toEqual(pool);
  });

  it('valueAt and cellText', () => {
    expect(valueAt(pool, 'spec.cidr')).toBe('10.65.0.0/16');
    expect(valueAt(pool, 'spec.missing.deeper')).toBeUndefined();
    expect(cellText(['a', 'b'])).toBe('a,b');
    expect(cellText({ a: '1', b: 2 })).toBe('a=1,b=2');
    expect(cellText(undefined)).toBe('');
  });
});

describe('colour', () => {
  it('only on a terminal and never with NO_COLOR', () => {
    expect(colourEnabled({ env: {}, stdoutIsTty: true })).toBe(true);
    expect(colourEnabled({ env: {}, stdoutIsTty: false })).toBe(false);
    expect(colourEnabled({ env: { NO_COLOR: '1' }, stdoutIsTty: true })).toBe(false);
    expect(paletteFor({ env: {}, stdoutIsTty: false }).red('x')).toBe('x');
    expect(paletteFor({ env: {}, stdoutIsTty: true }).red('x')).toBe('\u001b[31mx\u001b[0m');
  });
});
