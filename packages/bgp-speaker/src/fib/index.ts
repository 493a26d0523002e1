// The kernel forwarding table of the speaker: installs best paths with our route protocol number.
export * from './fake.js';
export * from './kernel-fib.js';
export * from './routes.js';
export * from './types.js';
