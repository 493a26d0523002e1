// perRunUla48: a random ULA /48 whose text, with groups appended, is already in canonical form (what the
// kernel and @caracal/ip print), which the IPv6 lab tests compare against.
import { formatIp, parseIp } from '@caracal/ip';
import { describe, expect, it } from 'vitest';
import { perRunUla48 } from '../src/index.js';

describe('perRunUla48', () => {
  it('is three non-zero groups under fd00::/8, canonical with groups or a :: appended', () => {
    for (let i = 0; i < 2000; i++) {
      const ula = perRunUla48();
      const groups = ula.split(':');
      expect(groups).toHaveLength(3);
      expect(groups[0]).toMatch(/^fd[0-9a-f]{2}$/);
      for (const group of groups) expect(Number.parseInt(group, 16)).not.toBe(0);
      for (const address of [`${ula}::1`, `${ula}:ffff::2`, `${ula}:1::1c0`])
        expect(formatIp(parseIp(address))).toBe(address);
    }
  });

  it('differs from run to run', () => {
    expect(new Set(Array.from({ length: 50 }, () => perRunUla48())).size).toBeGreaterThan(45);
  });
});
