// Public surface of the fsm module (re-exported by the package index).
export {};
