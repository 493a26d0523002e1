// Shared set-up of caracal-node's IPv6 lab tests: a per-run unique-local /64 with the root side's and a
// node's address on the lab cluster's segment (removed again by the test's clean-up), node1's bgpd.yaml
// and status.json as the agent wrote them, a BGP speaker in the test process started from a YAML text,
// and the waits the tests repeat (session Established at that speaker, a route learned by it, the node
// ready again). The assertions stay in the test files.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, Speaker } from '@caracal/bgp-speaker';
import { formatIpv4, parseIpv4Cidr } from '@caracal/ip';
import { perRunUla48, waitUntil } from '@caracal/lab';
import { parse as parseYaml } from 'yaml';
import type { LabCluster, NodeReadiness } from '../src/index.js';

/**
 * A per-run unique-local /64, fdXX:XXXX:XXXX::/64, with the root side at ::1 and the node at ::11. Written in
 * canonical form (RFC 5952: no leading zeros, no zero group), as the plan writes addresses: a group like
 * '0048' made the expected text differ from bgpd.yaml's 'fd..:48::11'.
 */
export function perRunIpv6Prefix(): { readonly rootV6: string; readonly nodeV6: string } {
  const v6Prefix = perRunUla48();
  return { rootV6: `${v6Prefix}::1`, nodeV6: `${v6Prefix}::11` };
}

/** The interface (in `namespace`, or the root namespace) holding the IPv4 `address`. */
function deviceWith(address: string, namespace?: string): string {
  const argv = [...(namespace ? ['-n', namespace] : []), '-j', '-4', 'addr', 'show'];
  const links = JSON.parse(execFileSync('ip', argv, { encoding: 'utf8' })) as {
    ifname: string;
    addr_info: { local: string }[];
  }[];
  const link = links.find((l) => l.addr_info.some((a) => a.local === address));
  if (link === undefined)
    throw new Error(`no interface with ${address} in ${namespace ?? 'the root namespace'}`);
  return link.ifname;
}

/**
 * IPv6 addresses added to a lab cluster's segment: `rootV6` on the root side's interface (the one holding
 * the subnet's first address, see clusterTopology), `nodeV6` on the node's interface in its namespace.
 * remove() takes the root side's address away again (the node's goes with its namespace); it is safe to
 * call whether or not add() got that far.
 */
export class SegmentIpv6Addresses {
  #rootDevice: string | undefined;

  constructor(
    readonly rootV6: string,
    readonly nodeV6: string,
  ) {}

  add(cluster: LabCluster, nodeName: string): void {
    const node = cluster.node(nodeName);
    this.#rootDevice = deviceWith(formatIpv4(parseIpv4Cidr(cluster.subnet).address + 1));
    const nodeDevice = deviceWith(node.address, node.namespace);
    execFileSync('ip', ['-6', 'addr', 'add', `${this.rootV6}/64`, 'dev', this.#rootDevice, 'nodad']);
    execFileSync('ip', [
      '-n',
      node.namespace,
      '-6',
      'addr',
      'add',
      `${this.nodeV6}/64`,
      'dev',
      nodeDevice,
      'nodad',
    ]);
  }

  remove(): void {
    if (this.#rootDevice !== undefined)
      spawnSync('ip', ['-6', 'addr', 'del', `${this.rootV6}/64`, 'dev', this.#rootDevice]);
    this.#rootDevice = undefined;
  }
}

/** The node's bgpd.yaml as caracal-node wrote it (the parts the tests read). */
export function bgpdYaml(cluster: LabCluster, nodeName: string) {
  return parseYaml(readFileSync(join(cluster.node(nodeName).runDir, 'bgpd.yaml'), 'utf8')) as {
    listen: { address?: string; addresses?: string[]; port: number };
    peers: { name: string; address: string; port: number; asNumber: number }[];
  };
}

/** The node's status.json as caracal-node wrote it (the parts the tests read). */
export function nodeStatus(cluster: LabCluster, nodeName: string) {
  return JSON.parse(readFileSync(join(cluster.node(nodeName).runDir, 'status.json'), 'utf8')) as {
    advertisedBlocks: string[];
    planWarnings: string[];
    bgpdPid?: number;
  };
}

/**
 * A Speaker in this process, configured from `yaml` (named `fileName` in errors) and started; stopped
 * again when start() fails, since the caller never gets it to stop.
 */
export async function startSpeaker(yaml: string, fileName: string): Promise<Speaker> {
  const checked = parseConfig(yaml, fileName);
  if (!checked.ok) throw new Error(checked.issues.map((i) => `${i.path}: ${i.reason}`).join('; '));
  const speaker = new Speaker(checked.config);
  try {
    await speaker.start();
  } catch (error) {
    await speaker.stop({ keepRoutes: false }).catch(() => undefined);
    throw error;
  }
  return speaker;
}

/** Waits (30 s at most) until `speaker`'s session with the peer named `peerName` is Established. */
export async function sessionEstablished(
  speaker: Speaker | undefined,
  peerName: string,
  description: string,
): Promise<void> {
  await waitUntil(
    description,
    () => speaker?.status().peers.find((p) => p.name === peerName)?.state === 'Established',
    { timeoutMs: 30_000 },
  );
}

/** Waits (20 s at most) until `speaker` has a route for `prefix`; returns it. */
export function routeLearned(speaker: Speaker | undefined, prefix: string, description: string) {
  return waitUntil(description, () => speaker?.routes({ prefix })[0], { timeoutMs: 20_000 });
}

/** Waits (20 s at most) until the node's readiness answer is healthy; returns that answer. */
export function nodeReady(
  cluster: LabCluster,
  nodeName: string,
  description: string,
): Promise<NodeReadiness> {
  return waitUntil(
    description,
    async () => {
      const answer = await cluster.nodeReadiness(nodeName);
      return answer.healthy ? answer : undefined;
    },
    { timeoutMs: 20_000 },
  );
}
