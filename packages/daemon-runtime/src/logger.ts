// The daemons' logger: pino, one JSON line per record, named after the executable, at the configured
// level, on stdout (caracal-felix, caracal-node) or stderr (caracal-bgpd keeps stdout free).
import { type Logger, pino } from 'pino';

export interface DaemonLoggerOptions {
  /** The executable, e.g. "caracal-felix": the `name` field of every record. */
  readonly name: string;
  /** A pino level: trace, debug, info, warn, error, fatal or silent. */
  readonly level: string;
  /** Where the JSON lines go. Default stdout. */
  readonly destination?: 'stdout' | 'stderr';
}

export const DAEMON_LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The pino logger of a daemon; throws naming an unknown level and the accepted ones. */
export function createDaemonLogger(options: DaemonLoggerOptions): Logger {
  if (!(DAEMON_LOG_LEVELS as readonly string[]).includes(options.level)) {
    throw new Error(
      `${options.name}: unknown log level ${JSON.stringify(options.level)}: expected one of ${DAEMON_LOG_LEVELS.join(', ')}`,
    );
  }
  const settings = { name: options.name, level: options.level };
  return options.destination === 'stderr' ? pino(settings, pino.destination(2)) : pino(settings);
}
