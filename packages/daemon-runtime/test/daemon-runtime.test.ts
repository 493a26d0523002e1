// @caracal/daemon-runtime against real processes: test/support/signalled-daemon.ts (built to dist) is
// spawned, real signals are sent with process.kill, and its exit code, exit signal, stdout reports and
// pino records are checked. Stop is held open by the test (it waits for a stdin line), so a second signal
// provably arrives while the first stop is still running.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildPackagesForLab } from '@caracal/lab';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const packageDir = join(import.meta.dirname, '..');
const daemonScript = join(packageDir, 'dist', 'test', 'support', 'signalled-daemon.js');

beforeAll(async () => {
  // The child runs compiled JavaScript: build this package (incremental, fast when up to date).
  await buildPackagesForLab(['packages/daemon-runtime']);
  if (!existsSync(daemonScript)) {
    throw new Error(`building packages/daemon-runtime did not produce ${daemonScript}`);
  }
}, 120_000);

/** How the child ended: its exit code, or the signal that ended it. */
type Exit = { code: number | null; signal: NodeJS.Signals | null };

interface RunningChild {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout holds a line equal to `line` (rejects if the child exits first). */
  waitForLine(line: string): Promise<void>;
  /** Resolves once `count` log records on stderr have the message `msg`. */
  waitForRecords(msg: string, count: number): Promise<void>;
  /** Resolves with how the child ended. */
  readonly exited: Promise<Exit>;
  /** Lets the pending stop finish (it waits for one stdin line). */
  finishStop(): void;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

function startDaemon(...args: string[]): RunningChild {
  const child = spawn(process.execPath, [daemonScript, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal });
    }),
  );
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    finishStop: () => child.stdin.write('finish\n'),
    waitForLine: async (line) => {
      while (!stdout.split('\n').includes(line)) {
        if (ended)
          throw new Error(`the daemon exited before printing "${line}"; stdout:\n${stdout}${stderr}`);
        await new Promise<void>((wake) => waiters.push(wake));
      }
    },
    waitForRecords: async (msg, count) => {
      while (records(stderr).filter((record) => record.msg === msg).length < count) {
        if (ended) throw new Error(`the daemon exited before logging "${msg}" ${count} times:\n${stderr}`);
        await new Promise<void>((wake) => waiters.push(wake));
      }
    },
  };
}

