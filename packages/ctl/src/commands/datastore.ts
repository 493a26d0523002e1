// `caracalctl datastore start|stop|status`: a local single-member etcd for one machine (started in the
// background unless --foreground) and a status table of the configured endpoints and the members.

import type { DatastoreAdmin, LocalEtcdRequest } from '../admin.js';
import type { ConnectionSettings } from '../connection.js';
import { CommandFailure, UsageError } from '../errors.js';
import { renderTable } from '../format/table.js';

/** Splits a listen URL into host and port, naming the flag when it is not http://host:port. */
export function parseListenUrl(text: string, flag: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageErrorForFlag(flag, text, 'is not a URL (expected http://host:port)');
  }
  if (url.protocol !== 'http:') throw new UsageErrorForFlag(flag, text, 'must be an http:// URL');
  const port = Number(url.port);
  if (url.port === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageErrorForFlag(flag, text, 'needs an explicit port (1-65535)');
  }
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

class UsageErrorForFlag extends UsageError {
  constructor(flag: string, value: string, reason: string) {
    super(`${flag}: "${value}" ${reason}`);
  }
}

export async function runDatastoreStart(
  admin: DatastoreAdmin,
  request: LocalEtcdRequest,
  announce: (text: string) => void,
): Promise<void> {
  const started = await admin.start(request);
  const clientUrl = started.clientUrls.join(',');
  const lines = [`etcd started (pid ${started.pid}), serving ${clientUrl}, data in ${started.dataDir}`];
  if (started.logFile !== undefined) lines.push(`log: ${started.logFile}`);
  lines.push(`use it with: --etcd-endpoints ${clientUrl} (or ETCD_ENDPOINTS=${clientUrl})`);
  lines.push(
    started.exited === undefined
      ? `stop it with: caracalctl datastore stop --data-dir ${started.dataDir}`
      : 'running in the foreground; stop it with Ctrl-C',
  );
  announce(`${lines.join('\n')}\n`);
  if (started.exited !== undefined) {
    const code = await started.exited;
    if (code !== 0 && code !== null) throw new CommandFailure(`etcd exited with code ${code}`);
    announce('etcd stopped\n');
  }
}

export async function runDatastoreStop(admin: DatastoreAdmin, dataDir: string): Promise<string> {
  const stopped = await admin.stop(dataDir);
  if (!stopped)
    throw new CommandFailure(
      `no local etcd is running for data dir ${dataDir} (no live PID in its PID file)`,
    );
  return `etcd stopped (data dir ${dataDir})\n`;
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export async function runDatastoreStatus(
  admin: DatastoreAdmin,
  settings: ConnectionSettings,
): Promise<string> {
  const health = await admin.status(settings);
  const endpointTable = renderTable({
    headers: ['ENDPOINT', 'HEALTH', 'VERSION', 'REVISION', 'DB SIZE', 'LEADER', 'ERROR'],
    rows: health.endpoints.map((status) => [
      status.endpoint,
      status.healthy ? 'healthy' : 'unhealthy',
      status.version ?? '',
      status.revision === undefined ? '' : String(status.revision),
      formatBytes(status.dbSizeBytes),
      status.isLeader === undefined ? '' : status.isLeader ? 'yes' : 'no',
      status.error ?? '',
    ]),
  });
  const memberTable =
    health.members.length === 0
      ? ''
      : `\n${renderTable({
          headers: ['MEMBER ID', 'NAME', 'CLIENT URLS', 'PEER URLS'],
          rows: health.members.map((member) => [
            member.id,
            member.name,
            member.clientUrls.join(','),
            member.peerUrls.join(','),
          ]),
        })}`;
  const text = endpointTable + memberTable;
  if (!health.endpoints.some((status) => status.healthy)) {
    throw new CommandFailure(
      `${text}no datastore endpoint answered (tried ${settings.endpoints.join(', ')}, ${
        settings.endpointsSource === 'default' ? 'the default' : `from ${settings.endpointsSource}`
      }); start a local one with: caracalctl datastore start, or point to yours with --etcd-endpoints`,
    );
  }
  return text;
}
