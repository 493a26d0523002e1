// Runs caracal-bgpd as a process: loads the configuration, starts the kernel FIB, the Speaker, the
// control socket and the metrics/health endpoints, and maps signals: SIGTERM/SIGINT stop cleanly
// (kernel routes kept when graceful restart is enabled), SIGHUP reloads the configuration file (a bad
// file, or one the speaker refuses, e.g. a listen address it cannot bind, is logged and the old
// configuration stays).

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ConfigError, loadConfigFile } from '../config/index.js';
import type { BgpdConfig, LogLevel } from '../config/types.js';
import { startControlServer } from '../control/index.js';
import { createKernelFib } from '../fib/index.js';
import type { ForwardingTable } from '../fib/types.js';
import { startObservability } from '../observability/index.js';
import { serialReloader } from './serial-reload.js';
import { Speaker } from './speaker.js';

export interface DaemonArguments {
  readonly configFile: string;
  readonly logLevel?: LogLevel;
}

/** What a running daemon holds; `stop()` is what SIGTERM does. */
export interface RunningDaemon {
  readonly speaker: Speaker;
  stop(): Promise<void>;
  /** Re-reads the file; reloads never overlap and the last file written is the one applied. */
  reload(): Promise<void>;
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
  const fib: ForwardingTable | undefined = config.kernel.install
    ? createKernelFib({
        protocol: config.kernel.protocol,
        table: config.kernel.table,
        logger: logger.child({ component: 'fib' }),
      })
    : undefined;
  const speaker = new Speaker(config, {
    ...(fib !== undefined ? { fib } : {}),
    logger: logger.child({ component: 'speaker' }),
    version: await packageVersion(),
  });
  await speaker.start();
  const closers: Array<{ close(): Promise<void> }> = [];
  try {
    closers.push(
      await startControlServer({
        socketPath: config.control.socket,
        view: speaker,
        logger: logger.child({ component: 'control' }),
      }),
    );
    closers.push(
      await startObservability({
        metrics: { address: config.metrics.address, port: config.metrics.port },
        // Without a health section, /liveness and /readiness share the metrics port.
        health: config.health ?? { address: config.metrics.address, port: config.metrics.port },
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
    reload: serialReloader(async () => {
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
        // Rejects, changing nothing, for a policy that does not compile or a listen address that cannot
        // be bound (the error names the address, the port and why); the running configuration stays.
        await speaker.reload(next);
      } catch (error) {
        logger.error({ error: (error as Error).message }, 'reload failed; keeping the running configuration');
      }
    }),
  };
}
