// The real RouteTable: rtnetlink through the `netlink` npm package, in the network namespace of the
// current process. Route writes (single or batched) go through a RouteWriter: requests encoded by
// route-message.ts, many per sendmsg, refusals matched by sequence number. Dumps use the package's
// request API (route replies decoded by route-message.ts, links by the package); multicast notifications,
// received by a monitor child process (events-monitor.ts) so that a netlink overrun cannot abort this
// process, become KernelEvents here (RTA_MULTIPATH is decoded here), plus `resync` when some were lost.

import { readFileSync } from 'node:fs';
import { createRtNetlink, type RtNetlinkSocket, rt } from 'netlink';
import { Observable, share } from 'rxjs';
import { bytesToAddress, formatCidr } from './address.js';
import { EventsMonitor } from './events-monitor.js';
import {
  type ListenerBacklog,
  RouteWriter,
  type RouteWriterOptions,
  type WriteRequest,
} from './netlink-route-writer.js';
import {
  align4,
  decodeRouteMessage,
  encodeRouteRequest,
  errnoName,
  forEachMessage,
  type RouteMessageFields,
  RTNH_F_ONLINK,
  refusal,
} from './route-message.js';
import {
  type BatchResult,
  checkRouteOps,
  describeRoute,
  KernelError,
  type KernelEvent,
  type KernelRoute,
  type LinkInfo,
  type NextHop,
  type RouteOp,
  type RouteOpFailure,
  type RouteTable,
  type RouteType,
} from './routes.js';

const KERNEL_TYPE_NAMES: Partial<Record<number, RouteType>> = {
  1: 'unicast',
  6: 'blackhole',
  7: 'unreachable',
  8: 'prohibit',
};
const RTM_GETROUTE = 26;
const RTMSG_LENGTH = 12;
const NLM_F_DUMP = 0x300;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTA_GATEWAY = 5;
const AF_INET = 2;
const AF_INET6 = 10;

const MONITOR_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;
/** Requests applyBatch encodes before handing them to the writer. */
const SUBMIT_CHUNK = 1024;
/** The kernel's accounting (skb truesize) of one route notification, rounded up. */
const NOTIFICATION_COST = 1024;

/** What one `events` monitor has read of the changes our writers made (see ListenerBacklog). */
interface ListenerProgress {
  /** Route changes of our writers it should have read by now (its reads of others' raise it too). */
  expected: number;
  /** Route notifications it has read. */
  read: number;
  /**
   * How many of our changes may be ahead of it: its receive buffer, in notifications (what it has not
   * read includes what its process already took off the socket and is forwarding to us, so the socket
   * itself holds less).
   */
  readonly maxUnread: number;
}

/**
 * The `events` monitors of every NetlinkRouteTable in this process, as the writers of every table see
 * them: a writer runs at most `maxUnread` changes ahead of the slowest monitor (see RouteWriter), so that
 * a burst of our own writes never overruns a monitor's socket.
 */
class ListenersInProcess implements ListenerBacklog {
  private readonly listeners = new Set<ListenerProgress>();
  private readonly wakers = new Set<() => void>();
  private reads = 0;
  private wakeQueued = false;

  add(receiveBufferBytes: number): ListenerProgress {
    const effective = Math.min(receiveBufferBytes, readRmemMax() ?? receiveBufferBytes) * 2;
    const listener = {
      expected: 0,
      read: 0,
      maxUnread: Math.max(64, Math.floor(effective / NOTIFICATION_COST)),
    };
    this.listeners.add(listener);
    return listener;
  }

  remove(listener: ListenerProgress): void {
    this.listeners.delete(listener);
    this.wake();
  }

  /** `listener` read `count` route notifications (ours or anyone's). */
  read(listener: ListenerProgress, count: number): void {
    listener.read += count;
    if (listener.read > listener.expected) listener.expected = listener.read;
    this.reads += count;
    this.wake();
  }

  /** `listener` lost notifications (or restarted): it owes nothing any more. */
  lost(listener: ListenerProgress): void {
    listener.expected = listener.read;
    this.wake();
  }

  unread(): number | undefined {
    if (this.listeners.size === 0) return undefined;
    let most = 0;
    for (const listener of this.listeners) most = Math.max(most, listener.expected - listener.read);
    return most;
  }

  maxUnread(): number {
    let least = Number.POSITIVE_INFINITY;
    for (const listener of this.listeners) least = Math.min(least, listener.maxUnread);
    return least;
  }

  written(count: number): void {
    for (const listener of this.listeners) listener.expected += count;
  }

  progress(): number {
    return this.reads;
  }

