// serialReloader: reloads never overlap, a request during a reload gets one follow-up reload that
// starts after it, and a burst of requests is coalesced into that one follow-up. A failed reload rejects
// the promises of the callers it served with its error, and later requests still reload.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serialReloader } from '../../src/daemon/serial-reload.js';

/** A reload whose runs the test finishes by hand (or fails with a given error), recording the order. */
function manualReload() {
  const events: string[] = [];
  const finishers: Array<(error?: Error) => void> = [];
  let runs = 0;
  let active = 0;
  let maxActive = 0;
  const reload = () => {
    const run = ++runs;
    active++;
    maxActive = Math.max(maxActive, active);
    events.push(`start ${run}`);
    return new Promise<void>((resolve, reject) => {
      finishers.push((error) => {
        active--;
        events.push(`${error === undefined ? 'end' : 'fail'} ${run}`);
        if (error === undefined) resolve();
        else reject(error);
      });
    });
  };
  /** Ends the oldest running reload (with `error`: rejects it) and lets a follow-up start. */
  const finishNext = async (error?: Error) => {
    const finish = finishers.shift();
    if (finish === undefined) throw new Error('no reload is running');
    finish(error);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { reload, events, finishNext, maxActive: () => maxActive };
}

/** How a promise settled: 'ok', or the error it rejected with. */
function outcomeOf(promise: Promise<void>): Promise<'ok' | unknown> {
  return promise.then(
    () => 'ok',
    (error: unknown) => error,
  );
}

describe('serialReloader', () => {
  const unhandled: unknown[] = [];
  const recordUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', recordUnhandled);
  });
  afterEach(async () => {
    // Node reports unhandled rejections after the microtask queue drains: give it a macrotask.
    await new Promise((resolve) => setTimeout(resolve, 10));
    process.off('unhandledRejection', recordUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('runs a follow-up reload after the running one instead of a second concurrent one', async () => {
    const manual = manualReload();
    const request = serialReloader(manual.reload);
    const first = request();
    const second = request();
    expect(manual.events).toEqual(['start 1']);
    await manual.finishNext();
    await first;
    expect(manual.events).toEqual(['start 1', 'end 1', 'start 2']);
    await manual.finishNext();
    await second;
    expect(manual.events).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    expect(manual.maxActive()).toBe(1);
  });

  it('coalesces a burst of requests during one reload into one follow-up', async () => {
    const manual = manualReload();
    const request = serialReloader(manual.reload);
    const all = [request(), request(), request(), request()];
    await manual.finishNext();
    await manual.finishNext();
    await Promise.all(all);
    expect(manual.events).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    // After the burst, a new request starts a new reload at once.
    const later = request();
    expect(manual.events.at(-1)).toBe('start 3');
    await manual.finishNext();
    await later;
  });

  it("rejects the caller's promise with the failed reload's error, and the next request still reloads", async () => {
    const manual = manualReload();
    const request = serialReloader(manual.reload);
    const badFile = new Error('bad file');
    const first = outcomeOf(request());
    await manual.finishNext(badFile);
    expect(await first).toBe(badFile);
    const second = outcomeOf(request());
    expect(manual.events).toEqual(['start 1', 'fail 1', 'start 2']);
    await manual.finishNext();
    expect(await second).toBe('ok');
  });

  it('a reload that throws synchronously rejects its caller and does not stop the next one', async () => {
    let calls = 0;
    const request = serialReloader(() => {
      calls++;
      if (calls === 1) throw new Error('thrown before any promise');
      return Promise.resolve();
    });
    await expect(request()).rejects.toThrow('thrown before any promise');
    await expect(request()).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });

  it("every coalesced caller sees the follow-up's outcome, not the reload it waited behind", async () => {
    const manual = manualReload();
    const request = serialReloader(manual.reload);
    const followUpFailure = new Error('follow-up read a broken file');
    const first = outcomeOf(request());
    const coalesced = [outcomeOf(request()), outcomeOf(request()), outcomeOf(request())];
    await manual.finishNext(); // the first reload succeeds
    expect(await first).toBe('ok');
    await manual.finishNext(followUpFailure);
    expect(await Promise.all(coalesced)).toEqual([followUpFailure, followUpFailure, followUpFailure]);

    // And the other way round: the running reload fails, its follow-up succeeds.
    const runningFailure = new Error('running reload failed');
    const third = outcomeOf(request());
    const behindFailure = [outcomeOf(request()), outcomeOf(request())];
    await manual.finishNext(runningFailure);
    await manual.finishNext();
    expect(await third).toBe(runningFailure);
    expect(await Promise.all(behindFailure)).toEqual(['ok', 'ok']);
    expect(manual.events).toEqual([
      'start 1',
      'end 1',
      'start 2',
      'fail 2',
      'start 3',
      'fail 3',
      'start 4',
      'end 4',
    ]);
    expect(manual.maxActive()).toBe(1);
  });

  it('a caller that drops its promise lets no unhandled rejection escape, and the chain goes on', async () => {
    const manual = manualReload();
    const request = serialReloader(manual.reload);
    void request();
    void request(); // the follow-up, also dropped
    await manual.finishNext(new Error('first dropped failure'));
    await manual.finishNext(new Error('follow-up dropped failure'));
    const next = outcomeOf(request());
    await manual.finishNext();
    expect(await next).toBe('ok');
    // afterEach checks that no unhandled rejection was reported.
  });
});
