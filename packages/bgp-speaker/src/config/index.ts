// Public surface of the config module (re-exported by the package index).
export {};
