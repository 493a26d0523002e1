// A Clock for the session tests whose timers run only when the test advances time (hold, keepalive,
// connect-retry timers without waiting for them): shared by the fake-socket and real-socket Peer tests.
import type { Clock } from '../../src/session/index.js';

export class ManualClock implements Clock {
  time = 0;
  private timers: Array<{ at: number; callback: () => void; id: number }> = [];
  private nextId = 1;
  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, callback, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** Moves time forward by `seconds`, running every timer that falls due, in order. */
  advance(seconds: number): void {
    const end = this.time + seconds * 1000;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.time = next.at;
      next.callback();
    }
    this.time = end;
  }
}
