// Command-line flags of caracal-node (with their environment equivalents) and their validation into
// AgentOptions. Bad values throw OptionError naming the flag; main.ts turns that into exit 2.
import { IpParseError, ipParseResult, parseAddressWithLength, parseIp } from '@caracal/ip';
import { Command, Option } from 'commander';
import { DEFAULT_BGPD_HEALTH_PORT, DEFAULT_BGPD_METRICS_PORT } from '../bgpd-config.js';
import {
  type Ipv6AutodetectionMethod,
  type Ipv6Setting,
  parseIpv6AutodetectionMethod,
  parseIpv6Setting,
} from './detect-ipv6.js';

export class OptionError extends Error {}

export interface AgentOptions {
  readonly nodeName: string;
  /** `A.B.C.D/N`, or undefined: detect from the interface holding the IPv4 default route. */
  readonly ipv4Address: string | undefined;
  /** `--ip6`: none (keep the Node's `spec.bgp.ipv6Address`), autodetect, or `address/length`. */
  readonly ipv6: Ipv6Setting;
  /** `--ip6-autodetection-method` (used with `--ip6 autodetect`). */
  readonly ipv6AutodetectionMethod: Ipv6AutodetectionMethod;
  readonly asNumber: number | undefined;
  readonly etcdEndpoints: string | undefined;
  readonly runDir: string;
  readonly healthPort: number;
  readonly healthHost: string;
  readonly felixCommand: readonly string[];
  readonly felixHealthPort: number;
  /** caracal-bgpd's executable and leading arguments; undefined with --no-bgpd. */
  readonly bgpdCommand: readonly string[] | undefined;
  readonly bgpdMetricsPort: number;
  /** 0: caracal-bgpd serves no health endpoint. */
  readonly bgpdHealthPort: number;
  readonly logLevel: string;
}

export function agentCommand(): Command {
  return new Command('caracal-node')
    .description('Caracal node agent: registers the Node, claims IPAM blocks, plans BGP peerings, runs Felix')
    .addOption(new Option('--name <name>', 'this node').env('NODENAME'))
    .addOption(new Option('--ip <cidr>', 'BGP IPv4 address with prefix length (A.B.C.D/N)').env('IP'))
    .addOption(
      new Option(
        '--ip6 <value>',
        "BGP IPv6 address: autodetect, none (keep the Node's), or an address with prefix length (fd00::5/64)",
      )
        .env('IP6')
        .default('none'),
    )
    .addOption(
      new Option(
        '--ip6-autodetection-method <method>',
        'with --ip6 autodetect: first-found, interface=REGEX, skip-interface=REGEX, can-reach=DEST, cidr=CIDR',
      )
        .env('IP6_AUTODETECTION_METHOD')
        .default('first-found'),
    )
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
    .addOption(
      new Option('--bgpd-command <path>', 'the caracal-bgpd executable (JS file run with node, or a binary)'),
    )
    .addOption(new Option('--no-bgpd', 'do not run caracal-bgpd (no BGP from this node)'))
    .addOption(
      new Option('--bgpd-metrics-port <port>', "caracal-bgpd's Prometheus port (its config)").default(
        String(DEFAULT_BGPD_METRICS_PORT),
      ),
    )
    .addOption(
      new Option('--bgpd-health-port <port>', "caracal-bgpd's health port on 127.0.0.1; 0 disables").default(
        String(DEFAULT_BGPD_HEALTH_PORT),
      ),
    )
    .addOption(new Option('--log-level <level>', 'pino log level').default('info'))
    .allowExcessArguments(false);
}

function nonZeroPort(flag: string, value: string): number {
  const n = port(flag, value);
  if (n === 0) throw new OptionError(`${flag} must be a port 1-65535, got "${value}"`);
  return n;
}

/** A string flag's value (commander gives booleans only for --no-… flags). */
function text(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function port(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535)
    throw new OptionError(`${flag} must be a port 0-65535, got "${text}"`);
  return value;
}

