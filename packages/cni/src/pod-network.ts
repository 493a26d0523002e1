// Wiring a pod into the host, behind a narrow interface: the real implementation drives iproute2 (host
// side with `ip`, pod side with `nsenter --net=<netns path> ip`), which reaches any network namespace path
// a runtime hands us; the plugin logic is unit-tested with a fake. Each process costs milliseconds on a
// pod's critical path, so an ADD runs three (`ip link del`, one host-side `ip -batch`, one pod-side
// `nsenter … ip -batch` that also reports the pod's MAC) and a DEL one.

import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { CniError, CniErrorCode } from './spec.js';

const run = promisify(execFile);

/** The gateway every pod routes through; proxy ARP on the host veth answers for it. */
export const POD_GATEWAY = '169.254.1.1';
export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
/** Route protocol of per-pod host routes: Felix's (it owns them afterwards). */
export const POD_ROUTE_PROTOCOL = 96;

export interface PodWiring {
  readonly netns: string;
  readonly podIfName: string;
  readonly hostIfName: string;
  readonly mtu: number;
  /** The pod's addresses as CIDRs (/32 and /128). */
  readonly addresses: readonly string[];
}

export interface PodWiringState {
  readonly hostIfExists: boolean;
  readonly hostMac: string | undefined;
  readonly podIfExists: boolean;
  readonly podMac: string | undefined;
  readonly podAddresses: readonly string[];
  readonly podHasDefaultRoute: boolean;
  /** The pod has an IPv6 default route via a link-local gateway (the host veth's) on its interface. */
  readonly podHasIpv6DefaultRoute: boolean;
  readonly hostRoutes: readonly string[];
}

export interface PodNetworking {
  netnsExists(netns: string): Promise<boolean>;
  /** Creates the veth pair, addresses and routes; returns the pod interface's MAC. */
  wire(wiring: PodWiring): Promise<{ podMac: string }>;
  /** Removes the host veth (which removes its peer); missing is fine. */
  unwire(hostIfName: string): Promise<void>;
  inspect(wiring: PodWiring): Promise<PodWiringState>;
}

async function ip(args: string[], netns?: string): Promise<string> {
  const [file, argv] = netns ? ['nsenter', [`--net=${netns}`, 'ip', ...args]] : ['ip', args];
  try {
    const { stdout } = await run(file, argv, { encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
    throw new CniError(
      CniErrorCode.IoFailure,
      `${file} ${argv.join(' ')} failed: ${stderr || String(error)}`,
    );
  }
}

/** Runs `lines` through one `ip [-j] -batch -` (in `netns` through nsenter); its stdout (JSON of `show` lines). */
async function ipBatch(lines: string[], netns?: string): Promise<string> {
  const ipArgs = ['-j', '-batch', '-'];
  const [file, argv] = netns ? ['nsenter', [`--net=${netns}`, 'ip', ...ipArgs]] : ['ip', ipArgs];
  return await new Promise<string>((resolve, reject) => {
    const child = execFile(file, argv, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error)
        reject(
          new CniError(
            CniErrorCode.IoFailure,
            `ip -batch (${lines.join(' ; ')}) failed: ${stderr.trim() || error.message}`,
          ),
        );
      else resolve(stdout);
    });
    child.stdin?.end(`${lines.join('\n')}\n`);
  });
}

async function linkExists(name: string, netns?: string): Promise<{ exists: boolean; mac?: string }> {
  try {
    const [link] = JSON.parse(await ip(['-j', 'link', 'show', 'dev', name], netns)) as { address?: string }[];
    return link?.address ? { exists: true, mac: link.address } : { exists: true };
  } catch {
    return { exists: false };
  }
}

/** The MAC in the JSON `ip -j link show` printed at the end of a batch ('' when there is none). */
function podMacOf(batchOutput: string): string {
  const lastLine = batchOutput.trim().split('\n').at(-1) ?? '';
  try {
    const [link] = JSON.parse(lastLine) as { address?: string }[];
    return link?.address ?? '';
  } catch {
    throw new CniError(
      CniErrorCode.IoFailure,
      `ip -batch printed no JSON link for the pod interface: ${batchOutput.trim()}`,
    );
  }
}

export class IpRoute2PodNetworking implements PodNetworking {
  async netnsExists(netns: string): Promise<boolean> {
    try {
      await access(netns);
      return true;
    } catch {
      return false;
    }
  }

