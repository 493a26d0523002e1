// The caracal-bgpd control protocol, shared by the server (the daemon) and its clients (caracal-bgp,
// caracalctl node status): JSON lines over a unix stream socket, one request line, one answer line.
//   {"op":"status"}                         → the SpeakerStatus object
//   {"op":"routes","prefix":"10.0.0.0/24"}  → {"routes":[RouteRow, ...]}   (prefix optional)
//   anything else                           → {"error":"what is wrong"}    (the connection stays usable)

import type { RouteRow, SpeakerStatus } from '../daemon/view.js';

/** Where caracal-bgpd listens unless told otherwise (CARACAL_BGPD_SOCKET, --socket). */
export const DEFAULT_CONTROL_SOCKET = '/run/caracal/bgpd.sock';

/** The longest request line the server reads; a longer one is answered with an error and closed. */
export const MAX_CONTROL_REQUEST_BYTES = 64 * 1024;

export type ControlRequest = { readonly op: 'status' } | { readonly op: 'routes'; readonly prefix?: string };

export type StatusAnswer = SpeakerStatus;
export interface RoutesAnswer {
  readonly routes: readonly RouteRow[];
}
export interface ErrorAnswer {
  readonly error: string;
}

export const CONTROL_OPS = ['status', 'routes'] as const;

/** Parses one request line; returns the request or the error text to answer with. */
export function parseControlRequest(line: string): ControlRequest | ErrorAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    return { error: `bad request: not JSON (${(error as Error).message})` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { error: 'bad request: expected a JSON object like {"op":"status"}' };
  }
  const request = parsed as Record<string, unknown>;
  if (!('op' in request)) return { error: `bad request: "op" is missing (one of ${CONTROL_OPS.join(', ')})` };
  const op = request.op;
  if (op === 'status') {
    const extra = Object.keys(request).filter((key) => key !== 'op');
    if (extra.length > 0) return { error: `bad request: op "status" takes no "${extra[0]}"` };
    return { op };
  }
  if (op === 'routes') {
    const extra = Object.keys(request).filter((key) => key !== 'op' && key !== 'prefix');
    if (extra.length > 0) return { error: `bad request: op "routes" takes no "${extra[0]}" (only "prefix")` };
    if (request.prefix === undefined) return { op };
    if (typeof request.prefix !== 'string') {
      return {
        error: `bad request: "prefix" must be a string like "10.0.0.0/24", got ${JSON.stringify(request.prefix)}`,
      };
    }
    return { op, prefix: request.prefix };
  }
  return { error: `unknown op ${JSON.stringify(op)}: expected one of ${CONTROL_OPS.join(', ')}` };
}
