// Public entry point of @caracal/daemon-runtime: what the mains of caracal-bgpd, caracal-felix and
// caracal-node share (command-line exit codes, the pino logger, stop once on a signal, reload on SIGHUP).
export * from './command-line.js';
export * from './logger.js';
export * from './signals.js';
