// Glue from the validated caracal-bgpd configuration (../config) to the session driver's options:
// what caracal-bgpd passes to `new Peer(...)` for each configured peer.
import type { BgpdConfig, PeerConfig } from '../config/types.js';
import { type AddressFamily, familyFromName, type LocalOpenSettings } from '../fsm/open.js';
import type { PeerOptions } from './peer.js';

function families(names: readonly string[]): AddressFamily[] {
  return names.flatMap((name) => {
    const family = familyFromName(name);
    return family ? [family] : [];
  });
}

/** Our OPEN settings towards one configured peer. */
export function localOpenSettingsFor(config: BgpdConfig, peer: PeerConfig): LocalOpenSettings {
  const peerFamilies = families(peer.families);
  return {
    asNumber: config.asNumber,
    routerId: config.routerId,
    holdTime: peer.holdTime,
    keepaliveTime: peer.keepaliveTime,
    families: peerFamilies,
    routeRefresh: true,
    enhancedRouteRefresh: peer.enhancedRouteRefresh,
    extendedMessage: peer.extendedMessage,
    ...(peer.gracefulRestart.enabled
      ? {
          gracefulRestart: {
            restartTime: peer.gracefulRestart.restartTime,
            restartState: false,
            notification: true,
            // Routes stay in the kernel across a caracal-bgpd restart when it installs them.
            forwardingPreserved: config.kernel.install ? peerFamilies : [],
          },
        }
      : {}),
    ...(peer.addPath.send || peer.addPath.receive
      ? {
          addPath: peerFamilies.map((f) => ({
            ...f,
            send: peer.addPath.send,
            receive: peer.addPath.receive,
          })),
        }
      : {}),
  };
}

/** The driver options for one configured peer (clock and socket factory are the real ones). */
export function peerOptionsFor(config: BgpdConfig, peer: PeerConfig): PeerOptions {
  return {
    name: peer.name,
    local: localOpenSettingsFor(config, peer),
    remote: { address: peer.address, port: peer.port, asNumber: peer.asNumber },
    ...(peer.localAddress ? { localAddress: peer.localAddress } : {}),
    attributes: {
      holdTime: peer.holdTime,
      keepaliveTime: peer.keepaliveTime,
      connectRetryTime: peer.connectRetryTime,
      passiveTcpEstablishment: peer.passive,
      delayOpen: peer.delayOpen !== undefined,
      ...(peer.delayOpen !== undefined ? { delayOpenTime: peer.delayOpen } : {}),
    },
  };
}
