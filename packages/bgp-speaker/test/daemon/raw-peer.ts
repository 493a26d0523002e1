// A bare session driver (src/session Peer) standing in for a remote BGP speaker, so tests can send the
// daemon hand-made (also malformed) UPDATEs and see what it sends back.

import type { BgpMessage } from '../../src/codec/index.js';
import { decodeBgpMessage } from '../../src/codec/index.js';
import {
  codecContextOf,
  type NegotiatedSessionOptions,
  type NotificationError,
} from '../../src/fsm/index.js';
import { Peer } from '../../src/session/index.js';
import type { Node } from './harness.js';

export class RawPeer {
  readonly peer: Peer;
  readonly received: BgpMessage[] = [];
  readonly notifications: NotificationError[] = [];
  options: NegotiatedSessionOptions | null = null;

  constructor(
    self: Node,
    remote: Node,
    extra: { routeRefresh?: boolean; gracefulRestart?: boolean; gracefulRestartNotification?: boolean } = {},
  ) {
    this.peer = new Peer({
      name: self.name,
      local: {
        asNumber: self.asNumber,
        routerId: self.address,
        holdTime: 9,
        families: [{ afi: 1, safi: 1 }],
        routeRefresh: extra.routeRefresh ?? true,
        enhancedRouteRefresh: false,
        extendedMessage: false,
        ...(extra.gracefulRestart
          ? {
              gracefulRestart: {
                restartTime: 30,
                restartState: false,
                notification: extra.gracefulRestartNotification ?? false,
                forwardingPreserved: [],
              },
            }
          : {}),
      },
      remote: { address: remote.address, port: remote.port, asNumber: remote.asNumber },
      localAddress: self.address,
      attributes: { connectRetryTime: 1 },
    });
    this.peer.on('established', (options) => {
      this.options = options;
    });
    this.peer.on('update', (message, options) => {
      this.received.push(decodeBgpMessage(message, codecContextOf(options, 'receive')));
    });
    this.peer.on('routeRefresh', (message) => {
      this.received.push(decodeBgpMessage(message, { as4: true }));
    });
    this.peer.on('notificationReceived', (notification) => this.notifications.push(notification));
  }

  start(): void {
    this.peer.start();
  }

  stop(): void {
    this.peer.stop();
  }
}
