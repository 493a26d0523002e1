// Public entry point of @caracal/felix.
export * from './calc/graph.js';
export * from './calc/inputs.js';
export * from './daemon/daemon.js';
export * from './daemon/metrics.js';
export * from './daemon/options.js';
export * from './dataplane/dataplane.js';
export * from './dataplane/nft.js';
export * from './dataplane/nft-ruleset.js';
export * from './syncer/parse.js';
export * from './syncer/syncer.js';
