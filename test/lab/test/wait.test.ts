// Unit tests of waitUntil: returns the first usable value, and times out naming what it awaited.
import { describe, expect, it } from 'vitest';
import { WaitAbortedError, WaitTimeoutError, waitUntil } from '../src/wait.js';

describe('waitUntil', () => {
  it('returns the first value that is not false/undefined/null, retrying errors', async () => {
    let calls = 0;
    const value = await waitUntil(
      'the third call',
      () => {
        calls++;
        if (calls === 1) throw new Error('not yet');
        return calls >= 3 ? { calls } : false;
      },
      { intervalMs: 1 },
    );
    expect(value).toEqual({ calls: 3 });
  });

  it('stops at once on a WaitAbortedError', async () => {
    let calls = 0;
    const error = await waitUntil(
      'a daemon',
      () => {
        calls++;
        throw new WaitAbortedError('it exited with code 1');
      },
      { timeoutMs: 5000, intervalMs: 1 },
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('gave up waiting for a daemon: it exited with code 1');
    expect(calls).toBe(1);
  });

  it('says what was awaited and the last value on timeout', async () => {
    const error = await waitUntil('route 10.65.0.0/16 in h1', (): string | undefined => undefined, {
      timeoutMs: 30,
      intervalMs: 5,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toBe(
      'timed out after 30 ms waiting for route 10.65.0.0/16 in h1; last value: undefined',
    );
    const withError = await waitUntil(
      'a listener',
      () => {
        throw new Error('ECONNREFUSED');
      },
      { timeoutMs: 20, intervalMs: 5 },
    ).catch((e: unknown) => e);
    expect((withError as Error).message).toBe(
      'timed out after 20 ms waiting for a listener; last error: ECONNREFUSED',
    );
    const withValue = await waitUntil('ok', () => (({ ok: false }) as { ok: boolean }).ok, {
      timeoutMs: 20,
      intervalMs: 5,
    }).catch((e: unknown) => e);
    expect((withValue as Error).message).toBe('timed out after 20 ms waiting for ok; last value: false');
  });
});
