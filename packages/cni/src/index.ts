// Public entry point of @caracal/cni.

export * from './cli.js';
export * from './datastore-access.js';
export * from './endpoint-store.js';
export * from './exec-ipam.js';
export * from './ipam-plugin.js';
export * from './lazy-datastore.js';
export * from './naming.js';
export * from './plugin.js';
export * from './pod-network.js';
export * from './spec.js';
