// `caracalctl datastore start|stop|status`: a local single-member etcd for one machine (started in the
// background unless --foreground) and a status table of the configured endpoints.

import type { DatastoreAdmin, LocalEtcdOptions } from '../admin.js';
import type { ConnectionSettings } from '../connection.js';
import { CommandFailure } from '../errors.js';
import { renderTable } from '../format/table.js';

export async function runDatastoreStart(admin: DatastoreAdmin, options: LocalEtcdOptions): Promise<string> {
  const started = await admin.start(options);
  const lines = [
    started.newlyStarted
      ? `etcd started (pid ${started.pid}), serving ${started.clientUrl}, data in ${started.dataDir}`
      : `etcd already running (pid ${started.pid}), serving ${started.clientUrl}, data in ${started.dataDir}`,
  ];
  if (started.logFile !== undefined) lines.push(`log: ${started.logFile}`);
  lines.push(`use it with: --etcd-endpoints ${started.clientUrl} (or ETCD_ENDPOINTS=${started.clientUrl})`);
  if (started.exited !== undefined) {
    const code = await started.exited;
    if (code !== 0 && code !== null) throw new CommandFailure(`etcd exited with code ${code}`);
    lines.push('etcd stopped');
  }
  return `${lines.join('\n')}\n`;
}

export async function runDatastoreStop(admin: DatastoreAdmin, dataDir: string): Promise<string> {
  const stopped = await admin.stop(dataDir);
  if (stopped === undefined) throw new CommandFailure(`no local etcd is running for data dir ${dataDir}`);
  return `etcd stopped (pid ${stopped.pid})\n`;
}

function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export async function runDatastoreStatus(
  admin: DatastoreAdmin,
  settings: ConnectionSettings,
): Promise<string> {
  const statuses = await admin.status(settings);
  const endpointTable = renderTable({
    headers: ['ENDPOINT', 'HEALTH', 'VERSION', 'REVISION', 'DB SIZE', 'LEADER', 'ERROR'],
    rows: statuses.map((status) => [
      status.endpoint,
      status.healthy ? 'healthy' : 'unhealthy',
      status.version ?? '',
      status.revision ?? '',
      formatBytes(status.dbSizeBytes),
      status.leader ?? '',
      status.error ?? '',
    ]),
  });
  const members = new Map(
    statuses.flatMap((status) => status.members.map((member) => [member.id, member] as const)),
  );
  const memberTable =
    members.size === 0
      ? ''
      : `\n${renderTable({
          headers: ['MEMBER ID', 'NAME', 'CLIENT URLS', 'PEER URLS', 'LEADER'],
          rows: [...members.values()].map((member) => [
            member.id,
            member.name,
            member.clientUrls.join(','),
            member.peerUrls.join(','),
            member.isLeader ? 'yes' : '',
          ]),
        })}`;
  const text = endpointTable + memberTable;
  if (!statuses.some((status) => status.healthy)) {
    throw new CommandFailure(
      `${text}no healthy datastore endpoint (tried ${settings.endpoints.join(', ')}); start a local one with: caracalctl datastore start`,
    );
  }
  return text;
}
