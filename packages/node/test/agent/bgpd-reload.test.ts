// Unit tests of BgpdReloadKeeper against a fake caracal-bgpd and a manual clock: the SIGHUP waits for the
// daemon's first answer; a refused reload is resent at 1, 2, 4, 8, 16, 30, 30 s and the error is logged once
// per distinct error (each refused reload counted once); the retry that finds the address bindable applies
// the file and the resends stop; a newer file is SIGHUPed at once with the backoff started over (and is the
// one bgpd reads); a fresh bgpd ends the retries (and a check answered by a replaced bgpd sends nothing);
// an adopted bgpd on an older file is reloaded; a bgpd
// without configDigest gets one SIGHUP per change as before.
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { BgpdReloadKeeper, type BgpdReloadStatus, type ReloadTimers } from '../../src/agent/bgpd-reload.js';

/** Timers that run only when the test advances the clock. */
class ManualClock implements ReloadTimers {
  time = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + ms, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  now(): number {
    return this.time;
  }
  /** Moves time forward by `ms`, running due callbacks in order (and the promises they start). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
      await settle();
    }
    this.time = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A caracal-bgpd: SIGHUP reads `file` (a digest) and applies it unless `bindable` is false, in which case
 * the reload is refused with `error`, as the real daemon refuses a listen address it cannot bind.
 */
class FakeBgpd {
  running: string;
  file: string;
  bindable = true;
  error = 'cannot listen on fd00::5 port 179: listen EADDRNOTAVAIL (the address is not on this host)';
  lastReload: Exclude<BgpdReloadStatus['lastReload'], undefined> = null;
  sighups: number[] = [];
  reportsDigest = true;
  alive = true;
  constructor(
    private readonly clock: ManualClock,
    file: string,
  ) {
    this.running = file;
    this.file = file;
  }
  sighup(): boolean {
    if (!this.alive) return false;
    this.sighups.push(this.clock.time);
    const at = new Date(this.clock.time).toISOString();
    if (this.bindable) {
      this.running = this.file;
      this.lastReload = { ok: true, at, configDigest: this.file };
    } else this.lastReload = { ok: false, at, configDigest: this.file, error: this.error };
    return true;
  }
  status(): BgpdReloadStatus {
    if (!this.alive) throw new Error('caracal-bgpd is not running');
    return this.reportsDigest ? { configDigest: this.running, lastReload: this.lastReload } : {};
  }
}

function setUp(onDisk = 'digest-1') {
  const clock = new ManualClock();
  const bgpd = new FakeBgpd(clock, onDisk);
  const logs: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const logger = {
    warn: (fields: Record<string, unknown>, message: string) => logs.push({ level: 'warn', message, fields }),
    info: (fields: Record<string, unknown>, message: string) => logs.push({ level: 'info', message, fields }),
  } as unknown as Logger;
  const refused: string[] = [];
  const sent: string[] = [];
  const keeper = new BgpdReloadKeeper({
    sighup: () => bgpd.sighup(),
    queryStatus: async () => bgpd.status(),
    logger,
    timers: clock,
    onRefused: (error) => refused.push(error),
    onSighup: (why) => sent.push(why),
  });
  /** The agent's side of a file write: the file on disk changes, the keeper is told. */
  const write = (digest: string) => {
    bgpd.file = digest;
    keeper.want(digest, true);
  };
  /** The agent's 2 s status poll. */
  const poll = () => keeper.observe(bgpd.status());
  return { clock, bgpd, keeper, logs, refused, sent, write, poll };
}

describe('BgpdReloadKeeper', () => {
  it('sends SIGHUP once bgpd has answered, and nothing more once bgpd runs the file', async () => {
    const { clock, bgpd, keeper, sent, write, poll } = setUp();
    keeper.bgpdRunning('started');
    write('digest-2');
    expect(bgpd.sighups).toEqual([]); // no answer yet: its SIGHUP handler may not be installed
    expect(keeper.applied).toBe(false);
    poll();
    expect(bgpd.sighups).toEqual([0]);
    expect(bgpd.running).toBe('digest-2');
    await clock.advance(60_000);
    poll();
    expect(bgpd.sighups).toEqual([0]);
    expect(keeper.applied).toBe(true);
    expect(keeper.refusal).toBeUndefined();
    expect(sent).toEqual(['change']);
  });

  it('resends a refused reload with a doubling backoff capped at 30 s, logs the error once, applies it when it can', async () => {
    const { clock, bgpd, keeper, logs, refused, sent, write, poll } = setUp();
    keeper.bgpdRunning('started');
    poll();
    bgpd.bindable = false; // the node's IPv6 address is not on an interface (or is tentative) yet
    write('digest-2');
    expect(bgpd.sighups).toEqual([0]);
    await clock.advance(100_000);
    // Every status poll in between changes nothing in the schedule.
    poll();
    expect(bgpd.sighups).toEqual([0, 1000, 3000, 7000, 15_000, 31_000, 61_000, 91_000]);
    expect(bgpd.running).toBe('digest-1');
    expect(keeper.applied).toBe(false);
    expect(keeper.refusal).toEqual({ error: bgpd.error, since: new Date(0).toISOString() });
    expect(keeper.retries).toBe(7);
    expect(sent.filter((why) => why === 'retry')).toHaveLength(7);
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.fields.error)).toEqual([bgpd.error]);
    // Each of the 8 refused reloads counted once, though checks and polls saw most of them twice.
    expect(refused).toHaveLength(8);

    // Another error (the address is now there but the port is taken): logged once more.
    bgpd.error = 'cannot listen on fd00::5 port 179: listen EADDRINUSE';
    await clock.advance(30_000);
    poll();
    expect(keeper.refusal?.error).toBe(bgpd.error);
    expect(logs.filter((l) => l.level === 'warn')).toHaveLength(2);

    // The address comes up: the next resend is applied, then nothing more is sent.
    bgpd.bindable = true;
    await clock.advance(30_000);
    expect(bgpd.running).toBe('digest-2');
    await clock.advance(30_000);
    poll();
    expect(keeper.applied).toBe(true);
    expect(keeper.refusal).toBeUndefined();
    const count = bgpd.sighups.length;
    await clock.advance(300_000);
    poll();
    expect(bgpd.sighups).toHaveLength(count);
    expect(logs.at(-1)?.message).toMatch(/applied bgpd\.yaml after refusing it/);
  });

