// The caracal-felix command line (commander): flags, their environment fallbacks and validation. A bad value
// names the flag; an unknown flag exits 2 (see main.ts).
import { resolveEndpoints } from '@caracal/datastore';
import { Command, InvalidArgumentError, Option } from 'commander';

export interface FelixDaemonOptions {
  readonly nodeName: string;
  readonly etcdEndpoints: string[];
  /** 0 disables the health server. */
  readonly healthPort: number;
  readonly healthHost: string;
  /** 0 disables the metrics server. */
  readonly metricsPort: number;
  readonly metricsHost: string;
  /** Default full refresh period in seconds (a FelixConfiguration routeRefreshInterval overrides it). */
  readonly refreshIntervalSeconds: number;
  readonly runDir: string;
  readonly logLevel: string;
}

const port = (flag: string) => (text: string) => {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535)
    throw new InvalidArgumentError(`${flag} must be a port 0-65535, got "${text}"`);
  return value;
};

const positiveSeconds = (text: string) => {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError(`--refresh-interval must be a positive number of seconds, got "${text}"`);
  return value;
};

export function felixCommand(): Command {
  return new Command('caracal-felix')
    .description('Caracal Felix: watches the datastore and programs this node’s routes, sysctls and nftables')
    .addOption(new Option('--node-name <name>', 'this node’s name').env('NODENAME'))
    .addOption(
      new Option('--etcd-endpoints <urls>', 'etcd client URLs, comma separated').env('ETCD_ENDPOINTS'),
    )
    .addOption(
      new Option('--health-port <port>', 'HTTP /liveness and /readiness port, 0 disables')
        .default(9099)
        .argParser(port('--health-port')),
    )
    .addOption(
      new Option('--health-host <address>', 'address the health server listens on').default('127.0.0.1'),
    )
    .addOption(
      new Option('--metrics-port <port>', 'Prometheus /metrics port, 0 disables')
        .default(9091)
        .argParser(port('--metrics-port')),
    )
    .addOption(
      new Option('--metrics-host <address>', 'address the metrics server listens on').default('0.0.0.0'),
    )
    .addOption(
      new Option(
        '--refresh-interval <seconds>',
        'full dataplane refresh period (FelixConfiguration overrides)',
      )
        .default(90)
        .argParser(positiveSeconds),
    )
    .addOption(
      new Option('--run-dir <dir>', 'directory of felix.pid and status.json').default('/run/caracal'),
    )
    .addOption(
      new Option('--log-level <level>', 'pino log level')
        .default('info')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
    );
}

/** Parsed commander options → daemon options (throws an Error naming the flag when a value is unusable). */
export function toDaemonOptions(raw: Record<string, unknown>): FelixDaemonOptions {
  const nodeName = raw.nodeName;
  if (typeof nodeName !== 'string' || nodeName === '' || /[/\s]/.test(nodeName)) {
    throw new Error(
      nodeName === undefined
        ? '--node-name (or NODENAME) is required'
        : `--node-name "${String(nodeName)}" must be non-empty without "/" or spaces`,
    );
  }
  return {
    nodeName,
    etcdEndpoints: resolveEndpoints(typeof raw.etcdEndpoints === 'string' ? raw.etcdEndpoints : undefined),
    healthPort: raw.healthPort as number,
    healthHost: raw.healthHost as string,
    metricsPort: raw.metricsPort as number,
    metricsHost: raw.metricsHost as string,
    refreshIntervalSeconds: raw.refreshInterval as number,
    runDir: raw.runDir as string,
    logLevel: raw.logLevel as string,
  };
}
