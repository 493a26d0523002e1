// The kernel forwarding table of the speaker: installs best paths with our route protocol number.
export * from './types.js';
