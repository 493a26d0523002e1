// Public entry point of @caracal/node.
export * from './peering.js';
