// Unit test of ChildSupervisor with real child processes (node -e): a child that dies is restarted with a
// new pid and counted; stop() terminates the running child and no restart follows.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildSupervisor } from '../../src/agent/supervisor.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
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
    return true;
  } catch {
    return false;
  }
};

describe('ChildSupervisor', () => {
  it('restarts a child that dies, and stop() ends it without restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caracal-node-sup-'));
    dirs.push(dir);
    let restarts = 0;
    const sup = new ChildSupervisor({
      name: 'sleeper',
      argv: [process.execPath, '-e', 'console.log("up", process.pid); setInterval(() => {}, 1000)'],
      logFile: join(dir, 'child.log'),
      logger: pino({ level: 'silent' }),
      onRestart: () => restarts++,
    });
    sup.start();
    const first = await until(() => sup.pid);
    process.kill(first, 'SIGKILL');
    const second = await until(() => (sup.pid !== undefined && sup.pid !== first ? sup.pid : undefined));
    expect(restarts).toBe(1);
    expect(sup.restarts).toBe(1);
    expect(alive(second)).toBe(true);
    // Its output reaches the log file (the child needs a moment to start its script).
    await until(() =>
      readFileSync(join(dir, 'child.log'), 'utf8').includes(`up ${second}`) ? true : undefined,
    );
    await sup.stop();
    expect(alive(second)).toBe(false);
    await sleep(800); // longer than the first backoff: a restart would have happened by now
    expect(sup.pid).toBeUndefined();
    expect(sup.restarts).toBe(1);
  });
});
