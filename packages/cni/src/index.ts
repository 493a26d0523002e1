// Public entry point of @caracal/cni.
export * from './naming.js';
export * from './plugin.js';
export * from './pod-network.js';
export * from './spec.js';
