// A peer that connects INTO caracal-bgpd over IPv6: a Node with `spec.bgp.ipv6Address` and a BGPPeer at an
// IPv6 address go through PeeringState, bgpdConfigFor/renderBgpdConfig and bgpd's own parser to
// caracal-bgpd's Speaker (in this process, no kernel FIB), which must listen on the node's IPv6 address too.
// The peer (a second Speaker) listens nowhere and connects from its own IPv6 address to the node's, so the
// session can only come up through caracal-bgpd's IPv6 listener (our side's connections to the peer are
// refused). The two ULA addresses of a per-run /64 sit on a per-run veth pair in the root namespace, removed
// afterwards (needs root: lab test).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseConfig, Speaker } from '@caracal/bgp-speaker';
import { freeTcpPort, labAvailable, waitUntil } from '@caracal/lab';
import type { BGPPeerResource, NodeResource } from '@caracal/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeeringState } from '../../src/agent/plan-state.js';
import { bgpdConfigFor, renderBgpdConfig } from '../../src/bgpd-config.js';

const lab = labAvailable();
if (!lab.available) console.log(`IPv6 incoming session lab test skipped: ${lab.reason}`);

const run = randomBytes(3).toString('hex');
const vethNode = `v6in${run}a`;
const vethPeer = `v6in${run}b`;
/** A per-run unique-local /64: fdXX:XXXX:XXXX::/64. */
// Per-run /64 written in canonical form (RFC 5952: no leading zeros, no zero group), as the plan writes
// addresses: a group like '0048' made the expected text differ from bgpd.yaml's 'fd..:48::11'.
const hextet = () => (randomBytes(2).readUInt16BE(0) | 1).toString(16);
const v6Prefix = `fd${randomBytes(1).toString('hex')}:${hextet()}:${hextet()}`;
const peerV6 = `${v6Prefix}::1`;
const nodeV6 = `${v6Prefix}::11`;
const PEER_AS = 65099;

function speakerConfig(yaml: string, file: string) {
  const checked = parseConfig(yaml, file);
  if (!checked.ok) throw new Error(checked.issues.map((i) => `${i.path}: ${i.reason}`).join('; '));
  return checked.config;
}

const started: Speaker[] = [];

describe.skipIf(!lab.available)('an IPv6 peer connecting to caracal-bgpd', () => {
  beforeAll(() => {
    execFileSync('ip', ['link', 'add', vethNode, 'type', 'veth', 'peer', 'name', vethPeer]);
    for (const [device, address] of [
      [vethNode, nodeV6],
      [vethPeer, peerV6],
    ] as const) {
      execFileSync('ip', ['link', 'set', device, 'up']);
      execFileSync('ip', ['-6', 'addr', 'add', `${address}/64`, 'dev', device, 'nodad']);
    }
  });

  afterAll(async () => {
    for (const speaker of started.splice(0)) await speaker.stop({ keepRoutes: false });
    spawnSync('ip', ['link', 'del', vethNode]);
  }, 30_000);

  it('is accepted on the node IPv6 address (spec.bgp.ipv6Address) and the session is Established', async () => {
    const nodeV4 = `127.0.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const listenPort = await freeTcpPort(nodeV6);
    // Nothing listens here: our side's connections to the peer are refused, only the peer's can succeed.
    const unusedPeerPort = await freeTcpPort(peerV6);
    const self: NodeResource = {
      apiVersion: 'caracal.io/v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      spec: { bgp: { ipv4Address: `${nodeV4}/8`, ipv6Address: `${nodeV6}/64` } },
    };
    const bgpPeer: BGPPeerResource = {
      apiVersion: 'caracal.io/v1',
      kind: 'BGPPeer',
      metadata: { name: 'v6' },
      spec: { peerIP: `[${peerV6}]:${unusedPeerPort}`, asNumber: PEER_AS },
    };
    const state = new PeeringState();
    state.apply('Node', { type: 'snapshot', items: [self] as never, revision: 1, resync: false });
    state.apply('BGPPeer', { type: 'snapshot', items: [bgpPeer] as never, revision: 1, resync: false });
    const plan = state.plan('n1');
    expect(plan.warnings).toEqual([]);
    expect(plan.localIpv6Address).toBe(nodeV6);
    const { config } = bgpdConfigFor({
      nodeName: 'n1',
      plan,
      listenPort,
      blocks: ['10.65.0.0/26'],
      runDir: '/nonexistent',
      metricsPort: 9092,
      healthPort: 0,
      logLevel: 'error',
    });
    const bgpdConfig = speakerConfig(renderBgpdConfig('n1', config), 'bgpd.yaml');
    expect(bgpdConfig.listen.addresses).toEqual([nodeV4, nodeV6]);
    const ours = new Speaker(bgpdConfig);
    started.push(ours);
    await ours.start();
    expect(ours.listenPort).toBe(listenPort);
    // The peer listens nowhere and connects from its own address to the node's IPv6 address.
    const theirs = new Speaker(
      speakerConfig(
        `asNumber: ${PEER_AS}
routerId: 10.255.0.1
listen: { enabled: false }
peers:
  - name: n1
    address: "${nodeV6}"
    localAddress: "${peerV6}"
    port: ${listenPort}
    asNumber: ${plan.localAsNumber}
    holdTime: 9
    connectRetryTime: 1
`,
        'peer.yaml',
      ),
    );
    started.push(theirs);
    await theirs.start();
    const row = (speaker: Speaker, name: string) => speaker.status().peers.find((p) => p.name === name);
    await waitUntil(
      'the session from the IPv6 peer Established in caracal-bgpd',
      () => row(ours, 'peer-v6')?.state === 'Established',
      { timeoutMs: 30_000 },
    );
    expect(row(ours, 'peer-v6')).toMatchObject({ peerAddress: peerV6, peerAs: PEER_AS });
    expect(row(theirs, 'n1')?.state).toBe('Established');
    // Our block reaches the peer over that session, with our router ID (IPv4) as its next hop.
    const learned = await waitUntil(
      'the peer learns 10.65.0.0/26',
      () => theirs.routes({ prefix: '10.65.0.0/26' })[0],
      { timeoutMs: 20_000 },
    );
    expect(learned.paths[0]?.nextHop).toBe(nodeV4);
  }, 60_000);
});