function lines(text: string, prefix: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

function records(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Starts the test daemon and waits until its handlers are installed. */
async function startReadyDaemon(...args: string[]): Promise<RunningChild> {
  const daemon = startDaemon(...args);
  await daemon.waitForLine('ready stopping=false');
  return daemon;
}

/** Sends `signal`, waits for stop to start, lets it finish, and returns how the daemon ended. */
async function stopBy(daemon: RunningChild, signal: NodeJS.Signals): Promise<Exit> {
  daemon.process.kill(signal);
  await daemon.waitForLine('stop started stopping=true');
  daemon.finishStop();
  return daemon.exited;
}

/** Two SIGHUPs, each waited for, then SIGTERM: how the daemon ended. */
async function reloadTwiceThenStop(daemon: RunningChild): Promise<Exit> {
  for (const reload of [1, 2]) {
    daemon.process.kill('SIGHUP');
    await daemon.waitForLine(`reload ${reload}`);
  }
  return stopBy(daemon, 'SIGTERM');
}

const cleanExit: Exit = { code: 0, signal: null };

describe('runUntilSignalled', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s runs stop and exits 0, logging the signal', async (signal) => {
    const daemon = await startReadyDaemon();
    expect(await stopBy(daemon, signal)).toEqual(cleanExit);
    expect(records(daemon.stderr())).toContainEqual(
      expect.objectContaining({ name: 'signalled-daemon', signal, msg: 'stopping the test daemon' }),
    );
  });

  it('signals that arrive while stop runs do not run it again', async () => {
    const daemon = await startReadyDaemon();
    daemon.process.kill('SIGTERM');
    await daemon.waitForLine('stop started stopping=true');
    daemon.process.kill('SIGTERM');
    daemon.process.kill('SIGINT');
    // Both were handled (logged) before the one stop is allowed to finish.
    await daemon.waitForRecords('already stopping', 2);
    daemon.finishStop();
    expect(await daemon.exited).toEqual(cleanExit);
    expect(lines(daemon.stdout(), 'stop started')).toHaveLength(1);
    const logged = records(daemon.stderr());
    expect(
      logged
        .filter((record) => record.msg === 'already stopping')
        .map((record) => record.signal)
        .sort(),
    ).toEqual(['SIGINT', 'SIGTERM']);
    expect(logged.filter((record) => record.msg === 'stopping the test daemon')).toHaveLength(1);
  });

  it('a failing stop exits 1 and logs why', async () => {
    const daemon = await startReadyDaemon('--stop-fails');
    expect(await stopBy(daemon, 'SIGTERM')).toEqual({ code: 1, signal: null });
    expect(records(daemon.stderr())).toContainEqual(
      expect.objectContaining({ msg: 'error while stopping', error: 'the test daemon refused to stop' }),
    );
  });

  it('SIGHUP runs onReload each time and the daemon keeps running', async () => {
    const daemon = await startReadyDaemon('--reload');
    expect(await reloadTwiceThenStop(daemon)).toEqual(cleanExit);
    const reloads = records(daemon.stderr()).filter(
      (record) => record.msg === 'SIGHUP: reloading the test configuration',
    );
    expect(reloads.map((record) => record.signal)).toEqual(['SIGHUP', 'SIGHUP']);
  });

  it('a failing reload is logged and the daemon keeps running', async () => {
    const daemon = await startReadyDaemon('--reload', '--reload-fails');
    expect(await reloadTwiceThenStop(daemon)).toEqual(cleanExit);
    const failures = records(daemon.stderr()).filter((record) => record.msg === 'reload failed');
    expect(failures.map((record) => record.error)).toEqual([
      'reload 1 found a bad file',
      'reload 2 found a bad file',
    ]);
  });

  it('without onReload, SIGHUP keeps its default: the process ends by the signal, stop never runs', async () => {
    const daemon = await startReadyDaemon();
    daemon.process.kill('SIGHUP');
    expect(await daemon.exited).toEqual({ code: null, signal: 'SIGHUP' });
    expect(lines(daemon.stdout(), 'stop started')).toEqual([]);
  });
});

describe('parseCommandLineOrExit', () => {
  it('an unknown option exits 2 with commander naming it', async () => {
    const daemon = startDaemon('--no-such-flag');
    expect(await daemon.exited).toEqual({ code: 2, signal: null });
    expect(daemon.stderr()).toContain("unknown option '--no-such-flag'");
    expect(daemon.stdout()).toBe('');
  });

  it('a value outside the choices exits 2 naming it', async () => {
    const daemon = startDaemon('--log-to', 'syslog');
    expect(await daemon.exited).toEqual({ code: 2, signal: null });
    expect(daemon.stderr()).toContain("argument 'syslog' is invalid");
  });

  it('--help prints the usage and exits 0', async () => {
    const daemon = startDaemon('--help');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(daemon.stdout()).toContain('Usage: signalled-daemon [options]');
  });
});

describe('createDaemonLogger', () => {
  it('writes to stdout when asked, and filters by level', async () => {
    const daemon = await startReadyDaemon('--log-to', 'stdout');
    expect(await stopBy(daemon, 'SIGTERM')).toEqual(cleanExit);
    expect(records(daemon.stdout())).toContainEqual(
      expect.objectContaining({ level: 30, name: 'signalled-daemon', msg: 'stopping the test daemon' }),
    );
    expect(daemon.stderr()).toBe('');

    const quiet = await startReadyDaemon('--log-level', 'error', '--stop-fails');
    expect(await stopBy(quiet, 'SIGTERM')).toEqual({ code: 1, signal: null });
    expect(records(quiet.stderr()).map((record) => record.msg)).toEqual(['error while stopping']);
  });

  it('an unknown level is refused, naming it and the accepted ones', async () => {
    const daemon = startDaemon('--log-level', 'loud');
    expect((await daemon.exited).code).toBe(1);
    expect(daemon.stderr()).toContain(
      'signalled-daemon: unknown log level "loud": expected one of trace, debug, info, warn, error, fatal, silent',
    );
  });
});
