// Public entry point of @caracal/bgp-speaker: the pure wire codec, capture decoding, the session FSM,
// the session driver, the daemon configuration, the RIB decision process, the daemon view and the FIB contract.

export * from './capture/index.js';
export * from './codec/index.js';
export * from './config/index.js';
export * from './control/index.js';
export * from './daemon/index.js';
export * from './fib/index.js';
export * from './fsm/index.js';
export * from './observability/index.js';
export * from './policy/index.js';
export * from './rib/index.js';
export * from './session/index.js';
