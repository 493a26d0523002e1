// JSON description of one framed BGP message for `caracal-bgp decode`: the codec (src/codec) decodes it
// in the direction's negotiated context and `messageToJson` describes it; a message the codec rejects
// becomes `{ type: 'error', code, subcode, action, data, error }` (RFC 7606 action included).

import type { DirectionDecodeContext } from '../capture/session-context.js';
import { toCodecContext } from '../capture/session-context.js';
import { BgpDecodeError } from '../codec/errors.js';
import { type JsonValue, messageToJson } from '../codec/json.js';
import { decodeBgpMessage } from '../codec/messages.js';

export type { JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Describes one whole BGP message (header included) as JSON, or its decode error. */
export function describeMessage(message: Uint8Array, context: DirectionDecodeContext): JsonObject {
  try {
    return messageToJson(decodeBgpMessage(message, toCodecContext(context)));
  } catch (error) {
    if (!(error instanceof BgpDecodeError)) throw error;
    return {
      type: 'error',
      message_type: message[18] ?? 0,
      error: error.message,
      code: error.code,
      subcode: error.subcode,
      action: error.action,
      data: Buffer.from(error.data).toString('hex'),
    };
  }
}

/** The address family of a prefix as messageToJson prints it ("10.0.0.0/8", "2001:db8::/32 path-id 2"). */
export function prefixFamily(prefix: string): string {
  return prefix.split(' ')[0]?.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast';
}
