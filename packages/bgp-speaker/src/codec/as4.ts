// RFC 6793 §4.2.3 reconstruction of the real AS path and aggregator from AS_PATH + AS4_PATH and
// AGGREGATOR + AS4_AGGREGATOR, as a separate pure function the speaker applies (decode never merges,
// so round trips stay exact).

import type { AsPathSegment, BgpPathAttribute } from './attributes.js';

export const AS_TRANS_ASN = 23456;

/** Number of ASNs an AS path counts for path selection (an AS_SET counts 1, confederation segments 0). */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let length = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.type === 2) length += segment.asns.length;
    else if (segment.type === 1) length += 1;
  }
  return length;
}

/**
 * The merged AS path: when AS4_PATH is shorter than AS_PATH, the leading (AS_PATH length − AS4_PATH
 * length) ASNs of AS_PATH are kept and followed by AS4_PATH; when AS4_PATH is longer it is ignored.
 * Confederation segments of AS4_PATH are ignored (RFC 6793 §6).
 */
export function mergeAs4Path(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[] | undefined,
): readonly AsPathSegment[] {
  if (as4Path === undefined) return asPath;
  const as4 = as4Path.filter((segment) => segment.type === 1 || segment.type === 2);
  const asPathCount = asPathLength(asPath);
  const as4Count = asPathLength(as4);
  if (as4Count > asPathCount) return asPath;
  let keep = asPathCount - as4Count;
  const merged: AsPathSegment[] = [];
  for (const segment of asPath) {
    if (keep <= 0) break;
    if (segment.type === 3 || segment.type === 4) {
      merged.push(segment);
      continue;
    }
    if (segment.type === 1) {
      merged.push(segment);
      keep -= 1;
      continue;
    }
    const take = Math.min(keep, segment.asns.length);
    merged.push(take === segment.asns.length ? segment : { type: 2, asns: segment.asns.slice(0, take) });
    keep -= take;
  }
  return [...merged, ...as4];
}

export interface As4Reconciled {
  readonly asPath: readonly AsPathSegment[];
  readonly aggregator?: { readonly asn: number; readonly address: number };
}

/**
 * Reconstructs the 4-octet AS path and aggregator from a 2-octet (non-AS4) session's attributes. If
 * AGGREGATOR is present and its ASN is not AS_TRANS, AS4_AGGREGATOR and AS4_PATH are both ignored.
 */
export function reconcileAs4(attributes: readonly BgpPathAttribute[]): As4Reconciled {
  let asPath: readonly AsPathSegment[] = [];
  let as4Path: readonly AsPathSegment[] | undefined;
  let aggregator: { asn: number; address: number } | undefined;
  let as4Aggregator: { asn: number; address: number } | undefined;
  for (let i = 0; i < attributes.length; i++) {
    const attribute = attributes[i]!;
    if (attribute.kind === 'as-path') asPath = attribute.segments;
    else if (attribute.kind === 'as4-path') as4Path = attribute.segments;
    else if (attribute.kind === 'aggregator') aggregator = { asn: attribute.asn, address: attribute.address };
    else if (attribute.kind === 'as4-aggregator')
      as4Aggregator = { asn: attribute.asn, address: attribute.address };
  }
  if (aggregator !== undefined && aggregator.asn !== AS_TRANS_ASN) return { asPath, aggregator };
  const mergedAggregator = aggregator === undefined ? undefined : (as4Aggregator ?? aggregator);
  const merged = mergeAs4Path(asPath, as4Path);
  return mergedAggregator === undefined
    ? { asPath: merged }
    : { asPath: merged, aggregator: mergedAggregator };
}
