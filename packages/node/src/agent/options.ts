// Command-line flags of caracal-node (with their environment equivalents) and their validation into
// AgentOptions. Bad values throw OptionError naming the flag; main.ts turns that into exit 2.
import { Command, Option } from 'commander';

export class OptionError extends Error {}

export interface AgentOptions {
  readonly nodeName: string;
  /** `A.B.C.D/N`, or undefined: detect from the interface holding the IPv4 default route. */
  readonly ipv4Address: string | undefined;
  readonly asNumber: number | undefined;
  readonly etcdEndpoints: string | undefined;
  readonly runDir: string;
  readonly healthPort: number;
  readonly healthHost: string;
  readonly felixCommand: readonly string[];
  readonly felixHealthPort: number;
  readonly logLevel: string;
}

export function agentCommand(): Command {
  return new Command('caracal-node')
    .description('Caracal node agent: registers the Node, claims IPAM blocks, plans BGP peerings, runs Felix')
    .addOption(new Option('--name <name>', 'this node').env('NODENAME'))
    .addOption(new Option('--ip <cidr>', 'BGP IPv4 address with prefix length (A.B.C.D/N)').env('IP'))
    .addOption(new Option('--as <number>', "this node's AS number (default: the cluster's)").env('AS'))
    .addOption(new Option('--etcd-endpoints <urls>', 'comma-separated etcd URLs').env('ETCD_ENDPOINTS'))
    .addOption(new Option('--run-dir <dir>', 'sockets, PID and state files').default('/run/caracal'))
    .addOption(
      new Option('--health-port <port>', '/liveness, /readiness, /metrics; 0 disables').default('9098'),
    )
    .addOption(new Option('--health-host <addr>', 'address of the health server').default('0.0.0.0'))
    .addOption(
      new Option(
        '--felix-command <path>',
        'the caracal-felix executable (JS file run with node, or a binary)',
      ),
    )
    .addOption(new Option('--felix-health-port <port>', 'health port given to caracal-felix').default('9099'))
    .addOption(new Option('--log-level <level>', 'pino log level').default('info'))
    .allowExcessArguments(false);
}

function port(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535)
    throw new OptionError(`${flag} must be a port 0-65535, got "${text}"`);
  return value;
}

/** Validates an `A.B.C.D/N` address; a bare address is refused with the reason. */
export function parseNodeAddress(text: string, what: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (!match || match.slice(1, 5).some((octet) => Number(octet) > 255)) {
    throw new OptionError(`${what} must be an IPv4 address with prefix length (A.B.C.D/N), got "${text}"`);
  }
  if (match[5] === undefined) {
    throw new OptionError(
      `${what} "${text}" has no prefix length: give A.B.C.D/N (CrossSubnet encapsulation and same-subnet ` +
        "peering need the node's subnet; a bare address would be taken as /32, see calico#2375)",
    );
  }
  if (Number(match[5]) > 32) throw new OptionError(`${what} prefix length must be 0-32, got "${text}"`);
  return text.trim();
}

export function toAgentOptions(
  raw: Record<string, string | undefined>,
  defaultFelixCommand: readonly string[],
): AgentOptions {
  const nodeName = raw.name?.trim();
  if (!nodeName) throw new OptionError('--name (or NODENAME) is required');
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName) || nodeName.length > 253) {
    throw new OptionError(
      `--name must be a DNS name (lower case letters, digits, '-', '.'), got "${nodeName}"`,
    );
  }
  let asNumber: number | undefined;
  if (raw.as !== undefined) {
    asNumber = Number(raw.as);
    if (!/^\d+$/.test(raw.as) || asNumber < 1 || asNumber > 4294967295) {
      throw new OptionError(`--as must be an AS number 1-4294967295, got "${raw.as}"`);
    }
  }
  return {
    nodeName,
    ipv4Address: raw.ip === undefined ? undefined : parseNodeAddress(raw.ip, '--ip'),
    asNumber,
    etcdEndpoints: raw.etcdEndpoints,
    runDir: raw.runDir ?? '/run/caracal',
    healthPort: port('--health-port', raw.healthPort ?? '9098'),
    healthHost: raw.healthHost ?? '0.0.0.0',
    felixCommand:
      raw.felixCommand === undefined
        ? defaultFelixCommand
        : raw.felixCommand.endsWith('.js')
          ? [process.execPath, raw.felixCommand]
          : [raw.felixCommand],
    felixHealthPort: port('--felix-health-port', raw.felixHealthPort ?? '9099'),
    logLevel: raw.logLevel ?? 'info',
  };
}
