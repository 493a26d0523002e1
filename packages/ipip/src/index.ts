// Public entry point of @caracal/ipip.
export * from './encapsulation.js';
export * from './support.js';
