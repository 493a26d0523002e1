// Locally originated routes: the commands of the origination API (`Speaker.announce` / `withdraw` /
// `attachOriginations`) and the path attributes a local route carries into the Loc-RIB.

import type { BgpPathAttribute } from '../codec/attributes.js';
import { type BgpPrefix, parsePrefix } from '../codec/prefix.js';
import { parsePolicyCommunity } from '../policy/compile.js';
import type { RouteAttributes } from '../rib/route.js';

export interface AnnounceOptions {
  /** Communities ("ASN:value" or well-known names such as "no-export", "blackhole"). */
  readonly communities?: readonly string[];
  /** Also install a blackhole route in the kernel FIB (otherwise the prefix is only advertised). */
  readonly blackhole?: boolean;
}

/** One command of an origination stream (`Speaker.attachOriginations`). */
export type OriginationCommand =
  | ({ readonly op: 'announce'; readonly prefix: string } & AnnounceOptions)
  | { readonly op: 'withdraw'; readonly prefix: string };

/** A prefix this speaker originates, as kept by the speaker. */
export interface Origination {
  readonly prefix: BgpPrefix;
  readonly prefixText: string;
  readonly blackhole: boolean;
  readonly communities: readonly string[];
  readonly attributes: RouteAttributes;
}

/** Thrown for a prefix or community the origination API cannot use; names the bad value. */
export class OriginationError extends Error {
  override readonly name = 'OriginationError';
}

/** Parses a prefix given to the origination API; rejects host bits and garbage with the value named. */
export function parseOriginatedPrefix(text: string): BgpPrefix {
  try {
    return parsePrefix(text);
  } catch (error) {
    throw new OriginationError(`cannot originate "${text}": ${(error as Error).message}`);
  }
}

/**
 * The Loc-RIB attributes of a local route: ORIGIN IGP, an empty AS_PATH, the communities, and an unset
 * next hop (0.0.0.0 / ::) that the Adj-RIB-Out replaces with our session address.
 */
export function originationOf(text: string, options: AnnounceOptions = {}): Origination {
  const prefix = parseOriginatedPrefix(text);
  const communities = options.communities ?? [];
  const values = communities.map((community) => {
    try {
      return parsePolicyCommunity(community);
    } catch (error) {
      throw new OriginationError(`cannot originate "${text}": community ${(error as Error).message}`);
    }
  });
  const list: BgpPathAttribute[] = [
    { kind: 'origin', value: 0 },
    { kind: 'as-path', segments: [] },
  ];
  if (values.length > 0) list.push({ kind: 'communities', values: [...new Set(values)] });
  return {
    prefix,
    prefixText: text,
    blackhole: options.blackhole ?? false,
    communities,
    attributes: { list, nextHop: prefix.afi === 1 ? '0.0.0.0' : '::' },
  };
}
