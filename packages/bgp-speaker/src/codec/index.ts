// Public surface of the codec module (re-exported by the package index).
export {};
