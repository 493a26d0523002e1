// Policy compilation: turns the configuration's policy references (a verdict, a named filter or inline
// terms) and definitions (prefix lists, community lists, AS-path lists) into one pure function from a
// route to a verdict and a modified copy of its attributes. Terms run in order; a term whose match holds
// applies its actions and, when it has an `action`, ends evaluation; otherwise the default verdict applies.

import type { BgpPathAttribute, LargeCommunity } from '../codec/attributes.js';
import { type BgpPrefix, ipv4Mask, parseIpv4, parseIpv6, parsePrefix } from '../codec/prefix.js';
import type {
  PolicyAction,
  PolicyDefinitions,
  PolicyRef,
  PolicyTerm,
  PrefixMatch,
  TermActions,
  TermMatch,
} from '../config/types.js';
import {
  asPathSegments,
  communities,
  findAttribute,
  type PeerInfo,
  prefixFamily,
  type RouteAttributes,
  renderAsPath,
  withAttribute,
} from '../rib/route.js';

export interface PolicyInput {
  readonly prefix: BgpPrefix;
  readonly attributes: RouteAttributes;
  /** The peer the route was learned from (import) or is sent to (export); undefined for local routes. */
  readonly peer?: PeerInfo;
  /** The ASN a `prepend` action without `asNumber` prepends (export: ours); else the peer's ASN. */
  readonly prependAs?: number;
}

export interface PolicyResult {
  readonly accepted: boolean;
  /** The input object itself when no action changed anything, otherwise a modified copy. */
  readonly attributes: RouteAttributes;
}

export type CompiledPolicy = (input: PolicyInput) => PolicyResult;

/** Thrown when a policy refers to an unknown list/filter or holds an unparsable value. */
export class PolicyCompileError extends Error {
  override readonly name = 'PolicyCompileError';
}

const WELL_KNOWN: Readonly<Record<string, number>> = {
  'graceful-shutdown': 0xffff0000,
  blackhole: 0xffff029a,
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
};

/** "ASN:value" or a well-known name → the 32-bit community value. */
export function parsePolicyCommunity(text: string): number {
  const known = WELL_KNOWN[text];
  if (known !== undefined) return known;
  const match = /^(\d+):(\d+)$/.exec(text);
  if (match === null || Number(match[1]) > 0xffff || Number(match[2]) > 0xffff)
    throw new PolicyCompileError(
      `community "${text}" is not "ASN:value" (each 0-65535) or a well-known name`,
    );
  return ((Number(match[1]) << 16) | Number(match[2])) >>> 0;
}

export function parsePolicyLargeCommunity(text: string): LargeCommunity {
  const match = /^(\d+):(\d+):(\d+)$/.exec(text);
  const parts = match === null ? [] : match.slice(1).map(Number);
  if (parts.length !== 3 || parts.some((part) => part > 0xffffffff))
    throw new PolicyCompileError(`large community "${text}" is not "ASN:data1:data2" (each 0-4294967295)`);
  return { global: parts[0]!, local1: parts[1]!, local2: parts[2]! };
}

type Predicate = (input: PolicyInput) => boolean;

function bitsEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const full = bits >>> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[full] ?? 0) & mask) === ((b[full] ?? 0) & mask);
}

/**
 * A prefix match as BIRD's `net{ge,le}`: the route's prefix lies inside `prefix` and its length is in
 * ge..le; without ge/le only the exact length matches, with only ge le is the family maximum, with only le
 * ge is the prefix's own length.
 */
export function compilePrefixMatch(match: PrefixMatch): (prefix: BgpPrefix) => boolean {
  let base: BgpPrefix;
  try {
    base = parsePrefix(match.prefix);
  } catch (error) {
    throw new PolicyCompileError(`prefix match: ${(error as Error).message}`);
  }
  const maxLength = base.afi === 1 ? 32 : 128;
  const ge = match.ge ?? base.length;
  const le = match.le ?? (match.ge !== undefined ? maxLength : base.length);
  if (ge < base.length || le < ge || le > maxLength)
    throw new PolicyCompileError(
      `prefix match ${match.prefix}: need ${base.length} <= ge (${ge}) <= le (${le}) <= ${maxLength}`,
    );
  return (prefix) => {
    if (prefix.afi !== base.afi || prefix.length < ge || prefix.length > le) return false;
    if (prefix.afi === 1 && base.afi === 1) {
      const mask = ipv4Mask(base.length);
      return (prefix.address & mask) >>> 0 === (base.address & mask) >>> 0;
    }
    return bitsEqual(prefix.address as Uint8Array, base.address as Uint8Array, base.length);
  };
}

