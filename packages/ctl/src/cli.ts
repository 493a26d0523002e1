// The caracalctl command tree (commander): global flags, every command and its flags, help text, and
// the mapping of every outcome to an exit code — 0 success, 1 failure, 2 usage (unknown flag or command,
// missing argument, bad flag value; the message names the flag). `runCli` is the whole program minus
// the process: main.ts calls it with the real process, unit tests with captured streams.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { DatastoreAdmin, IpamOperations } from './admin.js';
import type { ResourceModel, ResourceStore } from './backend.js';
import {
  parseListenUrl,
  runDatastoreStart,
  runDatastoreStatus,
  runDatastoreStop,
} from './commands/datastore.js';
import { type OutputFormat, outputFormats, runGet } from './commands/get.js';
import { runIpamCheck, runIpamRelease, runIpamShow } from './commands/ipam.js';
import { registerLabCommands } from './commands/lab.js';
import { checkLabelRequest, runLabel } from './commands/label.js';
import {
  type ManifestAction,
  type ManifestText,
  runManifestAction,
  validateAll,
} from './commands/manifest-actions.js';
import { type ConnectionSettings, type GlobalOptions, resolveConnection } from './connection.js';
import { CommandFailure, ExitCode, errorMessage, UsageError } from './errors.js';
import { paletteFor } from './format/color.js';
import type { CliIo } from './io.js';
import { describeKnownKinds, resolveKind } from './kinds.js';
import { BgpdUnreachableError, defaultRunDir, queryBgpdStatus, renderNodeStatus } from './node-status.js';
import { clientVersion } from './version.js';

/** What the commands need from the other packages; main.ts passes the real ones. */
/** Default data directory of `datastore start` / `datastore stop`. */
export const defaultLocalEtcdDataDir = '/var/lib/caracal/etcd';

export interface CliDependencies {
  readonly model: ResourceModel;
  /** Connects to the datastore; throws CommandFailure with the "cannot reach" advice when it cannot. */
  openStore(settings: ConnectionSettings): Promise<ResourceStore>;
  readonly ipam: IpamOperations;
  readonly datastore: DatastoreAdmin;
}

interface Context {
  readonly io: CliIo;
  readonly deps: CliDependencies;
}

function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

