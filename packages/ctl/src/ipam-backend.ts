// caracalctl's IPAM operations on @caracal/ipam: an IpamClient over the datastore whose pools and
// reservations are the IPPool and IPReservation resources; `ipam check` counts a handle as live when a
// WorkloadEndpoint accounts for it (same container ID, or same namespace/pod), or, for tunnel-address
// handles, when its Node exists.

import { ResourceStore as DatastoreResources, type EtcdKeyValueStore } from '@caracal/datastore';
import {
  type IpamCheckReport,
  IpamClient,
  type IpamPool,
  ipamCheck,
  ipamReleaseFromReport,
  nodeOfAffinity,
} from '@caracal/ipam';
import type { IpamCheckResult, IpamOperations, IpamUsage, ReleaseResult } from './admin.js';
import type { ConnectionSettings } from './connection.js';
import { connectKeyValueStore } from './datastore-backend.js';
import { CommandFailure, errorMessage } from './errors.js';

type Spec = Record<string, unknown>;

function specOf(resource: { spec?: unknown }): Spec {
  return resource.spec !== null && typeof resource.spec === 'object' ? (resource.spec as Spec) : {};
}

async function withIpam<T>(
  settings: ConnectionSettings,
  use: (client: IpamClient, resources: DatastoreResources) => Promise<T>,
): Promise<T> {
  const kv: EtcdKeyValueStore = await connectKeyValueStore(settings);
  const resources = new DatastoreResources(kv);
  const client = new IpamClient({
    store: kv,
    pools: async () =>
      (await resources.list('IPPool')).items.map((pool): IpamPool => {
        const spec = specOf(pool);
        return {
          name: pool.metadata.name,
          cidr: String(spec.cidr ?? ''),
          ...(typeof spec.blockSize === 'number' ? { blockSize: spec.blockSize } : {}),
          ...(typeof spec.nodeSelector === 'string' ? { nodeSelector: spec.nodeSelector } : {}),
          ...(typeof spec.disabled === 'boolean' ? { disabled: spec.disabled } : {}),
        };
      }),
    reservedCidrs: async () =>
      (await resources.list('IPReservation')).items.flatMap((reservation) => {
        const cidrs = specOf(reservation).reservedCIDRs;
        return Array.isArray(cidrs) ? cidrs.map(String) : [];
      }),
  });
  try {
    return await use(client, resources);
  } catch (error) {
    if (error instanceof CommandFailure) throw error;
    throw new CommandFailure(`ipam: ${errorMessage(error)}`);
  } finally {
    await kv.close();
  }
}

/** Which handles belong to live workloads, from the stored WorkloadEndpoints and Nodes. */
async function liveness(resources: DatastoreResources) {
  const endpoints = (await resources.list('WorkloadEndpoint')).items;
  const nodes = new Set((await resources.list('Node')).items.map((node) => node.metadata.name));
  const containerIds = new Set<string>();
  const pods = new Set<string>();
  for (const endpoint of endpoints) {
    const spec = specOf(endpoint);
    if (typeof spec.containerID === 'string' && spec.containerID !== '') containerIds.add(spec.containerID);
    const pod = typeof spec.pod === 'string' ? spec.pod : undefined;
    if (pod !== undefined) pods.add(`${endpoint.metadata.namespace ?? 'default'}/${pod}`);
  }
  const workloadExists = (handleId: string, attrs: Record<string, string>): boolean => {
    const tunnel = /^(?:ipip|vxlan|wireguard)-tunnel-addr-(.+)$/.exec(handleId);
    if (tunnel !== null) return nodes.has(tunnel[1] as string);
    const containerId = handleId.slice(handleId.indexOf('.') + 1);
    if (containerIds.has(containerId)) return true;
    const namespace = attrs.namespace;
    const pod = attrs.pod;
    return namespace !== undefined && pod !== undefined && pods.has(`${namespace}/${pod}`);
  };
  return { workloadExists, nodeExists: (node: string) => nodes.has(node) };
}

function summaryLines(report: IpamCheckReport): string[] {
  const { summary } = report;
  const lines = [
    `Checked ${summary.blocks} block(s), ${summary.allocatedIps} allocated address(es), ${summary.handles} handle(s) at revision ${report.revision}.`,
    summary.leakedIps === 0 && summary.problems === 0
      ? 'No problems found.'
      : `Found ${summary.leakedIps} leaked address(es) and ${summary.problems} other problem(s).`,
  ];
  for (const leak of report.leakedIps) {
    lines.push(
      `  leaked: ${leak.ip} in block ${leak.block}, handle ${leak.handleId ?? '(none)'} (no live workload holds it)`,
    );
  }
  for (const problem of report.handleProblems) {
    lines.push(
      `  handle ${problem.handleId}: recorded ${JSON.stringify(problem.recorded)}, found ${JSON.stringify(problem.actual)}`,
    );
  }
  for (const block of report.blocksWithMissingNode) {
    lines.push(
      `  block ${block.cidr} is affine to node ${block.node}, which does not exist (${block.inUse} in use)`,
    );
  }
  for (const affinity of report.orphanedAffinities) {
    lines.push(`  affinity ${affinity.node} ${affinity.cidr} (${affinity.state}): ${affinity.reason}`);
  }
  return lines;
}

export const ipamOperations: IpamOperations = {
  usage: (settings) =>
    withIpam(settings, async (client): Promise<IpamUsage> => {
      const shown = await client.ipamShow({ showBlocks: true });
      return {
        pools: shown.pools.map((pool) => ({
          name: pool.name,
          cidr: pool.cidr,
          total: pool.total,
          inUse: pool.inUse,
          free: pool.free,
        })),
        blocks: (shown.blocks ?? []).map((block) => {
          const node = nodeOfAffinity(block.affinity);
          return {
            cidr: block.cidr,
            inUse: block.inUse,
            free: block.free,
            ...(node === undefined ? {} : { node }),
          };
        }),
      };
    }),

  check: (settings) =>
    withIpam(settings, async (client, resources): Promise<IpamCheckResult> => {
      const report = await ipamCheck(client, await liveness(resources));
      return { report, summary: summaryLines(report), leakCount: report.summary.leakedIps };
    }),

  releaseIps: (settings, ips) =>
    withIpam(settings, async (client): Promise<ReleaseResult[]> => {
      const outcome = await client.releaseIps(ips);
      return [
        ...outcome.released.map((ip) => ({ ip, released: true })),
        ...outcome.notAllocated.map((ip) => ({ ip, released: false, reason: 'not allocated' })),
      ];
    }),

  releaseFromReport: (settings, report) =>
    withIpam(settings, async (client, resources): Promise<ReleaseResult[]> => {
      const { workloadExists } = await liveness(resources);
      const outcome = await ipamReleaseFromReport(client, report as IpamCheckReport, { workloadExists });
      return [
        ...outcome.released.map((ip) => ({ ip, released: true })),
        ...outcome.skipped.map((skip) => ({ ip: skip.ip, released: false, reason: skip.reason })),
      ];
    }),
};
