// TCP reassembly of one direction of one connection: segments in any order, duplicated, retransmitted
// or overlapping become the in-order byte stream the sender wrote. Sequence numbers are unwrapped
// (32-bit wrap-around) relative to the initial sequence number (SYN) or to the first segment seen.
// Bytes missing from the capture (dropped or cut by the snap length) become an explicit gap event when
// the data buffered beyond the hole exceeds `maxBufferedBytes`, or at `finish()`; the stream then
// continues after the hole (the BGP layer resynchronises on the marker).

/** What a direction's stream yields: in-order bytes, or a hole of `length` bytes at stream `offset`. */
export type StreamEvent =
  | {
      readonly kind: 'data';
      readonly offset: number;
      readonly bytes: Uint8Array;
      readonly timestampNs: bigint;
    }
  | { readonly kind: 'gap'; readonly offset: number; readonly length: number; readonly timestampNs: bigint };

/** The parts of a TCP segment reassembly needs. */
export interface ReassemblySegment {
  readonly sequence: number;
  readonly syn: boolean;
  readonly fin: boolean;
  readonly payload: Uint8Array;
  readonly timestampNs: bigint;
}

interface PendingSegment {
  readonly offset: number;
  readonly bytes: Uint8Array;
  readonly timestampNs: bigint;
}

const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export class TcpStreamReassembler {
  /** Sequence number of stream offset 0 (the byte after the SYN). */
  private baseSequence: number | undefined;
  private nextOffset = 0;
  private pending: PendingSegment[] = [];
  private pendingBytes = 0;
  private finOffset: number | undefined;

  constructor(private readonly maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES) {}

  /** Offset of the next byte the stream expects. */
  get deliveredBytes(): number {
    return this.nextOffset;
  }

  /** True once a FIN was seen and every byte before it delivered. */
  get closed(): boolean {
    return this.finOffset !== undefined && this.nextOffset >= this.finOffset;
  }

  /** Takes one segment; returns what became deliverable. */
  push(segment: ReassemblySegment): StreamEvent[] {
    if (segment.syn) {
      if (this.baseSequence === undefined) this.baseSequence = (segment.sequence + 1) >>> 0;
      // A SYN's payload (TCP Fast Open) starts after the SYN's own sequence number.
      if (segment.payload.length === 0 && !segment.fin) return [];
      return this.accept({ ...segment, syn: false, sequence: (segment.sequence + 1) >>> 0 });
    }
    if (this.baseSequence === undefined) this.baseSequence = segment.sequence;
    return this.accept(segment);
  }

  /** End of capture: delivers what is buffered, reporting the holes before it as gaps. */
  finish(): StreamEvent[] {
    const events: StreamEvent[] = [];
    while (this.pending.length > 0) this.skipToFirstPending(events);
    return events;
  }

  private accept(segment: ReassemblySegment): StreamEvent[] {
    const base = this.baseSequence ?? segment.sequence;
    // Unwrap relative to the next expected offset: the 32-bit difference is taken as signed.
    const expectedSequence = (base + this.nextOffset) >>> 0;
    const offset = this.nextOffset + (((segment.sequence - expectedSequence) | 0) as number);
    if (segment.fin) {
      const fin = offset + segment.payload.length;
      if (this.finOffset === undefined || fin < this.finOffset) this.finOffset = fin;
    }
    const end = offset + segment.payload.length;
    if (segment.payload.length === 0 || end <= this.nextOffset) return []; // nothing new (e.g. retransmission)
    const start = Math.max(offset, this.nextOffset);
    const bytes = segment.payload.subarray(start - offset);
    const events: StreamEvent[] = [];
    if (start === this.nextOffset) {
      this.deliver(start, bytes, segment.timestampNs, events);
      this.drainPending(events);
    } else {
      this.insertPending({ offset: start, bytes, timestampNs: segment.timestampNs });
      while (this.pendingBytes > this.maxBufferedBytes && this.pending.length > 0)
        this.skipToFirstPending(events);
    }
    return events;
  }

  private deliver(offset: number, bytes: Uint8Array, timestampNs: bigint, events: StreamEvent[]): void {
    const skip = this.nextOffset - offset;
    if (skip >= bytes.length) return;
    const fresh = skip > 0 ? bytes.subarray(skip) : bytes;
    events.push({ kind: 'data', offset: this.nextOffset, bytes: fresh, timestampNs });
    this.nextOffset += fresh.length;
  }

  private insertPending(segment: PendingSegment): void {
    let index = this.pending.length;
    while (index > 0 && (this.pending[index - 1] as PendingSegment).offset > segment.offset) index--;
    this.pending.splice(index, 0, segment);
    this.pendingBytes += segment.bytes.length;
  }

  private drainPending(events: StreamEvent[]): void {
    while (this.pending.length > 0) {
      const first = this.pending[0] as PendingSegment;
      if (first.offset > this.nextOffset) return;
      this.pending.shift();
      this.pendingBytes -= first.bytes.length;
      this.deliver(first.offset, first.bytes, first.timestampNs, events);
    }
  }

  private skipToFirstPending(events: StreamEvent[]): void {
    const first = this.pending[0] as PendingSegment;
    if (first.offset > this.nextOffset) {
      events.push({
        kind: 'gap',
        offset: this.nextOffset,
        length: first.offset - this.nextOffset,
        timestampNs: first.timestampNs,
      });
      this.nextOffset = first.offset;
    }
    this.drainPending(events);
  }
}
