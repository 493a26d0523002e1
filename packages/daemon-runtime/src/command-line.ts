// The command-line step of a daemon's main: parse with commander, and turn commander's own outcomes into
// the daemons' exit codes (help or version shown: 0; unknown option, missing or bad value: 2). Commander
// has already printed its message ("error: unknown option '--x'") when this exits.
import { type Command, CommanderError } from 'commander';

/** The exit code of a usage error (unknown flag, missing or bad value), as every Caracal daemon uses it. */
export const USAGE_EXIT_CODE = 2;

/**
 * Parses `argv` (node's form: executable, script, arguments) into `command`; on help or version exits 0,
 * on a usage error exits USAGE_EXIT_CODE. Returns only when the arguments were accepted.
 */
export function parseCommandLineOrExit(command: Command, argv: readonly string[] = process.argv): void {
  command.exitOverride();
  try {
    command.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exit(
        error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : USAGE_EXIT_CODE,
      );
    }
    throw error;
  }
}
