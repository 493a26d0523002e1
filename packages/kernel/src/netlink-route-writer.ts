// The bulk write path of NetlinkRouteTable: a dedicated rtnetlink socket (the `netlink` package's
// RawNetlinkSocket) that sends many route requests per sendmsg — a datagram of concatenated netlink
// messages, which the kernel processes in order — each with its own sequence number. The kernel answers
// every refused request with an NLMSG_ERROR carrying that number, so a refusal is matched to its request;
// only the last request of a datagram asks for an acknowledgement of success too (NLM_F_ACK): once that
// arrives, every earlier request of the datagram that was not refused has succeeded, which saves the
// kernel one message, and us one recvmsg, per route. A window bounds the requests awaiting an answer so
// that the answers always fit the socket's receive buffer and the notifications fit route listeners' ones:
// the kernel would drop the rest and flag the socket with ENOBUFS, and the `netlink` package (0.3.0)
// aborts the whole process on a flagged socket (its poll callback builds an error with a NULL syscall
// name), so an overrun must not happen rather than be recovered from.

import { Protocol, RawNetlinkSocket } from 'netlink';
import { type NetlinkReply, NLM_F_ACK, NLMSG_ERROR, parseReplies } from './route-message.js';

export interface RouteWriterOptions {
  /** SO_RCVBUF to ask for (the kernel caps it at net.core.rmem_max and doubles it). Default 4 MiB. */
  readonly receiveBufferBytes?: number;
  /**
   * Requests sent and not yet acknowledged, at most (default 256). Each request also makes the kernel
   * queue one notification on every rtnetlink route listener (ours, Felix's, BIRD's...); 256 of them fit
   * the default 212 992-byte receive buffer of such a listener, so a burst of ours cannot overflow a
   * listener that is reading. Whatever this says, acknowledgements never exceed half our receive buffer.
   */
  readonly window?: number;
  /** Bytes per sendmsg at most (the kernel refuses more than SO_SNDBUF - 32). Default 60 KiB. */
  readonly maxDatagramBytes?: number;
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

const DEFAULT_WINDOW = 256;
/**
 * The window while a route listener of this process is subscribed: the `netlink` package reads at most 32
 * datagrams per socket per event-loop turn, so a listener here reads 32 notifications a turn; with one
 * datagram of at most 32 requests in flight, answered in one turn, the listener never falls behind.
 */
const LISTENING_WINDOW = 32;
/** The kernel's accounting (skb truesize) of the acknowledgement of a typical route request, measured. */
const TYPICAL_ACK_COST = 768;
const ESHUTDOWN = 108;

interface InFlight {
  readonly request: WriteRequest;
  readonly cost: number;
  /** On the last request of a datagram (the one with NLM_F_ACK): the sequence numbers of the others. */
  readonly earlier?: readonly number[];
}

export class RouteWriter {
  private socket: RawNetlinkSocket | undefined;
  private portId = 0;
  private window = 0;
  /** Receive-buffer bytes the outstanding acknowledgements may take (half of SO_RCVBUF). */
  private ackBudget = 0;
  private inFlightCost = 0;
  private readonly maxDatagramBytes: number;
  private queue: WriteRequest[] = [];
  private queueHead = 0;
  private readonly inFlight = new Map<number, InFlight>();
  private nextSeq = 1;
  private flushScheduled = false;
  private referenced = false;
  private closed = false;

  constructor(
    private readonly options: RouteWriterOptions = {},
    /** True while a route listener in this process reads notifications (a table's `events`). */
    private readonly listenerActive: () => boolean = () => false,
  ) {
    this.maxDatagramBytes = options.maxDatagramBytes ?? 60 * 1024;
  }