async function withStore<T>(
  context: Context,
  command: Command,
  use: (store: ResourceStore) => Promise<T>,
): Promise<T> {
  const settings = resolveConnection(globals(command), context.io);
  const store = await context.deps.openStore(settings);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

async function readManifestFiles(context: Context, files: readonly string[]): Promise<ManifestText[]> {
  if (files.length === 0) throw new UsageError("required option '-f, --filename <file>' not specified");
  const texts: ManifestText[] = [];
  for (const file of files) {
    if (file === '-') {
      texts.push({ source: '<stdin>', text: await context.io.readStdin() });
      continue;
    }
    try {
      if ((await stat(file)).isDirectory()) {
        // A directory: its *.yaml, *.yml and *.json files, in name order (not recursive).
        const names = (await readdir(file)).filter((name) => /\.(ya?ml|json)$/i.test(name)).sort();
        if (names.length === 0)
          throw new CommandFailure(`directory ${file} holds no .yaml, .yml or .json file`);
        for (const name of names) {
          const path = join(file, name);
          texts.push({ source: path, text: await readFile(path, 'utf8') });
        }
      } else {
        texts.push({ source: file, text: await readFile(file, 'utf8') });
      }
    } catch (error) {
      if (error instanceof CommandFailure) throw error;
      throw new CommandFailure(`cannot read ${file}: ${errorMessage(error)}`);
    }
  }
  return texts;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function addManifestCommand(
  program: Command,
  context: Context,
  action: ManifestAction,
  summary: string,
): Command {
  const command = program
    .command(action)
    .description(summary)
    .addOption(
      new Option(
        '-f, --filename <file>',
        'manifest file (YAML or JSON, multi-document) or directory of them; "-" reads stdin; repeatable',
      )
        .argParser(collect)
        .default([]),
    );
  if (action === 'create')
    command.option('--skip-exists', 'report existing resources as skipped instead of failing');
  if (action === 'delete') {
    command
      .argument('[kind]', 'resource kind, when deleting by name instead of -f')
      .argument('[name]', 'resource name')
      .option('-n, --namespace <ns>', 'namespace (namespaced kinds; default "default")')
      .option('--skip-not-exists', 'report missing resources as skipped instead of failing');
  }
  command.action(async (...args: unknown[]) => {
    const self = args[args.length - 1] as Command;
    const options = self.opts<{
      filename: string[];
      skipExists?: boolean;
      skipNotExists?: boolean;
      namespace?: string;
    }>();
    const positional = self.args;
    let resources: Record<string, unknown>[];
    if (action === 'delete' && positional.length > 0) {
      if (options.filename.length > 0)
        throw new UsageError('give either -f FILE or KIND NAME to delete, not both');
      const [typedKind, name] = positional;
      if (name === undefined) throw new UsageError("missing required argument 'name' (delete KIND NAME)");
      const kind = resolveKind(typedKind as string);
      const namespace = kind.namespaced ? (options.namespace ?? 'default') : undefined;
      resources = [
        {
          apiVersion: 'projectcalico.org/v3',
          kind: kind.kind,
          metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
        },
      ];
    } else {
      const texts = await readManifestFiles(context, options.filename);
      resources = validateAll(context.deps.model, texts, context.io.writeErr);
    }
    const results = await withStore(context, self, (store) =>
      runManifestAction(store, action, resources, {
        ...(options.skipExists === undefined ? {} : { skipExists: options.skipExists }),
        ...(options.skipNotExists === undefined ? {} : { skipNotExists: options.skipNotExists }),
      }),
    );
    const palette = paletteFor(context.io);
    for (const result of results) {
      context.io.writeOut(`${result.failed ? palette.red(result.text) : result.text}\n`);
    }
    const failures = results.filter((result) => result.failed).length;
    if (failures > 0) {
      throw new CommandFailure(`${failures} of ${results.length} resource(s) failed`);
    }
  });
  return command;
}

/** Builds the whole command tree; output goes to `context.io`. */
export function buildProgram(context: Context): Command {
  const { io } = context;
  const program = new Command('caracalctl');
  program
    .description('Operate a Caracal cluster: resources in the datastore, IPAM, the local node, a local etcd.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.writeOut(text),
      writeErr: (text) => io.writeErr(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .option(
      '--etcd-endpoints <urls>',
      'comma-separated etcd endpoints (env ETCD_ENDPOINTS; default http://127.0.0.1:2379)',
    )
    .option('--etcd-ca-cert-file <file>', 'CA certificate to verify etcd (env ETCD_CA_CERT_FILE)')
    .option('--etcd-cert-file <file>', 'client certificate for etcd (env ETCD_CERT_FILE)')
    .option('--etcd-key-file <file>', 'client key for etcd (env ETCD_KEY_FILE)')
    .option('--run-dir <dir>', 'run directory of the local caracal-node (control sockets)', defaultRunDir)
    .addHelpText(
      'after',
      `\nExit codes: 0 success, 1 failure, 2 usage error.\nResource kinds (case-insensitive):\n${describeKnownKinds()}`,
    );

  addManifestCommand(program, context, 'apply', 'create or update the resources of manifest files');
  addManifestCommand(
    program,
    context,
    'create',
    'create the resources of manifest files (fails if one exists)',
  );
  addManifestCommand(
    program,
    context,
    'replace',
    'replace existing resources (fails if one does not exist; CAS on metadata.resourceVersion when given)',
  );
  addManifestCommand(
    program,
    context,
    'delete',
    'delete the resources of manifest files, or delete KIND NAME',
  );

  program
    .command('get')
    .description('show resources of a kind (all of them, or one by name)')
    .argument('<kind>', 'resource kind: ippool, node, bgppeer, gnp, wep, ... (case-insensitive)')
    .argument('[name]', 'resource name (all when omitted)')
    .option('-n, --namespace <ns>', 'namespace, for namespaced kinds', 'default')
    .option('-A, --all-namespaces', 'every namespace, for namespaced kinds')
    .addOption(new Option('-o, --output <format>', 'output format').choices(outputFormats).default('table'))
    .action(async (typedKind: string, name: string | undefined, _options: unknown, self: Command) => {
      const options = self.opts<{ namespace: string; allNamespaces?: boolean; output: OutputFormat }>();
      const kind = resolveKind(typedKind);
      const text = await withStore(context, self, (store) =>
        runGet(store, context.deps.model, {
          kind,
          ...(name === undefined ? {} : { name }),
          namespace: options.namespace,
          allNamespaces: options.allNamespaces === true,
          output: options.output,
        }),
      );
      io.writeOut(text);
    });

  program
    .command('label')
    .description('set or remove labels of one resource')
    .argument('<kind>', 'resource kind')
    .argument('<name>', 'resource name')
    .argument('[labels...]', 'labels to set, as key=value')
    .option('--overwrite', 'replace the value of a label that is already set')
    .option('--remove <key>', 'remove this label (repeatable)', collect, [])
    .option('-n, --namespace <ns>', 'namespace, for namespaced kinds', 'default')
    .action(async (typedKind: string, name: string, labels: string[], _options: unknown, self: Command) => {
      const options = self.opts<{ overwrite?: boolean; remove: string[]; namespace: string }>();
      checkLabelRequest({ assignments: labels, removals: options.remove });
      const kind = resolveKind(typedKind);
      const text = await withStore(context, self, (store) =>
        runLabel(store, context.deps.model, {
          kind,
          name,
          ...(kind.namespaced ? { namespace: options.namespace } : {}),
          assignments: labels,
          removals: options.remove,
          overwrite: options.overwrite === true,
        }),
      );
      io.writeOut(text);
    });

  const ipam = program.command('ipam').description('IP address management: usage, leak check, release');
  ipam
    .command('show')
    .description('IP usage per pool (and per block with --show-blocks)')
    .option('--show-blocks', 'also list every allocation block')
    .action(async (_options: unknown, self: Command) => {
      const options = self.opts<{ showBlocks?: boolean }>();
      const settings = resolveConnection(globals(self), io);
      io.writeOut(await runIpamShow(context.deps.ipam, settings, options.showBlocks === true));
    });
  ipam
    .command('check')
    .description('check IPAM consistency: leaked addresses, orphaned handles, blocks of missing nodes')
    .option(
      '-o, --output <file>',
      'also write the report as JSON to this file (for ipam release --from-report)',
    )
    .action(async (_options: unknown, self: Command) => {
      const options = self.opts<{ output?: string }>();
      const settings = resolveConnection(globals(self), io);
      const outcome = await runIpamCheck(context.deps.ipam, settings, options.output);
      io.writeOut(outcome.text);
    });
  ipam
    .command('release')
    .description('release leaked addresses: one IP, or every leak listed in an `ipam check -o` report')
    .option('--ip <address>', 'an IP address to release (repeatable)', collect, [])
    .option('--from-report <file>', 'release the leaks listed in this report')
    .action(async (_options: unknown, self: Command) => {
      const options = self.opts<{ ip: string[]; fromReport?: string }>();
      if (options.ip.length === 0 && options.fromReport === undefined) {
        throw new UsageError("ipam release needs '--ip <address>' or '--from-report <file>'");
      }
      if (options.ip.length > 0 && options.fromReport !== undefined) {
        throw new UsageError("give either '--ip' or '--from-report', not both");
      }
      const settings = resolveConnection(globals(self), io);
      io.writeOut(await runIpamRelease(context.deps.ipam, settings, options.ip, options.fromReport));
    });

  const node = program.command('node').description('the caracal-node agent on this host');
  node
    .command('status')
    .description(`BGP sessions of the local node, read from <run-dir>/bgpd.sock (default ${defaultRunDir})`)
    .option('--timeout <ms>', 'how long to wait for the answer', '5000')
    .action(async (_options: unknown, self: Command) => {
      const options = self.opts<{ timeout: string }>();
      const timeoutMs = Number(options.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
        throw new UsageError(
          `--timeout: "${options.timeout}" is not a positive whole number of milliseconds`,
        );
      }
      const runDir = globals(self).runDir ?? defaultRunDir;
      try {
        io.writeOut(renderNodeStatus(await queryBgpdStatus(runDir, timeoutMs), paletteFor(io)));
      } catch (error) {
        if (error instanceof BgpdUnreachableError) throw new CommandFailure(error.message);
        throw new CommandFailure(errorMessage(error));
      }
    });

  const datastore = program
    .command('datastore')
    .description('the etcd datastore: run a local one, check health');
  datastore
    .command('start')
    .description('start a local single-member etcd (the default datastore for one machine)')
    .option(
      '--data-dir <dir>',
      'etcd data directory (also holds etcd.pid and etcd.log)',
      defaultLocalEtcdDataDir,
    )
    .option('--listen-client <url>', 'client URL to listen on', 'http://127.0.0.1:2379')
    .option('--listen-peer <url>', 'peer URL to listen on', 'http://127.0.0.1:2380')
    .option('--foreground', 'stay attached (etcd logs to this terminal); stop with Ctrl-C')
    .action(async (_options: unknown, self: Command) => {
      const options = self.opts<{
        dataDir: string;
        listenClient: string;
        listenPeer: string;
        foreground?: boolean;
      }>();
      parseListenUrl(options.listenClient, '--listen-client');
      parseListenUrl(options.listenPeer, '--listen-peer');
      await runDatastoreStart(
        context.deps.datastore,
        {
          dataDir: options.dataDir,
          listenClient: options.listenClient,
          listenPeer: options.listenPeer,
          foreground: options.foreground === true,
        },
        (text) => io.writeOut(text),
      );
    });
  datastore
    .command('stop')
    .description('stop the local etcd started by `datastore start` (found by the PID file in its data dir)')
    .option('--data-dir <dir>', 'etcd data directory it was started with', defaultLocalEtcdDataDir)
    .action(async (_options: unknown, self: Command) => {
      const options = self.opts<{ dataDir: string }>();
      io.writeOut(await runDatastoreStop(context.deps.datastore, options.dataDir));
    });
  datastore
    .command('status')
    .description('health, version, members, revision and database size of the datastore')
    .action(async (_options: unknown, self: Command) => {
      const settings = resolveConnection(globals(self), io);
      io.writeOut(await runDatastoreStatus(context.deps.datastore, settings));
    });

  program
    .command('version')
    .description('client version, and the datastore version when it answers')
    .action(async (_options: unknown, self: Command) => {
      io.writeOut(`Client Version:    ${clientVersion()}\n`);
      const settings = resolveConnection(globals(self), io);
      const health = await context.deps.datastore
        .status(settings)
        .catch((error: unknown) => errorMessage(error));
      const answering =
        typeof health === 'string' ? undefined : health.endpoints.find((status) => status.healthy);
      const datastoreVersion =
        answering !== undefined
          ? `etcd ${answering.version ?? '(version not reported)'} at ${answering.endpoint}`
          : `unreachable (tried ${settings.endpoints.join(', ')}; start one with: caracalctl datastore start)`;
      io.writeOut(`Datastore Version: ${datastoreVersion}\n`);
    });

  registerLabCommands(program, io);
  return program;
}

const usageCodes = new Set([
  'commander.unknownOption',
  'commander.unknownCommand',
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.excessArguments',
  'commander.invalidArgument',
  'commander.conflictingOption',
]);

/** Runs caracalctl with the given arguments (without `node main.js`) and returns its exit code. */
export async function runCli(argv: readonly string[], io: CliIo, deps: CliDependencies): Promise<number> {
  const program = buildProgram({ io, deps });
  const palette = paletteFor({ env: io.env, stdoutIsTty: io.stdoutIsTty });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.success;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
        return ExitCode.success;
      // `caracalctl` or `caracalctl ipam` alone: help was shown on stderr; the command is incomplete.
      if (error.code === 'commander.help') return error.exitCode === 0 ? ExitCode.success : ExitCode.usage;
      if (usageCodes.has(error.code)) return ExitCode.usage;
      return ExitCode.failure;
    }
    if (error instanceof UsageError) {
      io.writeErr(`error: ${error.message}\n(add --help for usage)\n`);
      return ExitCode.usage;
    }
    if (error instanceof CommandFailure) {
      if (!error.alreadyReported) io.writeErr(`${palette.red('error:')} ${error.message}\n`);
      return ExitCode.failure;
    }
    io.writeErr(`${palette.red('error:')} ${errorMessage(error)}\n`);
    return ExitCode.failure;
  }
}
