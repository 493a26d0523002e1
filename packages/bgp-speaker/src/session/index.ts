// Public surface of the session module (re-exported by the package index): the Peer session driver,
// the Listener for incoming connections, configuration glue, and the bridge to the codec
// (OPEN, KEEPALIVE, NOTIFICATION; capability model conversion).

export * from './codec-adapter.js';
export * from './from-config.js';
export * from './listener.js';
export * from './peer.js';
