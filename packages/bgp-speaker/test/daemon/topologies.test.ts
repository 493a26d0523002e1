// iBGP and route reflection through the daemon: LOCAL_PREF on iBGP only, next hop kept on iBGP unless
// nextHop: self, reflection to clients with ORIGINATOR_ID/CLUSTER_LIST (loop-checked), ECMP in the FIB.
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACCEPT_ALL,
  established,
  eventually,
  node,
  peerRow,
  speakerYaml,
  startSpeaker,
  startSpeakers,
  stopAll,
} from './harness.js';

afterEach(stopAll);

describe('Speaker: iBGP', () => {
  it('sets LOCAL_PREF towards iBGP peers only, keeps the eBGP next hop on iBGP unless nextHop: self', async () => {
    const a = await node('a', 65001);
    const b = await node('b', 65002);
    const c = await node('c', 65002);
    const d = await node('d', 65002);
    const [, sb, sc, sd] = await startSpeakers([
      [a, speakerYaml(a, [{ node: b, extra: ACCEPT_ALL }], 'originate:\n  - { prefix: 10.1.0.0/24 }')],
      [
        b,
        speakerYaml(b, [
          { node: a, extra: ACCEPT_ALL },
          { node: c, extra: ACCEPT_ALL },
          { node: d, extra: `${ACCEPT_ALL}\nnextHop: self` },
        ]),
      ],
      [c, speakerYaml(c, [{ node: b, extra: ACCEPT_ALL }])],
      [d, speakerYaml(d, [{ node: b, extra: ACCEPT_ALL }])],
    ]);
    if (sb === undefined || sc === undefined || sd === undefined) throw new Error('speakers missing');
    const atC = await eventually('c learns 10.1', () => sc.speaker.routes({ prefix: '10.1.0.0/24' })[0]);
    expect(atC.paths[0]).toMatchObject({ from: 'b', asPath: '65001', localPref: 100, nextHop: a.address });
    expect(peerRow(sc, 'b').kind).toBe('ibgp');
    const atD = await eventually('d learns 10.1', () => sd.speaker.routes({ prefix: '10.1.0.0/24' })[0]);
    expect(atD.paths[0]).toMatchObject({ localPref: 100, nextHop: b.address });
    expect(sd.fib.describe('10.1.0.0/24')).toBe(b.address);
    // On the eBGP session (a → b) no LOCAL_PREF arrives.
    expect(sb.speaker.routes({ prefix: '10.1.0.0/24' })[0]?.paths[0]?.localPref).toBeNull();
    // One prefix advertised to c: a's route (nothing iBGP-learned is passed between c and d).
    expect(peerRow(sb, 'c').prefixes.advertised).toBe(1);
  });

  it('reflects routes between route-reflector clients with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const rr = await node('rr', 65002);
    const c1 = await node('c1', 65002);
    const c2 = await node('c2', 65002);
    const client = `${ACCEPT_ALL}\nrouteReflectorClient: true`;
    const [srr, , sc2] = await startSpeakers([
      [
        rr,
        speakerYaml(
          rr,
          [
            { node: c1, extra: client },
            { node: c2, extra: client },
          ],
          'clusterId: 10.255.255.1',
        ),
      ],
      [c1, speakerYaml(c1, [{ node: rr, extra: ACCEPT_ALL }], 'originate:\n  - { prefix: 10.11.0.0/24 }')],
      [c2, speakerYaml(c2, [{ node: rr, extra: ACCEPT_ALL }])],
    ]);
    if (srr === undefined || sc2 === undefined) throw new Error('speakers missing');
    const reflected = await eventually(
      'c2 learns c1’s prefix',
      () => sc2.speaker.routes({ prefix: '10.11.0.0/24' })[0],
    );
    expect(reflected.paths[0]).toMatchObject({ from: 'rr', nextHop: c1.address, localPref: 100, asPath: '' });
    expect(peerRow(srr, 'c1').kind).toBe('ibgp-rr-client');
    // c1 does not get its own route back (split horizon), so it has only its local path.
    expect(srr.speaker.routes({ prefix: '10.11.0.0/24' })[0]?.paths).toHaveLength(1);
  });
});

describe('Speaker: ECMP', () => {
  it('installs every equal-cost next hop', async () => {
    const x = await node('x', 65010);
    const y = await node('y', 65010);
    const z = await node('z', 65002);
    await startSpeaker(
      x,
      speakerYaml(x, [{ node: z, extra: ACCEPT_ALL }], 'originate:\n  - { prefix: 10.50.0.0/16 }'),
    );
    await startSpeaker(
      y,
      speakerYaml(y, [{ node: z, extra: ACCEPT_ALL }], 'originate:\n  - { prefix: 10.50.0.0/16 }'),
    );
    const sz = await startSpeaker(
      z,
      speakerYaml(z, [
        { node: x, extra: ACCEPT_ALL },
        { node: y, extra: ACCEPT_ALL },
      ]),
    );
    await established(sz, 'x');
    await established(sz, 'y');
    await eventually('two paths', () => sz.speaker.routes({ prefix: '10.50.0.0/16' })[0]?.paths.length === 2);
    const gateways = (sz.fib.describe('10.50.0.0/16') ?? '').split(',').sort();
    expect(gateways).toEqual([x.address, y.address].sort());
    const row = sz.speaker.routes({ prefix: '10.50.0.0/16' })[0]!;
    expect(row.paths.filter((p) => p.multipath)).toHaveLength(2);
    expect(sz.speaker.status().locRib).toEqual({ prefixes: 1, paths: 2 });
  });
});
