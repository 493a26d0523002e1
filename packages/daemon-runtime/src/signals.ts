// How a daemon ends: the first SIGTERM or SIGINT logs, runs `stop` once (later ones are only logged,
// "already stopping"), then exits 0, or 1 when `stop` failed (logged as "error while stopping").
// With `onReload`, each SIGHUP runs it (the daemon serialises its own reloads); without it, SIGHUP
// keeps Node's default (the process ends), as for any program that does not reload.
import type { Logger } from 'pino';

export interface RunUntilSignalledOptions {
  /** Receives "stopping" (with the signal), "error while stopping" and reload records. */
  readonly logger: Pick<Logger, 'info' | 'error'>;
  /** Stops the daemon; called at most once. Resolves: exit 0. Rejects: exit 1. */
  readonly stop: () => Promise<void>;
  /** The record logged when a stop signal arrives. Default "stopping". */
  readonly stoppingMessage?: string;
  /** Runs on each SIGHUP; a rejection is logged ("reload failed") and the daemon keeps running. */
  readonly onReload?: () => unknown;
  /** The record logged on SIGHUP. Default "SIGHUP: reloading". */
  readonly reloadMessage?: string;
}

export interface SignalledDaemon {
  /** True once a stop signal arrived (a start that fails afterwards is then part of stopping). */
  readonly stopping: boolean;
}

export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Installs the SIGTERM/SIGINT (and, with `onReload`, SIGHUP) handlers of a daemon. */
export function runUntilSignalled(options: RunUntilSignalledOptions): SignalledDaemon {
  const { logger } = options;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.info({ signal }, 'already stopping');
      return;
    }
    stopping = true;
    logger.info({ signal }, options.stoppingMessage ?? 'stopping');
    options.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ error: errorText(error) }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => stop(signal));
  const { onReload } = options;
  if (onReload !== undefined) {
    process.on('SIGHUP', () => {
      logger.info({ signal: 'SIGHUP' }, options.reloadMessage ?? 'SIGHUP: reloading');
      void (async () => {
        try {
          await onReload();
        } catch (error) {
          logger.error({ error: errorText(error) }, 'reload failed');
        }
      })();
    });
  }
  return {
    get stopping() {
      return stopping;
    },
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
