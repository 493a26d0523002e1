// The process surroundings a command sees: output streams, environment, whether stdout is a terminal,
// and how to read standard input. The executable passes the real process; unit tests pass captures.

export interface CliIo {
  /** Writes text to standard output as is (callers add newlines). */
  writeOut(text: string): void;
  /** Writes text to standard error as is (callers add newlines). */
  writeErr(text: string): void;
  /** Environment variables (ETCD_ENDPOINTS, NO_COLOR, ...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** True when standard output is a terminal (colour is used only then). */
  readonly stdoutIsTty: boolean;
  /** Reads all of standard input (for `-f -`). */
  readStdin(): Promise<string>;
}

/** The real process as a CliIo. */
export function processIo(): CliIo {
  return {
    writeOut: (text) => {
      process.stdout.write(text);
    },
    writeErr: (text) => {
      process.stderr.write(text);
    },
    env: process.env,
    stdoutIsTty: process.stdout.isTTY === true,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}
