// Public entry point of @caracal/ipam: pure block logic, IP helpers, stored document formats and the
// datastore-backed IPAM client (autoAssign, release, affinities, show).
export * from './block.js';
export * from './check.js';
export * from './client.js';
export * from './documents.js';
export * from './ip.js';
