// Unit tests of the pure rendering behind `caracal-bgp status` and `caracal-bgp routes`.
import { describe, expect, it } from 'vitest';
import { controlSocketPath, parsePrefixArgument } from '../../src/cli/daemon-commands.js';
import {
  formatRoutesTable,
  formatStatusTable,
  formatUptime,
  renderColumns,
} from '../../src/cli/daemon-format.js';
import { FakeSpeakerView, peerRow, speakerStatus } from '../control/fake-view.js';

describe('caracal-bgp formatting', () => {
  it('formats uptimes with their two most significant units', () => {
    expect(formatUptime(0)).toBe('0s');
    expect(formatUptime(45.9)).toBe('45s');
    expect(formatUptime(725)).toBe('12m05s');
    expect(formatUptime(7380)).toBe('2h03m');
    expect(formatUptime(3 * 86_400 + 4 * 3600 + 59)).toBe('3d04h');
  });

  it('aligns columns, numbers to the right', () => {
    expect(
      renderColumns(
        ['A', 'NUM', 'B'],
        [
          ['xyz', '5', ''],
          ['q', '1234', 'end'],
        ],
        new Set([1]),
      ),
    ).toEqual(['A     NUM  B', 'xyz     5', 'q    1234  end']);
  });

  it('renders status with a header and one row per peer: uptime when Established, else the last error', () => {
    const fake = new FakeSpeakerView();
    expect(formatStatusTable(fake.statusData)).toEqual([
      'BGP router id 10.0.0.1, local AS 64512, caracal-bgpd 0.1.0, started 2026-11-21T17:00:00.000Z',
      'Peers: 2 (1 established), Loc-RIB: 12 prefixes, 20 paths',
      '',
      'NAME      ADDRESS       AS  STATE        UPTIME/INFO                   RECV  ACCEPTED  ADV',
      'node2     10.0.0.2   64512  Established  2h03m                           10         9    3',
      'upstream  192.0.2.1  65001  Active       Connection refused (4 stale)     0         0    0',
    ]);
    const restarting = speakerStatus([
      peerRow({
        name: 'rr',
        peerAddress: '2001:db8::1',
        state: 'Idle',
        uptimeSeconds: null,
        info: 'Idle',
        lastError: null,
        gracefulRestart: { negotiated: true, peerRestarting: true },
      }),
    ]);
    const lines = formatStatusTable({ ...restarting, restarting: true });
    expect(lines[1]).toBe(
      'Peers: 1 (0 established), Loc-RIB: 12 prefixes, 20 paths, graceful restart in progress',
    );
    expect(lines[4]).toMatch(/^rr\s+2001:db8::1\s+64512\s+Idle\s+Idle \(peer restarting\)\s+10\s+9\s+3$/);
    expect(formatStatusTable(speakerStatus([])).at(-1)).toBe('No BGP peers configured.');
  });

  it('renders routes with best/multipath markers, the reason the best won, stale and FIB notes', () => {
    const fake = new FakeSpeakerView();
    const firstPath = fake.routeRows[0]?.paths[0];
    if (!firstPath) throw new Error('fixture');
    const routes = [
      ...fake.routeRows,
      {
        prefix: '10.66.0.0/24',
        family: 'ipv4-unicast' as const,
        reason: 'router-id' as const,
        installed: true,
        paths: [
          firstPath,
          { ...firstPath, best: false, multipath: true, from: 'node3', nextHop: '10.0.0.3' },
        ],
      },
    ];
    expect(formatRoutesTable(routes)).toEqual([
      '    PREFIX           NEXT HOP   AS PATH       LP  MED  FROM',
      '*>  10.65.1.0/26     10.0.0.2   -            200    -  node2     best: local-pref',
      '*                    192.0.2.1  65001 65002  100   50  upstream  (stale)',
      '*>  2001:db8:1::/48  local      -              -    -  local     best: only-path not in FIB',
      '*>  10.66.0.0/24     10.0.0.2   -            200    -  node2     best: router-id',
      '*=                   10.0.0.3   -            200    -  node3',
      '',
      '3 prefixes, 5 paths',
    ]);
    expect(formatRoutesTable([])).toEqual(['No routes.']);
  });

  it('takes the socket from the flag, then the environment, then the default', () => {
    expect(controlSocketPath('/x.sock', { CARACAL_BGPD_SOCKET: '/y.sock' })).toBe('/x.sock');
    expect(controlSocketPath(undefined, { CARACAL_BGPD_SOCKET: '/y.sock' })).toBe('/y.sock');
    expect(controlSocketPath(undefined, {})).toBe('/run/caracal/bgpd.sock');
  });

  it('accepts prefixes and addresses as the routes argument, rejecting bad ones by name', () => {
    expect(parsePrefixArgument('10.0.0.0/24')).toBe('10.0.0.0/24');
    expect(parsePrefixArgument('10.0.0.5')).toBe('10.0.0.5/32');
    expect(parsePrefixArgument('2001:db8::1')).toBe('2001:db8::1/128');
    expect(() => parsePrefixArgument('10.0.0.1/8')).toThrow('host bits set');
    expect(() => parsePrefixArgument('banana')).toThrow('banana');
  });
});
