// `caracal-lab`: bring lab topologies up from YAML/JSON files, list them, take them down, clean up
// after crashed runs, and run the demo (3 hosts, 2 subnets, 1 router, with a reachability matrix).
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { cleanupStale, downRun, isStale } from './cleanup.js';
import { demoTopology, formatReachability, reachability } from './demo.js';
import { listNamespaces, systemRunner } from './kernel.js';
import { Lab } from './lab.js';
import { listStates } from './state.js';
import { formatTable } from './table.js';
import { TopologyError } from './topology.js';

const say = (message: string) => process.stdout.write(`${message}\n`);

function readTopologyFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read topology file ${path}: ${(error as Error).message}`);
  }
  try {
    return parseYaml(text);
  } catch (error) {
    throw new Error(`${path} is not valid YAML/JSON: ${(error as Error).message}`);
  }
}

function describeLab(lab: Lab): void {
  say(`lab ${lab.runId} is up. Namespaces (use \`ip netns exec NAME ...\`):`);
  const rows = [
    ...lab.topology.nodes.map((n) => [
      n.name,
      n.role,
      lab.nsName(n.name),
      n.interfaces.map((i) => `${i.name}: ${i.addresses.map((a) => a.cidr).join(' ')}`).join('; '),
    ]),
    ...lab.topology.pods.map((p) => [
      p.name,
      `pod (${p.mode}) on ${p.host}`,
      lab.nsName(p.name),
      p.addresses.map((a) => a.cidr).join(' '),
    ]),
  ];
  say(formatTable(['NODE', 'ROLE', 'NAMESPACE', 'ADDRESSES'], rows));
}

async function up(file: string, options: { foreground?: boolean }): Promise<void> {
  const lab = await Lab.up(readTopologyFile(file) as never, { progress: say, detached: !options.foreground });
  describeLab(lab);
  if (!options.foreground) {
    say(`It keeps running; remove it with: caracal-lab down ${lab.runId}`);
    return;
  }
  say(`ready ${lab.runId} (foreground: Ctrl-C or SIGTERM tears it down)`);
  // Stay alive until a signal arrives; the lab's own handlers tear it down.
  setInterval(() => {}, 1 << 30);
}

async function demo(): Promise<void> {
  const lab = await Lab.up(demoTopology(), { progress: say });
  describeLab(lab);
  say('reachability (IPv4), ping and TCP from every host to every other host:');
  say(formatReachability(await reachability(lab, 4, say)));
  say('reachability (IPv6):');
  say(formatReachability(await reachability(lab, 6, say)));
  lab.detach();
  say(
    `The demo lab ${lab.runId} keeps running; try: ip netns exec ${lab.nsName('h1')} ping ${lab.addressOf('h3')}`,
  );
  say('Remove it with: caracal-lab down   (or ./dev down)');
}

async function down(runId: string | undefined): Promise<void> {
  const targets = runId
    ? [runId]
    : listStates()
        .filter((s) => s.detached || isStale(s))
        .map((s) => s.runId);
  if (targets.length === 0) {
    say('no detached or stale labs to take down (see `caracal-lab status`)');
    return;
  }
  for (const id of targets) {
    say(`taking down lab ${id}`);
    const report = await downRun(id);
    say(
      `  removed ${report.namespaces.length} namespaces, ${report.rootLinks.length} links, ${report.processes.length} processes`,
    );
  }
}

async function status(): Promise<void> {
  const existing = new Set(await listNamespaces(systemRunner));
  const rows = listStates().map((s) => [
    s.runId,
    s.name,
    s.createdAt.replace('T', ' ').slice(0, 19),
    String(s.ownerPid),
    s.detached ? 'detached' : isStale(s) ? 'stale (run `caracal-lab cleanup`)' : 'owned',
    `${s.namespaces.filter((ns) => existing.has(ns)).length}/${s.namespaces.length}`,
    String(s.processes.length),
    s.runDir,
  ]);
  if (rows.length === 0) {
    say('no labs');
    return;
  }
  say(
    formatTable(['RUN', 'NAME', 'CREATED (UTC)', 'OWNER', 'STATE', 'NAMESPACES', 'PROCESSES', 'LOGS'], rows),
  );
}

async function cleanup(options: { all?: boolean }): Promise<void> {
  const report = await cleanupStale({ includeDetached: options.all ?? false, progress: say });
  say(
    `cleanup: ${report.runs.length} stale runs, ${report.namespaces.length} namespaces, ` +
      `${report.rootLinks.length} links, ${report.processes.length} processes removed`,
  );
  for (const skipped of report.skipped) say(`  left ${skipped.runId} alone: ${skipped.reason}`);
}

const program = new Command('caracal-lab')
  .description('Network-namespace labs for Caracal: topologies as data, up/down, cleanup, demo')
  .showHelpAfterError();
program
  .command('up')
  .argument('<file>', 'topology file (YAML or JSON)')
  .option('--foreground', 'stay in the foreground and tear the lab down on Ctrl-C/SIGTERM')
  .description('bring a topology up (left running unless --foreground)')
  .action(up);
program
  .command('down')
  .argument('[run]', 'run id (default: every detached or stale lab)')
  .description('take labs down')
  .action(down);
program.command('status').description('list labs on this machine').action(status);
program
  .command('cleanup')
  .option('--all', 'also remove detached labs')
  .description('remove what crashed runs left (namespaces, links, processes named like ours)')
  .action(cleanup);
program
  .command('demo')
  .description('3 hosts, 2 subnets, 1 router; prints a reachability matrix, keeps running')
  .action(demo);

program.parseAsync().catch((error: unknown) => {
  if (error instanceof TopologyError) process.stderr.write(`caracal-lab: ${error.message}\n`);
  else process.stderr.write(`caracal-lab: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
