// `caracal-bgp decode FILE [--hex] [--summary] [--as4|--no-as4] [--add-path FAMILIES] [--extended-message]`:
// decodes a pcap/pcapng capture (gzipped or not; every TCP connection on port 179, both directions, with
// the context negotiated from its two OPENs) or a file of concatenated raw BGP messages (context from the
// sender's OPEN when present, else from the flags), printing one JSON object per line per message, or a
// summary table. Malformed messages print as typed errors and decoding goes on where framing allows.
import { readFile, stat } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { CaptureBgpDecoder, type CapturedBgpEvent, splitRawMessages } from '../capture/bgp-stream.js';
import { detectFileKind, readCaptureFrames } from '../capture/file.js';
import {
  AFI_IPV4,
  AFI_IPV6,
  type AfiSafi,
  DEFAULT_DECODE_CONTEXT,
  type DirectionDecodeContext,
  inferDirectionContext,
  SAFI_UNICAST,
  summariseOpen,
} from '../capture/session-context.js';
import { describeMessage, type JsonObject, type JsonValue, prefixFamily } from './decode-message.js';

export interface DecodeOptions {
  readonly hex?: boolean;
  readonly summary?: boolean;
  readonly as4?: boolean;
  readonly addPath?: readonly AfiSafi[];
  readonly extendedMessage?: boolean;
}

/** Where decode writes: JSON lines / the table to `out`, progress and file problems to `err`. */
export interface DecodeOutput {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly errIsTty: boolean;
}

const ADD_PATH_FAMILIES: Record<string, AfiSafi> = {
  ipv4: { afi: AFI_IPV4, safi: SAFI_UNICAST },
  'ipv4-unicast': { afi: AFI_IPV4, safi: SAFI_UNICAST },
  ipv6: { afi: AFI_IPV6, safi: SAFI_UNICAST },
  'ipv6-unicast': { afi: AFI_IPV6, safi: SAFI_UNICAST },
};

/** Parses `--add-path ipv4,ipv6` (commander argument parser: bad names are usage errors). */
export function parseAddPathFamilies(text: string): AfiSafi[] {
  return text.split(',').map((name) => {
    const family = ADD_PATH_FAMILIES[name.trim().toLowerCase()];
    if (family === undefined) {
      throw new InvalidArgumentError(
        `unknown address family '${name}' (expected ipv4 or ipv6, comma-separated)`,
      );
    }
    return family;
  });
}

/** A file decode cannot read: the CLI exits 1 naming it. */
export class DecodeInputError extends Error {
  override name = 'DecodeInputError';
}

function withFlags(base: DirectionDecodeContext, options: DecodeOptions): DirectionDecodeContext {
  return {
    fourOctetAs: options.as4 ?? base.fourOctetAs,
    extendedMessage: options.extendedMessage ?? base.extendedMessage,
    addPathFamilies: options.addPath ?? base.addPathFamilies,
  };
}

