// The bulk write path of NetlinkRouteTable: a dedicated rtnetlink socket (the `netlink` package's
// RawNetlinkSocket) that sends many route requests per sendmsg — a datagram of concatenated netlink
// messages, which the kernel processes in order — each with its own sequence number. The kernel answers
// every refused request with an NLMSG_ERROR carrying that number, so a refusal is matched to its request;
// only the last request of a datagram asks for an acknowledgement of success too (NLM_F_ACK): once that
// arrives, every earlier request of the datagram that was not refused has succeeded, which saves the
// kernel one message, and us one recvmsg, per route. A window bounds the requests awaiting an answer so
// that the answers always fit the socket's receive buffer: the kernel would drop the rest and flag the
// socket with ENOBUFS, and the `netlink` package (0.3.0) aborts the whole process on a flagged socket (its
// poll callback builds an error with a NULL syscall name), so an overrun must not happen rather than be
// recovered from. Route listeners of this process (the events monitors, which read the kernel's
// notification of each of our writes in a child process) are paced by their own progress instead of by a
// small window: the writer runs ahead of the slowest one by at most `ListenerBacklog.maxUnread` changes.

import { Protocol, RawNetlinkSocket } from 'netlink';
import { FifoQueue } from './fifo-queue.js';
import { type NetlinkReply, NLM_F_ACK, NLMSG_ERROR, parseReplies } from './route-message.js';

export interface RouteWriterOptions {
  /** SO_RCVBUF to ask for (the kernel caps it at net.core.rmem_max and doubles it). Default 4 MiB. */
  readonly receiveBufferBytes?: number;
  /**
   * Requests sent and not yet acknowledged, at most (default 4096): the requests one flush may send, as
   * datagrams of at most 256 requests each. Each request also makes the kernel queue one notification on
   * every rtnetlink route listener (ours, Felix's, BIRD's...); 256 of them fit the default 212 992-byte
   * receive buffer of such a listener, so one sendmsg of ours cannot overflow a listener that is reading.
   * Whatever this says, acknowledgements never exceed half our receive buffer.
   */
  readonly window?: number;
  /** Bytes per sendmsg at most (the kernel refuses more than SO_SNDBUF - 32). Default 60 KiB. */
  readonly maxDatagramBytes?: number;
}

/**
 * The route listeners of this process (see netlink-route-table.ts): each successful write makes the
 * kernel queue one notification for every listener, and a listener that falls a receive buffer behind
 * loses notifications (ENOBUFS, then a costly resync). The writer waits while the slowest listener has
 * `maxUnread` of our changes (acknowledged or in flight) still unread.
 */
export interface ListenerBacklog {
  /** Our acknowledged changes the slowest listener has not read yet; undefined when nobody listens. */
  unread(): number | undefined;
  /** How many changes (unread + in flight) may be ahead of the slowest listener. */
  maxUnread(): number;
  /** The kernel acknowledged `count` changes of ours (each one notifies every listener once). */
  written(count: number): void;
  /** A number that grows whenever a listener reads a notification (to tell a stall from slow progress). */
  progress(): number;
  /** Gives up waiting for what the listeners have not read (their notifications were lost or never come). */
  forgive(): void;
  /** Calls `wake` whenever a listener has read notifications; returns the function that stops it. */
  onProgress(wake: () => void): () => void;
}

/** A request to send: its bytes (sequence number stamped here) and who to tell the outcome. */
export interface WriteRequest {
  readonly bytes: Buffer;
  /**
   * Called exactly once: errno 0 = acknowledged; a positive errno = the kernel refused it, or, with
   * `reason` set, the request's fate is unknown or it was never sent (a sendmsg or socket error, close).
   */
  settle(errno: number, reason?: string): void;
}

const DEFAULT_WINDOW = 4096;
/** Requests per sendmsg at most: their notifications fit a route listener's default receive buffer. */
const MAX_REQUESTS_PER_DATAGRAM = 256;
/**
 * While the writer waits for listeners, no progress for this long means the notifications it waits for
 * will not come (a listener restarting, a change the kernel did not announce): it stops waiting for them.
 */
const LISTENER_STALL_MS = 200;
/** The kernel's accounting (skb truesize) of the acknowledgement of a typical route request, measured. */
const TYPICAL_ACK_COST = 768;
const ESHUTDOWN = 108;

