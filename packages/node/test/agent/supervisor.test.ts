// Unit tests of ChildSupervisor with real child processes (node -e): a child that dies is restarted with a
// new pid and counted; its output goes straight to the log file; stop() terminates it and removes the PID
// file; a child left running by a released ("crashed") supervisor is adopted by the next one (same pid,
// restarted when it dies), replaced when its arguments differ, and a foreign process named by the PID file
// is neither adopted nor touched.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { argvMatches, ChildSupervisor, type SupervisorOptions } from '../../src/agent/supervisor.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(check: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = check();
    if (v !== undefined) return v;
    await sleep(50);
  }
  throw new Error('condition not reached');
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

function setup(script = 'console.log("up", process.pid); setInterval(() => {}, 1000)') {
  const dir = mkdtempSync(join(tmpdir(), 'caracal-node-sup-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const options = (overrides: Partial<SupervisorOptions> = {}): SupervisorOptions => ({
    name: 'sleeper',
    argv: [process.execPath, '-e', script],
    logFile: join(dir, 'child.log'),
    pidFile: join(dir, 'child.pid'),
    logger: pino({ level: 'silent' }),
    adoptedPollMs: 50,
    ...overrides,
  });
  const supervisor = (overrides: Partial<SupervisorOptions> = {}) => {
    const s = new ChildSupervisor(options(overrides));
    cleanups.push(() => s.stop(2000));
    return s;
  };
  return { dir, supervisor, pidFile: join(dir, 'child.pid'), logFile: join(dir, 'child.log') };
}

describe('ChildSupervisor', () => {
  it('restarts a child that dies, and stop() ends it without restart', async () => {
    const { supervisor, pidFile, logFile } = setup();
    let restarts = 0;
    const sup = supervisor({ onRestart: () => restarts++ });
    expect(await sup.start()).toBe('started');
    const first = await until(() => sup.pid);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${first}\n`);
    process.kill(first, 'SIGKILL');
    const second = await until(() => (sup.pid !== undefined && sup.pid !== first ? sup.pid : undefined));
    expect(restarts).toBe(1);
    expect(sup.restarts).toBe(1);
    expect(sup.generation).toBe(2);
    expect(alive(second)).toBe(true);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${second}\n`);
    // Its output reaches the log file directly (the child needs a moment to start its script).
    await until(() => (readFileSync(logFile, 'utf8').includes(`up ${second}`) ? true : undefined));
    await sup.stop();
    expect(alive(second)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    await sleep(800); // longer than the first backoff: a restart would have happened by now
    expect(sup.pid).toBeUndefined();
    expect(sup.restarts).toBe(1);
  });

  it('a child outlives its released supervisor and is adopted by the next one, which restarts it when it dies', async () => {
    const { supervisor, pidFile, logFile } = setup();
    const first = supervisor();
    await first.start();
    const pid = await until(() => first.pid);
    await until(() => (readFileSync(logFile, 'utf8').includes(`up ${pid}`) ? true : undefined));
    first.release(); // the agent "crashed": nobody supervises the child, which keeps running
    await sleep(100);
    expect(alive(pid)).toBe(true);

    const ran: [number, string][] = [];
    const second = supervisor({ onRunning: (p, how) => ran.push([p, how]) });
    expect(await second.start()).toBe('adopted');
    expect(second.pid).toBe(pid);
    expect(second.adopted).toBe(true);
    expect(ran).toEqual([[pid, 'adopted']]);

    process.kill(pid, 'SIGKILL');
    const replacement = await until(() =>
      second.pid !== undefined && second.pid !== pid ? second.pid : undefined,
    );
    expect(second.adopted).toBe(false);
    expect(second.restarts).toBe(1);
    expect(ran).toEqual([
      [pid, 'adopted'],
      [replacement, 'started'],
    ]);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${replacement}\n`);
    await second.stop();
    expect(alive(replacement)).toBe(false);
  });

  it('stop() ends an adopted child too', async () => {
    const { supervisor, pidFile, logFile } = setup();
    const first = supervisor();
    await first.start();
    const pid = await until(() => first.pid);
    // Adoption recognises the child by its environment and arguments, which exist once it has exec'd.
    await until(() => (readFileSync(logFile, 'utf8').includes(`up ${pid}`) ? true : undefined));
    first.release();
    const second = supervisor();
    expect(await second.start()).toBe('adopted');
    await second.stop();
    expect(alive(pid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('replaces a child left running with other arguments', async () => {
    const { supervisor } = setup();
    const first = supervisor({
      argv: [process.execPath, '-e', 'console.log("up", process.pid); setInterval(() => {}, 1000) // v1'],
    });
    await first.start();
    const old = await until(() => first.pid);
    await until(() =>
      readFileSync(join(dirname(first.pidFile), 'child.log'), 'utf8').includes(`up ${old}`)
        ? true
        : undefined,
    );
    first.release();
    const second = supervisor({ argv: [process.execPath, '-e', 'setInterval(() => {}, 1000) // v2'] });
    expect(await second.start()).toBe('started');
    expect(alive(old)).toBe(false);
    const fresh = await until(() => second.pid);
    expect(fresh).not.toBe(old);
    expect(readFileSync(`/proc/${fresh}/cmdline`, 'utf8')).toContain('// v2');
  });

  it('neither adopts nor touches a foreign process named by the PID file', async () => {
    const { supervisor, pidFile } = setup();
    const foreign = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    cleanups.push(() => {
      foreign.kill('SIGKILL');
    });
    const foreignPid = foreign.pid as number;
    writeFileSync(pidFile, `${foreignPid}\n`);
    const sup = supervisor();
    expect(await sup.start()).toBe('started');
    expect(sup.pid).not.toBe(foreignPid);
    expect(alive(foreignPid)).toBe(true);
  });
});

describe('argvMatches', () => {
  it('compares the arguments after the executable, allowing a wrapper that execs node', () => {
    const wanted = ['/repo/bin/caracal-bgpd', '--config', '/run/caracal/bgpd.yaml'];
    expect(
      argvMatches(['node', '/repo/packages/x/main.js', '--config', '/run/caracal/bgpd.yaml'], wanted),
    ).toBe(true);
    expect(
      argvMatches(['node', '/repo/packages/x/main.js', '--config', '/run/other/bgpd.yaml'], wanted),
    ).toBe(false);
    expect(argvMatches(['--config'], wanted)).toBe(false);
  });
});
