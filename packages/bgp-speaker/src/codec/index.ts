// Public surface of the codec module (re-exported by the package index): the pure BGP-4 wire codec.
export * from './as4.js';
export * from './attributes.js';
export * from './capabilities.js';
export * from './errors.js';
export * from './framer.js';
export * from './json.js';
export * from './messages.js';
export * from './pack.js';
export * from './prefix.js';
export * from './update.js';
