// Test helpers for watch streams: record events, replay them into a map while checking the protocol
// invariants (no duplicated delta, per-key revision monotonicity), wait for a condition, and a TCP proxy
// that can cut a client off from etcd while etcd keeps running.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Observable, Subscription } from 'rxjs';
import type { WatchEvent } from '../src/index.js';

export interface Recorder {
  events: WatchEvent[];
  subscription: Subscription;
  completed: () => boolean;
  errors: unknown[];
}

export function record(stream: Observable<WatchEvent>): Recorder {
  const events: WatchEvent[] = [];
  const errors: unknown[] = [];
  let done = false;
  const subscription = stream.subscribe({
    next: (event) => events.push(event),
    error: (error: unknown) => errors.push(error),
    complete: () => {
      done = true;
    },
  });
  return { events, subscription, completed: () => done, errors };
}

export interface Replayed {
  state: Map<string, { value: string; revision: number }>;
  snapshots: number;
  resyncs: number;
  deltas: number;
}

/**
 * Applies events as a consumer would and throws on any protocol violation: a delta before the first
 * snapshot, a delta at or below the last snapshot revision, a (key, revision) delivered twice, a key's
 * revision going backwards, a snapshot not followed by in-sync.
 */
export function replay(events: WatchEvent[]): Replayed {
  const state = new Map<string, { value: string; revision: number }>();
  const lastRevisionByKey = new Map<string, number>();
  const seen = new Set<string>();
  let snapshotRevision: number | undefined;
  let lastDeltaRevision = 0;
  let snapshots = 0;
  let resyncs = 0;
  let deltas = 0;
  events.forEach((event, index) => {
    const where = `event #${index} ${JSON.stringify(event).slice(0, 200)}`;
    if (event.type === 'snapshot') {
      const next = events[index + 1];
      if (next?.type !== 'in-sync' || next.revision !== event.revision) {
        throw new Error(`${where}: snapshot not followed by in-sync at its revision`);
      }
      if (snapshotRevision !== undefined && event.revision < lastDeltaRevision) {
        throw new Error(
          `${where}: resync snapshot older than deltas already delivered (${lastDeltaRevision})`,
        );
      }
      if (snapshots > 0 && !event.resync) throw new Error(`${where}: second snapshot not marked resync`);
      snapshots += 1;
      if (event.resync) resyncs += 1;
      snapshotRevision = event.revision;
      lastDeltaRevision = event.revision;
      state.clear();
      for (const item of event.items) {
        state.set(item.key, { value: item.value, revision: item.revision });
        const previous = lastRevisionByKey.get(item.key);
        if (previous !== undefined && item.revision < previous) {
          throw new Error(`${where}: ${item.key} went back from revision ${previous} to ${item.revision}`);
        }
        lastRevisionByKey.set(item.key, item.revision);
      }
      return;
    }
    if (event.type === 'in-sync') return;
    if (snapshotRevision === undefined) throw new Error(`${where}: delta before any snapshot`);
    if (event.revision <= snapshotRevision)
      throw new Error(`${where}: delta at/below snapshot ${snapshotRevision}`);
    if (event.revision < lastDeltaRevision)
      throw new Error(`${where}: revision went back from ${lastDeltaRevision}`);
    const identity = `${event.key}@${event.revision}`;
    if (seen.has(identity)) throw new Error(`${where}: duplicated delta ${identity}`);
    seen.add(identity);
    const previous = lastRevisionByKey.get(event.key);
    if (previous !== undefined && event.revision <= previous) {
      throw new Error(`${where}: ${event.key} revision ${event.revision} not above ${previous}`);
    }
    lastRevisionByKey.set(event.key, event.revision);
    lastDeltaRevision = event.revision;
    deltas += 1;
    if (event.type === 'put') state.set(event.key, { value: event.value, revision: event.revision });
    else state.delete(event.key);
  });
  return { state, snapshots, resyncs, deltas };
}

export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A TCP proxy to etcd whose traffic can be cut (connections reset and refused) and restored. */
export class CuttableProxy {
  private blocked = false;
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly sockets: Set<Socket>,
  ) {}

  static async start(targetPort: number): Promise<CuttableProxy> {
    const sockets = new Set<Socket>();
    let proxy: CuttableProxy | undefined;
    const server = createServer((client) => {
      if (proxy === undefined || proxy.blocked) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    proxy = new CuttableProxy(server, port, sockets);
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.blocked = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.blocked = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
