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
