// Prometheus metrics of caracal-bgpd, read from the SpeakerView at scrape time (collect callbacks): no
// counters are kept here, so a scrape always shows what the daemon says now. Peers that went away
// disappear from the next scrape because every labelled metric is rebuilt per scrape.

import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { SpeakerStatus, SpeakerView } from '../daemon/view.js';
import { SESSION_STATES } from '../fsm/types.js';

const PREFIX_KINDS = ['received', 'accepted', 'advertised', 'stale'] as const;

/** A registry with caracal-bgpd's metrics (and, unless `defaultMetrics` is false, Node's process metrics). */
export function createSpeakerMetricsRegistry(
  view: SpeakerView,
  options: { readonly defaultMetrics?: boolean } = {},
): Registry {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const status = snapshotPerScrape(view);

  new Gauge({
    name: 'caracal_bgp_sessions',
    help: 'BGP sessions by FSM state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const peers = status().peers;
      for (const state of SESSION_STATES) this.set({ state }, peers.filter((p) => p.state === state).length);
    },
  });
  new Gauge({
    name: 'caracal_bgp_peer_state',
    help: 'BGP session state per peer: 1 for the current FSM state, 0 for the others',
    labelNames: ['peer', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const peer of status().peers) {
        for (const state of SESSION_STATES)
          this.set({ peer: peer.name, state }, peer.state === state ? 1 : 0);
      }
    },
  });
  new Counter({
    name: 'caracal_bgp_updates_received_total',
    help: 'UPDATE messages received from the peer',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const peer of status().peers) this.inc({ peer: peer.name }, peer.messagesIn.update);
    },
  });
  new Counter({
    name: 'caracal_bgp_updates_sent_total',
    help: 'UPDATE messages sent to the peer',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const peer of status().peers) this.inc({ peer: peer.name }, peer.messagesOut.update);
    },
  });
  new Gauge({
    name: 'caracal_bgp_prefixes',
    help: 'Prefixes per peer: received (Adj-RIB-In), accepted (by import policy), advertised, stale (graceful restart)',
    labelNames: ['peer', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const peer of status().peers) {
        for (const kind of PREFIX_KINDS) this.set({ peer: peer.name, kind }, peer.prefixes[kind]);
      }
    },
  });
  new Counter({
    name: 'caracal_bgp_session_flaps_total',
    help: 'Times the session left Established',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const peer of status().peers) this.inc({ peer: peer.name }, peer.flaps);
    },
  });
  new Gauge({
    name: 'caracal_bgp_locrib_prefixes',
    help: 'Prefixes in the Loc-RIB',
    registers: [registry],
    collect() {
      this.set(status().locRib.prefixes);
    },
  });
  new Gauge({
    name: 'caracal_bgp_locrib_paths',
    help: 'Paths in the Loc-RIB',
    registers: [registry],
    collect() {
      this.set(status().locRib.paths);
    },
  });
  new Gauge({
    name: 'caracal_bgp_restarting',
    help: '1 while the speaker restarts gracefully and waits for End-of-RIB',
    registers: [registry],
    collect() {
      this.set(status().restarting ? 1 : 0);
    },
  });
  new Gauge({
    name: 'caracal_bgp_info',
    help: 'The speaker: router id, AS number and version (value 1)',
    labelNames: ['router_id', 'as', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      const now = status();
      this.set({ router_id: now.routerId, as: String(now.asNumber), version: now.version }, 1);
    },
  });
  new Gauge({
    name: 'caracal_bgp_ready',
    help: '1 when the speaker is ready (see /readiness for the reasons when not)',
    registers: [registry],
    collect() {
      this.set(view.readiness().ready ? 1 : 0);
    },
  });
  return registry;
}

/** view.status() once per scrape: the collect callbacks of one scrape share one snapshot. */
function snapshotPerScrape(view: SpeakerView): () => SpeakerStatus {
  let cached: SpeakerStatus | undefined;
  return () => {
    if (cached === undefined) {
      cached = view.status();
      setImmediate(() => {
        cached = undefined;
      });
    }
    return cached;
  };
}
