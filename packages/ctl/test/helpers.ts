// Test helpers: an in-memory CliIo that captures output, and dependencies that fail loudly if a test of
// command-line mechanics unexpectedly reaches the datastore.
import type { CliDependencies } from '../src/cli.js';
import type { CliIo } from '../src/io.js';

export interface CapturedIo extends CliIo {
  readonly out: () => string;
  readonly err: () => string;
}

export function captureIo(
  options: { env?: Record<string, string>; tty?: boolean; stdin?: string } = {},
): CapturedIo {
  let out = '';
  let err = '';
  return {
    writeOut: (text) => {
      out += text;
    },
    writeErr: (text) => {
      err += text;
    },
    env: options.env ?? {},
    stdoutIsTty: options.tty ?? false,
    readStdin: async () => options.stdin ?? '',
    out: () => out,
    err: () => err,
  };
}

function unexpected(what: string): never {
  throw new Error(`test reached ${what}, which it should not`);
}

/** Dependencies for tests that must stop before any datastore or IPAM access. */
export const unreachableDependencies: CliDependencies = {
  model: {
    parseManifests: () => unexpected('model.parseManifests'),
    check: () => unexpected('model.check'),
  },
  openStore: async () => unexpected('openStore'),
  ipam: {
    usage: async () => unexpected('ipam.usage'),
    check: async () => unexpected('ipam.check'),
    releaseIps: async () => unexpected('ipam.releaseIps'),
    releaseFromReport: async () => unexpected('ipam.releaseFromReport'),
  },
  datastore: {
    start: async () => unexpected('datastore.start'),
    stop: async () => unexpected('datastore.stop'),
    status: async () => unexpected('datastore.status'),
  },
};
