// The CNI 1.0.0 contract: the CNI_* environment, the network configuration on stdin, results and errors in
// the spec's format, error codes, and version negotiation. Pure: no I/O.

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** CNI spec error codes (SPEC.md "Error"), plus the STATUS codes of CNI 1.1. */
export const CniErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginLimitedConnectivity: 51,
  /** Plugin-specific (>= 100): the IP pools have no free address. */
  PoolExhausted: 100,
  /** Plugin-specific: any other failure (its message names it). */
  Internal: 999,
} as const;

export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
  }

  toJson(cniVersion: string): object {
    return {
      cniVersion,
      code: this.code,
      msg: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'VERSION' | 'GC';

export interface CniEnvironment {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly netns: string;
  readonly ifName: string;
  /** CNI_ARGS as key/value pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, ...). */
  readonly args: ReadonlyMap<string, string>;
  readonly path: readonly string[];
}

const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'VERSION', 'GC'];

/** Reads the CNI_* variables; which ones are required depends on the command (SPEC.md "Parameters"). */
export function parseEnvironment(env: NodeJS.ProcessEnv): CniEnvironment {
  const command = env.CNI_COMMAND ?? '';
  if (!COMMANDS.includes(command as CniCommand)) {
    throw new CniError(
      CniErrorCode.InvalidEnvironment,
      command === ''
        ? 'CNI_COMMAND is not set'
        : `CNI_COMMAND '${command}' is not one of ${COMMANDS.join(', ')}`,
    );
  }
  const cmd = command as CniCommand;
  const needsContainer = cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK';
  const missing: string[] = [];
  if (needsContainer && !env.CNI_CONTAINERID) missing.push('CNI_CONTAINERID');
  if ((cmd === 'ADD' || cmd === 'CHECK') && !env.CNI_NETNS) missing.push('CNI_NETNS');
  if (needsContainer && !env.CNI_IFNAME) missing.push('CNI_IFNAME');
  if (missing.length > 0) {
    throw new CniError(
      CniErrorCode.InvalidEnvironment,
      `${cmd} needs ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not set`,
    );
  }
  const args = new Map<string, string>();
  for (const pair of (env.CNI_ARGS ?? '').split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new CniError(CniErrorCode.InvalidEnvironment, `CNI_ARGS entry '${pair}' is not KEY=VALUE`);
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return {
    command: cmd,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifName: env.CNI_IFNAME ?? '',
    args,
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
  };
}

/** The network configuration Caracal understands (Calico's shape). */
export interface NetworkConfig {
  readonly cniVersion: string;
  readonly name: string;
  readonly type: string;
  readonly etcdEndpoints?: string;
  readonly nodename?: string;
  readonly mtu: number;
  readonly ipam: { readonly type: string; readonly [key: string]: unknown };
  readonly prevResult?: CniResult;
  /** The raw object, passed unchanged to the IPAM plugin. */
  readonly raw: Record<string, unknown>;
}

export function parseNetworkConfig(text: string): NetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CniError(
      CniErrorCode.DecodeFailure,
      `the network configuration on stdin is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CniError(
      CniErrorCode.DecodeFailure,
      'the network configuration on stdin must be a JSON object',
    );
  }
  const config = raw as Record<string, unknown>;
  const problems: string[] = [];
  const str = (field: string, required: boolean): string | undefined => {
    const value = config[field];
    if (value === undefined) {
      if (required) problems.push(`${field} is required`);
      return undefined;
    }
    if (typeof value !== 'string' || value === '') {
      problems.push(`${field} must be a non-empty string, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  };
  const cniVersion = str('cniVersion', true) ?? '';
  const name = str('name', true) ?? '';
  const type = str('type', true) ?? '';
  const etcdEndpoints = str('etcd_endpoints', false);
  const nodename = str('nodename', false);
  let mtu = 1500;
  if (config.mtu !== undefined) {
    if (
      typeof config.mtu !== 'number' ||
      !Number.isInteger(config.mtu) ||
      config.mtu < 576 ||
      config.mtu > 65535
    ) {
      problems.push(`mtu must be an integer from 576 to 65535, got ${JSON.stringify(config.mtu)}`);
    } else mtu = config.mtu;
  }
  const ipam = config.ipam;
  if (typeof ipam !== 'object' || ipam === null || typeof (ipam as { type?: unknown }).type !== 'string') {
    problems.push('ipam must be an object with a "type" (e.g. {"type":"caracal-ipam"})');
  }
  if (problems.length > 0) {
    throw new CniError(
      CniErrorCode.InvalidNetworkConfig,
      `invalid network configuration: ${problems.join('; ')}`,
    );
  }
  if (!SUPPORTED_VERSIONS.includes(cniVersion as (typeof SUPPORTED_VERSIONS)[number])) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `cniVersion ${cniVersion} is not supported; supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  return {
    cniVersion,
    name,
    type,
    ...(etcdEndpoints ? { etcdEndpoints } : {}),
    ...(nodename ? { nodename } : {}),
    mtu,
    ipam: ipam as NetworkConfig['ipam'],
    ...(config.prevResult ? { prevResult: config.prevResult as CniResult } : {}),
    raw: config,
  };
}

export interface CniInterface {
  readonly name: string;
  readonly mac: string;
  readonly sandbox?: string;
}

export interface CniIp {
  readonly address: string;
  /** Results before 1.0.0 carry the IP version ("4" or "6") on each IP. */
  readonly version?: '4' | '6';
  readonly gateway?: string;
  readonly interface?: number;
}

export interface CniRoute {
  readonly dst: string;
  readonly gw?: string;
}

export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces?: readonly CniInterface[];
  readonly ips: readonly CniIp[];
  readonly routes?: readonly CniRoute[];
  readonly dns?: Record<string, unknown>;
}

export function versionResult(cniVersion: string): object {
  return { cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] };
}
