// The control socket server of caracal-bgpd: a unix stream socket answering JSON-line requests from
// caracal-bgp and caracalctl with what the SpeakerView says. One answer line per request line; a bad
// request gets {"error":...} and the connection stays usable. The socket file is created mode 0660 in
// a directory made on demand; a socket file left by a dead daemon is replaced, a live one is not.

import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { SpeakerView } from '../daemon/view.js';
import { type ControlRequest, MAX_CONTROL_REQUEST_BYTES, parseControlRequest } from './protocol.js';

export interface ControlServerOptions {
  readonly socketPath: string;
  readonly view: SpeakerView;
  readonly logger?: Logger;
}

export interface ControlServer {
  /** Stops listening, ends open connections and removes the socket file. */
  close(): Promise<void>;
}

export class ControlSocketInUseError extends Error {
  override readonly name = 'ControlSocketInUseError';
}

export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const { socketPath, view, logger } = options;
  await mkdir(dirname(socketPath), { recursive: true });
  await removeStaleSocket(socketPath);
  const connections = new Set<Socket>();
  const server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serveConnection(socket, view, logger);
  });
  await listen(server, socketPath);
  await chmod(socketPath, 0o660);
  logger?.info({ socket: socketPath }, 'control socket listening');
  let closed: Promise<void> | undefined;
  return {
    close: () => {
      closed ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of connections) socket.destroy();
        await stopped;
        await unlink(socketPath).catch(() => undefined);
        logger?.info({ socket: socketPath }, 'control socket closed');
      })();
      return closed;
    },
  };
}

function serveConnection(socket: Socket, view: SpeakerView, logger: Logger | undefined): void {
  socket.setEncoding('utf8');
  socket.on('error', (error) => logger?.debug({ err: error.message }, 'control connection error'));
  let buffer = '';
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== '') socket.write(`${answerControlRequest(line, view, logger)}\n`);
    }
    if (Buffer.byteLength(buffer) > MAX_CONTROL_REQUEST_BYTES) {
      socket.end(
        `${JSON.stringify({ error: `request line longer than ${MAX_CONTROL_REQUEST_BYTES} bytes` })}\n`,
      );
      buffer = '';
    }
  });
  socket.on('end', () => {
    const line = buffer.trim();
    buffer = '';
    // A last request without a newline (`printf '{"op":"status"}' | nc -U`) is still answered.
    if (line !== '' && socket.writable) socket.end(`${answerControlRequest(line, view, logger)}\n`);
    else if (socket.writable) socket.end();
  });
}

/** The answer line for one request line (never throws: a failure becomes {"error":...}). */
export function answerControlRequest(line: string, view: SpeakerView, logger?: Logger): string {
  const request = parseControlRequest(line);
  if ('error' in request) return JSON.stringify(request);
  try {
    return JSON.stringify(dispatch(request, view));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger?.warn({ op: request.op, err: message }, 'control request failed');
    return JSON.stringify({ error: `${request.op}: ${message}` });
  }
}

function dispatch(request: ControlRequest, view: SpeakerView): unknown {
  switch (request.op) {
    case 'status':
      return view.status();
    case 'routes':
      return { routes: view.routes(request.prefix === undefined ? {} : { prefix: request.prefix }) };
  }
}

/** Removes a socket file nobody listens on; refuses when a daemon answers there or it is not a socket. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new ControlSocketInUseError(`${socketPath} exists and is not a socket; not removing it`);
  }
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) {
    throw new ControlSocketInUseError(
      `another process is listening on ${socketPath} (is caracal-bgpd already running?)`,
    );
  }
  await unlink(socketPath);
}

function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