  it('a newer file during the retries is sent at once with the backoff started over, and is the one applied', async () => {
    const { clock, bgpd, keeper, write, poll } = setUp();
    keeper.bgpdRunning('started');
    poll();
    bgpd.bindable = false;
    write('digest-2');
    await clock.advance(20_000); // SIGHUPs at 0, 1, 3, 7, 15 s; the next one is due at 31 s
    expect(bgpd.sighups).toEqual([0, 1000, 3000, 7000, 15_000]);
    write('digest-3');
    expect(bgpd.sighups.at(-1)).toBe(20_000);
    expect(keeper.refusal).toBeUndefined(); // that refusal was of the older file
    await clock.advance(1000);
    expect(bgpd.sighups.at(-1)).toBe(21_000);
    expect(keeper.refusal?.error).toBe(bgpd.error);
    bgpd.bindable = true;
    await clock.advance(2000);
    expect(bgpd.running).toBe('digest-3');
    expect(keeper.applied).toBe(false); // sent, not confirmed yet
    poll();
    expect(keeper.applied).toBe(true);
    expect(bgpd.sighups).toEqual([0, 1000, 3000, 7000, 15_000, 20_000, 21_000, 23_000]);
  });

  it('a freshly started bgpd ends the retries (it reads the file at start)', async () => {
    const { clock, bgpd, keeper, write, poll } = setUp();
    keeper.bgpdRunning('started');
    poll();
    bgpd.bindable = false;
    write('digest-2');
    await clock.advance(4000);
    expect(keeper.refusal).toBeDefined();
    // bgpd restarts and reads digest-2 at start.
    bgpd.running = 'digest-2';
    bgpd.bindable = true;
    bgpd.lastReload = null;
    keeper.bgpdRunning('started');
    expect(keeper.refusal).toBeUndefined();
    const count = bgpd.sighups.length;
    await clock.advance(120_000);
    poll();
    expect(bgpd.sighups).toHaveLength(count);
    expect(keeper.applied).toBe(true);
  });

  it('does not signal while bgpd does not answer, and reloads an adopted bgpd that runs an older file', async () => {
    const { clock, bgpd, keeper, poll } = setUp('digest-1');
    bgpd.file = 'digest-2'; // written by the earlier agent; its SIGHUP was refused
    keeper.want('digest-2', false);
    keeper.bgpdRunning('adopted');
    expect(bgpd.sighups).toEqual([]);
    poll();
    expect(bgpd.sighups).toEqual([0]);
    expect(bgpd.running).toBe('digest-2');
    await clock.advance(1000);
    expect(keeper.applied).toBe(true);

    // bgpd gone: the check finds no answer and sends nothing.
    bgpd.bindable = false;
    bgpd.file = 'digest-3';
    keeper.want('digest-3', true);
    bgpd.alive = false;
    keeper.unanswered();
    await clock.advance(10_000);
    expect(bgpd.sighups).toEqual([0, 1000]);
  });

  it('drops a check answered by a bgpd that was replaced while it was asked', async () => {
    const clock = new ManualClock();
    const bgpd = new FakeBgpd(clock, 'digest-1');
    let answer: (() => void) | undefined;
    const keeper = new BgpdReloadKeeper({
      sighup: () => bgpd.sighup(),
      // Each check's question is answered only when the test says so.
      queryStatus: () => new Promise((resolve) => (answer = () => resolve(bgpd.status()))),
      logger: { warn: () => {}, info: () => {} } as unknown as Logger,
      timers: clock,
    });
    keeper.bgpdRunning('started');
    keeper.observe(bgpd.status());
    bgpd.bindable = false;
    bgpd.file = 'digest-2';
    keeper.want('digest-2', true);
    expect(bgpd.sighups).toEqual([0]);
    await clock.advance(1000); // the check asks the (old) bgpd
    keeper.bgpdRunning('started'); // a new bgpd process runs before the answer arrives
    answer?.();
    await clock.advance(0);
    expect(bgpd.sighups).toEqual([0]); // no SIGHUP to a process that may not have its handler yet
  });

  it('a bgpd that does not report configDigest gets one SIGHUP per change, as before', async () => {
    const { clock, bgpd, keeper, write, poll } = setUp();
    bgpd.reportsDigest = false;
    keeper.bgpdRunning('started');
    poll();
    bgpd.bindable = false;
    write('digest-2');
    await clock.advance(60_000);
    poll();
    expect(bgpd.sighups).toEqual([0]);
    expect(keeper.applied).toBe(true);
  });
});
