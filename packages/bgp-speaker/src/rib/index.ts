// Public surface of the RIB module (re-exported by the package index).
export * from './adj-rib-in.js';
export * from './adj-rib-out.js';
export * from './decision.js';
export * from './intern.js';
export * from './loc-rib.js';
export * from './path.js';
export * from './reflection.js';
export * from './route.js';
