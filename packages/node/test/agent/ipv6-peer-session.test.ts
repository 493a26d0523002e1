// A BGPPeer at `[::1]:<port>` (IPv6 with a port, the form the old peerIP split broke) from watch events to a
// real BGP session: PeeringState plans it, bgpdConfigFor/renderBgpdConfig write bgpd.yaml, caracal-bgpd's
// own parser reads it back and caracal-bgpd's Speaker (in process, no kernel FIB) connects over TCP to a
// second Speaker listening on that IPv6 address and port only, which learns the node's block over it.
// Needs IPv6 on the loopback, no root.

import { parseConfig, Speaker } from '@caracal/bgp-speaker';
import { freeTcpPort } from '@caracal/lab';
import type { BGPPeerResource, NodeResource } from '@caracal/model';
import { afterEach, describe, expect, it } from 'vitest';
import { PeeringState } from '../../src/agent/plan-state.js';
import { bgpdConfigFor, renderBgpdConfig } from '../../src/bgpd-config.js';

async function eventually<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function speakerConfig(yaml: string) {
  const checked = parseConfig(yaml, 'bgpd.yaml');
  if (!checked.ok) throw new Error(checked.issues.map((i) => `${i.path}: ${i.reason}`).join('; '));
  return checked.config;
}

const started: Speaker[] = [];
afterEach(async () => {
  for (const speaker of started.splice(0)) await speaker.stop({ keepRoutes: false });
});

describe('an IPv6 BGPPeer with a port, through bgpd.yaml to a real session', () => {
  it('caracal-bgpd connects to [::1]:<port> and the session comes up', async () => {
    const nodeAddress = `127.0.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const listenPort = await freeTcpPort(nodeAddress);
    const peerPort = await freeTcpPort('::1');
    const self: NodeResource = {
      apiVersion: 'caracal.io/v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      spec: { bgp: { ipv4Address: `${nodeAddress}/8` } },
    };
    const bgpPeer: BGPPeerResource = {
      apiVersion: 'caracal.io/v1',
      kind: 'BGPPeer',
      metadata: { name: 'v6' },
      spec: { peerIP: `[::1]:${peerPort}`, asNumber: 65000 },
    };
    const state = new PeeringState();
    state.apply('Node', { type: 'snapshot', items: [self] as never, revision: 1, resync: false });
    state.apply('BGPPeer', { type: 'snapshot', items: [bgpPeer] as never, revision: 1, resync: false });
    const plan = state.plan('n1');
    expect(plan.warnings).toEqual([]);
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
    const ours = new Speaker(speakerConfig(renderBgpdConfig('n1', config)));
    // The peer listens on ::1 at peerPort only, so only a connection to that address and port reaches it.
    const theirs = new Speaker(
      speakerConfig(`asNumber: 65000
routerId: 10.255.0.1
listen: { address: "::1", port: ${peerPort} }
peers:
  - { name: n1, address: "::1", asNumber: ${plan.localAsNumber}, passive: true, holdTime: 9 }
`),
    );
    started.push(theirs, ours);
    await theirs.start();
    await ours.start();
    const row = (speaker: Speaker, name: string) => speaker.status().peers.find((p) => p.name === name);
    await eventually(
      'the session to [::1]:peerPort Established',
      () => row(ours, 'peer-v6')?.state === 'Established',
    );
    expect(row(ours, 'peer-v6')).toMatchObject({ peerAddress: '::1', peerAs: 65000 });
    expect(row(theirs, 'n1')?.state).toBe('Established');
    // Our block reaches the peer over the IPv6 session, with our router ID (IPv4) as its next hop.
    const learned = await eventually(
      'the peer learns 10.65.0.0/26',
      () => theirs.routes({ prefix: '10.65.0.0/26' })[0],
    );
    expect(learned.paths[0]?.nextHop).toBe(nodeAddress);
  });
});
