// Runs caracal-bgpd as a process: loads the configuration, starts the kernel FIB, the Speaker, the
// control socket and the metrics/health endpoints, and maps signals: SIGTERM/SIGINT stop cleanly
// (kernel routes kept when graceful restart is enabled), SIGHUP reloads the configuration file (a bad
// file is logged and the old configuration stays). The FIB, control and observability modules are
// loaded by name at run time: they are built alongside in src/fib, src/control and src/observability.

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ConfigError, loadConfigFile } from '../config/index.js';
import type { BgpdConfig, LogLevel } from '../config/types.js';
import type { ForwardingTable } from '../fib/types.js';
import { Speaker } from './speaker.js';
import type { SpeakerView } from './view.js';

export interface DaemonArguments {
  readonly configFile: string;
  readonly logLevel?: LogLevel;
}

/** What a running daemon holds; `stop()` is what SIGTERM does. */
export interface RunningDaemon {
  readonly speaker: Speaker;
  stop(): Promise<void>;
  reload(): Promise<void>;
}

type CreateKernelFib = (options: { protocol: number; table: number; logger?: Logger }) => ForwardingTable;
type StartControlServer = (options: {
  socketPath: string;
  view: SpeakerView;
  logger?: Logger;
}) => Promise<{ close(): Promise<void> }>;
type StartObservability = (options: {
  metrics?: { address: string; port: number };
  health?: { address: string; port: number };
  view: SpeakerView;
  logger?: Logger;
}) => Promise<{ close(): Promise<void> }>;

/** Loads a sibling module by a computed name (so this file compiles before that module exists). */
async function sibling(name: string): Promise<Record<string, unknown>> {
  const specifier = `../${name}/index.js`;
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return {};
    throw error;
  }
}

/** The named function of a sibling module, or undefined (logged) when that module does not provide it. */
function optional<T>(
  module: Record<string, unknown>,
  name: string,
  where: string,
  logger: Logger,
): T | undefined {
  const value = module[name];
  if (typeof value === 'function') return value as T;
  logger.warn(`${where} does not provide ${name} in this build; running without it`);
  return undefined;
}

/** The package version (from the nearest package.json above this file). */
export async function packageVersion(): Promise<string> {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const text = await readFile(join(directory, 'package.json'), 'utf8');
      const parsed = JSON.parse(text) as { name?: string; version?: string };
      if (parsed.name === '@caracal/bgp-speaker') return parsed.version ?? 'unknown';
    } catch {
      // not here; go up
    }
    directory = dirname(directory);
  }
  return 'unknown';
}

/** Starts everything; throws ConfigError for a bad configuration file (nothing started then). */
export async function startDaemon(args: DaemonArguments, logger: Logger): Promise<RunningDaemon> {
  const config: BgpdConfig = await loadConfigFile(args.configFile);
  logger.level = args.logLevel ?? config.logLevel;
  let fib: ForwardingTable | undefined;
  if (config.kernel.install) {
    const createKernelFib = optional<CreateKernelFib>(
      await sibling('fib'),
      'createKernelFib',
      'src/fib',
      logger,
    );
    fib = createKernelFib?.({
      protocol: config.kernel.protocol,
      table: config.kernel.table,
      logger: logger.child({ component: 'fib' }),
    });
  }
  const speaker = new Speaker(config, {
    ...(fib !== undefined ? { fib } : {}),
    logger: logger.child({ component: 'speaker' }),
    version: await packageVersion(),
  });
  await speaker.start();
  const closers: Array<{ close(): Promise<void> }> = [];
  try {
    const startControlServer = optional<StartControlServer>(
      await sibling('control'),
      'startControlServer',
      'src/control',
      logger,
    );
    if (startControlServer !== undefined)
      closers.push(
        await startControlServer({
          socketPath: config.control.socket,
          view: speaker,
          logger: logger.child({ component: 'control' }),
        }),
      );
    const startObservability = optional<StartObservability>(
      await sibling('observability'),
      'startObservability',
      'src/observability',
      logger,
    );
    if (startObservability !== undefined)
      closers.push(
        await startObservability({
          metrics: { address: config.metrics.address, port: config.metrics.port },
          ...(config.health !== undefined ? { health: config.health } : {}),
          view: speaker,
          logger: logger.child({ component: 'observability' }),
        }),
      );
  } catch (error) {
    await speaker.stop();
    for (const closer of closers) await closer.close();
    throw error;
  }
  logger.info(
    {
      asNumber: config.asNumber,
      routerId: config.routerId,
      peers: config.peers.length,
      restarting: speaker.restarting,
    },
    'caracal-bgpd started',
  );
  return {
    speaker,
    async stop() {
      await speaker.stop();
      for (const closer of closers.reverse()) await closer.close();
    },
    async reload() {
      let next: BgpdConfig;
      try {
        next = await loadConfigFile(args.configFile);
      } catch (error) {
        const lines = error instanceof ConfigError ? error.issues.length : 1;
        logger.error(
          { error: (error as Error).message, issues: lines },
          'reload failed; keeping the running configuration',
        );
        return;
      }
      try {
        speaker.reload(next);
      } catch (error) {
        logger.error({ error: (error as Error).message }, 'reload failed; keeping the running configuration');
      }
    },
  };
}