/**
 * One sent datagram: its requests carry consecutive sequence numbers from `firstSeq`. The kernel answers
 * in order: a refusal for each refused request, then the acknowledgement of the last one, which settles
 * every request of the datagram not refused before it.
 */
interface SentDatagram {
  readonly firstSeq: number;
  readonly requests: WriteRequest[];
  /** Requests of it already settled (refused), by position; allocated at the first refusal. */
  refused: Uint8Array | undefined;
  /** Its requests not settled yet. */
  open: number;
}

export class RouteWriter {
  private socket: RawNetlinkSocket | undefined;
  private portId = 0;
  private window = 0;
  /** Receive-buffer bytes the outstanding acknowledgements may take (half of SO_RCVBUF). */
  private ackBudget = 0;
  private inFlightCost = 0;
  private readonly maxDatagramBytes: number;
  /** Requests submitted and not sent yet, oldest first. */
  private readonly queue = new FifoQueue<WriteRequest>();
  /** Datagrams sent and not fully answered, oldest first. */
  private readonly sent = new FifoQueue<SentDatagram>();
  /** Requests sent and not answered yet. */
  private inFlight = 0;
  private nextSeq = 1;
  private flushScheduled = false;
  private referenced = false;
  private closed = false;
  /** Set while the writer waits for listeners: the stall check and the progress seen when it was armed. */
  private stallTimer: NodeJS.Timeout | undefined;
  private progressAtStall = 0;
  private readonly stopWaking: () => void;
  /** Changes the kernel acknowledged in the datagram being read (each notified route listeners once). */
  private acknowledged = 0;
  /** Callers of whenQueuedBelow waiting for the queue to shrink. */
  private drainWaiters: { readonly below: number; readonly resolve: () => void }[] = [];

  constructor(
    private readonly options: RouteWriterOptions = {},
    /** The route listeners of this process that the writer must not outrun (none: no pacing). */
    private readonly listeners?: ListenerBacklog,
  ) {
    this.maxDatagramBytes = options.maxDatagramBytes ?? 60 * 1024;
    this.stopWaking =
      listeners?.onProgress(() => {
        if (this.queue.length > 0 && !this.closed) this.scheduleFlush();
      }) ?? (() => {});
  }

  /**
   * Queues requests in order. A queue of at least a full datagram goes out at once; fewer wait for the end
   * of this event-loop turn, so that the requests of many callers share a sendmsg.
   */
  submit(requests: readonly WriteRequest[]): void {
    if (this.closed) {
      for (const request of requests) request.settle(ESHUTDOWN, 'the route table was closed');
      return;
    }
    for (const request of requests) this.queue.push(request);
    if (this.queue.length >= MAX_REQUESTS_PER_DATAGRAM) this.flush();
    else this.scheduleFlush();
  }

  /** Requests queued and not sent yet. */
  queued(): number {
    return this.queue.length;
  }

