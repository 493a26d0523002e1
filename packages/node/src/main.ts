#!/usr/bin/env node
// Entry point of the caracal-node executable: parses flags (unknown flag or bad value → exit 2 naming it),
// starts the agent, and on SIGTERM/SIGINT stops caracal-bgpd, caracal-felix and the agent. (A SIGKILL
// leaves both children running; the next caracal-node adopts them.)

import { resolve } from 'node:path';
import { CommanderError } from 'commander';
import { pino } from 'pino';
import { NodeAgent } from './agent/agent.js';
import { type AgentOptions, agentCommand, OptionError, toAgentOptions } from './agent/options.js';

async function main(): Promise<void> {
  const command = agentCommand().exitOverride();
  try {
    command.parse(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exit(error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2);
    }
    throw error;
  }
  const felixMain = resolve(import.meta.dirname, '../../../felix/dist/src/main.js');
  // The repository's bin/caracal-bgpd (a wrapper that execs node on the daemon's built entry point).
  const bgpdExecutable = resolve(import.meta.dirname, '../../../../bin/caracal-bgpd');
  let options: AgentOptions;
  try {
    options = toAgentOptions(command.opts(), [process.execPath, felixMain], [bgpdExecutable]);
  } catch (error) {
    process.stderr.write(`caracal-node: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino({ name: 'caracal-node', level: options.logLevel });
  const agent = new NodeAgent(options, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping caracal-bgpd, caracal-felix and the agent');
    agent.stop().then(
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
    await agent.start();
  } catch (error) {
    if (stopping) return;
    const exitCode = error instanceof OptionError ? 2 : 1;
    process.stderr.write(`caracal-node: ${(error as Error).message}\n`);
    await agent.stop().catch(() => {});
    process.exit(exitCode);
  }
}

void main();
