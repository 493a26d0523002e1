// `caracal-bgp status` and `caracal-bgp routes [PREFIX]`: ask the running caracal-bgpd over its control
// socket (--socket, else $CARACAL_BGPD_SOCKET, else /run/caracal/bgpd.sock) and print an aligned table or
// the JSON answer (-o json). Exit codes: 0 done, 1 the daemon cannot be asked or refused, 2 usage.

import { type Command, InvalidArgumentError, Option } from 'commander';
import { parsePrefix } from '../codec/prefix.js';
import { ControlClientError, queryRoutes, queryStatus } from '../control/client.js';
import { DEFAULT_CONTROL_SOCKET } from '../control/protocol.js';
import { formatRoutesTable, formatStatusTable } from './daemon-format.js';

export interface DaemonCommandOutput {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

interface QueryFlags {
  readonly output: 'table' | 'json';
  readonly socket?: string;
  readonly timeout: number;
}

/** The socket the commands ask: --socket, else $CARACAL_BGPD_SOCKET, else the default. */
export function controlSocketPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined) return flag;
  const fromEnv = env.CARACAL_BGPD_SOCKET;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONTROL_SOCKET;
}

/** The PREFIX argument: a prefix (`10.0.0.0/24`, host bits clear) or an address (its host route). */
export function parsePrefixArgument(text: string): string {
  const withLength = text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`;
  try {
    parsePrefix(withLength);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return withLength;
}

function parseTimeout(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1) {
    throw new InvalidArgumentError(`'${text}' is not a positive number of milliseconds`);
  }
  return value;
}

function addQueryOptions(command: Command): Command {
  return command
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .option(
      '--socket <path>',
      `control socket of caracal-bgpd (default $CARACAL_BGPD_SOCKET or ${DEFAULT_CONTROL_SOCKET})`,
    )
    .option(
      '--timeout <ms>',
      'give up waiting for the daemon after this many milliseconds',
      parseTimeout,
      5000,
    );
}

export function registerDaemonCommands(
  program: Command,
  output: DaemonCommandOutput,
  setExitCode: (code: number) => void,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const run = async (work: () => Promise<string[]>) => {
    try {
      for (const line of await work()) output.out(line);
      setExitCode(0);
    } catch (error) {
      if (!(error instanceof ControlClientError)) throw error;
      output.err(`caracal-bgp: ${error.message}`);
      setExitCode(1);
    }
  };

  addQueryOptions(
    program
      .command('status')
      .description('show caracal-bgpd and its BGP sessions (like birdc show protocols)'),
  ).action(async (flags: QueryFlags) => {
    await run(async () => {
      const status = await queryStatus(controlSocketPath(flags.socket, env), { timeoutMs: flags.timeout });
      return flags.output === 'json' ? [JSON.stringify(status, null, 2)] : formatStatusTable(status);
    });
  });

  addQueryOptions(
    program
      .command('routes')
      .description('show the Loc-RIB: every path, the best marked *> with why it won (like gobgp global rib)')
      .argument(
        '[prefix]',
        'only this prefix and the prefixes covering or covered by it',
        parsePrefixArgument,
      ),
  ).action(async (prefix: string | undefined, flags: QueryFlags) => {
    await run(async () => {
      const routes = await queryRoutes(controlSocketPath(flags.socket, env), prefix, {
        timeoutMs: flags.timeout,
      });
      return flags.output === 'json' ? [JSON.stringify({ routes }, null, 2)] : formatRoutesTable(routes);
    });
  });
}
