// Autodetection of the node's BGP address: the IPv4 address and prefix length of the interface that holds
// the IPv4 default route, read from `ip -j route show default` and `ip -j addr show dev X`. Parsing is
// pure (tested on fixtures); the refusal of an address without prefix length follows calico#2375.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { OptionError, parseNodeAddress } from './options.js';

interface IpRoute {
  dst?: string;
  dev?: string;
  gateway?: string;
  metric?: number;
}
/** One address of `ip -j addr show` output (the IPv6 flags are absent when false). */
export interface IpAddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
  scope?: string;
  tentative?: boolean;
  deprecated?: boolean;
  dadfailed?: boolean;
  preferred_life_time?: number;
}
/** One interface of `ip -j addr show` output. */
export interface IpLink {
  ifname?: string;
  addr_info?: IpAddrInfo[];
}

/** The device of the IPv4 default route with the lowest metric. */
export function defaultRouteDevice(routeJson: string): string {
  const routes = JSON.parse(routeJson) as IpRoute[];
  const defaults = routes.filter((r) => r.dst === 'default' && r.dev !== undefined);
  defaults.sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
  const device = defaults[0]?.dev;
  if (device === undefined) {
    throw new OptionError(
      'cannot detect the node address: there is no IPv4 default route; give --ip A.B.C.D/N',
    );
  }
  return device;
}

/** The first global IPv4 address of the device, as `A.B.C.D/N`. */
export function interfaceAddress(addrJson: string, device: string): string {
  const links = JSON.parse(addrJson) as IpLink[];
  const infos = links
    .flatMap((l) => l.addr_info ?? [])
    .filter((a) => a.family === 'inet' && a.scope !== 'host');
  const info = infos[0];
  if (info?.local === undefined) {
    throw new OptionError(
      `cannot detect the node address: interface ${device} has no IPv4 address; give --ip`,
    );
  }
  const text = info.prefixlen === undefined ? info.local : `${info.local}/${info.prefixlen}`;
  return parseNodeAddress(text, `the address detected on ${device}`);
}

const run = promisify(execFile);

export async function detectNodeAddress(): Promise<{ device: string; address: string }> {
  const routes = await run('ip', ['-4', '-j', 'route', 'show', 'default']);
  const device = defaultRouteDevice(routes.stdout || '[]');
  const addrs = await run('ip', ['-4', '-j', 'addr', 'show', 'dev', device]);
  return { device, address: interfaceAddress(addrs.stdout || '[]', device) };
}
