// The client side of the caracal-bgpd control socket: send one request line, read one answer line.
// Every way of failing becomes a ControlClientError whose message says what happened in terms of the
// daemon ("caracal-bgpd is not running (no socket at …)"), and whose `reason` lets callers pick exit codes.

import { connect } from 'node:net';
import type { RouteRow, SpeakerStatus } from '../daemon/view.js';
import type { ControlRequest } from './protocol.js';

export type ControlClientFailure =
  | 'not-running'
  | 'refused'
  | 'permission'
  | 'timeout'
  | 'closed'
  | 'bad-answer'
  | 'daemon-error'
  | 'io';

export class ControlClientError extends Error {
  override readonly name = 'ControlClientError';
  constructor(
    message: string,
    readonly reason: ControlClientFailure,
  ) {
    super(message);
  }
}

export interface ControlQueryOptions {
  /** Give up after this long (connect + answer). Default 5000. */
  readonly timeoutMs?: number;
}

/** Sends `request` to the daemon at `socketPath` and resolves with its parsed answer (never `{error}`). */
export function queryControlSocket(
  socketPath: string,
  request: ControlRequest,
  options: ControlQueryOptions = {},
): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const fail = (message: string, reason: ControlClientFailure) =>
      finish(() => reject(new ControlClientError(message, reason)));
    const timer = setTimeout(
      () => fail(`caracal-bgpd did not answer within ${timeoutMs} ms on ${socketPath}`, 'timeout'),
      timeoutMs,
    );
    const settleWith = (line: string) => {
      let answer: unknown;
      try {
        answer = parseControlAnswer(line, socketPath);
      } catch (error) {
        finish(() => reject(error));
        return;
      }
      finish(() => resolve(answer));
    };
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: Buffer) => {
      const newline = chunk.indexOf(10);
      if (newline < 0) {
        chunks.push(chunk);
        return;
      }
      chunks.push(chunk.subarray(0, newline));
      settleWith(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('end', () => {
      const rest = Buffer.concat(chunks).toString('utf8').trim();
      if (rest === '') fail(`caracal-bgpd closed ${socketPath} without answering`, 'closed');
      else settleWith(rest);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      switch (error.code) {
        case 'ENOENT':
          fail(`caracal-bgpd is not running (no socket at ${socketPath})`, 'not-running');
          return;
        case 'ECONNREFUSED':
          fail(
            `caracal-bgpd is not running (nothing listens on ${socketPath}: connection refused)`,
            'refused',
          );
          return;
        case 'EACCES':
        case 'EPERM':
          fail(`permission denied on ${socketPath} (run as root or as a member of its group)`, 'permission');
          return;
        case 'ENOTSOCK':
          fail(`${socketPath} is not a socket`, 'not-running');
          return;
        default:
          fail(`cannot talk to caracal-bgpd on ${socketPath}: ${error.message}`, 'io');
      }
    });
  });
}

/**
 * Parses one answer line of the daemon: the JSON value, or a ControlClientError 'bad-answer' (not JSON)
 * or 'daemon-error' (`{"error": …}`, message "caracal-bgpd: <its text>"). `socketPath` names where the
 * line came from in the bad-answer message.
 */
export function parseControlAnswer(line: string, socketPath?: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    const where = socketPath === undefined ? '' : ` on ${socketPath}`;
    throw new ControlClientError(
      `caracal-bgpd sent an answer${where} that is not JSON (${(error as Error).message}): ${line.slice(0, 200)}`,
      'bad-answer',
    );
  }
  if (
    parsed !== null &&
    typeof parsed === 'object' &&
    typeof (parsed as { error?: unknown }).error === 'string'
  ) {
    throw new ControlClientError(`caracal-bgpd: ${(parsed as { error: string }).error}`, 'daemon-error');
  }
  return parsed;
}

/** `{"op":"status"}`, checked to have a peers list. */
export async function queryStatus(
  socketPath: string,
  options: ControlQueryOptions = {},
): Promise<SpeakerStatus> {
  const answer = await queryControlSocket(socketPath, { op: 'status' }, options);
  if (
    answer === null ||
    typeof answer !== 'object' ||
    !Array.isArray((answer as { peers?: unknown }).peers)
  ) {
    throw new ControlClientError(
      `caracal-bgpd answered status on ${socketPath} without a "peers" list`,
      'bad-answer',
    );
  }
  return answer as SpeakerStatus;
}

/** `{"op":"routes"}` (optionally for one prefix), checked to have a routes list. */
export async function queryRoutes(
  socketPath: string,
  prefix?: string,
  options: ControlQueryOptions = {},
): Promise<readonly RouteRow[]> {
  const request: ControlRequest = prefix === undefined ? { op: 'routes' } : { op: 'routes', prefix };
  const answer = await queryControlSocket(socketPath, request, options);
  const routes = (answer as { routes?: unknown } | null)?.routes;
  if (!Array.isArray(routes)) {
    throw new ControlClientError(
      `caracal-bgpd answered routes on ${socketPath} without a "routes" list`,
      'bad-answer',
    );
  }
  return routes as RouteRow[];
}
