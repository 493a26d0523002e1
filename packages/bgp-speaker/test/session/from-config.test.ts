// Configuration → driver options: what caracal-bgpd hands to each Peer.
import { describe, expect, it } from 'vitest';
import { formatConfigIssue, parseConfig } from '../../src/config/index.js';
import { peerOptionsFor } from '../../src/session/index.js';

describe('peerOptionsFor', () => {
  it('maps a configured peer onto OPEN settings and FSM attributes', () => {
    const result = parseConfig(
      `asNumber: 64512
routerId: 10.0.0.1
gracefulRestart: { enabled: true, restartTime: 90 }
peers:
  - name: up
    address: 10.0.0.2
    asNumber: 64513
    port: 1179
    passive: true
    localAddress: 10.0.0.1
    holdTime: 30
    delayOpen: 7
    families: [ipv4-unicast, ipv6-unicast]
    addPath: { receive: true }
    extendedMessage: false
`,
      't.yaml',
    );
    if (!result.ok) throw new Error(result.issues.map(formatConfigIssue).join('\n'));
    const options = peerOptionsFor(result.config, result.config.peers[0]!);
    expect(options).toMatchObject({
      name: 'up',
      remote: { address: '10.0.0.2', port: 1179, asNumber: 64513 },
      localAddress: '10.0.0.1',
      attributes: {
        holdTime: 30,
        keepaliveTime: 10,
        connectRetryTime: 5,
        passiveTcpEstablishment: true,
        delayOpen: true,
        delayOpenTime: 7,
      },
      local: {
        asNumber: 64512,
        routerId: '10.0.0.1',
        holdTime: 30,
        extendedMessage: false,
        families: [
          { afi: 1, safi: 1 },
          { afi: 2, safi: 1 },
        ],
        gracefulRestart: {
          restartTime: 90,
          forwardingPreserved: [
            { afi: 1, safi: 1 },
            { afi: 2, safi: 1 },
          ],
        },
        addPath: [
          { afi: 1, safi: 1, send: false, receive: true },
          { afi: 2, safi: 1, send: false, receive: true },
        ],
      },
    });
  });
});
