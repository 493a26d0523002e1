// Framing (TCP byte stream → complete BGP messages), separate from the codec: accepts chunks of any size,
// checks each header as soon as its 19 octets are present (marker 1/1, length 1/2 with the length in the
// data, type 1/3) and yields whole messages as views when possible.

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
   */
  push(chunk: Uint8Array): Uint8Array[] {
    let data: Uint8Array;
    if (this.buffered.length === 0) data = chunk;
    else {
      data = new Uint8Array(this.buffered.length + chunk.length);
      data.set(this.buffered);
      data.set(chunk, this.buffered.length);
    }
    const messages: Uint8Array[] = [];
    let at = 0;
    while (data.length - at >= BGP_HEADER_LENGTH) {
      const length = bgpMessageLengthAt(data, at, this.context);
      if (data.length - at < length) break;
      messages.push(data.subarray(at, at + length));
      at += length;
    }
    this.buffered = at === data.length ? new Uint8Array(0) : data.slice(at);
    return messages;
  }
}