  /** Queues requests in order; they go out after this event-loop turn, as many per sendmsg as fit. */
  submit(requests: readonly WriteRequest[]): void {
    if (this.closed) {
      for (const request of requests) request.settle(ESHUTDOWN, 'the route table was closed');
      return;
    }
    for (const request of requests) this.queue.push(request);
    this.scheduleFlush();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pending = [
      ...[...this.inFlight.values()].map((f) => f.request),
      ...this.queue.slice(this.queueHead),
    ];
    this.inFlight.clear();
    this.inFlightCost = 0;
    this.queue = [];
    this.queueHead = 0;
    this.socket?.close();
    this.socket = undefined;
    for (const request of pending) request.settle(ESHUTDOWN, 'the route table was closed');
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
    while (this.queueHead < this.queue.length && this.hasRoomFor(this.queue[this.queueHead]!)) {
      const parts: Buffer[] = [];
      const sent: number[] = [];
      let bytes = 0;
      while (this.queueHead < this.queue.length) {
        const request = this.queue[this.queueHead]!;
        if (!this.hasRoomFor(request)) break;
        if (parts.length > 0 && bytes + request.bytes.length > this.maxDatagramBytes) break;
        this.queueHead++;
        const seq = this.takeSeq();
        request.bytes.writeUInt16LE(request.bytes.readUInt16LE(6) & ~NLM_F_ACK, 6);
        request.bytes.writeUInt32LE(seq, 8);
        request.bytes.writeUInt32LE(this.portId >>> 0, 12);
        const cost = ackCost(request.bytes.length);
        this.inFlight.set(seq, { request, cost });
        this.inFlightCost += cost;
        parts.push(request.bytes);
        sent.push(seq);
        bytes += request.bytes.length;
      }
      // The last request of the datagram carries NLM_F_ACK: its answer vouches for the ones before it.
      const lastSeq = sent[sent.length - 1]!;
      const last = parts[parts.length - 1]!;
      last.writeUInt16LE(last.readUInt16LE(6) | NLM_F_ACK, 6);
      const lastEntry = this.inFlight.get(lastSeq)!;
      this.inFlight.set(lastSeq, { ...lastEntry, earlier: sent.slice(0, -1) });
      socket.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes), {}, (error) => {
        if (error) this.sendFailed(sent, error);
      });
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 65_536) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    this.updateRef();
  }

  /** Room in the window and in the receive buffer for this request's acknowledgement (always for one). */
  private hasRoomFor(request: WriteRequest): boolean {
    if (this.inFlight.size === 0) return true;
    const window = this.listenerActive() ? Math.min(this.window, LISTENING_WINDOW) : this.window;
    return this.inFlight.size < window && this.inFlightCost + ackCost(request.bytes.length) <= this.ackBudget;
  }

  private forget(seq: number): WriteRequest | undefined {
    const entry = this.inFlight.get(seq);
    if (!entry) return undefined;
    this.inFlight.delete(seq);
    this.inFlightCost -= entry.cost;
    return entry.request;
  }

  private takeSeq(): number {
    const seq = this.nextSeq;
    this.nextSeq = this.nextSeq >= 0xffffffff ? 1 : this.nextSeq + 1;
    return seq;
  }

  private receive(datagram: Buffer): void {
    parseReplies(datagram, (reply) => this.onReply(reply));
    // Refill once half the window is answered (with one acknowledgement per datagram, usually all of it).
    const window = this.listenerActive() ? Math.min(this.window, LISTENING_WINDOW) : this.window;
    if (
      this.queueHead < this.queue.length &&
      this.inFlight.size <= window >> 1 &&
      this.inFlightCost <= this.ackBudget >> 1
    ) {
      this.scheduleFlush();
    }
    this.updateRef();
  }

  private onReply(reply: NetlinkReply): void {
    if (reply.type !== NLMSG_ERROR) return;
    const entry = this.inFlight.get(reply.seq);
    if (!entry) return; // not ours (or already failed by a socket error)
    this.forget(reply.seq);
    entry.request.settle(reply.errno);
    // The kernel answered the datagram's last request, so it processed all before it, in order; their
    // refusals came first. Whatever is left of them succeeded.
    for (const seq of entry.earlier ?? []) this.forget(seq)?.settle(0);
  }

  private sendFailed(
    seqs: readonly number[],
    error: { code?: string; errno?: number; message: string },
  ): void {
    const errno = Math.abs(error.errno ?? 0) || 5;
    for (const seq of seqs) {
      const request = this.forget(seq);
      if (!request) continue;
      request.settle(errno, `sendmsg failed: ${error.code ?? error.message}`);
    }
    if (this.queueHead < this.queue.length) this.scheduleFlush();
    this.updateRef();
  }

  /** A receive error: the outcome of what is outstanding is unknown; fail it and start over on a new socket. */
  private socketError(error: { code?: string; errno?: number; message: string }): void {
    const outstanding = [...this.inFlight.values()].map((f) => f.request);
    this.inFlight.clear();
    this.inFlightCost = 0;
    this.socket?.close();
    this.socket = undefined;
    for (const request of outstanding) {
      request.settle(Math.abs(error.errno ?? 0) || 5, `netlink socket error: ${error.code ?? error.message}`);
    }
    if (this.queueHead < this.queue.length) this.scheduleFlush();
  }

  /** Keeps the process alive exactly while something is queued or awaiting the kernel. */
  private updateRef(): void {
    const busy = this.inFlight.size > 0 || this.queueHead < this.queue.length;
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
