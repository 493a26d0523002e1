// Public surface of the session module (re-exported by the package index).
export {};
