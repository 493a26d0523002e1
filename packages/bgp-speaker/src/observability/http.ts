// The HTTP endpoints of caracal-bgpd: /metrics (Prometheus text) and /liveness, /readiness (for
// Kubernetes probes and people). Metrics and health listen on their own address/port, or share one
// server when both are given the same address and port (also port 0: one free port for both).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SpeakerView } from '../daemon/view.js';
import { createSpeakerMetricsRegistry } from './metrics.js';

export interface ListenAddress {
  readonly address: string;
  /** 0 picks a free port (see the `metrics` / `health` fields of the result). */
  readonly port: number;
}

export interface ObservabilityOptions {
  readonly metrics?: ListenAddress;
  readonly health?: ListenAddress;
  readonly view: SpeakerView;
  readonly logger?: Logger;
}

export interface Observability {
  /** Stops every server started here. */
  close(): Promise<void>;
  /** The Prometheus registry behind /metrics (the daemon may register more metrics in it). */
  readonly registry: Registry;
  /** Where /metrics listens (with the real port when 0 was asked), when metrics were asked for. */
  readonly metrics?: ListenAddress;
  /** Where /liveness and /readiness listen, when health was asked for. */
  readonly health?: ListenAddress;
}

type Handler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export async function startObservability(options: ObservabilityOptions): Promise<Observability> {
  const { view, logger } = options;
  const registry = createSpeakerMetricsRegistry(view);
  const metricsHandler: Handler = async (request, response) => {
    if (pathOf(request) !== '/metrics') return false;
    const body = await registry.metrics();
    send(response, 200, registry.contentType, body, request);
    return true;
  };
  const healthHandler: Handler = async (request, response) => {
    const path = pathOf(request);
    if (path === '/liveness') {
      const live = safely(() => view.live(), false);
      send(response, live ? 200 : 503, 'text/plain; charset=utf-8', live ? 'live\n' : 'not live\n', request);
      return true;
    }
    if (path === '/readiness') {
      const report = safely(() => view.readiness(), {
        ready: false,
        reasons: ['the speaker could not report its readiness'],
      });
      const body = `${JSON.stringify({ ready: report.ready, reasons: report.reasons })}\n`;
      send(response, report.ready ? 200 : 503, 'application/json', body, request);
      return true;
    }
    return false;
  };

  const servers: { server: Server; address: ListenAddress }[] = [];
  const start = async (where: ListenAddress, handlers: Handler[], paths: string[]) => {
    const server = createServer((request, response) => {
      void serve(request, response, handlers, paths, logger);
    });
    const bound = await listen(server, where);
    servers.push({ server, address: bound });
    logger?.info({ address: bound.address, port: bound.port, paths }, 'HTTP endpoints listening');
    return bound;
  };

  let metricsAt: ListenAddress | undefined;
  let healthAt: ListenAddress | undefined;
  try {
    const { metrics, health } = options;
    if (metrics && health && metrics.address === health.address && metrics.port === health.port) {
      metricsAt = await start(
        metrics,
        [metricsHandler, healthHandler],
        ['/metrics', '/liveness', '/readiness'],
      );
      healthAt = metricsAt;
    } else {
      if (metrics) metricsAt = await start(metrics, [metricsHandler], ['/metrics']);
      if (health) healthAt = await start(health, [healthHandler], ['/liveness', '/readiness']);
    }
  } catch (error) {
    await Promise.all(servers.map(({ server }) => closeServer(server)));
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    registry,
    ...(metricsAt ? { metrics: metricsAt } : {}),
    ...(healthAt ? { health: healthAt } : {}),
    close: () => {
      closing ??= Promise.all(servers.map(({ server }) => closeServer(server))).then(() => undefined);
      return closing;
    },
  };
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  handlers: Handler[],
  paths: string[],
  logger: Logger | undefined,
): Promise<void> {
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      send(response, 405, 'text/plain; charset=utf-8', `method ${request.method} not allowed\n`, request);
      return;
    }
    for (const handler of handlers) if (await handler(request, response)) return;
    send(response, 404, 'text/plain; charset=utf-8', `not found; try ${paths.join(', ')}\n`, request);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger?.error({ url: request.url, err: message }, 'HTTP endpoint failed');
    if (!response.headersSent)
      send(response, 500, 'text/plain; charset=utf-8', `error: ${message}\n`, request);
    else response.destroy();
  }
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function send(
  response: ServerResponse,
  status: number,
  type: string,
  body: string,
  request: IncomingMessage,
): void {
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

function listen(server: Server, where: ListenAddress): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new Error(`cannot listen on ${where.address} port ${where.port}: ${error.code ?? error.message}`),
      );
    });
    server.listen(where.port, where.address, () => {
      const bound = server.address() as AddressInfo;
      resolve({ address: where.address, port: bound.port });
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
