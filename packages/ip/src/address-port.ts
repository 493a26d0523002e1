// An address with an optional port, as a BGP peer or a listener is written: `10.0.0.1`, `10.0.0.1:179`,
// `fd00::1`, `[fd00::1]:179`. An IPv6 address takes a port only inside brackets (RFC 3986 §3.2.2, Go's
// net.SplitHostPort, Calico's BGPPeer peerIP), so text with two or more colons and no brackets is one
// IPv6 address, never an address and a port: `fd00::1:179` is the address fd00::1:179.

import { formatIp, type IpAddress, ipv6BytesToBigint, readIp } from './address.js';
import { IpParseError } from './errors.js';
import { formatIpv4 } from './ipv4.js';
import { formatIpv6, scanIpv6 } from './ipv6.js';

const COLON = 58;
const OPEN_BRACKET = 91;

/** An address and the port written after it (undefined when the text has none). */
export interface AddressWithPort {
  readonly address: IpAddress;
  readonly port: number | undefined;
}

/** The port 1..65535 in text[start, end), decimal without leading zeros; throws IpParseError naming it. */
function readPort(text: string, start: number, end: number): number {
  const digits = text.slice(start, end);
  if (digits === '') throw new IpParseError(text, 'the port after ":" is empty (expected 1-65535)');
  if (!/^[0-9]+$/.test(digits)) {
    throw new IpParseError(text, `port ${JSON.stringify(digits)} is not a decimal number`);
  }
  if (digits.length > 1 && digits.startsWith('0')) {
    throw new IpParseError(text, `port "${digits}" has a leading zero`);
  }
  const port = Number(digits);
  if (port < 1 || port > 65535) throw new IpParseError(text, `port ${digits} is not 1-65535`);
  return port;
}

function ipAddressOf(parsed: number | Uint8Array): IpAddress {
  return typeof parsed === 'number'
    ? { version: 4, value: BigInt(parsed) }
    : { version: 6, value: ipv6BytesToBigint(parsed) };
}

/** `[v6]:port`; the text starts with "[". */
function parseBracketed(text: string): AddressWithPort {
  const close = text.indexOf(']');
  if (close < 0) throw new IpParseError(text, '"[" without a closing "]"');
  const parsed = readIp(text, 1, close, text);
  const rest = text.slice(close + 1);
  if (typeof parsed === 'number') {
    throw new IpParseError(
      text,
      `brackets are only for an IPv6 address; write the IPv4 address without them: ${formatIpv4(parsed)}${rest}`,
    );
  }
  if (rest === '') {
    throw new IpParseError(
      text,
      `an IPv6 address in brackets must be followed by ":<port>"; without a port write it bare: ${formatIpv6(parsed)}`,
    );
  }
  if (text.charCodeAt(close + 1) !== COLON) {
    throw new IpParseError(text, `expected ":<port>" after "]", found ${JSON.stringify(rest)}`);
  }
  return { address: ipAddressOf(parsed), port: readPort(text, close + 2, text.length) };
}

/**
 * Parses an IPv4 or IPv6 address with an optional port: `10.0.0.1`, `10.0.0.1:179`, `fd00::1`,
 * `[fd00::1]:179`. Without brackets, text with two or more colons is one IPv6 address (`fd00::1:179` is
 * the address fd00::1:179, no port). A port is decimal 1..65535 without leading zeros. Throws IpParseError
 * naming the problem (`"10.0.0.1:0": port 0 is not 1-65535`); the IP grammar is the package's (no
 * leading-zero octets, no zones).
 */
export function parseAddressWithPort(text: string): AddressWithPort {
  if (text === '') throw new IpParseError(text, 'the address is empty');
  if (text.charCodeAt(0) === OPEN_BRACKET) return parseBracketed(text);
  if (text.indexOf(']') >= 0) throw new IpParseError(text, '"]" without an opening "["');
  const firstColon = text.indexOf(':');
  if (firstColon < 0) return { address: ipAddressOf(readIp(text, 0, text.length, text)), port: undefined };
  if (text.indexOf(':', firstColon + 1) < 0) {
    // One colon: no IPv6 address has fewer than two, so this is IPv4 and a port.
    return {
      address: ipAddressOf(readIp(text, 0, firstColon, text)),
      port: readPort(text, firstColon + 1, text.length),
    };
  }
  try {
    return { address: ipAddressOf(readIp(text, 0, text.length, text)), port: undefined };
  } catch (error) {
    // Not an IPv6 address; if it is one followed by ":<digits>", say how a port is written.
    const lastColon = text.lastIndexOf(':');
    const tail = text.slice(lastColon + 1);
    const bytes = new Uint8Array(16);
    if (error instanceof IpParseError && /^[0-9]+$/.test(tail) && scanIpv6(text, 0, lastColon, bytes)) {
      throw new IpParseError(
        text,
        `${error.reason}; an IPv6 address with a port is written in brackets: [${text.slice(0, lastColon)}]:${tail}`,
      );
    }
    throw error;
  }
}

/**
 * The canonical text of an address with an optional port: `10.0.0.1:179`, `[fd00::1]:179`, or the bare
 * address when `port` is undefined. Throws RangeError for a port that is not an integer 1..65535.
 */
export function formatAddressWithPort(value: AddressWithPort): string {
  const { address, port } = value;
  const text = formatIp(address);
  if (port === undefined) return text;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`a port is an integer 1-65535, not ${port}`);
  }
  return address.version === 4 ? `${text}:${port}` : `[${text}]:${port}`;
}
