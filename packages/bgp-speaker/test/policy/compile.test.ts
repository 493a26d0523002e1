// Unit tests of policy compilation: every match kind, every action, ge/le edges, term order, defaults,
// no mutation of the input, and precise errors for bad references.

import { describe, expect, it } from 'vitest';
import type { BgpPathAttribute } from '../../src/codec/attributes.js';
import { parsePrefix } from '../../src/codec/prefix.js';
import type { PolicyDefinitions, PolicyTerm } from '../../src/config/types.js';
import {
  compilePolicy,
  compilePrefixMatch,
  compileTerms,
  PolicyCompileError,
  parsePolicyCommunity,
} from '../../src/policy/compile.js';
import { findAttribute, type RouteAttributes } from '../../src/rib/route.js';

/** Builds a PolicyTerm (the config names its actions field `then`). */
function term(match: PolicyTerm['match'], actions: PolicyTerm['then'], name?: string): PolicyTerm {
  // biome-ignore lint/suspicious/noThenProperty: PolicyTerm's field is named `then` by the configuration schema
  return name === undefined ? { match, then: actions } : { name, match, then: actions };
}

const NO_DEFS: PolicyDefinitions = { prefixLists: {}, communityLists: {}, asPathLists: {}, filters: {} };

function route(prefix: string, list: BgpPathAttribute[] = [], nextHop = '192.0.2.1') {
  const attributes: RouteAttributes = { list, nextHop };
  return { prefix: parsePrefix(prefix), attributes };
}
const path = (...asns: number[]): BgpPathAttribute => ({ kind: 'as-path', segments: [{ type: 2, asns }] });

function accepts(terms: PolicyTerm[], input: ReturnType<typeof route>, defs = NO_DEFS): boolean {
  return compileTerms(terms, defs, 'reject')(input).accepted;
}
const acceptIf = (match: PolicyTerm['match']): PolicyTerm[] => [term(match, { action: 'accept' })];

describe('prefix match ge/le', () => {
  it('exact length only without ge/le', () => {
    const m = compilePrefixMatch({ prefix: '10.0.0.0/8' });
    expect(m(parsePrefix('10.0.0.0/8'))).toBe(true);
    expect(m(parsePrefix('10.1.0.0/16'))).toBe(false);
    expect(m(parsePrefix('11.0.0.0/8'))).toBe(false);
  });
  it('ge alone extends to /32, le alone starts at the prefix length, both bound inclusively', () => {
    const ge = compilePrefixMatch({ prefix: '10.0.0.0/8', ge: 24 });
    expect(ge(parsePrefix('10.1.2.0/24'))).toBe(true);
    expect(ge(parsePrefix('10.1.2.3/32'))).toBe(true);
    expect(ge(parsePrefix('10.1.0.0/23'))).toBe(false);
    const le = compilePrefixMatch({ prefix: '10.0.0.0/8', le: 16 });
    expect(le(parsePrefix('10.0.0.0/8'))).toBe(true);
    expect(le(parsePrefix('10.5.0.0/16'))).toBe(true);
    expect(le(parsePrefix('10.5.128.0/17'))).toBe(false);
    const both = compilePrefixMatch({ prefix: '192.168.0.0/16', ge: 20, le: 24 });
    expect(both(parsePrefix('192.168.16.0/20'))).toBe(true);
    expect(both(parsePrefix('192.168.17.0/24'))).toBe(true);
    expect(both(parsePrefix('192.168.0.0/19'))).toBe(false);
    expect(both(parsePrefix('192.168.1.128/25'))).toBe(false);
    expect(both(parsePrefix('192.169.0.0/24'))).toBe(false);
  });
  it('IPv6 with a non-octet boundary and no cross-family match', () => {
    const m = compilePrefixMatch({ prefix: '2001:db8::/33', ge: 33, le: 64 });
    expect(m(parsePrefix('2001:db8:7fff::/48'))).toBe(true);
    expect(m(parsePrefix('2001:db8:8000::/48'))).toBe(false);
    expect(m(parsePrefix('10.0.0.0/8'))).toBe(false);
  });
  it('rejects inconsistent ge/le with the bounds in the message', () => {
    expect(() => compilePrefixMatch({ prefix: '10.0.0.0/16', ge: 8 })).toThrow(/16 <= ge \(8\)/);
    expect(() => compilePrefixMatch({ prefix: '10.0.0.0/16', ge: 24, le: 20 })).toThrow(PolicyCompileError);
    expect(() => compilePrefixMatch({ prefix: '10.0.0.0/8', le: 33 })).toThrow(/<= 32/);
  });
});

