// A SpeakerView made of plain data for the tests of the control socket, the CLI and the metrics: tests
// mutate `status`, `routeRows`, `alive` and `readinessReport` and see the change through the view.
import type {
  PeerStatusRow,
  ReadinessReport,
  RouteRow,
  SpeakerStatus,
  SpeakerView,
} from '../../src/daemon/view.js';

const zeroCounts = { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 };

export function peerRow(
  overrides: Partial<PeerStatusRow> & Pick<PeerStatusRow, 'name' | 'peerAddress'>,
): PeerStatusRow {
  return {
    peerAs: 64512,
    localAs: 64512,
    kind: 'ibgp',
    peerType: 'node-to-node mesh',
    state: 'Established',
    since: '2026-11-21T18:00:00.000Z',
    uptimeSeconds: 7380,
    info: 'Established',
    lastError: null,
    families: ['ipv4-unicast'],
    prefixes: { received: 10, accepted: 9, advertised: 3, stale: 0 },
    messagesIn: { ...zeroCounts, open: 1, update: 12, keepalive: 100 },
    messagesOut: { ...zeroCounts, open: 1, update: 4, keepalive: 99 },
    flaps: 0,
    gracefulRestart: { negotiated: true, peerRestarting: false },
    ...overrides,
  };
}

export function speakerStatus(peers: PeerStatusRow[]): SpeakerStatus {
  return {
    routerId: '10.0.0.1',
    asNumber: 64512,
    version: '0.1.0',
    startedAt: '2026-11-21T17:00:00.000Z',
    peers,
    locRib: { prefixes: 12, paths: 20 },
    restarting: false,
  };
}

export const sampleRoutes: RouteRow[] = [
  {
    prefix: '10.65.1.0/26',
    family: 'ipv4-unicast',
    reason: 'local-pref',
    installed: true,
    paths: [
      {
        from: 'node2',
        peerAddress: '10.0.0.2',
        nextHop: '10.0.0.2',
        asPath: '',
        origin: 'igp',
        localPref: 200,
        med: null,
        communities: [],
        largeCommunities: [],
        best: true,
        multipath: false,
        stale: false,
        pathId: 0,
      },
      {
        from: 'upstream',
        peerAddress: '192.0.2.1',
        nextHop: '192.0.2.1',
        asPath: '65001 65002',
        origin: 'igp',
        localPref: 100,
        med: 50,
        communities: ['65001:1'],
        largeCommunities: [],
        best: false,
        multipath: false,
        stale: true,
        pathId: 0,
      },
    ],
  },
  {
    prefix: '2001:db8:1::/48',
    family: 'ipv6-unicast',
    reason: 'only-path',
    installed: false,
    paths: [
      {
        from: 'local',
        peerAddress: null,
        nextHop: null,
        asPath: '',
        origin: 'igp',
        localPref: null,
        med: null,
        communities: [],
        largeCommunities: [],
        best: true,
        multipath: false,
        stale: false,
        pathId: 0,
      },
    ],
  },
];

export class FakeSpeakerView {
  statusData: SpeakerStatus = speakerStatus([
    peerRow({ name: 'node2', peerAddress: '10.0.0.2' }),
    peerRow({
      name: 'upstream',
      peerAddress: '192.0.2.1',
      peerAs: 65001,
      kind: 'ebgp',
      peerType: 'global',
      state: 'Active',
      uptimeSeconds: null,
      info: 'Connection refused',
      lastError: 'Connection refused',
      prefixes: { received: 0, accepted: 0, advertised: 0, stale: 4 },
      flaps: 2,
    }),
  ]);
  routeRows: RouteRow[] = sampleRoutes;
  alive = true;
  readinessReport: ReadinessReport = { ready: true, reasons: [] };
  /** Filters the view was asked with, for assertions. */
  readonly routeFilters: ({ readonly prefix?: string } | undefined)[] = [];

  /** The SpeakerView over this data (a route filter "bad" throws, as a real view does for bad input). */
  readonly view: SpeakerView = {
    status: () => this.statusData,
    routes: (filter) => {
      this.routeFilters.push(filter);
      if (filter?.prefix === 'bad') throw new Error("'bad' is not a prefix");
      return filter?.prefix ? this.routeRows.filter((r) => r.prefix === filter.prefix) : this.routeRows;
    },
    live: () => this.alive,
    readiness: () => this.readinessReport,
  };
}
