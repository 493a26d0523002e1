// Public surface of the RIB module (re-exported by the package index).
export * from './decision.js';
