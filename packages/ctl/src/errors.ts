// Exit codes of caracalctl and the two error types commands throw to choose one: a usage error (the
// command line itself is wrong, exit 2) and a failure (the request was understood but did not succeed,
// exit 1). The top level turns either into one clear message on stderr.

export const ExitCode = {
  success: 0,
  failure: 1,
  usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The command line is wrong (unknown flag, missing argument, bad flag value): exit 2. */
export class UsageError extends Error {
  readonly exitCode = ExitCode.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The request was understood but failed (not found, invalid manifest, datastore down): exit 1. */
export class CommandFailure extends Error {
  readonly exitCode = ExitCode.failure;
  /** Set when the command already printed its detailed report, so the top level adds nothing. */
  readonly alreadyReported: boolean;
  constructor(message: string, options: { alreadyReported?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CommandFailure';
    this.alreadyReported = options.alreadyReported ?? false;
  }
}

/** The message of any thrown value, for one-line reports. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
