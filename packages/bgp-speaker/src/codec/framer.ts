// Framing (TCP byte stream → complete BGP messages), separate from the codec: accepts chunks of any size,
// checks each header as soon as its 19 octets are present (marker 1/1, length 1/2 with the length in the
// data, type 1/3) and yields whole messages as views when possible (plain Uint8Arrays, also for Buffer
// chunks).

import { type BgpCodecContext, maxMessageLength } from './errors.js';
import { BGP_HEADER_LENGTH, bgpMessageLengthAt } from './messages.js';

export class BgpFramer {
  private buffered: Uint8Array = new Uint8Array(0);

  constructor(private context: BgpCodecContext = { as4: false }) {}

  /** Changes the negotiated options (e.g. maximum length after OPEN exchange). */
  setContext(context: BgpCodecContext): void {
    this.context = context;
  }

  get maxLength(): number {
    return maxMessageLength(this.context);
  }

  /** Octets received but not yet part of a complete message. */
  get pendingLength(): number {
    return this.buffered.length;
  }

  /**
   * Appends a chunk; returns the complete messages (header included) now available. Throws a
   * session-reset BgpDecodeError on a bad header; the framer must not be used after that.
   *
   * Only a message split across chunks is copied (the octets kept from earlier chunks plus the head of this
   * one); every message lying wholly inside the chunk is returned as a view of it.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const messages: Uint8Array[] = [];
    let at = 0;
    if (this.buffered.length > 0) {
      const pending = this.buffered;
      // The pending message's header, completed from the chunk when it was cut inside it.
      const headerMissing = Math.max(0, BGP_HEADER_LENGTH - pending.length);
      if (chunk.length < headerMissing) {
        this.buffered = concat(pending, chunk, chunk.length);
        return messages;
      }
      const header = headerMissing === 0 ? pending : concat(pending, chunk, headerMissing);
      const length = bgpMessageLengthAt(header, 0, this.context);
      const missing = length - pending.length;
      if (chunk.length < missing) {
        this.buffered = concat(pending, chunk, chunk.length);
        return messages;
      }
      messages.push(concat(pending, chunk, missing));
      this.buffered = NOTHING;
      at = missing;
    }
    // Views made with the Uint8Array constructor rather than subarray(): subarray looks up the species
    // constructor, which for a socket's Buffer chunk makes a Buffer, and measured 3x slower per message.
    const arrayBuffer = chunk.buffer;
    const base = chunk.byteOffset;
    while (chunk.length - at >= BGP_HEADER_LENGTH) {
      const length = bgpMessageLengthAt(chunk, at, this.context);
      if (chunk.length - at < length) break;
      messages.push(new Uint8Array(arrayBuffer, base + at, length));
      at += length;
    }
    if (at < chunk.length) this.buffered = chunk.slice(at);
    return messages;
  }
}

const NOTHING = new Uint8Array(0);

/** `head` followed by the first `count` octets of `tail`, in a new buffer. */
function concat(head: Uint8Array, tail: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(head.length + count);
  out.set(head);
  out.set(count === tail.length ? tail : tail.subarray(0, count), head.length);
  return out;
}
