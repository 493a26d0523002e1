// The speaker daemon: the assembly of sessions, RIBs, policy, origination, graceful restart and the FIB.
export * from './origination.js';
export * from './route-rows.js';
export * from './speaker.js';
export * from './view.js';
