// Unit tests of the route-reflection rules: the full export matrix of RFC 4456 §6, reflected attributes,
// loop checks, and cluster id parsing.
import { describe, expect, it } from 'vitest';
import {
  isReflection,
  mayExport,
  type PeerRole,
  parseClusterId,
  reflectedAttributes,
  reflectionLoop,
} from '../src/reflection.js';

describe('mayExport', () => {
  const roles: PeerRole[] = ['local', 'ebgp', 'ibgp-client', 'ibgp-nonclient'];
  // Rows: learned from; columns: to (ebgp, ibgp-client, ibgp-nonclient).
  const expected: Record<PeerRole, [boolean, boolean, boolean]> = {
    local: [true, true, true],
    ebgp: [true, true, true],
    'ibgp-client': [true, true, true],
    'ibgp-nonclient': [true, true, false],
  };
  for (const from of roles) {
    it(`from ${from}`, () => {
      expect([
        mayExport(from, 'ebgp'),
        mayExport(from, 'ibgp-client'),
        mayExport(from, 'ibgp-nonclient'),
      ]).toEqual(expected[from]);
      expect(mayExport(from, 'local')).toBe(false);
    });
  }

  it('a plain iBGP speaker (no clients) never passes iBGP routes to iBGP peers', () => {
    expect(mayExport('ibgp-nonclient', 'ibgp-nonclient')).toBe(false);
  });
});

describe('reflected attributes and loops', () => {
  it('sets ORIGINATOR_ID once and prepends our cluster id', () => {
    const first = reflectedAttributes(
      { originatorId: undefined, clusterList: [] },
      { clusterId: 7, learnedFromRouterId: 42 },
    );
    expect(first).toEqual({ originatorId: 42, clusterList: [7] });
    const second = reflectedAttributes(first, { clusterId: 9, learnedFromRouterId: 99 });
    expect(second).toEqual({ originatorId: 42, clusterList: [9, 7] });
    expect(isReflection('ibgp-client', 'ibgp-nonclient')).toBe(true);
    expect(isReflection('ebgp', 'ibgp-client')).toBe(false);
  });

  it('drops our own routes coming back', () => {
    expect(reflectionLoop({ originatorId: 5, clusterList: [] }, { routerId: 5, clusterId: undefined })).toBe(
      'originator-is-us',
    );
    expect(reflectionLoop({ originatorId: 1, clusterList: [3, 7] }, { routerId: 5, clusterId: 7 })).toBe(
      'cluster-list-has-us',
    );
    expect(
      reflectionLoop({ originatorId: 1, clusterList: [3] }, { routerId: 5, clusterId: 7 }),
    ).toBeUndefined();
  });

  it('parses cluster ids and names a bad one', () => {
    expect(parseClusterId('224.0.0.1')).toBe(0xe0000001);
    expect(() => parseClusterId('224.0.0')).toThrow(
      "cluster id '224.0.0' must be a dotted quad such as 224.0.0.1",
    );
  });
});
