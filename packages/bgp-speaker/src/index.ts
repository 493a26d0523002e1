// Public entry point of @caracal/bgp-speaker: the pure wire codec, capture decoding, the session FSM,
// the session driver and the daemon configuration.
export * from './codec/index.js';
export * from './capture/index.js';
export * from './fsm/index.js';
export * from './session/index.js';
export * from './config/index.js';
