// The IPAM delegate of a real CNI chain: find the plugin named by `ipam.type` on CNI_PATH, run it with the
// same environment (CNI_COMMAND overridden only for STATUS) and the same configuration on stdin, and read
// its result or its error JSON from stdout, keeping its error code.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { IpamDelegate } from './plugin.js';
import { type CniEnvironment, CniError, CniErrorCode, type CniResult, type NetworkConfig } from './spec.js';

/** The first executable `<dir>/<type>` along CNI_PATH; code 7 naming the directories when there is none. */
export function findPlugin(type: string, path: readonly string[]): string {
  if (!/^[A-Za-z0-9._-]+$/.test(type)) {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `ipam.type "${type}" is not a plugin file name`);
  }
  for (const dir of path) {
    const candidate = join(dir, type);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here: next directory.
    }
  }
  throw new CniError(
    CniErrorCode.InvalidNetworkConfig,
    `IPAM plugin "${type}" not found on CNI_PATH (${path.length > 0 ? path.join(':') : 'empty'})`,
  );
}

export interface PluginRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function execPlugin(file: string, env: NodeJS.ProcessEnv, stdin: string): Promise<PluginRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) =>
      reject(new CniError(CniErrorCode.IoFailure, `running IPAM plugin ${file} failed: ${error.message}`)),
    );
    child.on('close', (exitCode) =>
      resolve({
        exitCode,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

/** A failed run's error JSON as a CniError with the plugin's code; anything else is an I/O failure. */
export function pluginFailure(file: string, run: PluginRun): CniError {
  try {
    const parsed = JSON.parse(run.stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof parsed.code === 'number' && typeof parsed.msg === 'string') {
      return new CniError(parsed.code, parsed.msg, typeof parsed.details === 'string' ? parsed.details : '');
    }
  } catch {
    // Not JSON: described below.
  }
  return new CniError(
    CniErrorCode.IoFailure,
    `IPAM plugin ${file} exited with ${run.exitCode} without a CNI error on stdout`,
    `stdout: ${run.stdout.trim()} stderr: ${run.stderr.trim()}`,
  );
}

/** Validates an IPAM ADD result: an object with an `ips` array of `{address}`. */
export function parseIpamResult(file: string, stdout: string): CniResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new CniError(
      CniErrorCode.DecodeFailure,
      `IPAM plugin ${file} printed no JSON result: ${stdout.trim()}`,
    );
  }
  const ips = (parsed as { ips?: unknown } | null)?.ips;
  if (!Array.isArray(ips) || ips.some((ip) => typeof (ip as { address?: unknown })?.address !== 'string')) {
    throw new CniError(
      CniErrorCode.DecodeFailure,
      `IPAM plugin ${file} result has no "ips" array of {address}: ${stdout.trim()}`,
    );
  }
  return parsed as CniResult;
}

export class ExecIpamDelegate implements IpamDelegate {
  /**
   * `afterSpawn` runs right after the IPAM plugin's process has been started, before its output is awaited:
   * the `caracal` executable uses it to load its own datastore modules while the child works.
   */
  constructor(
    private readonly processEnv: NodeJS.ProcessEnv = process.env,
    private readonly afterSpawn?: () => void,
  ) {}

  private async run(
    config: NetworkConfig,
    env: CniEnvironment,
    command: string,
  ): Promise<PluginRun & { file: string }> {
    const file = findPlugin(config.ipam.type, env.path);
    const running = execPlugin(
      file,
      { ...this.processEnv, CNI_COMMAND: command },
      JSON.stringify(config.raw),
    );
    this.afterSpawn?.();
    const run = await running;
    if (run.exitCode !== 0) throw pluginFailure(file, run);
    return { ...run, file };
  }

  async add(config: NetworkConfig, env: CniEnvironment): Promise<CniResult> {
    const run = await this.run(config, env, 'ADD');
    return parseIpamResult(run.file, run.stdout);
  }

  async del(config: NetworkConfig, env: CniEnvironment): Promise<void> {
    await this.run(config, env, 'DEL');
  }

  async check(config: NetworkConfig, env: CniEnvironment): Promise<void> {
    await this.run(config, env, 'CHECK');
  }

  async status(config: NetworkConfig, env: CniEnvironment): Promise<void> {
    await this.run(config, env, 'STATUS');
  }
}
