// A tiny daemon for the tests of @caracal/daemon-runtime, run as a real child process (built to
// dist/test/support/signalled-daemon.js). It reports on stdout, one plain line each: "ready" once its
// handlers are installed, "stop started stopping=<bool>" when stop runs, "reload <n>" per reload. Its stop
// waits for a line on stdin (so the test decides when stopping ends) and then succeeds or, with
// --stop-fails, rejects. Logs are pino JSON lines on stderr (or stdout with --log-to stdout).
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { createDaemonLogger, parseCommandLineOrExit, runUntilSignalled } from '../../src/index.js';

const command = new Command('signalled-daemon')
  .option('--stop-fails', 'stop rejects')
  .option('--reload', 'handle SIGHUP as a reload')
  .option('--reload-fails', 'each reload rejects')
  .option('--log-level <level>', 'pino level', 'info')
  .addOption(
    new Option('--log-to <stream>', 'where logs go').choices(['stdout', 'stderr']).default('stderr'),
  );
parseCommandLineOrExit(command);
const options = command.opts<{
  stopFails?: boolean;
  reload?: boolean;
  reloadFails?: boolean;
  logLevel: string;
  logTo: 'stdout' | 'stderr';
}>();

const logger = createDaemonLogger({
  name: 'signalled-daemon',
  level: options.logLevel,
  destination: options.logTo,
});
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
let reloads = 0;

const daemon = runUntilSignalled({
  logger,
  stoppingMessage: 'stopping the test daemon',
  stop: async () => {
    process.stdout.write(`stop started stopping=${daemon.stopping}\n`);
    await stdinLines.next();
    if (options.stopFails) throw new Error('the test daemon refused to stop');
  },
  ...(options.reload
    ? {
        reloadMessage: 'SIGHUP: reloading the test configuration',
        onReload: async () => {
          reloads += 1;
          process.stdout.write(`reload ${reloads}\n`);
          if (options.reloadFails) throw new Error(`reload ${reloads} found a bad file`);
        },
      }
    : {}),
});
process.stdout.write(`ready stopping=${daemon.stopping}\n`);
// Keep the event loop alive until a signal ends the process.
setInterval(() => undefined, 1 << 30);
