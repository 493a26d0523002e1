// The node's IPv6 address, as calico/node's IP6 / IP6_AUTODETECTION_METHOD: the settings' grammar
// (`none`, `autodetect` or an address with prefix length; `first-found`, `interface=REGEX[,REGEX]`,
// `skip-interface=REGEX[,REGEX]`, `can-reach=DEST`, `cidr=CIDR[,CIDR]`), the choice among the addresses
// `ip -6 -j addr show` lists (pure, tested on fixtures) and the detection that runs `ip`. Only global
// addresses count: link-local, host-scope, tentative (duplicate address detection still running), failed
// DAD and deprecated addresses are never picked, since bgpd could not bind them or peers would send to an
// address that is going away.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  cidrContainsIp,
  formatCidr,
  formatIp,
  type IpCidr,
  IpParseError,
  ipParseResult,
  isIpv6LinkLocal,
  parseAddressWithLength,
  parseCidr,
  parseIp,
} from '@caracal/ip';
import type { IpLink } from './detect.js';
import { OptionError } from './options.js';

/** How the node's IPv6 address is found (`--ip6-autodetection-method`). */
export type Ipv6AutodetectionMethod =
  | { readonly kind: 'first-found' }
  | { readonly kind: 'interface'; readonly patterns: readonly RegExp[] }
  | { readonly kind: 'skip-interface'; readonly patterns: readonly RegExp[] }
  | { readonly kind: 'can-reach'; readonly destination: string }
  | { readonly kind: 'cidr'; readonly cidrs: readonly IpCidr[] };

/** What `--ip6` says: no IPv6 address (keep what the Node has), detect one, or this one. */
export type Ipv6Setting =
  | { readonly kind: 'none' }
  | { readonly kind: 'autodetect' }
  | { readonly kind: 'address'; readonly address: string };

/** A usable global IPv6 address of an interface. */
export interface InterfaceIpv6Address {
  readonly device: string;
  /** Canonical text, without prefix length. */
  readonly address: string;
  readonly prefixLength: number;
}

/**
 * Interfaces `first-found` skips (calico/node's list, plus `cara` for this CNI's host veths): container
 * bridges, veths, tunnels and the loopback never hold the node's address.
 */
export const FIRST_FOUND_SKIPPED_INTERFACES: readonly RegExp[] = [
  /^docker.*/,
  /^cbr.*/,
  /^dummy.*/,
  /^virbr.*/,
  /^lxcbr.*/,
  /^veth.*/,
  /^lo$/,
  /^cali.*/,
  /^cara.*/,
  /^tunl.*/,
  /^flannel.*/,
  /^kube-ipvs.*/,
  /^cni.*/,
  /^vxlan.calico.*/,
  /^vxlan-v6.calico.*/,
  /^wireguard.cali.*/,
  /^wg-v6.cali.*/,
  /^nodelocaldns.*/,
];

const FLAG_IP6 = '--ip6 (or IP6)';
const FLAG_METHOD = '--ip6-autodetection-method (or IP6_AUTODETECTION_METHOD)';

/** Reads `--ip6`: `none` (also empty), `autodetect`, or a global IPv6 address with prefix length. */
export function parseIpv6Setting(text: string | undefined): Ipv6Setting {
  const trimmed = (text ?? '').trim();
  if (trimmed === '' || trimmed === 'none') return { kind: 'none' };
  if (trimmed === 'autodetect') return { kind: 'autodetect' };
  const slash = trimmed.indexOf('/');
  const address = ipParseResult(() => parseIp(slash < 0 ? trimmed : trimmed.slice(0, slash)));
  if (address instanceof IpParseError || address.version !== 6) {
    const reason = address instanceof IpParseError ? address.reason : 'an IPv4 address';
    throw new OptionError(
      `${FLAG_IP6} must be "autodetect", "none" or an IPv6 address with prefix length (fd00::5/64), got "${text}" (${reason})`,
    );
  }
  if (slash < 0) {
    throw new OptionError(
      `${FLAG_IP6} "${text}" has no prefix length: give an address like fd00::5/64 (a bare address would be taken as /128)`,
    );
  }
  const parsed = ipParseResult(() => parseAddressWithLength(trimmed));
  if (parsed instanceof IpParseError)
    throw new OptionError(`${FLAG_IP6} prefix length must be 0-128, got "${text}"`);
  const canonical = formatIp(parsed.address);
  if (isIpv6LinkLocal(canonical)) {
    throw new OptionError(
      `${FLAG_IP6} "${text}" is a link-local address (fe80::/10): BGP next hops and sessions need a global address`,
    );
  }
  return { kind: 'address', address: `${canonical}/${parsed.length}` };
}

