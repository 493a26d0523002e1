// serialReloader: reloads never overlap, a request during a reload gets one follow-up reload that
// starts after it, and a burst of requests is coalesced into that one follow-up.
import { describe, expect, it } from 'vitest';
import { serialReloader } from '../../src/daemon/serial-reload.js';

/** A reload whose runs the test finishes by hand, recording start and end order. */
function manualReload() {
  const events: string[] = [];
  const finishers: Array<() => void> = [];
  let runs = 0;
  let active = 0;
  let maxActive = 0;
  const reload = () => {
    const run = ++runs;
    active++;
    maxActive = Math.max(maxActive, active);
    events.push(`start ${run}`);
    return new Promise<void>((resolve) => {
      finishers.push(() => {
        active--;
        events.push(`end ${run}`);
        resolve();
      });
    });
  };
  const finishNext = async () => {
    const finish = finishers.shift();
    if (finish === undefined) throw new Error('no reload is running');
    finish();
    // let the follow-up start
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { reload, events, finishNext, maxActive: () => maxActive };
}

describe('serialReloader', () => {
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

  it('a failed reload does not stop the next one', async () => {
    let calls = 0;
    const request = serialReloader(async () => {
      calls++;
      if (calls === 1) throw new Error('bad file');
    });
    await request();
    await request();
    expect(calls).toBe(2);
  });
});