describe('match kinds', () => {
  it('prefix list by name', () => {
    const defs = { ...NO_DEFS, prefixLists: { pods: [{ prefix: '10.244.0.0/16', ge: 26, le: 26 }] } };
    expect(accepts(acceptIf({ prefixList: 'pods' }), route('10.244.3.64/26'), defs)).toBe(true);
    expect(accepts(acceptIf({ prefixList: 'pods' }), route('10.244.3.0/24'), defs)).toBe(false);
  });
  it('AS-path regex over the space-separated path, and AS-path lists', () => {
    const r = route('10.0.0.0/8', [path(65001, 65002, 174)]);
    expect(accepts(acceptIf({ asPath: '^65001 ' }), r)).toBe(true);
    expect(accepts(acceptIf({ asPath: ' 174$' }), r)).toBe(true);
    expect(accepts(acceptIf({ asPath: '^65002' }), r)).toBe(false);
    expect(accepts(acceptIf({ asPath: '^$' }), route('10.0.0.0/8'))).toBe(true);
    const defs = { ...NO_DEFS, asPathLists: { transit: ['^64999', '(^| )174( |$)'] } };
    expect(accepts(acceptIf({ asPathList: 'transit' }), r, defs)).toBe(true);
  });
  it('community, well-known community and community list', () => {
    const r = route('10.0.0.0/8', [{ kind: 'communities', values: [((65000 << 16) | 7) >>> 0, 0xffffff01] }]);
    expect(accepts(acceptIf({ community: '65000:7' }), r)).toBe(true);
    expect(accepts(acceptIf({ community: '65000:8' }), r)).toBe(false);
    expect(accepts(acceptIf({ community: 'no-export' }), r)).toBe(true);
    const defs = { ...NO_DEFS, communityLists: { mine: ['1:1', '65000:7'] } };
    expect(accepts(acceptIf({ communityList: 'mine' }), r, defs)).toBe(true);
    expect(accepts(acceptIf({ community: '65000:7' }), route('10.0.0.0/8'))).toBe(false);
  });
  it('large community', () => {
    const r = route('10.0.0.0/8', [
      { kind: 'large-communities', values: [{ global: 4200000000, local1: 1, local2: 2 }] },
    ]);
    expect(accepts(acceptIf({ largeCommunity: '4200000000:1:2' }), r)).toBe(true);
    expect(accepts(acceptIf({ largeCommunity: '4200000000:1:3' }), r)).toBe(false);
  });
  it('next hop (textual forms compared as addresses) and family', () => {
    const v6 = { prefix: parsePrefix('2001:db8::/32'), attributes: { list: [], nextHop: '2001:db8::1' } };
    expect(accepts(acceptIf({ nextHop: '2001:0db8:0:0::1' }), v6)).toBe(true);
    expect(accepts(acceptIf({ nextHop: '192.0.2.1' }), route('10.0.0.0/8'))).toBe(true);
    expect(accepts(acceptIf({ nextHop: '192.0.2.2' }), route('10.0.0.0/8'))).toBe(false);
    expect(accepts(acceptIf({ family: 'ipv6-unicast' }), v6)).toBe(true);
    expect(accepts(acceptIf({ family: 'ipv4-unicast' }), v6)).toBe(false);
  });
  it('all conditions of one term must hold', () => {
    const r = route('10.0.0.0/8', [path(65001)]);
    expect(accepts(acceptIf({ prefix: [{ prefix: '10.0.0.0/8' }], asPath: '^65001$' }), r)).toBe(true);
    expect(accepts(acceptIf({ prefix: [{ prefix: '10.0.0.0/8' }], asPath: '^65002$' }), r)).toBe(false);
  });
});

