#!/usr/bin/env node
// caracal-bgp: the operator's BGP tool, a commander program with one module per subcommand: `decode`
// (captures and message files), `status` and `routes` (ask the running caracal-bgpd over its control
// socket). Exit codes: 0 done, 1 a file or runtime problem (or the daemon unreachable), 2 usage.
import { Command, CommanderError } from 'commander';
import { registerDaemonCommands } from './daemon-commands.js';
import { registerDecodeCommand } from './decode.js';

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('caracal-bgp')
    .description('Caracal BGP tool: decode BGP captures and message files, ask caracal-bgpd for its state')
    .exitOverride()
    .showHelpAfterError(false);
  registerDecodeCommand(
    program,
    {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      errIsTty: process.stderr.isTTY === true,
    },
    setExitCode,
  );
  registerDaemonCommands(
    program,
    {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
    },
    setExitCode,
  );
  for (const command of program.commands) command.exitOverride();
  return program;
}

async function main(): Promise<void> {
  // `caracal-bgp decode big.pcap | head`: a closed pipe ends the output quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  let exitCode = 0;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0; every usage error (unknown flag, missing argument, bad value) exits 2
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    throw error;
  }
  process.exitCode = exitCode;
}

await main();
