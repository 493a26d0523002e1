// Renders the Loc-RIB for the SpeakerView (`caracal-bgp routes`): one RouteRow per prefix with its
// candidate paths best first, and the prefix filter (equal, covering or covered prefixes).

import { formatCommunity } from '../codec/json.js';
import { type BgpPrefix, maskPrefix, parsePrefix } from '../codec/prefix.js';
import type { LocRibPath, RouteView } from '../rib/loc-rib.js';
import { asPathSegments, findAttribute, prefixFamily, renderAsPath } from '../rib/route.js';
import type { RoutePathRow, RouteRow } from './view.js';

const ORIGINS = ['igp', 'egp', 'incomplete'] as const;

/** Whether `outer` covers `inner` (same family, outer no longer, inner inside outer). */
export function prefixCovers(outer: BgpPrefix, inner: BgpPrefix): boolean {
  if (outer.afi !== inner.afi || outer.length > inner.length) return false;
  const shortened = maskPrefix({ ...inner, length: outer.length } as BgpPrefix);
  const a = maskPrefix(outer);
  if (a.afi === 1 && shortened.afi === 1) return a.address === shortened.address;
  if (a.afi === 2 && shortened.afi === 2) return a.address.every((byte, i) => byte === shortened.address[i]);
  return false;
}

/** Parses the `routes` filter prefix; a bare address means the host prefix. */
export function parseRouteFilter(text: string): BgpPrefix {
  if (text.includes('/')) return parsePrefix(text);
  return parsePrefix(`${text}/${text.includes(':') ? 128 : 32}`);
}

export interface PathSource {
  /** The configured name of a peer by its address. */
  peerName(address: string): string;
}

function pathRow(path: LocRibPath, best: boolean, multipath: boolean, source: PathSource): RoutePathRow {
  const attributes = path.attributes;
  const origin = findAttribute(attributes, 'origin')?.value ?? 2;
  const unset = attributes.nextHop === '0.0.0.0' || attributes.nextHop === '::';
  return {
    from: path.peer === undefined ? 'local' : source.peerName(path.peer.address),
    peerAddress: path.peer?.address ?? null,
    nextHop: unset ? null : attributes.nextHop,
    asPath: renderAsPath(asPathSegments(attributes)),
    origin: ORIGINS[origin] ?? 'incomplete',
    localPref: findAttribute(attributes, 'local-pref')?.value ?? null,
    med: findAttribute(attributes, 'med')?.value ?? null,
    communities: (findAttribute(attributes, 'communities')?.values ?? []).map(formatCommunity),
    largeCommunities: (findAttribute(attributes, 'large-communities')?.values ?? []).map(
      (c) => `${c.global}:${c.local1}:${c.local2}`,
    ),
    best,
    multipath,
    stale: path.stale,
    pathId: path.pathId,
  };
}

/** One RouteRow per Loc-RIB prefix view; best path first, then the other multipath members, then the rest. */
export function routeRow(view: RouteView, installed: boolean, source: PathSource): RouteRow {
  const rank = (c: { best: boolean; multipath: boolean }) => (c.best ? 0 : c.multipath ? 1 : 2);
  const candidates = [...view.candidates].sort((a, b) => rank(a) - rank(b));
  return {
    prefix: view.prefixKey,
    family: prefixFamily(view.prefix),
    paths: candidates.map((c) => pathRow(c.path, c.best, c.multipath, source)),
    reason: view.reason,
    installed,
  };
}
