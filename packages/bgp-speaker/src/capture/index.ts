// Public surface of the capture module (re-exported by the package index).
export {};
