// `caracalctl lab up|status|down`: a whole Caracal cluster on this machine in network namespaces (the
// builder is @caracal/node's `startLabCluster`): etcd, an IPPool, 4 nodes running caracal-node on one
// bridge, 2 pods per node through the CNI plugin; `up` shows each step with its time, waits until every
// pod reaches every other, prints the pod × pod connectivity matrix and each node's BGP status table,
// and exits leaving it all running; `status` probes it again; `down` removes exactly what `up` made.
// @caracal/node is loaded only when a lab command runs, so other commands start as fast as before.

import type { LabCluster, LabClusterOptions } from '@caracal/node';
import type { Command } from 'commander';
import { CommandFailure, errorMessage, UsageError } from '../errors.js';
import { type Palette, paletteFor } from '../format/color.js';
import type { CliIo } from '../io.js';
import { queryBgpdStatus, renderNodeStatus } from '../node-status.js';

/** Flag of each builder option, to name flags in errors. */
const optionFlags: Record<string, string> = {
  name: '--name',
  nodes: '--nodes',
  podsPerNode: '--pods-per-node',
  poolCidr: '--pool-cidr',
  blockSize: '--block-size',
  subnet: '--subnet',
  readyTimeoutMs: '--timeout',
};

function wholeNumber(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag}: "${text}" is not a whole number`);
  return Number(text);
}

/** Turns `lab up` flags into builder options; bad values are usage errors naming the flag. */
export function labUpOptions(flags: {
  name: string;
  nodes: string;
  podsPerNode: string;
  poolCidr?: string;
  blockSize: string;
  subnet?: string;
  timeout: string;
}): LabClusterOptions {
  return {
    name: flags.name,
    nodes: wholeNumber('--nodes', flags.nodes),
    podsPerNode: wholeNumber('--pods-per-node', flags.podsPerNode),
    blockSize: wholeNumber('--block-size', flags.blockSize),
    readyTimeoutMs: wholeNumber('--timeout', flags.timeout),
    ...(flags.poolCidr === undefined ? {} : { poolCidr: flags.poolCidr }),
    ...(flags.subnet === undefined ? {} : { subnet: flags.subnet }),
  };
}

function checkName(name: string): void {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) {
    throw new UsageError(
      `--name: "${name}" must start with a lower-case letter and hold only lower-case letters, digits and '-' (at most 31 characters)`,
    );
  }
}

function podTable(cluster: LabCluster): string {
  const rows = [
    ['POD', 'NODE', 'ADDRESS', 'HOST VETH', 'NAMESPACE', 'CNI ADD'],
    ...cluster.pods.map((pod) => [
      pod.name,
      pod.node,
      pod.address,
      pod.hostInterface ?? '',
      pod.namespace,
      `${pod.cniAddMs} ms`,
    ]),
  ];
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return `${rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

async function bgpTables(cluster: LabCluster, palette: Palette): Promise<string> {
  const parts: string[] = [];
  for (const node of cluster.nodes) {
    parts.push(
      palette.bold(`BGP status of ${node.name} (${node.address}, caracal-bgpd at ${node.runDir}/bgpd.sock)`),
    );
    try {
      parts.push(renderNodeStatus(await queryBgpdStatus(node.runDir, 3000), palette));
    } catch (error) {
      parts.push(`${palette.red('unavailable:')} ${errorMessage(error)}\n`);
    }
  }
  return parts.join('\n');
}

/** The pods, the connectivity matrix and the BGP tables: what `up` ends with and `status` prints. */
async function report(
  cluster: LabCluster,
  io: CliIo,
  matrix: Awaited<ReturnType<LabCluster['connectivityMatrix']>>,
): Promise<void> {
  const { renderConnectivityMatrix } = await import('@caracal/node');
  const palette = paletteFor(io);
  io.writeOut(
    `\n${palette.bold(`Lab cluster '${cluster.name}'`)} (run ${cluster.runId}): etcd ${cluster.etcdEndpoint}, ` +
      `pool ${cluster.pool.cidr} /${cluster.pool.blockSize} blocks, nodes on ${cluster.subnet}\n\n`,
  );
  io.writeOut(`${palette.bold('Nodes')}\n`);
  for (const node of cluster.nodes) {
    io.writeOut(`  ${node.name}  ${node.cidr}  namespace ${node.namespace}  run dir ${node.runDir}\n`);
  }
  io.writeOut(`\n${palette.bold('Pods')} (created through the caracal CNI plugin)\n${podTable(cluster)}`);
  io.writeOut(`\n${palette.bold('Connectivity')} (pod × pod)\n${renderConnectivityMatrix(matrix)}\n`);
  io.writeOut(await bgpTables(cluster, palette));
}

function hints(cluster: LabCluster): string {
  const [first, second] = [cluster.pods[0], cluster.pods.at(-1)];
  const node = cluster.nodes[0];
  return [
    '',
    `The lab stays up (state: ${cluster.statePath}). Try:`,
    ...(first && second
      ? [
          `  ip netns exec ${first.namespace} ping -c 3 ${second.address}      # ${first.name} → ${second.name}`,
        ]
      : []),
    `  bin/caracalctl --etcd-endpoints ${cluster.etcdEndpoint} get nodes -o wide`,
    `  bin/caracalctl --etcd-endpoints ${cluster.etcdEndpoint} ipam show --show-blocks`,
    ...(node ? [`  bin/caracalctl --run-dir ${node.runDir} node status`] : []),
    `  bin/caracalctl lab status --name ${cluster.name}`,
    `  bin/caracalctl lab down --name ${cluster.name}        (or ./dev down${cluster.name === 'caracal' ? '' : ` --name ${cluster.name}`})`,
    '',
  ].join('\n');
}

async function attachOrFail(name: string): Promise<LabCluster> {
  const { attachLabCluster } = await import('@caracal/node');
  const cluster = attachLabCluster(name);
  if (cluster === undefined) {
    throw new CommandFailure(
      `no lab cluster named '${name}' is up (start one with: caracalctl lab up --name ${name})`,
    );
  }
  if (!cluster.isRunning()) {
    throw new CommandFailure(
      `lab cluster '${name}' (run ${cluster.runId}) is not running any more: its namespaces are gone; ` +
        `\`caracalctl lab down --name ${name}\` removes what is left`,
    );
  }
  return cluster;
}

/** Registers `lab up`, `lab status` and `lab down` on the program. */
export function registerLabCommands(program: Command, io: CliIo): void {
  const lab = program
    .command('lab')
    .description('a whole Caracal cluster on this machine in network namespaces (needs root)');

  lab
    .command('up')
    .description(
      'build etcd, an IPPool, N nodes running caracal-node and pods through the CNI plugin; wait until every pod reaches every other; print the connectivity matrix and BGP status; leave it running',
    )
    .option('--name <name>', 'cluster name (state in /run/caracal-lab/<name>/)', 'caracal')
    .option('--nodes <n>', 'number of nodes (1-9)', '4')
    .option('--pods-per-node <n>', 'pods created on each node (0-60)', '2')
    .option('--pool-cidr <cidr>', 'the IPPool (default 10.244.0.0/16)')
    .option('--block-size <n>', 'the IPPool block size (20-32)', '26')
    .option('--subnet <cidr>', "the nodes' /24 (default: a random free 10.x.y.0/24)")
    .option('--timeout <ms>', 'limit of each wait: etcd, node readiness, pod reachability', '90000')
    .action(async (_options: unknown, self: Command) => {
      const flags = self.opts<Parameters<typeof labUpOptions>[0]>();
      checkName(flags.name);
      const options = labUpOptions(flags);
      const node = await import('@caracal/node');
      const palette = paletteFor(io);
      const progress = (line: string) =>
        io.writeOut(`${line.startsWith('  ✓') ? palette.green(line) : line}\n`);
      let cluster: LabCluster;
      try {
        cluster = await node.startLabCluster({
          ...options,
          detached: true,
          waitForConnectivity: false,
          progress,
        });
      } catch (error) {
        if (error instanceof node.LabClusterOptionsError) {
          throw new UsageError(
            error.problems
              .map((problem) => {
                const field = problem.split(':')[0] ?? '';
                return optionFlags[field] ? `${optionFlags[field]}${problem.slice(field.length)}` : problem;
              })
              .join('; '),
          );
        }
        throw new CommandFailure(`lab up failed: ${errorMessage(error)}`);
      }
      let matrix: Awaited<ReturnType<LabCluster['connectivityMatrix']>>;
      let unreachable: string | undefined;
      const waitStarted = performance.now();
      progress('• every pod reaches every other pod (ping and TCP)');
      try {
        matrix = await cluster.waitForConnectivity({ timeoutMs: options.readyTimeoutMs ?? 90_000, progress });
        progress(
          `  ✓ every pod reaches every other pod (ping and TCP) (${((performance.now() - waitStarted) / 1000).toFixed(1)} s)`,
        );
      } catch (error) {
        if (!(error instanceof node.LabUnreachableError)) throw error;
        matrix = error.matrix;
        unreachable = error.message;
      }
      await report(cluster, io, matrix);
      io.writeOut(hints(cluster));
      if (unreachable !== undefined) {
        throw new CommandFailure(`the lab is up but not every pod is reachable: ${unreachable}`);
      }
    });

  lab
    .command('status')
    .description('probe a running lab cluster again: connectivity matrix and BGP status of every node')
    .option('--name <name>', 'cluster name', 'caracal')
    .action(async (_options: unknown, self: Command) => {
      const { name } = self.opts<{ name: string }>();
      checkName(name);
      const cluster = await attachOrFail(name);
      const matrix = await cluster.connectivityMatrix();
      await report(cluster, io, matrix);
      if (!matrix.allReachable) {
        const { describeUnreachable } = await import('@caracal/node');
        throw new CommandFailure(
          `not every pod is reachable:\n  ${describeUnreachable(matrix).join('\n  ')}`,
        );
      }
    });

  lab
    .command('down')
    .description(
      'remove a lab cluster: its processes (by PID), namespaces, links, logs and state; nothing else',
    )
    .option('--name <name>', 'cluster name', 'caracal')
    .action(async (_options: unknown, self: Command) => {
      const { name } = self.opts<{ name: string }>();
      checkName(name);
      const { downLabCluster } = await import('@caracal/node');
      const torn = await downLabCluster(name);
      if (torn === undefined) {
        io.writeOut(`no lab cluster named '${name}' is up; nothing to do\n`);
        return;
      }
      io.writeOut(
        `lab cluster '${name}' (run ${torn.runId}) is down: processes stopped (${torn.processes.length} PIDs signalled, ` +
          `their children with them), ${torn.namespaces.length} namespaces and ${torn.rootLinks.length} root link(s) removed\n`,
      );
    });
}
