// Public entry point of @caracal/felix.
export * from './calc/graph.js';
export * from './calc/inputs.js';