function regexList(method: string, list: string): RegExp[] {
  const patterns = list.split(',').map((p) => p.trim());
  if (patterns.some((p) => p === '')) {
    throw new OptionError(`${FLAG_METHOD} "${method}" has an empty regular expression`);
  }
  return patterns.map((pattern) => {
    try {
      return new RegExp(pattern);
    } catch (error) {
      throw new OptionError(
        `${FLAG_METHOD} "${method}": "${pattern}" is not a regular expression (${(error as Error).message})`,
      );
    }
  });
}

/** Reads `--ip6-autodetection-method` (default `first-found`). */
export function parseIpv6AutodetectionMethod(text: string | undefined): Ipv6AutodetectionMethod {
  const method = (text ?? '').trim();
  if (method === '' || method === 'first-found') return { kind: 'first-found' };
  const equals = method.indexOf('=');
  const name = equals < 0 ? method : method.slice(0, equals);
  const argument = equals < 0 ? undefined : method.slice(equals + 1).trim();
  const needsArgument = ['interface', 'skip-interface', 'can-reach', 'cidr'];
  if (needsArgument.includes(name) && !argument) {
    throw new OptionError(`${FLAG_METHOD} "${method}" needs a value after "${name}="`);
  }
  switch (name) {
    case 'interface':
      return { kind: 'interface', patterns: regexList(method, argument as string) };
    case 'skip-interface':
      return { kind: 'skip-interface', patterns: regexList(method, argument as string) };
    case 'can-reach': {
      const destination = ipParseResult(() => parseIp(argument as string));
      if (destination instanceof IpParseError || destination.version !== 6) {
        const reason = destination instanceof IpParseError ? destination.reason : 'an IPv4 address';
        throw new OptionError(
          `${FLAG_METHOD} "${method}": can-reach needs an IPv6 address to reach, got "${argument}" (${reason})`,
        );
      }
      return { kind: 'can-reach', destination: formatIp(destination) };
    }
    case 'cidr': {
      const cidrs = (argument as string).split(',').map((item) => {
        const cidr = ipParseResult(() => parseCidr(item.trim(), { hostBits: 'clear' }));
        if (cidr instanceof IpParseError || cidr.version !== 6) {
          const reason = cidr instanceof IpParseError ? cidr.reason : 'an IPv4 CIDR';
          throw new OptionError(
            `${FLAG_METHOD} "${method}": "${item.trim()}" is not an IPv6 CIDR (${reason})`,
          );
        }
        return cidr;
      });
      return { kind: 'cidr', cidrs };
    }
    default:
      throw new OptionError(
        `${FLAG_METHOD} must be first-found, interface=REGEX, skip-interface=REGEX, can-reach=DEST or cidr=CIDR, got "${method}"`,
      );
  }
}

/**
 * The usable IPv6 addresses in `ip -6 -j addr show` output, interface by interface in the kernel's order:
 * global scope, not link-local, not tentative, not failed DAD, not deprecated (a preferred lifetime of 0).
 */
export function usableIpv6Addresses(addrJson: string): InterfaceIpv6Address[] {
  const links = JSON.parse(addrJson || '[]') as IpLink[];
  const usable: InterfaceIpv6Address[] = [];
  for (const link of links) {
    for (const info of link.addr_info ?? []) {
      if (info.family !== 'inet6' || info.scope !== 'global' || link.ifname === undefined) continue;
      if (info.tentative || info.dadfailed || info.deprecated || info.preferred_life_time === 0) continue;
      const address = ipParseResult(() => parseIp(info.local ?? ''));
      if (address instanceof IpParseError || address.version !== 6 || info.prefixlen === undefined) continue;
      const canonical = formatIp(address);
      if (isIpv6LinkLocal(canonical)) continue;
      usable.push({ device: link.ifname, address: canonical, prefixLength: info.prefixlen });
    }
  }
  return usable;
}

