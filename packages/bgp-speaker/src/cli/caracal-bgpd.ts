#!/usr/bin/env node
// caracal-bgpd: the BGP daemon of Caracal. `caracal-bgpd --config FILE [--log-level L]`. Structured pino
// logs on stderr. Exit codes: 0 clean stop (SIGTERM/SIGINT), 1 runtime failure, 2 usage or bad
// configuration (each problem printed as file:line:col: path: reason). SIGHUP reloads the file.
import { createDaemonLogger, parseCommandLineOrExit, runUntilSignalled } from '@caracal/daemon-runtime';
import { Command, Option } from 'commander';
import { ConfigError, formatConfigIssue } from '../config/index.js';
import type { LogLevel } from '../config/types.js';
import { type RunningDaemon, startDaemon } from '../daemon/run.js';

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

async function main(): Promise<void> {
  const command = new Command('caracal-bgpd')
    .description('Caracal BGP daemon')
    .requiredOption('--config <file>', 'configuration file (YAML)')
    .addOption(
      new Option('--log-level <level>', 'log level (overrides logLevel of the file)').choices(LOG_LEVELS),
    )
    .showHelpAfterError(false);
  parseCommandLineOrExit(command);
  const options = command.opts<{ config: string; logLevel?: LogLevel }>();
  const logger = createDaemonLogger({
    name: 'caracal-bgpd',
    level: options.logLevel ?? 'info',
    destination: 'stderr',
  });
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon(
      {
        configFile: options.config,
        ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
      },
      logger,
    );
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const issue of error.issues) process.stderr.write(`${formatConfigIssue(issue)}\n`);
      process.exit(2);
    }
    logger.fatal({ error: (error as Error).message }, 'caracal-bgpd failed to start');
    process.exit(1);
  }
  runUntilSignalled({
    logger,
    stop: () => daemon.stop(),
    onReload: () => daemon.reload(),
    reloadMessage: 'SIGHUP: reloading the configuration',
  });
}

await main();
