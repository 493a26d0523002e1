// From captured frames to BGP messages: TCP connections on port 179 are tracked and reassembled per
// direction, each direction's byte stream is cut into messages at the BGP header (marker + length), and
// each message carries the decoding context negotiated from the connection's two OPENs. After a gap or
// a broken header the stream resynchronises on the next 16 × 0xFF marker followed by a plausible header.

import { decodeTcpSegment, type SkipReason, type TcpSegment } from './packet.js';
import type { CapturedFrame } from './pcap.js';
import { concatBytes } from './pcap.js';
import { type StreamEvent, TcpStreamReassembler } from './reassembly.js';
import {
  DEFAULT_DECODE_CONTEXT,
  type DirectionDecodeContext,
  negotiateDirectionContext,
  type OpenCapabilitySummary,
  summariseOpen,
} from './session-context.js';

export const BGP_PORT = 179;
const BGP_HEADER_LENGTH = 19;
const BGP_MARKER_LENGTH = 16;
const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

/** What a direction's byte stream yields. */
export type FramedStreamEvent =
  | { readonly kind: 'message'; readonly offset: number; readonly bytes: Uint8Array }
  | { readonly kind: 'gap'; readonly offset: number; readonly length: number }
  | {
      readonly kind: 'framing-error';
      readonly offset: number;
      readonly reason: string;
      readonly skippedBytes: number;
    };

/**
 * Cuts a BGP byte stream into whole messages by their header. A header whose marker is not 16 × 0xFF or
 * whose length is below 19 is reported and skipped up to the next plausible header.
 */
export class BgpStreamSplitter {
  private buffer: Uint8Array = new Uint8Array(0);
  private bufferOffset = 0; // stream offset of buffer[0]
  private resynchronising = false;

  /** Appends in-order bytes at stream offset `offset`; returns the messages now complete. */
  push(offset: number, bytes: Uint8Array): FramedStreamEvent[] {
    if (this.buffer.length === 0) {
      this.buffer = bytes;
      this.bufferOffset = offset;
    } else this.buffer = concatBytes(this.buffer, bytes);
    return this.drain();
  }

  /** A hole in the stream: drops the partial message and scans for the next marker. */
  gap(offset: number, length: number): FramedStreamEvent[] {
    const events: FramedStreamEvent[] = [{ kind: 'gap', offset, length }];
    this.buffer = new Uint8Array(0);
    this.bufferOffset = offset + length;
    this.resynchronising = true;
    return events;
  }

  /** Bytes left over at end of stream (a message cut by the end of the capture). */
  get trailingBytes(): number {
    return this.buffer.length;
  }

  private drain(): FramedStreamEvent[] {
    const events: FramedStreamEvent[] = [];
    let position = 0;
    const buffer = this.buffer;
    for (;;) {
      if (this.resynchronising) {
        const found = findPlausibleHeader(buffer, position);
        if (found < 0) {
          // Keep the last 18 bytes: a header may start in them.
          const keep = Math.max(position, buffer.length - (BGP_HEADER_LENGTH - 1));
          position = keep;
          break;
        }
        if (found > position) {
          events.push({
            kind: 'framing-error',
            offset: this.bufferOffset + position,
            reason: 'resynchronised on the BGP marker',
            skippedBytes: found - position,
          });
        }
        position = found;
        this.resynchronising = false;
      }
      if (buffer.length - position < BGP_HEADER_LENGTH) break;
      const header = headerProblem(buffer, position);
      if (header !== undefined) {
        events.push({
          kind: 'framing-error',
          offset: this.bufferOffset + position,
          reason: header,
          skippedBytes: 0,
        });
        this.resynchronising = true;
        position += 1;
        continue;
      }
      const length = ((buffer[position + 16] as number) << 8) | (buffer[position + 17] as number);
      if (buffer.length - position < length) break;
      events.push({
        kind: 'message',
        offset: this.bufferOffset + position,
        bytes: buffer.slice(position, position + length),
      });
      position += length;
    }
    this.buffer = buffer.subarray(position);
    this.bufferOffset += position;
    return events;
  }
}

function headerProblem(buffer: Uint8Array, position: number): string | undefined {
  for (let i = 0; i < BGP_MARKER_LENGTH; i++) {
    if (buffer[position + i] !== 0xff)
      return `bad marker byte 0x${(buffer[position + i] ?? 0).toString(16)} at header offset ${i}`;
  }
  const length = ((buffer[position + 16] as number) << 8) | (buffer[position + 17] as number);
  if (length < BGP_HEADER_LENGTH) return `message length ${length} is below the 19-octet header`;
  return undefined;
}