function methodText(method: Ipv6AutodetectionMethod): string {
  switch (method.kind) {
    case 'first-found':
      return 'first-found';
    case 'interface':
    case 'skip-interface':
      return `${method.kind}=${method.patterns.map((p) => p.source).join(',')}`;
    case 'can-reach':
      return `can-reach=${method.destination}`;
    case 'cidr':
      return `cidr=${method.cidrs.map(formatCidr).join(',')}`;
  }
}

/**
 * The node's IPv6 address by `method` among the usable addresses of `addrJson` (`ip -6 -j addr show`);
 * `routeJson` is `ip -6 -j route get <destination>` for `can-reach`. Throws OptionError naming the method
 * when no address qualifies. Returns `address/length` in canonical text.
 */
export function selectIpv6Address(
  method: Ipv6AutodetectionMethod,
  addrJson: string,
  routeJson?: string,
): { device: string; address: string } {
  const usable = usableIpv6Addresses(addrJson);
  let found: InterfaceIpv6Address | undefined;
  switch (method.kind) {
    case 'first-found':
      found = usable.find((a) => !FIRST_FOUND_SKIPPED_INTERFACES.some((p) => p.test(a.device)));
      break;
    case 'interface':
      found = usable.find((a) => method.patterns.some((p) => p.test(a.device)));
      break;
    case 'skip-interface':
      found = usable.find(
        (a) =>
          !method.patterns.some((p) => p.test(a.device)) &&
          !FIRST_FOUND_SKIPPED_INTERFACES.some((p) => p.test(a.device)),
      );
      break;
    case 'cidr':
      found = usable.find((a) => method.cidrs.some((c) => cidrContainsIp(c, parseIp(a.address))));
      break;
    case 'can-reach': {
      const routes = JSON.parse(routeJson || '[]') as { prefsrc?: string; dev?: string }[];
      const source = routes[0]?.prefsrc;
      if (source === undefined) {
        throw new OptionError(
          `cannot detect the node's IPv6 address by can-reach=${method.destination}: the route to it has no source address; give --ip6 ADDRESS/LENGTH`,
        );
      }
      const canonical = ipParseResult(() => formatIp(parseIp(source)));
      found = usable.find((a) => a.address === canonical);
      if (found === undefined) {
        throw new OptionError(
          `cannot detect the node's IPv6 address by can-reach=${method.destination}: its source address ${source} is not a usable global address (tentative, deprecated or link-local); give --ip6 ADDRESS/LENGTH`,
        );
      }
      break;
    }
  }
  if (found === undefined) {
    throw new OptionError(
      `cannot detect the node's IPv6 address by ${methodText(method)}: no interface has a usable global IPv6 address (link-local, tentative and deprecated ones do not count); give --ip6 ADDRESS/LENGTH or IP6=none`,
    );
  }
  return { device: found.device, address: `${found.address}/${found.prefixLength}` };
}

const run = promisify(execFile);

/** Runs `ip` for the method and selects the address (see `selectIpv6Address`). */
export async function detectNodeIpv6Address(
  method: Ipv6AutodetectionMethod,
): Promise<{ device: string; address: string }> {
  const addrs = await run('ip', ['-6', '-j', 'addr', 'show']);
  let routeJson: string | undefined;
  if (method.kind === 'can-reach') {
    try {
      routeJson = (await run('ip', ['-6', '-j', 'route', 'get', method.destination])).stdout;
    } catch (error) {
      throw new OptionError(
        `cannot detect the node's IPv6 address by can-reach=${method.destination}: ${((error as { stderr?: string }).stderr ?? String(error)).trim()}`,
      );
    }
  }
  return selectIpv6Address(method, addrs.stdout, routeJson);
}