describe('actions, term order and defaults', () => {
  it('adds and removes communities without touching the input', () => {
    const input = route('10.0.0.0/8', [{ kind: 'communities', values: [parsePolicyCommunity('1:1')] }]);
    const before = JSON.stringify(input);
    const result = compileTerms(
      [term({}, { removeCommunity: ['1:1'], addCommunity: ['2:2', 'no-export'], action: 'accept' })],
      NO_DEFS,
      'reject',
    )(input);
    expect(findAttribute(result.attributes, 'communities')?.values).toEqual([(2 << 16) | 2, 0xffffff01]);
    expect(JSON.stringify(input)).toBe(before);
  });
  it('removing the last community drops the attribute', () => {
    const input = route('10.0.0.0/8', [{ kind: 'communities', values: [(1 << 16) | 1] }]);
    const result = compileTerms([term({}, { removeCommunity: ['1:1'] })], NO_DEFS, 'accept')(input);
    expect(findAttribute(result.attributes, 'communities')).toBeUndefined();
  });
  it('sets LOCAL_PREF and MED, adds a large community, prepends', () => {
    const input = route('10.0.0.0/8', [path(65001), { kind: 'med', value: 5 }]);
    const result = compileTerms(
      [
        term(
          {},
          {
            setLocalPref: 200,
            setMed: 10,
            addLargeCommunity: ['1:2:3'],
            prepend: { asNumber: 65000, count: 2 },
            action: 'accept',
          },
        ),
      ],
      NO_DEFS,
      'reject',
    )(input);
    expect(findAttribute(result.attributes, 'local-pref')?.value).toBe(200);
    expect(findAttribute(result.attributes, 'med')?.value).toBe(10);
    expect(findAttribute(result.attributes, 'large-communities')?.values).toEqual([
      { global: 1, local1: 2, local2: 3 },
    ]);
    expect(findAttribute(result.attributes, 'as-path')?.segments).toEqual([
      { type: 2, asns: [65000, 65000, 65001] },
    ]);
    expect(findAttribute(input.attributes, 'med')?.value).toBe(5);
  });
  it('returns the same attributes object when nothing changed', () => {
    const input = route('10.0.0.0/8', [{ kind: 'local-pref', value: 200 }]);
    const result = compileTerms(
      [term({}, { setLocalPref: 200, action: 'accept' })],
      NO_DEFS,
      'reject',
    )(input);
    expect(result.attributes).toBe(input.attributes);
  });
  it('the first deciding term wins; terms without an action fall through with their changes', () => {
    const terms: PolicyTerm[] = [
      term({ prefix: [{ prefix: '10.0.0.0/8', le: 32 }] }, { setMed: 1 }),
      term({ prefix: [{ prefix: '10.1.0.0/16' }] }, { action: 'reject' }),
      term({ prefix: [{ prefix: '10.0.0.0/8', le: 32 }] }, { setLocalPref: 50, action: 'accept' }),
      term({}, { action: 'reject' }),
    ];
    const policy = compileTerms(terms, NO_DEFS, 'accept');
    expect(policy(route('10.1.0.0/16')).accepted).toBe(false);
    const ok = policy(route('10.2.0.0/16'));
    expect(ok.accepted).toBe(true);
    expect(findAttribute(ok.attributes, 'med')?.value).toBe(1);
    expect(findAttribute(ok.attributes, 'local-pref')?.value).toBe(50);
    expect(policy(route('11.0.0.0/8')).accepted).toBe(false);
  });
  it('applies the default action when no term decides', () => {
    const terms: PolicyTerm[] = [term({ community: '9:9' }, { action: 'accept' })];
    expect(compileTerms(terms, NO_DEFS, 'reject')(route('10.0.0.0/8')).accepted).toBe(false);
    expect(compileTerms(terms, NO_DEFS, 'accept')(route('10.0.0.0/8')).accepted).toBe(true);
  });
  it('compiles verdicts, named filters and inline terms', () => {
    const defs = { ...NO_DEFS, filters: { only10: acceptIf({ prefix: [{ prefix: '10.0.0.0/8' }] }) } };
    expect(compilePolicy({ kind: 'action', action: 'accept' }, defs)(route('1.0.0.0/8')).accepted).toBe(true);
    expect(compilePolicy({ kind: 'action', action: 'reject' }, defs)(route('1.0.0.0/8')).accepted).toBe(
      false,
    );
    const filter = compilePolicy({ kind: 'filter', name: 'only10' }, defs);
    expect(filter(route('10.0.0.0/8')).accepted).toBe(true);
    expect(filter(route('1.0.0.0/8')).accepted).toBe(false);
    const inline = compilePolicy({ kind: 'terms', terms: acceptIf({ family: 'ipv4-unicast' }) }, defs);
    expect(inline(route('1.0.0.0/8')).accepted).toBe(true);
  });
  it('names the unknown reference and the failing term', () => {
    expect(() => compilePolicy({ kind: 'filter', name: 'nope' }, NO_DEFS)).toThrow('unknown filter "nope"');
    expect(() => compileTerms([term({ prefixList: 'missing' }, {}, 't1')], NO_DEFS, 'reject')).toThrow(
      'term t1: unknown prefix list "missing"',
    );
    expect(() => compileTerms([term({ asPath: '(' }, {})], NO_DEFS, 'reject')).toThrow(
      /term #1: AS-path regex/,
    );
  });
});
