// Public surface of the session module (re-exported by the package index): the Peer session driver,
// the Listener for incoming connections, configuration glue, and the session-level wire helpers
// (framer, OPEN, KEEPALIVE, NOTIFICATION).
export * from './from-config.js';
export * from './listener.js';
export * from './peer.js';
export * from './wire.js';
