// Public entry point of @caracal/node.
export * from './agent/detect.js';
export * from './agent/options.js';
export * from './agent/plan-state.js';
export * from './agent/register.js';
export * from './lab/index.js';
export * from './peering.js';