/** The result of `parse()`, or the reason @caracal/ip gives for refusing the text. */
function ipReason<T>(parse: () => T): T | string {
  const result = ipParseResult(parse);
  return result instanceof IpParseError ? result.reason : result;
}

/**
 * Validates an `A.B.C.D/N` address (host bits allowed: it is an interface address) with @caracal/ip's
 * grammar; a bare address is refused with the reason. Returns the text without surrounding blanks.
 */
export function parseNodeAddress(text: string, what: string): string {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = ipReason(() => parseIp(slash < 0 ? trimmed : trimmed.slice(0, slash)));
  if (typeof address === 'string' || address.version !== 4) {
    const reason = typeof address === 'string' ? address : 'an IPv6 address';
    throw new OptionError(
      `${what} must be an IPv4 address with prefix length (A.B.C.D/N), got "${text}" (${reason})`,
    );
  }
  if (slash < 0) {
    throw new OptionError(
      `${what} "${text}" has no prefix length: give A.B.C.D/N (CrossSubnet encapsulation and same-subnet ` +
        "peering need the node's subnet; a bare address would be taken as /32, see calico#2375)",
    );
  }
  // The address is valid, so what parseAddressWithLength may still refuse is the length.
  if (ipParseResult(() => parseAddressWithLength(trimmed)) instanceof IpParseError)
    throw new OptionError(`${what} prefix length must be 0-32, got "${text}"`);
  return trimmed;
}

/** A `.js` path runs with this node; anything else is executed as is. */
function commandFor(path: string): readonly string[] {
  return path.endsWith('.js') ? [process.execPath, path] : [path];
}

export function toAgentOptions(
  raw: Record<string, string | boolean | undefined>,
  defaultFelixCommand: readonly string[],
  defaultBgpdCommand: readonly string[] = ['caracal-bgpd'],
): AgentOptions {
  const nodeName = text(raw.name)?.trim();
  if (!nodeName) throw new OptionError('--name (or NODENAME) is required');
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName) || nodeName.length > 253) {
    throw new OptionError(
      `--name must be a DNS name (lower case letters, digits, '-', '.'), got "${nodeName}"`,
    );
  }
  let asNumber: number | undefined;
  const asText = text(raw.as);
  if (asText !== undefined) {
    asNumber = Number(asText);
    if (!/^\d+$/.test(asText) || asNumber < 1 || asNumber > 4294967295) {
      throw new OptionError(`--as must be an AS number 1-4294967295, got "${asText}"`);
    }
  }
  const ip = text(raw.ip);
  return {
    nodeName,
    ipv4Address: ip === undefined ? undefined : parseNodeAddress(ip, '--ip'),
    ipv6: parseIpv6Setting(text(raw.ip6)),
    ipv6AutodetectionMethod: parseIpv6AutodetectionMethod(text(raw.ip6AutodetectionMethod)),
    asNumber,
    etcdEndpoints: text(raw.etcdEndpoints),
    runDir: text(raw.runDir) ?? '/run/caracal',
    healthPort: port('--health-port', text(raw.healthPort) ?? '9098'),
    healthHost: text(raw.healthHost) ?? '0.0.0.0',
    felixCommand:
      text(raw.felixCommand) === undefined
        ? defaultFelixCommand
        : commandFor(text(raw.felixCommand) as string),
    felixHealthPort: port('--felix-health-port', text(raw.felixHealthPort) ?? '9099'),
    bgpdCommand:
      raw.bgpd === false
        ? undefined
        : text(raw.bgpdCommand) === undefined
          ? defaultBgpdCommand
          : commandFor(text(raw.bgpdCommand) as string),
    bgpdMetricsPort: nonZeroPort(
      '--bgpd-metrics-port',
      text(raw.bgpdMetricsPort) ?? String(DEFAULT_BGPD_METRICS_PORT),
    ),
    bgpdHealthPort: port('--bgpd-health-port', text(raw.bgpdHealthPort) ?? String(DEFAULT_BGPD_HEALTH_PORT)),
    logLevel: text(raw.logLevel) ?? 'info',
  };
}
