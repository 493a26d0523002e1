// What both executables share: read the CNI environment and the configuration on stdin, answer VERSION
// without needing a full configuration, print the result (or nothing) on stdout, and turn any failure into
// the spec's error JSON on stdout with exit code 1. Logs go to stderr only. Start-up cost matters (a runtime
// execs the plugins per pod): this module loads only the pure spec code; the datastore and IPAM packages
// (which pull etcd3/gRPC) are imported only when a failure that is not already a CniError must be mapped.
import {
  type CniEnvironment,
  CniError,
  CniErrorCode,
  type NetworkConfig,
  parseEnvironment,
  parseNetworkConfig,
  versionResult,
} from './spec.js';

export async function readStdin(input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  } catch (error) {
    throw new CniError(
      CniErrorCode.IoFailure,
      `reading the network configuration from stdin failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The cniVersion to answer errors with: the config's when it can be read, else 1.0.0. */
function cniVersionOf(stdin: string): string {
  try {
    const parsed = JSON.parse(stdin) as { cniVersion?: unknown };
    if (typeof parsed?.cniVersion === 'string' && parsed.cniVersion !== '') return parsed.cniVersion;
  } catch {
    // Not JSON: the default below.
  }
  return '1.0.0';
}

export type CniHandler = (config: NetworkConfig, env: CniEnvironment) => Promise<object | undefined>;

export interface CniRunOutcome {
  readonly stdout: string;
  readonly exitCode: number;
}

/** Runs one invocation; pure apart from the handler, so it is unit-testable. */
export async function runCniInvocation(
  processEnv: NodeJS.ProcessEnv,
  stdin: string,
  handler: CniHandler,
): Promise<CniRunOutcome> {
  const cniVersion = cniVersionOf(stdin);
  try {
    const env = parseEnvironment(processEnv);
    if (env.command === 'VERSION') {
      return { stdout: `${JSON.stringify(versionResult(cniVersion))}\n`, exitCode: 0 };
    }
    const config = parseNetworkConfig(stdin);
    const result = await handler(config, env);
    return { stdout: result === undefined ? '' : `${JSON.stringify(result)}\n`, exitCode: 0 };
  } catch (error) {
    const cni = error instanceof CniError ? error : (await import('./datastore-access.js')).toCniError(error);
    return { stdout: `${JSON.stringify(cni.toJson(cniVersion))}\n`, exitCode: 1 };
  }
}

/** The executable's main: stdin → handler → stdout and the exit code. */
export async function cniMain(programName: string, handler: CniHandler): Promise<void> {
  let stdin = '';
  try {
    stdin = await readStdin();
  } catch (error) {
    stdin = '';
    process.stderr.write(`${programName}: ${String(error)}\n`);
  }
  const outcome = await runCniInvocation(process.env, stdin, handler);
  if (outcome.exitCode !== 0) process.stderr.write(`${programName}: ${outcome.stdout}`);
  process.stdout.write(outcome.stdout, () => process.exit(outcome.exitCode));
}