  /** Resolves once fewer than `count` requests are queued and not sent (or the writer is closed). */
  whenQueuedBelow(count: number): Promise<void> {
    if (this.closed || this.queued() < count) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push({ below: count, resolve }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWaking();
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const pending = [...this.takeOutstanding(), ...this.queue.drain()];
    this.socket?.close();
    this.socket = undefined;
    for (const request of pending) request.settle(ESHUTDOWN, 'the route table was closed');
    this.wakeDrainWaiters();
  }

  private open(): RawNetlinkSocket {
    if (this.socket) return this.socket;
    // No peeking: one recvmsg per acknowledgement instead of two; a refusal echoing a long request is
    // truncated, which keeps its header and errno (all we read).
    const socket = new RawNetlinkSocket(Protocol.ROUTE, {
      messagePeeking: false,
      msgBufferSize: 512,
      recvBufferSize: this.options.receiveBufferBytes ?? 4 * 1024 * 1024,
      sendBufferSize: 256 * 1024,
    });
    socket.on('message', (datagram) => this.receive(datagram));
    socket.on('truncatedMessage', (datagram) => this.receive(datagram));
    socket.on('error', (error) => this.socketError(error));
    socket.unref();
    this.referenced = false;
    this.socket = socket;
    this.portId = socket.address().port;
    if (this.window === 0) this.window = Math.max(1, this.options.window ?? DEFAULT_WINDOW);
    this.ackBudget = Math.floor(socket.getRecvBufferSize() / 2);
    return socket;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After the poll phase: the answers read in this turn, and the calls they release, share a datagram.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.closed) return;
    const socket = this.open();
    while (this.queue.length > 0 && this.hasRoomFor(this.queue.peek()!)) {
      // Consecutive sequence numbers within a datagram: no wrap-around inside one.
      if (this.nextSeq > 0xffffffff - MAX_REQUESTS_PER_DATAGRAM) this.nextSeq = 1;
      const firstSeq = this.nextSeq;
      const requests: WriteRequest[] = [];
      const parts: Buffer[] = [];
      let bytes = 0;
      while (this.queue.length > 0) {
        const request = this.queue.peek()!;
        if (requests.length > 0 && !this.hasRoomFor(request)) break;
        if (requests.length > 0 && bytes + request.bytes.length > this.maxDatagramBytes) break;
        if (requests.length >= MAX_REQUESTS_PER_DATAGRAM) break;
        this.queue.shift();
        const seq = this.nextSeq++;
        request.bytes.writeUInt16LE(request.bytes.readUInt16LE(6) & ~NLM_F_ACK, 6);
        request.bytes.writeUInt32LE(seq, 8);
        request.bytes.writeUInt32LE(this.portId >>> 0, 12);
        this.inFlight++;
        this.inFlightCost += ackCost(request.bytes.length);
        requests.push(request);
        parts.push(request.bytes);
        bytes += request.bytes.length;
      }
      // The last request of the datagram carries NLM_F_ACK: its answer vouches for the ones before it.
      const last = parts[parts.length - 1]!;
      last.writeUInt16LE(last.readUInt16LE(6) | NLM_F_ACK, 6);
      const datagram: SentDatagram = { firstSeq, requests, refused: undefined, open: requests.length };
      this.sent.push(datagram);
      socket.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes), {}, (error) => {
        if (error) this.sendFailed(datagram, error);
      });
    }
    if (this.queue.length > 0 && this.inFlight === 0) this.waitForListeners();
    this.updateRef();
    this.wakeDrainWaiters();
  }

  private wakeDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const queued = this.queued();
    const waiting = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiting) {
      if (this.closed || queued < waiter.below) waiter.resolve();
      else this.drainWaiters.push(waiter);
    }
  }

  /**
   * Room in the window and in the receive buffer for this request's acknowledgement (always for one when
   * nothing is in flight), and room ahead of the slowest route listener of this process.
   */
  private hasRoomFor(request: WriteRequest): boolean {
    if (this.listenersBehind()) return false;
    if (this.inFlight === 0) return true;
    return this.inFlight < this.window && this.inFlightCost + ackCost(request.bytes.length) <= this.ackBudget;
  }

  /** True when the slowest listener has `maxUnread` of our changes, counting those in flight, unread. */
  private listenersBehind(): boolean {
    const unread = this.listeners?.unread();
    return unread !== undefined && unread + this.inFlight >= this.listeners!.maxUnread();
  }

  /**
   * Nothing in flight and the queue waits for listeners: their progress wakes the writer (onProgress);
   * if none comes for LISTENER_STALL_MS, what they have not read is given up on, and writing goes on.
   */
  private waitForListeners(): void {
    if (this.stallTimer !== undefined || !this.listeners) return;
    const listeners = this.listeners;
    this.progressAtStall = listeners.progress();
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.closed || this.queue.length === 0) return;
      if (listeners.progress() === this.progressAtStall) listeners.forgive();
      this.scheduleFlush();
    }, LISTENER_STALL_MS);
  }

  private receive(datagram: Buffer): void {
    this.acknowledged = 0;
    parseReplies(datagram, (reply) => this.onReply(reply));
    if (this.acknowledged > 0) this.listeners?.written(this.acknowledged);
    // Refill once half the window is answered (with one acknowledgement per datagram, usually all of it),
    // at once: the kernel handles a request datagram within sendmsg, so its acknowledgement is already
    // queued when the `netlink` package reads on (up to 32 datagrams per wake-up). A large queue goes out
    // in one event-loop turn instead of one window per turn, however busy the turns are with other work.
    if (
      this.queue.length > 0 &&
      this.inFlight <= this.window >> 1 &&
      this.inFlightCost <= this.ackBudget >> 1
    ) {
      this.flush();
      return;
    }
    this.updateRef();
  }

  private onReply(reply: NetlinkReply): void {
    if (reply.type !== NLMSG_ERROR) return;
    // Answers come in order, so their datagram is the oldest one (or, rarely, one after it).
    for (let at = 0; at < this.sent.length; at++) {
      const datagram = this.sent.at(at)!;
      const position = reply.seq - datagram.firstSeq;
      if (position < 0 || position >= datagram.requests.length) continue;
      if (datagram.refused?.[position] === 1) return;
      if (position < datagram.requests.length - 1) {
        // A refusal of one request before the last: the others are still to be answered.
        datagram.refused ??= new Uint8Array(datagram.requests.length);
        datagram.refused[position] = 1;
        this.settle(datagram, position, reply.errno);
        return;
      }
      // The kernel answered the datagram's last request, so it processed all before it, in order; their
      // refusals came first. Whatever is left of them succeeded.
      this.sent.removeAt(at);
      for (let index = 0; index < position; index++) {
        if (datagram.refused?.[index] !== 1) this.settle(datagram, index, 0);
      }
      this.settle(datagram, position, reply.errno);
      return;
    }
    // Not ours (or already failed by a socket error).
  }

  /** Settles one request of a sent datagram (counting the changes listeners will be told of). */
  private settle(datagram: SentDatagram, index: number, errno: number, reason?: string): void {
    const request = datagram.requests[index]!;
    datagram.open--;
    this.inFlight--;
    this.inFlightCost -= ackCost(request.bytes.length);
    if (errno === 0) this.acknowledged++;
    request.settle(errno, reason);
  }

  /** Every request sent and not settled, taken out of the bookkeeping (to be failed by the caller). */
  private takeOutstanding(): WriteRequest[] {
    const outstanding: WriteRequest[] = [];
    for (const datagram of this.sent.drain()) {
      datagram.requests.forEach((request, index) => {
        if (datagram.refused?.[index] !== 1) outstanding.push(request);
      });
    }
    this.inFlight = 0;
    this.inFlightCost = 0;
    return outstanding;
  }

  private sendFailed(
    datagram: SentDatagram,
    error: { code?: string; errno?: number; message: string },
  ): void {
    const at = this.sent.indexOf(datagram);
    if (at >= 0) {
      this.sent.removeAt(at);
      const errno = Math.abs(error.errno ?? 0) || 5;
      const reason = `sendmsg failed: ${error.code ?? error.message}`;
      for (let index = 0; index < datagram.requests.length; index++) {
        if (datagram.refused?.[index] !== 1) this.settle(datagram, index, errno, reason);
      }
    }
    if (this.queue.length > 0) this.scheduleFlush();
    this.updateRef();
  }

  /** A receive error: the outcome of what is outstanding is unknown; fail it and start over on a new socket. */
  private socketError(error: { code?: string; errno?: number; message: string }): void {
    const outstanding = this.takeOutstanding();
    this.socket?.close();
    this.socket = undefined;
    for (const request of outstanding) {
      request.settle(Math.abs(error.errno ?? 0) || 5, `netlink socket error: ${error.code ?? error.message}`);
    }
    if (this.queue.length > 0) this.scheduleFlush();
  }

  /** Keeps the process alive exactly while something is queued or awaiting the kernel. */
  private updateRef(): void {
    const busy = this.inFlight > 0 || this.queue.length > 0;
    if (busy === this.referenced || !this.socket) return;
    this.referenced = busy;
    if (busy) this.socket.ref();
    else this.socket.unref();
  }
}

/**
 * Upper bound of the kernel's accounting of the acknowledgement of a request of `length` bytes: an error
 * acknowledgement echoes the request (nlmsghdr + errno + request), allocated with skb_shared_info (320
 * bytes) in a power-of-two slab, plus the sk_buff itself. 768 for a typical route request.
 */
export function ackCost(length: number): number {
  let slab = 512;
  while (slab < length + 16 + 4 + 320) slab *= 2;
  return Math.max(TYPICAL_ACK_COST, slab + 256);
}
