// The reflector's rules are caracal-bgpd's: the export matrix is the speaker's own function, and the
// loop checks agree with RFC 4456 §8 as stated (our router id as ORIGINATOR_ID, our cluster id in
// CLUSTER_LIST when we have one) over generated paths, including every collision of the small ids.
import * as speaker from '@caracal/bgp-speaker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ImportLoop, mayExport, parseClusterId, reflectionLoop } from '../src/reflection.js';

describe('one set of reflection rules', () => {
  it("exports caracal-bgpd's export matrix itself, not a copy", () => {
    expect(mayExport).toBe(speaker.mayExport);
  });

  it('finds exactly the loops RFC 4456 §8 names', () => {
    const id = fc.integer({ min: 1, max: 4 });
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
