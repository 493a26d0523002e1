// IpParseError and ipParseResult: the error names the input and the reason; ipParseResult hands back the
// parsed value or the IpParseError, and lets every other error through.
import { describe, expect, it } from 'vitest';
import { IpParseError, ipParseResult, parseCidr, parseIp } from '../src/index.js';

describe('ipParseResult', () => {
  it('returns what the parser returns for valid text', () => {
    expect(ipParseResult(() => parseIp('10.0.0.1'))).toEqual({ version: 4, value: 0x0a000001n });
    expect(ipParseResult(() => parseCidr('fd00::/8'))).toEqual({
      version: 6,
      network: 0xfdn << 120n,
      length: 8,
    });
  });

  it('returns the IpParseError, with its input and reason, for invalid text', () => {
    const result = ipParseResult(() => parseCidr('10.0.0.1/24'));
    expect(result).toBeInstanceOf(IpParseError);
    expect(result).toMatchObject({
      input: '10.0.0.1/24',
      reason: 'host bits set beyond /24 (the network is 10.0.0.0/24)',
      message: '"10.0.0.1/24": host bits set beyond /24 (the network is 10.0.0.0/24)',
    });
  });

  it('throws any other error on', () => {
    expect(() =>
      ipParseResult(() => {
        throw new TypeError('not an IP problem');
      }),
    ).toThrow(TypeError);
  });
});