  async wire(w: PodWiring): Promise<{ podMac: string }> {
    await this.unwire(w.hostIfName); // a retried ADD starts clean
    const v4 = w.addresses.filter((a) => !a.includes(':'));
    const v6 = w.addresses.filter((a) => a.includes(':'));
    // Host side in one `ip -batch`: the pair (its peer created directly in the pod's netns), the host end's
    // MAC, up, and the pod's host routes (scope link, Felix's protocol).
    const createPair = ['link', 'add', w.hostIfName, 'mtu', String(w.mtu), 'type', 'veth', 'peer'].concat([
      'name',
      w.podIfName,
      'mtu',
      String(w.mtu),
      'netns',
      w.netns,
    ]);
    // A netns path that `ip -batch` would split or cut (blanks, quotes, '#') is passed as a plain argument.
    const batchSafe = /^[^\s"'\\#]+$/.test(w.netns);
    if (!batchSafe) await ip(createPair);
    try {
      await ipBatch([
        ...(batchSafe ? [createPair.join(' ')] : []),
        `link set dev ${w.hostIfName} address ${HOST_VETH_MAC}`,
        `link set dev ${w.hostIfName} up`,
        ...w.addresses.map(
          (a) => `route replace ${a} dev ${w.hostIfName} scope link proto ${POD_ROUTE_PROTOCOL}`,
        ),
      ]);
      await this.hostSysctls(w.hostIfName, v6.length > 0);
      // Pod side in one nsenter + `ip -batch`, which also reports the pod interface (for its MAC).
      const podLines = ['link set dev lo up', `link set dev ${w.podIfName} up`];
      // IPv6: no duplicate address detection on a point-to-point veth (Calico turns it off too), so the
      // address is usable at once instead of after a second of DAD.
      for (const address of w.addresses)
        podLines.push(`address add ${address} dev ${w.podIfName}${address.includes(':') ? ' nodad' : ''}`);
      if (v4.length > 0) {
        podLines.push(`route add ${POD_GATEWAY} dev ${w.podIfName} scope link`);
        podLines.push(`route add default via ${POD_GATEWAY} dev ${w.podIfName}`);
      }
      podLines.push(`link show dev ${w.podIfName}`);
      const shown = await ipBatch(podLines, w.netns);
      if (v6.length > 0) {
        // The IPv6 gateway is the host veth's link-local address.
        const hostLinkLocal = await this.hostLinkLocal(w.hostIfName);
        await ip(['-6', 'route', 'add', 'default', 'via', hostLinkLocal, 'dev', w.podIfName], w.netns);
      }
      return { podMac: podMacOf(shown) };
    } catch (error) {
      await this.unwire(w.hostIfName).catch(() => undefined);
      throw error;
    }
  }

  /** One `ip link del`; a missing interface is fine (it takes its peer and its routes with it). */
  async unwire(hostIfName: string): Promise<void> {
    try {
      await ip(['link', 'del', 'dev', hostIfName]);
    } catch (error) {
      if (error instanceof CniError && error.message.includes('Cannot find device')) return;
      throw error;
    }
  }

  async inspect(w: PodWiring): Promise<PodWiringState> {
    const host = await linkExists(w.hostIfName);
    const pod = (await this.netnsExists(w.netns))
      ? await linkExists(w.podIfName, w.netns)
      : { exists: false };
    let podAddresses: string[] = [];
    let podHasDefaultRoute = false;
    let podHasIpv6DefaultRoute = false;
    if (pod.exists) {
      const addresses = JSON.parse(await ip(['-j', 'address', 'show', 'dev', w.podIfName], w.netns)) as {
        addr_info?: { local: string; prefixlen: number; scope: string }[];
      }[];
      podAddresses = (addresses[0]?.addr_info ?? [])
        .filter((a) => a.scope === 'global')
        .map((a) => `${a.local}/${a.prefixlen}`);
      const routes = JSON.parse(await ip(['-j', 'route', 'show', 'default'], w.netns)) as {
        gateway?: string;
      }[];
      podHasDefaultRoute = routes.some((r) => r.gateway === POD_GATEWAY);
      const routes6 = JSON.parse(await ip(['-j', '-6', 'route', 'show', 'default'], w.netns)) as {
        gateway?: string;
        dev?: string;
      }[];
      podHasIpv6DefaultRoute = routes6.some(
        (r) => r.dev === w.podIfName && (r.gateway ?? '').toLowerCase().startsWith('fe80:'),
      );
    }
    // `ip route show` lists one family only (IPv4 unless told -6): ask for IPv6 when the pod has IPv6.
    const routesVia = async (family: string[]) =>
      (
        JSON.parse(await ip(['-j', ...family, 'route', 'show', 'dev', w.hostIfName])) as { dst: string }[]
      ).map((r) => (r.dst.includes('/') ? r.dst : `${r.dst}/${r.dst.includes(':') ? 128 : 32}`));
    const hostRoutes = host.exists
      ? [
          ...(await routesVia([])),
          ...(w.addresses.some((a) => a.includes(':')) ? await routesVia(['-6']) : []),
        ]
      : [];
    return {
      hostIfExists: host.exists,
      hostMac: host.mac,
      podIfExists: pod.exists,
      podMac: pod.mac,
      podAddresses,
      podHasDefaultRoute,
      podHasIpv6DefaultRoute,
      hostRoutes,
    };
  }

  private async hostLinkLocal(hostIfName: string): Promise<string> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const info = JSON.parse(
        await ip(['-j', '-6', 'address', 'show', 'dev', hostIfName, 'scope', 'link']),
      ) as {
        addr_info?: { local: string }[];
      }[];
      const local = info[0]?.addr_info?.[0]?.local;
      if (local) return local;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new CniError(CniErrorCode.IoFailure, `host interface ${hostIfName} got no IPv6 link-local address`);
  }

  private async hostSysctls(hostIfName: string, ipv6: boolean): Promise<void> {
    const { writeFile } = await import('node:fs/promises');
    const settings: [string, string][] = [
      [`ipv4/conf/${hostIfName}/proxy_arp`, '1'],
      [`ipv4/neigh/${hostIfName}/proxy_delay`, '0'],
      [`ipv4/conf/${hostIfName}/forwarding`, '1'],
      [`ipv4/conf/${hostIfName}/route_localnet`, '1'],
    ];
    if (ipv6) {
      settings.push(
        [`ipv6/conf/${hostIfName}/proxy_ndp`, '1'],
        [`ipv6/conf/${hostIfName}/forwarding`, '1'],
        [`ipv6/conf/${hostIfName}/accept_ra`, '0'],
        // Set before the pod end comes up (carrier), so the host's link-local gateway address is created
        // without DAD and answers the pod's neighbour solicitations at once.
        [`ipv6/conf/${hostIfName}/accept_dad`, '0'],
      );
    }
    for (const [path, value] of settings) {
      try {
        await writeFile(`/proc/sys/net/${path}`, value);
      } catch (error) {
        throw new CniError(
          CniErrorCode.IoFailure,
          `cannot set net.${path.replaceAll('/', '.')}=${value}: ${String(error)}`,
        );
      }
    }
  }
}
