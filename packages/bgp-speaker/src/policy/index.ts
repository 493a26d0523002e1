// Public surface of the policy module (re-exported by the package index).
export * from './compile.js';
