// Shared assertions of the @caracal/ip tests: parse(format(x)) === x over generated values, and exact
// error texts (each message starts with the JSON of the input it is about, which is what gets parsed).
import fc from 'fast-check';
import { expect } from 'vitest';
import { IpParseError } from '../src/index.js';

/** For every generated value: format it, parse the text back to an equal value, then run `check`. */
export function expectRoundTrips<T>(
  values: fc.Arbitrary<T>,
  format: (value: T) => string,
  parse: (text: string) => T,
  check: (value: T, text: string) => void = () => {},
): void {
  fc.assert(
    fc.property(values, (value) => {
      const text = format(value);
      expect(parse(text), text).toEqual(value);
      check(value, text);
    }),
    { numRuns: 5000 },
  );
}

/** Each message is exactly what `parse` throws (as an IpParseError) for the input quoted at its start. */
export function expectParseErrors(parse: (text: string) => unknown, messages: readonly string[]): void {
  for (const message of messages) {
    const input: string = JSON.parse(message.slice(0, message.indexOf('": ') + 1));
    let thrown: unknown;
    try {
      parse(input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown, input).toBeInstanceOf(IpParseError);
    expect((thrown as IpParseError).message).toBe(message);
    expect((thrown as IpParseError).input).toBe(input);
  }
}
