// Felix's Prometheus metrics (prom-client), in one registry per daemon so tests can run several.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface FelixMetrics {
  readonly registry: Registry;
  /** Time to apply one batch of datastore updates to the calculation graph and compute the desired state. */
  readonly calcGraphUpdateSeconds: Histogram;
  /** Time of one dataplane apply pass (routes, sysctls, nftables). */
  readonly applySeconds: Histogram;
  /** Errors reported by apply passes (each failed route/sysctl/nft operation counts once). */
  readonly applyErrors: Counter;
  /** Felix's routes (protocol 96) believed present in the kernel after the last apply. */
  readonly routesProgrammed: Gauge;
  /** Route writes since start, by operation (replace, remove): 0 after a restart that found everything in place. */
  readonly routeWrites: Counter<'operation'>;
  /** Datastore re-snapshots after a gap (reconnect, compaction, etcd restart). */
  readonly resyncs: Counter;
  /** 1 while every watched prefix is in sync with the datastore. */
  readonly datastoreInSync: Gauge;
}

export function createFelixMetrics(): FelixMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    calcGraphUpdateSeconds: new Histogram({
      name: 'felix_calc_graph_update_seconds',
      help: 'Time to apply a batch of datastore updates to the calculation graph and compute the desired dataplane',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    }),
    applySeconds: new Histogram({
      name: 'felix_apply_seconds',
      help: 'Duration of one dataplane apply pass (routes, sysctls, nftables)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    applyErrors: new Counter({
      name: 'felix_apply_errors_total',
      help: 'Errors reported by dataplane apply passes',
      registers,
    }),
    routesProgrammed: new Gauge({
      name: 'felix_routes_programmed',
      help: 'Felix routes (protocol 96) in the kernel after the last apply',
      registers,
    }),
    routeWrites: new Counter({
      name: 'felix_route_writes_total',
      help: 'Route writes to the kernel since start, by operation',
      labelNames: ['operation'],
      registers,
    }),
    resyncs: new Counter({
      name: 'felix_resync_total',
      help: 'Datastore re-snapshots after a gap',
      registers,
    }),
    datastoreInSync: new Gauge({
      name: 'felix_datastore_in_sync',
      help: '1 when every watched datastore prefix is in sync',
      registers,
    }),
  };
}
