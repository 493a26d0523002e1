#!/usr/bin/env node
// Entry point of the caracal-felix executable: parses flags (unknown flag or bad value → exit 2 naming it),
// starts the daemon, and on SIGTERM/SIGINT stops it cleanly WITHOUT removing any route.
import { createDaemonLogger, parseCommandLineOrExit, runUntilSignalled } from '@caracal/daemon-runtime';
import { FelixDaemon } from './daemon/daemon.js';
import { felixCommand, toDaemonOptions } from './daemon/options.js';

async function main(): Promise<void> {
  const command = felixCommand();
  parseCommandLineOrExit(command);
  let options: ReturnType<typeof toDaemonOptions>;
  try {
    options = toDaemonOptions(command.opts());
  } catch (error) {
    process.stderr.write(`caracal-felix: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createDaemonLogger({ name: 'caracal-felix', level: options.logLevel });
  const daemon = new FelixDaemon(options, { logger });
  runUntilSignalled({
    logger,
    stop: () => daemon.stop(),
    stoppingMessage: 'stopping (routes stay in place)',
  });
  try {
    await daemon.start();
  } catch (error) {
    logger.fatal({ error: (error as Error).message }, 'felix failed to start');
    await daemon.stop().catch(() => {});
    process.exit(1);
  }
}

void main();
