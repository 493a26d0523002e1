// Public entry point of @caracal/node.
export * from './agent/bgpd-control.js';
export * from './agent/blocks-state.js';
export * from './agent/detect.js';
export * from './agent/detect-ipv6.js';
export * from './agent/options.js';
export * from './agent/plan-state.js';
export * from './agent/register.js';
export * from './agent/supervisor.js';
export * from './agent/workloads-state.js';
export * from './bgpd-config.js';
export * from './lab/index.js';
export * from './peering.js';
