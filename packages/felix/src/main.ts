#!/usr/bin/env node
// Entry point of the caracal-felix executable: parses flags (unknown flag or bad value → exit 2 naming it),
// starts the daemon, and on SIGTERM/SIGINT stops it cleanly WITHOUT removing any route.
import { CommanderError } from 'commander';
import { pino } from 'pino';
import { FelixDaemon } from './daemon/daemon.js';
import { felixCommand, toDaemonOptions } from './daemon/options.js';

async function main(): Promise<void> {
  const command = felixCommand().exitOverride();
  try {
    command.parse(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed "error: unknown option '--x'" (or the help/version text).
      process.exit(error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2);
    }
    throw error;
  }
  let options: ReturnType<typeof toDaemonOptions>;
  try {
    options = toDaemonOptions(command.opts());
  } catch (error) {
    process.stderr.write(`caracal-felix: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino({ name: 'caracal-felix', level: options.logLevel });
  const daemon = new FelixDaemon(options, { logger });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping (routes stay in place)');
    daemon.stop().then(
      () => process.exit(0),
      (error: Error) => {
        logger.error({ error: error.message }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await daemon.start();
  } catch (error) {
    logger.fatal({ error: (error as Error).message }, 'felix failed to start');
    await daemon.stop().catch(() => {});
    process.exit(1);
  }
}

void main();
