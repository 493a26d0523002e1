// Polling with a deadline: `waitUntil` retries a check until it yields a value, and on timeout says
// what was awaited and the last value (or error) seen.
import { inspect } from 'node:util';

export interface WaitOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 100 ms). */
  intervalMs?: number;
}

/** Thrown from a `waitUntil` check to stop waiting at once (e.g. the process being awaited died). */
export class WaitAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitAbortedError';
  }
}

/** Thrown by `waitUntil` on timeout. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly description: string,
    readonly timeoutMs: number,
    readonly lastValue: unknown,
    readonly lastError: unknown,
  ) {
    const last =
      lastError !== undefined
        ? `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
        : `last value: ${inspect(lastValue, { depth: 3, breakLength: Number.POSITIVE_INFINITY }).slice(0, 1000)}`;
    super(`timed out after ${timeoutMs} ms waiting for ${description}; ${last}`);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Calls `check` until it returns something other than `false`, `undefined` or `null`, and returns
 * that. A thrown error counts as "not yet" (and is reported if the wait times out), except a
 * `WaitAbortedError`, which ends the wait at once.
 */
export async function waitUntil<T>(
  description: string,
  check: () => T | false | undefined | null | Promise<T | false | undefined | null>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastValue: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      lastError = undefined;
      lastValue = value;
      if (value !== false && value !== undefined && value !== null) return value;
    } catch (error) {
      if (error instanceof WaitAbortedError)
        throw new Error(`gave up waiting for ${description}: ${error.message}`);
      lastError = error;
    }
    if (Date.now() + intervalMs > deadline)
      throw new WaitTimeoutError(description, timeoutMs, lastValue, lastError);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
