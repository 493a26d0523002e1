#!/usr/bin/env node
// Entry point of the caracal-node executable: parses flags (unknown flag or bad value → exit 2 naming it),
// starts the agent, and on SIGTERM/SIGINT stops caracal-bgpd, caracal-felix and the agent. (A SIGKILL
// leaves both children running; the next caracal-node adopts them.)

import { resolve } from 'node:path';
import { createDaemonLogger, parseCommandLineOrExit, runUntilSignalled } from '@caracal/daemon-runtime';
import { NodeAgent } from './agent/agent.js';
import { type AgentOptions, agentCommand, OptionError, toAgentOptions } from './agent/options.js';

async function main(): Promise<void> {
  const command = agentCommand();
  parseCommandLineOrExit(command);
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
  const logger = createDaemonLogger({ name: 'caracal-node', level: options.logLevel });
  const agent = new NodeAgent(options, logger);
  const run = runUntilSignalled({
    logger,
    stop: () => agent.stop(),
    stoppingMessage: 'stopping caracal-bgpd, caracal-felix and the agent',
  });
  try {
    await agent.start();
  } catch (error) {
    if (run.stopping) return;
    const exitCode = error instanceof OptionError ? 2 : 1;
    process.stderr.write(`caracal-node: ${(error as Error).message}\n`);
    await agent.stop().catch(() => {});
    process.exit(exitCode);
  }
}

void main();
