// The reflector's rules are caracal-bgpd's: the export matrix and the reflection condition are the
// speaker's own functions, reflected attributes are what the speaker's Adj-RIB-Out sends and what this
// package computed with its own copy before (over generated paths, our cluster id already listed or not),
// and the loop checks agree with RFC 4456 §8 as stated (our router id as ORIGINATOR_ID, our cluster id in
// CLUSTER_LIST when we have one) over generated paths, including every collision of the small ids.
import * as speaker from '@caracal/bgp-speaker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ImportLoop,
  isReflection,
  mayExport,
  parseClusterId,
  type ReflectionAttributes,
  reflectedAttributes,
  reflectionLoop,
} from '../src/reflection.js';

/** Small ids, so that ORIGINATOR_IDs, CLUSTER_LISTs, cluster ids and router ids collide often. */
const id = fc.integer({ min: 1, max: 4 });
const path: fc.Arbitrary<ReflectionAttributes> = fc.record({
  originatorId: fc.option(id, { nil: undefined }),
  clusterList: fc.array(id, { maxLength: 3 }),
});

/** This package's own reflectedAttributes before it called the speaker's (kept as the reference). */
function formerReflectedAttributes(
  reflected: ReflectionAttributes,
  context: { readonly clusterId: number; readonly learnedFromRouterId: number },
): ReflectionAttributes {
  return {
    originatorId: reflected.originatorId ?? context.learnedFromRouterId,
    clusterList: [context.clusterId, ...reflected.clusterList],
  };
}

describe('one set of reflection rules', () => {
  it("exports caracal-bgpd's export matrix and reflection condition themselves, not copies", () => {
    expect(mayExport).toBe(speaker.mayExport);
    expect(isReflection).toBe(speaker.isReflection);
  });

  it('reflects as it did before, and as the speaker does on a full attribute set', () => {
    const other = fc.constantFrom<speaker.BgpPathAttribute>(
      { kind: 'origin', value: 0 },
      { kind: 'as-path', segments: [{ type: 2, asns: [65010] }] },
      { kind: 'local-pref', value: 100 },
      { kind: 'communities', values: [0xfde80001] },
    );
    fc.assert(
      fc.property(
        path,
        fc.boolean(),
        fc.array(other, { maxLength: 4 }),
        id,
        id,
        (received, withClusterList, others, clusterId, learnedFromRouterId) => {
          const context = { clusterId, learnedFromRouterId };
          const reflected = reflectedAttributes(received, context);
          expect(reflected).toStrictEqual(formerReflectedAttributes(received, context));
          // The speaker on a path carrying the same two values among others (an empty CLUSTER_LIST as
          // the attribute or as no attribute at all): the same two values come out.
          const list = [...others];
          if (received.originatorId !== undefined)
            list.push({ kind: 'originator-id', id: received.originatorId });
          if (withClusterList || received.clusterList.length > 0)
            list.push({ kind: 'cluster-list', ids: received.clusterList });
          const sent = speaker.reflectedPathAttributes({ list, nextHop: '10.0.0.2' }, context);
          expect(speaker.findAttribute(sent, 'originator-id')?.id).toBe(reflected.originatorId);
          expect(speaker.findAttribute(sent, 'cluster-list')?.ids).toEqual(reflected.clusterList);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a reflected path that comes back is a loop: our cluster id is in its CLUSTER_LIST', () => {
    fc.assert(
      fc.property(path, id, id, id, (received, clusterId, routerId, learnedFromRouterId) => {
        const reflected = reflectedAttributes(received, { clusterId, learnedFromRouterId });
        const loop = reflectionLoop(reflected, { routerId, clusterId });
        expect(loop).toBe(reflected.originatorId === routerId ? 'originator-is-us' : 'cluster-list-has-us');
      }),
      { numRuns: 1000 },
    );
  });

  it('finds exactly the loops RFC 4456 §8 names', () => {
    fc.assert(
      fc.property(
        fc.option(id, { nil: undefined }),
        fc.array(id, { maxLength: 3 }),
        id,
        fc.option(id, { nil: undefined }),
        (originatorId, clusterList, routerId, clusterId) => {
          const expected: ImportLoop =
            originatorId === routerId
              ? 'originator-is-us'
              : clusterId !== undefined && clusterList.includes(clusterId)
                ? 'cluster-list-has-us'
                : undefined;
          expect(reflectionLoop({ originatorId, clusterList }, { routerId, clusterId })).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('says why a cluster id is not a dotted quad', () => {
    expect(() => parseClusterId('224.0.0.01')).toThrow(
      `cluster id '224.0.0.01' must be a dotted quad such as 224.0.0.1 (octet 4 "01" has a leading zero`,
    );
    expect(parseClusterId('0.0.0.0')).toBe(0);
    expect(parseClusterId('255.255.255.255')).toBe(0xffffffff);
  });
});