function findPlausibleHeader(buffer: Uint8Array, from: number): number {
  for (let position = from; position + BGP_HEADER_LENGTH <= buffer.length; position++) {
    if (buffer[position] !== 0xff) continue;
    if (headerProblem(buffer, position) !== undefined) continue;
    const type = buffer[position + 18] as number;
    const length = ((buffer[position + 16] as number) << 8) | (buffer[position + 17] as number);
    if (type >= 1 && type <= 5 && length <= MAX_EXTENDED_MESSAGE_LENGTH) {
      // A run of more than 16 0xFF bytes: the marker is the last 16 of them.
      return position;
    }
  }
  return -1;
}

/** Which side sent a message: the side that opened the TCP connection, or the listener (port 179). */
export type CaptureDirection = 'initiator-to-listener' | 'listener-to-initiator';

/** One event of a capture's BGP traffic, in capture order per direction. */
export type CapturedBgpEvent =
  | {
      readonly kind: 'message';
      readonly connection: string;
      readonly direction: CaptureDirection;
      readonly sender: string;
      readonly timestampNs: bigint;
      readonly bytes: Uint8Array;
      /** The context to decode this message with (from the two OPENs, else the fallback). */
      readonly context: DirectionDecodeContext;
    }
  | {
      readonly kind: 'gap' | 'framing-error';
      readonly connection: string;
      readonly direction: CaptureDirection;
      readonly timestampNs: bigint;
      readonly detail: string;
    };

interface DirectionState {
  readonly reassembler: TcpStreamReassembler;
  readonly splitter: BgpStreamSplitter;
  readonly endpoint: string;
  open: OpenCapabilitySummary | undefined;
  /** This direction's negotiated context, recomputed only when an OPEN of either side arrives. */
  context: DirectionDecodeContext | undefined;
  lastTimestampNs: bigint;
}

interface ConnectionState {
  readonly name: string;
  readonly initiatorKey: string;
  readonly fromInitiator: DirectionState;
  readonly fromListener: DirectionState;
}

/** Counts of frames that carried no port-179 TCP data, by reason. */
export type SkippedFrameCounts = Partial<Record<SkipReason | 'not-bgp-port', number>>;

export interface CaptureDecoderOptions {
  /** Context for a direction whose OPENs were not captured (capture started mid-session). */
  readonly fallbackContext?: DirectionDecodeContext;
  readonly maxBufferedBytes?: number;
}