function lookup<T>(table: Readonly<Record<string, T>>, name: string, what: string): T {
  const value = Object.hasOwn(table, name) ? table[name] : undefined;
  if (value === undefined) throw new PolicyCompileError(`unknown ${what} "${name}"`);
  return value;
}

function compileRegex(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new PolicyCompileError(`AS-path regex /${source}/: ${(error as Error).message}`);
  }
}

function canonicalAddress(text: string): string {
  try {
    if (text.includes(':')) return parseIpv6(text).join('.');
    return String(parseIpv4(text));
  } catch (error) {
    throw new PolicyCompileError(`next-hop match: ${(error as Error).message}`);
  }
}

function compileMatch(match: TermMatch, definitions: PolicyDefinitions): Predicate[] {
  const predicates: Predicate[] = [];
  const prefixMatches = [
    ...(match.prefix ?? []),
    ...(match.prefixList === undefined
      ? []
      : lookup(definitions.prefixLists, match.prefixList, 'prefix list')),
  ];
  if (match.prefix !== undefined || match.prefixList !== undefined) {
    const tests = prefixMatches.map(compilePrefixMatch);
    predicates.push((input) => tests.some((test) => test(input.prefix)));
  }
  const regexes: RegExp[] = [];
  if (match.asPath !== undefined) regexes.push(compileRegex(match.asPath));
  if (match.asPathList !== undefined)
    for (const source of lookup(definitions.asPathLists, match.asPathList, 'AS-path list'))
      regexes.push(compileRegex(source));
  if (regexes.length > 0)
    predicates.push((input) => {
      const text = renderAsPath(asPathSegments(input.attributes));
      return regexes.some((regex) => regex.test(text));
    });
  const wanted: number[] = [];
  if (match.community !== undefined) wanted.push(parsePolicyCommunity(match.community));
  if (match.communityList !== undefined)
    for (const text of lookup(definitions.communityLists, match.communityList, 'community list'))
      wanted.push(parsePolicyCommunity(text));
  if (match.community !== undefined || match.communityList !== undefined)
    predicates.push((input) => communities(input.attributes).some((value) => wanted.includes(value)));
  if (match.largeCommunity !== undefined) {
    const large = parsePolicyLargeCommunity(match.largeCommunity);
    predicates.push(
      (input) =>
        findAttribute(input.attributes, 'large-communities')?.values.some(
          (v) => v.global === large.global && v.local1 === large.local1 && v.local2 === large.local2,
        ) ?? false,
    );
  }
  if (match.nextHop !== undefined) {
    const nextHop = canonicalAddress(match.nextHop);
    predicates.push((input) => canonicalAddress(input.attributes.nextHop) === nextHop);
  }
  if (match.family !== undefined) {
    const family = match.family;
    if (family !== 'ipv4-unicast' && family !== 'ipv6-unicast')
      throw new PolicyCompileError(`family match "${family}": expected ipv4-unicast or ipv6-unicast`);
    predicates.push((input) => prefixFamily(input.prefix) === family);
  }
  return predicates;
}

type Action = (attributes: RouteAttributes, input: PolicyInput) => RouteAttributes;

function setCommunities(attributes: RouteAttributes, values: readonly number[]): RouteAttributes {
  const value: BgpPathAttribute | undefined =
    values.length === 0 ? undefined : { kind: 'communities', values };
  return withAttribute(attributes, 'communities', value);
}

