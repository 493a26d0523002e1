// Public surface of the fsm module (re-exported by the package index): the pure RFC 4271 FSM, OPEN
// checking and capability negotiation, and connection collision resolution.
export * from './collision.js';
export * from './fsm.js';
export * from './open.js';
export * from './types.js';