function endpointText(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Tracks every TCP connection to or from port 179 in a capture and turns its two directions into BGP
 * messages with their decoding context. Feed frames in capture order, then call `finish`.
 */
export class CaptureBgpDecoder {
  private readonly connections = new Map<string, ConnectionState>();
  readonly skippedFrames: SkippedFrameCounts = {};
  private readonly fallbackContext: DirectionDecodeContext;

  constructor(private readonly options: CaptureDecoderOptions = {}) {
    this.fallbackContext = options.fallbackContext ?? DEFAULT_DECODE_CONTEXT;
  }

  /** Takes one captured frame; returns the BGP events it completed. */
  pushFrame(frame: CapturedFrame): CapturedBgpEvent[] {
    const result = decodeTcpSegment(frame.linkType, frame.data);
    if ('skipped' in result) {
      this.skippedFrames[result.skipped] = (this.skippedFrames[result.skipped] ?? 0) + 1;
      return [];
    }
    const segment = result.segment;
    if (segment.sourcePort !== BGP_PORT && segment.destinationPort !== BGP_PORT) {
      this.skippedFrames['not-bgp-port'] = (this.skippedFrames['not-bgp-port'] ?? 0) + 1;
      return [];
    }
    const { connection, state } = this.connectionOf(segment);
    const events: CapturedBgpEvent[] = [];
    const streamEvents = state.reassembler.push({ ...segment, timestampNs: frame.timestampNs });
    this.handleStreamEvents(connection, state, streamEvents, events);
    return events;
  }

  /** End of capture: flushes every direction (reporting gaps and messages cut by the end). */
  finish(): CapturedBgpEvent[] {
    const events: CapturedBgpEvent[] = [];
    for (const connection of this.connections.values()) {
      for (const state of [connection.fromInitiator, connection.fromListener]) {
        this.handleStreamEvents(connection, state, state.reassembler.finish(), events);
        if (state.splitter.trailingBytes > 0) {
          events.push({
            kind: 'framing-error',
            connection: connection.name,
            direction: this.directionOf(connection, state),
            timestampNs: state.lastTimestampNs,
            detail: `capture ends inside a message (${state.splitter.trailingBytes} bytes of it captured)`,
          });
        }
      }
    }
    return events;
  }

  private directionOf(connection: ConnectionState, state: DirectionState): CaptureDirection {
    return state === connection.fromInitiator ? 'initiator-to-listener' : 'listener-to-initiator';
  }

  private handleStreamEvents(
    connection: ConnectionState,
    state: DirectionState,
    streamEvents: StreamEvent[],
    events: CapturedBgpEvent[],
  ): void {
    const direction = this.directionOf(connection, state);
    const peer = state === connection.fromInitiator ? connection.fromListener : connection.fromInitiator;
    for (const streamEvent of streamEvents) {
      state.lastTimestampNs = streamEvent.timestampNs;
      const framed =
        streamEvent.kind === 'data'
          ? state.splitter.push(streamEvent.offset, streamEvent.bytes)
          : state.splitter.gap(streamEvent.offset, streamEvent.length);
      for (const event of framed) {
        if (event.kind === 'message') {
          const open = summariseOpen(event.bytes);
          if (open !== undefined) {
            state.open = open;
            state.context = undefined;
            peer.context = undefined;
          }
          if (state.context === undefined && state.open !== undefined && peer.open !== undefined) {
            state.context = negotiateDirectionContext(state.open, peer.open);
          }
          const context = state.context ?? this.fallbackContext;
          events.push({
            kind: 'message',
            connection: connection.name,
            direction,
            sender: state.endpoint,
            timestampNs: streamEvent.timestampNs,
            bytes: event.bytes,
            context,
          });
        } else {
          const detail =
            event.kind === 'gap'
              ? `${event.length} bytes missing from the capture at stream offset ${event.offset}`
              : `${event.reason} at stream offset ${event.offset}${event.skippedBytes > 0 ? ` (${event.skippedBytes} bytes skipped)` : ''}`;
          events.push({
            kind: event.kind,
            connection: connection.name,
            direction,
            timestampNs: streamEvent.timestampNs,
            detail,
          });
        }
      }
    }
  }

  private connectionOf(segment: TcpSegment): { connection: ConnectionState; state: DirectionState } {
    const source = endpointText(segment.sourceAddress, segment.sourcePort);
    const destination = endpointText(segment.destinationAddress, segment.destinationPort);
    const key = [source, destination].sort().join(' ');
    let connection = this.connections.get(key);
    if (connection === undefined) {
      // The initiator is the side not on port 179; when both are (179 ↔ 179), the first segment's sender.
      const sourceIsInitiator = segment.destinationPort === BGP_PORT || segment.sourcePort !== BGP_PORT;
      const initiator = sourceIsInitiator ? source : destination;
      const listener = sourceIsInitiator ? destination : source;
      const maxBuffered = this.options.maxBufferedBytes;
      const direction = (endpoint: string): DirectionState => ({
        reassembler: new TcpStreamReassembler(maxBuffered),
        splitter: new BgpStreamSplitter(),
        endpoint,
        open: undefined,
        context: undefined,
        lastTimestampNs: 0n,
      });
      connection = {
        name: `${initiator} → ${listener}`,
        initiatorKey: initiator,
        fromInitiator: direction(initiator),
        fromListener: direction(listener),
      };
      this.connections.set(key, connection);
    }
    const state = source === connection.initiatorKey ? connection.fromInitiator : connection.fromListener;
    return { connection, state };
  }
}

/** Decodes a whole capture's frames into BGP events (see `CaptureBgpDecoder`). */
export function captureBgpEvents(
  frames: Iterable<CapturedFrame>,
  options: CaptureDecoderOptions = {},
): CapturedBgpEvent[] {
  const decoder = new CaptureBgpDecoder(options);
  const events: CapturedBgpEvent[] = [];
  for (const frame of frames) events.push(...decoder.pushFrame(frame));
  events.push(...decoder.finish());
  return events;
}

/** Splits a file of concatenated raw BGP messages (no capture framing) into messages and framing errors. */
export function splitRawMessages(bytes: Uint8Array): FramedStreamEvent[] {
  const splitter = new BgpStreamSplitter();
  const events = splitter.push(0, bytes);
  if (splitter.trailingBytes > 0) {
    events.push({
      kind: 'framing-error',
      offset: bytes.length - splitter.trailingBytes,
      reason: `file ends inside a message (${splitter.trailingBytes} bytes of it present)`,
      skippedBytes: splitter.trailingBytes,
    });
  }
  return events;
}
