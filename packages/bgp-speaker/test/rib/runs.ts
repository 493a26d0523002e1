// Test helper: the whole UPDATEs in an Adj-RIB-Out flush's runs for one peer (each run is back-to-back
// messages in a shared batch), checking on the way that every run holds exactly `messageCount` whole
// messages and is a view of its batch.

import { expect } from 'vitest';
import type { OutboundRun } from '../../src/rib/adj-rib-out.js';

export function messagesOf(runs: readonly OutboundRun[] | undefined): Uint8Array[] {
  const messages: Uint8Array[] = [];
  for (const run of runs ?? []) {
    expect(run.bytes.buffer).toBe(run.batch.buffer);
    let at = 0;
    let count = 0;
    while (at < run.bytes.length) {
      const length = (run.bytes[at + 16]! << 8) | run.bytes[at + 17]!;
      expect(length).toBeGreaterThanOrEqual(19);
      messages.push(run.bytes.subarray(at, at + length));
      at += length;
      count++;
    }
    expect(at).toBe(run.bytes.length);
    expect(count).toBe(run.messageCount);
  }
  return messages;
}