  forgive(): void {
    for (const listener of this.listeners) listener.expected = listener.read;
  }

  onProgress(wake: () => void): () => void {
    this.wakers.add(wake);
    return () => this.wakers.delete(wake);
  }

  /** Wakes the writers once per burst of reads (a microtask: after the chunk of frames being read). */
  private wake(): void {
    if (this.wakeQueued) return;
    this.wakeQueued = true;
    queueMicrotask(() => {
      this.wakeQueued = false;
      for (const wake of this.wakers) wake();
    });
  }
}

const listenersInProcess = new ListenersInProcess();

/** net.core.rmem_max (the cap of SO_RCVBUF), or undefined when it cannot be read. */
function readRmemMax(): number | undefined {
  try {
    const value = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
/** First-start promises of monitors not listening yet: writes wait for them (see applyBatch). */
const monitorsStarting = new Set<Promise<void>>();

export interface NetlinkRouteTableOptions extends RouteWriterOptions {
  /** SO_RCVBUF of the `events` monitor socket (capped by net.core.rmem_max, doubled). Default 8 MiB. */
  readonly eventsReceiveBufferBytes?: number;
}

export class NetlinkRouteTable implements RouteTable {
  private readonly socket: RtNetlinkSocket = createRtNetlink();
  /** Route writes: a socket of their own, many requests per sendmsg. */
  private readonly writer: RouteWriter;
  private linksByName = new Map<string, LinkInfo>();
  private linksByIndex = new Map<number, LinkInfo>();
  private monitor: EventsMonitor | undefined;
  readonly events: Observable<KernelEvent>;

  constructor(options: NetlinkRouteTableOptions = {}) {
    this.writer = new RouteWriter(options, listenersInProcess);
    this.events = new Observable<KernelEvent>((subscriber) => {
      // The monitor runs in a child process (events-monitor.ts): an overrun of its netlink socket aborts
      // that process, not this one; it is restarted and subscribers get a `resync` event. A large receive
      // buffer (capped by net.core.rmem_max) and writers that never run far ahead of it make that rare.
      const receiveBufferBytes = options.eventsReceiveBufferBytes ?? MONITOR_RECEIVE_BUFFER_BYTES;
      const progress = listenersInProcess.add(receiveBufferBytes);
      const monitor = new EventsMonitor(
        { receiveBufferBytes },
        {
          datagram: (datagram) => {
            let routeMessages = 0;
            forEachMessage(datagram, (type, body) => {
              if (type === RTM_NEWROUTE || type === RTM_DELROUTE) routeMessages++;
              const event = this.toEvent(type, body);
              if (event) subscriber.next(event);
            });
            if (routeMessages > 0) listenersInProcess.read(progress, routeMessages);
          },
          ready: (lost) => {
            if (lost === undefined) return;
            listenersInProcess.lost(progress);
            // Link events were lost too: names in later route events must not come from a stale cache.
            this.listLinks().then(
              () => subscriber.next({ kind: 'resync', reason: lost }),
              () => subscriber.next({ kind: 'resync', reason: lost }),
            );
          },
        },
      );
      monitorsStarting.add(monitor.firstReady);
      void monitor.firstReady.then(() => monitorsStarting.delete(monitor.firstReady));
      try {
        monitor.start();
      } catch (error) {
        listenersInProcess.remove(progress);
        monitor.stop();
        subscriber.error(error);
        return;
      }
      this.monitor = monitor;
      return () => {
        listenersInProcess.remove(progress);
        if (this.monitor === monitor) this.monitor = undefined;
        monitor.stop();
      };
    }).pipe(share());
  }

  /**
   * Resolves once the `events` monitor of this table listens (immediately when nobody subscribed): a change
   * made after that, by anyone, is announced. Writes through any table of this process wait for it anyway.
   */
  async eventsListening(): Promise<void> {
    await this.monitor?.firstReady;
  }

  /** The pid of the child process running this table's `events` monitor, while subscribed (for tests). */
  get eventsMonitorPid(): number | undefined {
    return this.monitor?.pid;
  }

  async listLinks(): Promise<LinkInfo[]> {
    const messages = await this.socket.getLinks();
    const links = messages.map((m) => ({
      index: m.data.index ?? 0,
      name: m.attrs.ifname ?? '',
      up: Boolean(m.data.flags?.up),
    }));
    this.linksByName = new Map(links.map((l) => [l.name, l]));
    this.linksByIndex = new Map(links.map((l) => [l.index, l]));
    return links;
  }

  async listRoutes(filter: { protocol: number; table?: number }): Promise<KernelRoute[]> {
    await this.listLinks();
    // A dump of every family's routes, decoded here from the raw replies (the package's generic parser
    // costs more than the kernel's dump itself for 100k routes).
    const [messages] = await this.socket.socket.request(RTM_GETROUTE, Buffer.alloc(RTMSG_LENGTH), {
      flags: NLM_F_DUMP,
    });
    const routes: KernelRoute[] = [];
    for (const message of messages) {
      if (message.type !== RTM_NEWROUTE) continue;
      const route = this.fromFields(decodeRouteMessage(message.data));
      if (!route || route.protocol !== filter.protocol) continue;
      if (filter.table !== undefined && route.table !== filter.table) continue;
      routes.push(route);
    }
    return routes;
  }

  async replaceRoute(route: KernelRoute): Promise<void> {
    const result = await this.applyBatch([{ op: 'replace', route }]);
    if (result.failures[0]) throw result.failures[0].error;
  }

  async deleteRoute(route: KernelRoute): Promise<void> {
    const result = await this.applyBatch([{ op: 'delete', route }]);
    if (result.failures[0]) throw result.failures[0].error;
  }

  /**
   * Writes every op, in order, many per sendmsg (see RouteWriter); the result names each op that failed
   * (its index, the op, and the error replaceRoute/deleteRoute would have thrown for it). Interface names
   * are resolved from the link cache, refreshed once per batch when a name is unknown.
   */
  async applyBatch(ops: readonly RouteOp[]): Promise<BatchResult> {
    checkRouteOps(ops);
    // An `events` subscription opened before this write sees it: wait until its monitor listens.
    if (monitorsStarting.size > 0) await Promise.all(monitorsStarting);
    await this.refreshLinksIfUnknown(ops);
    const failures: RouteOpFailure[] = [];
    let succeeded = 0;
    let outstanding = 0;
    let allSubmitted = false;
    let finish: (() => void) | undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const interfaceIndex = (name: string) => this.interfaceIndex(name);
    // Encoded and handed to the writer a chunk at a time: the writer sends a full chunk at once, so the
    // kernel takes the first routes of a large batch while the rest are still being encoded; while the
    // writer has more queued than it can send, the answers that let it go on are read before encoding more.
    for (let start = 0; start < ops.length; start += SUBMIT_CHUNK) {
      if (this.writer.queued() >= SUBMIT_CHUNK) await this.writer.whenQueuedBelow(SUBMIT_CHUNK);
      const requests: WriteRequest[] = [];
      const end = Math.min(ops.length, start + SUBMIT_CHUNK);
      for (let index = start; index < end; index++) {
        const op = ops[index]!;
        let bytes: Buffer;
        try {
          bytes = encodeRouteRequest(op.op, op.route, interfaceIndex, 0);
        } catch (error) {
          failures.push({ index, op, error: asError(error) });
          continue;
        }
        outstanding++;
        requests.push({
          bytes,
          settle: (errno, reason) => {
            const error = outcomeError(op, errno, reason);
            if (error) failures.push({ index, op, error });
            else succeeded++;
            if (--outstanding === 0 && allSubmitted) finish?.();
          },
        });
      }
      if (requests.length > 0) this.writer.submit(requests);
    }
    allSubmitted = true;
    if (outstanding > 0) await done;
    failures.sort((a, b) => a.index - b.index);
    return { succeeded, failures };
  }

  close(): void {
    this.writer.close();
    this.socket.socket.close();
  }

  private interfaceIndex(name: string): number {
    const link = this.linksByName.get(name);
    if (!link) throw new KernelError(`no interface named '${name}'`, 'ENODEV');
    return link.index;
  }

  private async refreshLinksIfUnknown(ops: readonly RouteOp[]): Promise<void> {
    for (let index = 0; index < ops.length; index++) {
      const { op, route } = ops[index]!;
      if (op !== 'replace') continue;
      if (route.device !== undefined && !this.linksByName.has(route.device))
        return void (await this.listLinks());
      const hops = route.nextHops;
      if (hops === undefined) continue;
      for (const hop of hops) {
        if (hop.device !== undefined && !this.linksByName.has(hop.device))
          return void (await this.listLinks());
      }
    }
  }

  private decodeMultipath(buffer: Buffer): NextHop[] {
    const hops: NextHop[] = [];
    let offset = 0;
    while (offset + 8 <= buffer.length) {
      const length = buffer.readUInt16LE(offset);
      if (length < 8) break;
      const flags = buffer.readUInt8(offset + 2);
      const weight = buffer.readUInt8(offset + 3) + 1;
      const ifindex = buffer.readInt32LE(offset + 4);
      let gateway: string | undefined;
      let attrOffset = offset + 8;
      while (attrOffset + 4 <= offset + length) {
        const attrLength = buffer.readUInt16LE(attrOffset);
        const attrType = buffer.readUInt16LE(attrOffset + 2);
        if (attrLength < 4) break;
        if (attrType === RTA_GATEWAY)
          gateway = bytesToAddress(buffer.subarray(attrOffset + 4, attrOffset + attrLength));
        attrOffset += align4(attrLength);
      }
      const device = this.linksByIndex.get(ifindex)?.name;
      hops.push({
        ...(gateway ? { gateway } : {}),
        ...(device ? { device } : {}),
        ...(flags & RTNH_F_ONLINK ? { onlink: true } : {}),
        ...(weight !== 1 ? { weight } : {}),
      });
      offset += align4(length);
    }
    return hops;
  }

  private fromFields(fields: RouteMessageFields | undefined): KernelRoute | undefined {
    if (!fields) return undefined;
    const family = fields.family === AF_INET ? 4 : fields.family === AF_INET6 ? 6 : undefined;
    if (family === undefined) return undefined;
    const type = KERNEL_TYPE_NAMES[fields.type];
    if (!type) return undefined;
    const dstBytes = fields.dst ?? Buffer.alloc(family === 4 ? 4 : 16);
    const device = fields.oif !== undefined ? this.linksByIndex.get(fields.oif)?.name : undefined;
    const route: { -readonly [K in keyof KernelRoute]: KernelRoute[K] } = {
      dst:
        dstBytes.length === 4 ? ipv4CidrText(dstBytes, fields.dstLen) : formatCidr(dstBytes, fields.dstLen),
      table: fields.table,
      protocol: fields.protocol,
      type,
      scope: fields.scope === 253 ? 'link' : fields.scope === 254 ? 'host' : 'universe',
    };
    if (device) route.device = device;
    if (fields.gateway) route.gateway = this.gatewayText(fields.gateway);
    if (fields.flags & RTNH_F_ONLINK) route.onlink = true;
    if (fields.multipath) route.nextHops = this.decodeMultipath(fields.multipath);
    if (fields.priority) route.metric = fields.priority;
    return route;
  }

  /** Gateway texts by their bytes: the same few gateways come with every notification of a bulk install. */
  private readonly gatewayTexts = new Map<string, string>();

  private gatewayText(bytes: Buffer): string {
    if (bytes.length !== 4) return bytesToAddress(bytes);
    const key = bytes.toString('latin1');
    let text = this.gatewayTexts.get(key);
    if (text === undefined) {
      text = bytesToAddress(bytes);
      if (this.gatewayTexts.size >= 1024) this.gatewayTexts.clear();
      this.gatewayTexts.set(key, text);
    }
    return text;
  }

  private toEvent(type: number, body: Buffer): KernelEvent | undefined {
    if (type === RTM_NEWLINK || type === RTM_DELLINK) {
      const message = rt.parseLinkMessage(body);
      const link: LinkInfo = {
        index: message.data.index ?? 0,
        name: message.attrs.ifname ?? '',
        up: Boolean(message.data.flags?.up),
      };
      if (type === RTM_DELLINK) {
        this.linksByName.delete(link.name);
        this.linksByIndex.delete(link.index);
        return { kind: 'link-removed', link };
      }
      const known = this.linksByIndex.has(link.index);
      this.linksByName.set(link.name, link);
      this.linksByIndex.set(link.index, link);
      return { kind: known ? 'link-changed' : 'link-added', link };
    }
    if (type === RTM_NEWROUTE || type === RTM_DELROUTE) {
      const route = this.fromFields(decodeRouteMessage(body));
      if (!route) return undefined;
      return { kind: type === RTM_DELROUTE ? 'route-removed' : 'route-added', route };
    }
    return undefined;
  }
}

/** `a.b.c.d/n` of 4 address bytes (a route notification's destination), without the generic formatter. */
function ipv4CidrText(bytes: Uint8Array, length: number): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}/${length}`;
}

/** The error of one op from the kernel's answer (undefined = done); a missing route deletes fine. */
function outcomeError(op: RouteOp, errno: number, reason: string | undefined): KernelError | undefined {
  if (errno === 0) return undefined;
  const name = errnoName(errno);
  if (op.op === 'delete' && reason === undefined && (name === 'ESRCH' || name === 'ENOENT')) return undefined;
  const context = `${op.op === 'replace' ? 'cannot program' : 'cannot delete'} route ${describeRoute(op.route)}`;
  return reason === undefined ? refusal(context, errno) : new KernelError(`${context}: ${reason}`, name);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
