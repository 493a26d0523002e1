// Pure rendering of what caracal-bgpd's control socket answers, for `caracal-bgp status` and
// `caracal-bgp routes`: aligned text tables in the style of `birdc show protocols`, `gobgp neighbor`
// and `gobgp global rib`. No I/O here, so every line is unit-tested.

import type { PeerStatusRow, RouteRow, SpeakerStatus } from '../daemon/view.js';

/** "45s", "12m05s", "2h03m", "3d04h": the two most significant units. */
export function formatUptime(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (days > 0) return `${days}d${two(hours)}h`;
  if (hours > 0) return `${hours}h${two(minutes)}m`;
  if (minutes > 0) return `${minutes}m${two(rest)}s`;
  return `${rest}s`;
}

/** Left-aligned text columns, right-aligned numeric ones, two spaces apart, no trailing blanks. */
export function renderColumns(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number> = new Set(),
): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        rightAligned.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The UPTIME/INFO cell: uptime when Established, else the last error (or the state's info). */
export function peerUptimeOrInfo(peer: PeerStatusRow): string {
  const base =
    peer.state === 'Established' && peer.uptimeSeconds !== null
      ? formatUptime(peer.uptimeSeconds)
      : (peer.lastError ?? peer.info);
  const notes: string[] = [];
  if (peer.gracefulRestart.peerRestarting) notes.push('peer restarting');
  if (peer.prefixes.stale > 0) notes.push(`${peer.prefixes.stale} stale`);
  return notes.length > 0 ? `${base} (${notes.join(', ')})` : base;
}

/** `caracal-bgp status`: a header line about the speaker, then one aligned row per peer. */
export function formatStatusTable(status: SpeakerStatus): string[] {
  const established = status.peers.filter((p) => p.state === 'Established').length;
  const lines = [
    `BGP router id ${status.routerId}, local AS ${status.asNumber}, caracal-bgpd ${status.version}, started ${status.startedAt}`,
    `Peers: ${status.peers.length} (${established} established), Loc-RIB: ${status.locRib.prefixes} prefixes, ${status.locRib.paths} paths${status.restarting ? ', graceful restart in progress' : ''}`,
    '',
  ];
  if (status.peers.length === 0) return [...lines, 'No BGP peers configured.'];
  const rows = status.peers.map((peer) => [
    peer.name,
    peer.peerAddress,
    String(peer.peerAs),
    peer.state,
    peerUptimeOrInfo(peer),
    String(peer.prefixes.received),
    String(peer.prefixes.accepted),
    String(peer.prefixes.advertised),
  ]);
  return [
    ...lines,
    ...renderColumns(
      ['NAME', 'ADDRESS', 'AS', 'STATE', 'UPTIME/INFO', 'RECV', 'ACCEPTED', 'ADV'],
      rows,
      new Set([2, 5, 6, 7]),
    ),
  ];
}

/** `caracal-bgp routes`: one row per path, `*>` best, `*=` multipath, `* ` other, with why the best won. */
export function formatRoutesTable(routes: readonly RouteRow[]): string[] {
  if (routes.length === 0) return ['No routes.'];
  const rows: string[][] = [];
  let paths = 0;
  for (const route of routes) {
    route.paths.forEach((path, index) => {
      paths++;
      const marker = path.best ? '*>' : path.multipath ? '*=' : '* ';
      const notes: string[] = [];
      if (path.best) notes.push(`best: ${route.reason}`);
      if (path.best && !route.installed) notes.push('not in FIB');
      if (path.stale) notes.push('(stale)');
      rows.push([
        marker,
        index === 0 ? route.prefix : '',
        path.nextHop ?? (path.from === 'local' ? 'local' : '-'),
        path.asPath === '' ? '-' : path.asPath,
        path.localPref === null ? '-' : String(path.localPref),
        path.med === null ? '-' : String(path.med),
        path.from,
        notes.join(' '),
      ]);
    });
  }
  const table = renderColumns(
    ['', 'PREFIX', 'NEXT HOP', 'AS PATH', 'LP', 'MED', 'FROM', ''],
    rows,
    new Set([4, 5]),
  );
  return [...table, '', `${routes.length} prefixes, ${paths} paths`];
}
