// The speaker daemon: the assembly of sessions, RIBs, policy, origination, graceful restart and the FIB.
export * from './view.js';