function formatTimestamp(timestampNs: bigint): string {
  const milliseconds = timestampNs / 1_000_000n;
  const iso = new Date(Number(milliseconds)).toISOString();
  const fraction = (timestampNs % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

/** Counts for `--summary`. */
class DecodeSummary {
  readonly byType = new Map<string, number>();
  readonly announced = new Map<string, number>();
  readonly withdrawn = new Map<string, number>();

  count(description: JsonObject): void {
    const type = String(description.type);
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
    if (type !== 'update') return;
    const add = (map: Map<string, number>, prefixes: JsonValue | undefined) => {
      if (!Array.isArray(prefixes)) return;
      for (const prefix of prefixes) {
        const family = prefixFamily(String(prefix));
        map.set(family, (map.get(family) ?? 0) + 1);
      }
    };
    add(this.announced, description.announced);
    add(this.withdrawn, description.withdrawn);
  }

  table(): string[] {
    const lines = ['message type      count'];
    for (const [type, n] of [...this.byType].sort())
      lines.push(`${type.padEnd(16)} ${String(n).padStart(6)}`);
    const total = [...this.byType.values()].reduce((sum, n) => sum + n, 0);
    lines.push(`${'total'.padEnd(16)} ${String(total).padStart(6)}`, '');
    lines.push('family            announced  withdrawn');
    const families = [...new Set([...this.announced.keys(), ...this.withdrawn.keys()])].sort();
    if (families.length === 0) lines.push('(no prefixes)');
    for (const family of families) {
      lines.push(
        `${family.padEnd(16)} ${String(this.announced.get(family) ?? 0).padStart(10)} ${String(this.withdrawn.get(family) ?? 0).padStart(10)}`,
      );
    }
    return lines;
  }
}

/** Decodes `path` and writes the result; returns the process exit code (0, or 1 for an unreadable file). */
export async function runDecode(path: string, options: DecodeOptions, output: DecodeOutput): Promise<number> {
  let size: number;
  let kind: Awaited<ReturnType<typeof detectFileKind>>;
  try {
    size = (await stat(path)).size;
    kind = await detectFileKind(path);
  } catch (error) {
    output.err(`caracal-bgp decode: cannot read '${path}': ${(error as Error).message}`);
    return 1;
  }
  const summary = new DecodeSummary();
  const emit = (record: JsonObject) => {
    if (record.type !== 'gap') summary.count(record);
    if (!options.summary) output.out(JSON.stringify(record));
  };
  const describe = (bytes: Uint8Array, context: DirectionDecodeContext, prefix: JsonObject): JsonObject => {
    const hex = options.hex ? { hex: Buffer.from(bytes).toString('hex') } : {};
    return { ...prefix, ...describeMessage(bytes, context), ...hex };
  };
  try {
    if (kind.kind === 'bgp-messages' && !kind.gzipped) {
      decodeRawMessages(new Uint8Array(await readFile(path)), options, describe, emit);
    } else if (kind.kind === 'pcap' || kind.kind === 'pcapng') {
      await decodeCapture(path, size, options, output, describe, emit);
    } else {
      output.err(
        `caracal-bgp decode: '${path}' is neither a pcap/pcapng capture (gzipped or not) nor raw BGP messages (no 16 x 0xFF marker at its start)`,
      );
      return 1;
    }
  } catch (error) {
    output.err(`caracal-bgp decode: cannot decode '${path}': ${(error as Error).message}`);
    return 1;
  }
  if (options.summary) for (const line of summary.table()) output.out(line);
  return 0;
}

type Describe = (bytes: Uint8Array, context: DirectionDecodeContext, prefix: JsonObject) => JsonObject;

function decodeRawMessages(
  bytes: Uint8Array,
  options: DecodeOptions,
  describe: Describe,
  emit: (record: JsonObject) => void,
): void {
  const events = splitRawMessages(bytes);
  let inferred = DEFAULT_DECODE_CONTEXT;
  for (const event of events) {
    const open = event.kind === 'message' ? summariseOpen(event.bytes) : undefined;
    if (open !== undefined) {
      inferred = inferDirectionContext(open);
      break;
    }
  }
  const context = withFlags(inferred, options);
  for (const event of events) {
    if (event.kind === 'message') emit(describe(event.bytes, context, { offset: event.offset }));
    else if (event.kind === 'framing-error') {
      emit({
        type: 'error',
        offset: event.offset,
        error: event.reason,
        code: 1,
        subcode: 1,
        action: 'session-reset',
        skipped_bytes: event.skippedBytes,
      });
    }
  }
}

async function decodeCapture(
  path: string,
  size: number,
  options: DecodeOptions,
  output: DecodeOutput,
  describe: Describe,
  emit: (record: JsonObject) => void,
): Promise<void> {
  const fallback = withFlags(DEFAULT_DECODE_CONTEXT, options);
  const decoder = new CaptureBgpDecoder({ fallbackContext: fallback });
  const started = Date.now();
  let lastProgress = started;
  const onBytes = (bytesRead: number) => {
    const now = Date.now();
    if (!output.errIsTty || now - started < 1000 || now - lastProgress < 500) return;
    lastProgress = now;
    output.err(
      `decode: ${Math.floor((100 * bytesRead) / Math.max(size, 1))}% of ${path} (${(bytesRead / 1e6).toFixed(1)} of ${(size / 1e6).toFixed(1)} MB)`,
    );
  };
  const handle = (event: CapturedBgpEvent) => {
    const prefix: JsonObject = {
      timestamp: formatTimestamp(event.timestampNs),
      connection: event.connection,
      direction: event.direction,
    };
    if (event.kind === 'message') {
      emit(
        describe(
          event.bytes,
          options.as4 !== undefined || options.addPath !== undefined || options.extendedMessage !== undefined
            ? withFlags(event.context, options)
            : event.context,
          { ...prefix, sender: event.sender },
        ),
      );
    } else if (event.kind === 'gap') emit({ ...prefix, type: 'gap', detail: event.detail });
    else
      emit({ ...prefix, type: 'error', error: event.detail, code: 1, subcode: 1, action: 'session-reset' });
  };
  for await (const frame of readCaptureFrames(path, onBytes))
    for (const event of decoder.pushFrame(frame)) handle(event);
  for (const event of decoder.finish()) handle(event);
}

/** Adds the `decode` subcommand to a caracal-bgp commander program. */
export function registerDecodeCommand(
  program: Command,
  output: DecodeOutput,
  setExitCode: (code: number) => void,
): void {
  program
    .command('decode')
    .description(
      'decode BGP messages from a pcap/pcapng capture (gzipped or not) or a file of raw BGP messages',
    )
    .argument('<file>', 'capture (.pcap, .pcapng, optionally gzipped) or concatenated raw BGP messages')
    .option('--hex', "add each message's raw bytes as hex")
    .option('--summary', 'print counts by message type and prefix totals per family instead of JSON lines')
    .option('--as4', 'decode AS numbers as 4 octets (default: from the OPENs, else 4 octets)')
    .option('--no-as4', 'decode AS numbers as 2 octets')
    .option(
      '--add-path <families>',
      'NLRI carry ADD-PATH path identifiers for these families (ipv4,ipv6)',
      parseAddPathFamilies,
    )
    .option('--extended-message', 'allow messages up to 65535 octets (RFC 8654)')
    .action(async (file: string, flags: DecodeOptions) => {
      setExitCode(await runDecode(file, flags, output));
    });
}