function compileActions(then: TermActions): Action[] {
  const actions: Action[] = [];
  if (then.removeCommunity !== undefined) {
    const remove = then.removeCommunity.map(parsePolicyCommunity);
    actions.push((attributes) => {
      const current = communities(attributes);
      if (!current.some((value) => remove.includes(value))) return attributes;
      return setCommunities(
        attributes,
        current.filter((value) => !remove.includes(value)),
      );
    });
  }
  if (then.addCommunity !== undefined) {
    const add = then.addCommunity.map(parsePolicyCommunity);
    actions.push((attributes) => {
      const current = communities(attributes);
      const missing = add.filter((value, i) => !current.includes(value) && add.indexOf(value) === i);
      return missing.length === 0 ? attributes : setCommunities(attributes, [...current, ...missing]);
    });
  }
  if (then.addLargeCommunity !== undefined) {
    const add = then.addLargeCommunity.map(parsePolicyLargeCommunity);
    actions.push((attributes) => {
      const current = findAttribute(attributes, 'large-communities')?.values ?? [];
      const same = (a: LargeCommunity, b: LargeCommunity) =>
        a.global === b.global && a.local1 === b.local1 && a.local2 === b.local2;
      const missing = add.filter((value) => !current.some((c) => same(c, value)));
      if (missing.length === 0) return attributes;
      return withAttribute(attributes, 'large-communities', {
        kind: 'large-communities',
        values: [...current, ...missing],
      });
    });
  }
  if (then.setLocalPref !== undefined) {
    const value = then.setLocalPref;
    actions.push((attributes) =>
      findAttribute(attributes, 'local-pref')?.value === value
        ? attributes
        : withAttribute(attributes, 'local-pref', { kind: 'local-pref', value }),
    );
  }
  if (then.setMed !== undefined) {
    const value = then.setMed;
    actions.push((attributes) =>
      findAttribute(attributes, 'med')?.value === value
        ? attributes
        : withAttribute(attributes, 'med', { kind: 'med', value }),
    );
  }
  if (then.prepend !== undefined) {
    const { asNumber, count } = then.prepend;
    actions.push((attributes, input) => {
      const asn = asNumber ?? input.prependAs ?? input.peer?.asNumber;
      if (asn === undefined || count <= 0) return attributes;
      const segments = asPathSegments(attributes);
      const added = new Array<number>(count).fill(asn);
      const first = segments[0];
      const merged =
        first !== undefined && first.type === 2
          ? [{ type: 2 as const, asns: [...added, ...first.asns] }, ...segments.slice(1)]
          : [{ type: 2 as const, asns: added }, ...segments];
      return withAttribute(attributes, 'as-path', { kind: 'as-path', segments: merged });
    });
  }
  return actions;
}

interface CompiledTerm {
  readonly matches: readonly Predicate[];
  readonly actions: readonly Action[];
  readonly verdict: PolicyAction | undefined;
}

/** Compiles ordered terms; `defaultAction` applies when no term ends evaluation. */
export function compileTerms(
  terms: readonly PolicyTerm[],
  definitions: PolicyDefinitions,
  defaultAction: PolicyAction,
): CompiledPolicy {
  const compiled: CompiledTerm[] = terms.map((term, index) => {
    try {
      return {
        matches: compileMatch(term.match, definitions),
        actions: compileActions(term.then),
        verdict: term.then.action,
      };
    } catch (error) {
      if (!(error instanceof PolicyCompileError)) throw error;
      throw new PolicyCompileError(`term ${term.name ?? `#${index + 1}`}: ${error.message}`);
    }
  });
  return (input) => {
    let attributes = input.attributes;
    for (const term of compiled) {
      const current: PolicyInput = attributes === input.attributes ? input : { ...input, attributes };
      if (!term.matches.every((matches) => matches(current))) continue;
      for (const action of term.actions) attributes = action(attributes, current);
      if (term.verdict !== undefined) return { accepted: term.verdict === 'accept', attributes };
    }
    return { accepted: defaultAction === 'accept', attributes };
  };
}

/**
 * Compiles a policy reference. `defaultAction` is the verdict when no term decides (BIRD filters reject
 * by default; caracal's import default is the same unless the configuration says otherwise).
 */
export function compilePolicy(
  ref: PolicyRef,
  definitions: PolicyDefinitions,
  defaultAction: PolicyAction = 'reject',
): CompiledPolicy {
  if (ref.kind === 'action') {
    const accepted = ref.action === 'accept';
    return (input) => ({ accepted, attributes: input.attributes });
  }
  if (ref.kind === 'filter') {
    const terms = lookup(definitions.filters, ref.name, 'filter');
    try {
      return compileTerms(terms, definitions, defaultAction);
    } catch (error) {
      if (!(error instanceof PolicyCompileError)) throw error;
      throw new PolicyCompileError(`filter "${ref.name}": ${error.message}`);
    }
  }
  return compileTerms(ref.terms, definitions, defaultAction);
}

/** A stable text identity of a policy reference: peers with equal keys share an update group. */
export function policyKey(ref: PolicyRef): string {
  return JSON.stringify(ref);
}
