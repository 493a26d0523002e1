// The one error type of @caracal/ip: names the input text and says exactly what is wrong with it.

/** Thrown for text that is not a valid address or CIDR; `reason` says what is wrong, `input` is the text. */
export class IpParseError extends Error {
  override readonly name = 'IpParseError';
  readonly input: string;
  readonly reason: string;

  constructor(input: string, reason: string) {
    super(`${JSON.stringify(input)}: ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/**
 * The value `parse()` returns, or the IpParseError it throws (any other error is thrown on): for callers
 * that collect problems (a config validator, a topology checker) rather than stop at the first one.
 */
export function ipParseResult<T>(parse: () => T): T | IpParseError {
  try {
    return parse();
  } catch (error) {
    if (error instanceof IpParseError) return error;
    throw error;
  }
}
