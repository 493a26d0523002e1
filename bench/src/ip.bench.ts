// Prefix text benchmark: the BGP codec's parsePrefix/formatPrefix ("10.0.0.0/8" ↔ address and length),
// now on @caracal/ip, side by side with the codec's own text functions as they were before @caracal/ip
// (commit 31427ce, kept below as the baseline). 1,000,000 distinct IPv4 prefixes and 100,000 IPv6 ones;
// parse, format, and parse+format; RUNS timed runs after an untimed warm-up, old and new interleaved, a full
// GC before each run. Reported as prefixes/s (medians) and new/old time ratios of the medians and of the
// best runs (below 1.00x: the new code is faster; the best run is the steadier figure on a busy machine).
// Run: bench/run ip (or node --expose-gc bench/dist/src/ip.bench.js).
import { type BgpPrefix, formatPrefix, ipv4Mask, maskPrefix, parsePrefix } from '@caracal/bgp-speaker';

const RUNS = 11;
const IPV4_PREFIXES = 1_000_000;
const IPV6_PREFIXES = 100_000;

// ---- Baseline: the codec's text functions before @caracal/ip (31427ce packages/bgp-speaker/src/codec/prefix.ts).
// maskPrefix and ipv4Mask, which did not change, are the codec's own.

function baselineIpv4ToString(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

function baselineParseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new RangeError(`invalid IPv4 address "${text}": expected 4 dotted octets`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255)
      throw new RangeError(`invalid IPv4 address "${text}": octet "${part}" is not 0..255`);
    value = value * 256 + Number(part);
  }
  return value >>> 0;
}

function baselineIpv6ToString(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function baselineParseIpv6(text: string): Uint8Array {
  const fail = (reason: string): never => {
    throw new RangeError(`invalid IPv6 address "${text}": ${reason}`);
  };
  let head = text;
  let tail = '';
  const doubleColon = text.indexOf('::');
  if (doubleColon >= 0) {
    if (text.indexOf('::', doubleColon + 1) >= 0) fail('more than one "::"');
    head = text.slice(0, doubleColon);
    tail = text.slice(doubleColon + 2);
  }
  const parseGroups = (part: string): number[] => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let index = 0; index < pieces.length; index++) {
      const piece = pieces[index]!;
      if (index === pieces.length - 1 && piece.includes('.')) {
        const v4 = baselineParseIpv4(piece);
        groups.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) groups.push(Number.parseInt(piece, 16));
      else fail(`group "${piece}" is not 1-4 hex digits`);
    }
    return groups;
  };
  const headGroups = parseGroups(head);
  const tailGroups = parseGroups(tail);
  const total = headGroups.length + tailGroups.length;
  if (doubleColon < 0 && total !== 8) fail(`expected 8 groups, got ${total}`);
  if (doubleColon >= 0 && total > 7) fail('too many groups around "::"');
  const groups = [...headGroups, ...new Array<number>(8 - total).fill(0), ...tailGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >>> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

function baselineFormatPrefix(prefix: BgpPrefix): string {
  const masked = maskPrefix(prefix);
  const address =
    masked.afi === 1 ? baselineIpv4ToString(masked.address) : baselineIpv6ToString(masked.address);
  const text = `${address}/${masked.length}`;
  return prefix.pathId === undefined ? text : `${text} path-id ${prefix.pathId}`;
}

function baselineParsePrefix(text: string, pathId?: number): BgpPrefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new RangeError(`invalid prefix "${text}": missing "/length"`);
  const addressText = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText)) throw new RangeError(`invalid prefix "${text}": length is not a number`);
  const length = Number(lengthText);
  const withPath = <P extends BgpPrefix>(prefix: P): P =>
    pathId === undefined ? prefix : { ...prefix, pathId };
  if (addressText.includes(':')) {
    if (length > 128) throw new RangeError(`invalid prefix "${text}": IPv6 length ${length} > 128`);
    const prefix = { afi: 2 as const, address: baselineParseIpv6(addressText), length };
    if (maskPrefix(prefix).address.some((byte, i) => byte !== prefix.address[i]))
      throw new RangeError(`invalid prefix "${text}": host bits set beyond /${length}`);
    return withPath(prefix);
  }
  if (length > 32) throw new RangeError(`invalid prefix "${text}": IPv4 length ${length} > 32`);
  const address = baselineParseIpv4(addressText);
  if ((address & ipv4Mask(length)) >>> 0 !== address)
    throw new RangeError(`invalid prefix "${text}": host bits set beyond /${length}`);
  return withPath({ afi: 1, address, length });
}

// ---- The benchmark

/** A deterministic pseudo-random sequence (xorshift32), so every run measures the same prefixes. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

/** `count` IPv4 prefixes, lengths 8..32 weighted towards /24 and /32, as a routing table has them. */
function ipv4Prefixes(count: number): BgpPrefix[] {
  const next = randomSource(0x1f2e3d4c);
  return Array.from({ length: count }, () => {
    const pick = next() % 10;
    const length = pick < 5 ? 24 : pick < 7 ? 32 : 8 + (next() % 25);
    const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
    return { afi: 1, address: (next() & mask) >>> 0, length };
  });
}

/** `count` IPv6 prefixes under 2000::/3, lengths 32..128 (mostly /48, /64, /128), with zero runs. */
function ipv6Prefixes(count: number): BgpPrefix[] {
  const next = randomSource(0x5a5a1234);
  return Array.from({ length: count }, () => {
    const pick = next() % 4;
    const length = pick === 0 ? 48 : pick === 1 ? 64 : pick === 2 ? 128 : 32 + (next() % 97);
    const address = new Uint8Array(16);
    for (let i = 0; i < 16; i++) address[i] = next() % 3 === 0 ? 0 : next() & 0xff;
    address[0] = 0x20 | (address[0]! & 0x1f);
    const prefix: BgpPrefix = { afi: 2, address, length };
    return { afi: 2, address: maskPrefix(prefix).address, length };
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

const gc = (globalThis as { gc?: () => void }).gc;

interface Timing {
  median: number;
  best: number;
}

/** Times old and new interleaved (warm-up first): the median and the best seconds of each. */
function compare(oldRun: () => unknown, newRun: () => unknown): { old: Timing; new: Timing } {
  oldRun();
  newRun();
  const times = { old: [] as number[], new: [] as number[] };
  const oldFirst = [
    ['old', oldRun],
    ['new', newRun],
  ] as const;
  const newFirst = [oldFirst[1], oldFirst[0]] as const;
  for (let run = 0; run < RUNS; run++) {
    // Which goes first alternates, so neither is always charged for the other's leftovers.
    for (const [which, body] of run % 2 === 0 ? oldFirst : newFirst) {
      gc?.();
      const start = process.hrtime.bigint();
      body();
      times[which].push(Number(process.hrtime.bigint() - start) / 1e9);
    }
  }
  const timing = (list: number[]): Timing => ({ median: median(list), best: Math.min(...list) });
  return { old: timing(times.old), new: timing(times.new) };
}

/** A checksum of the results, so that the work cannot be optimised away and old and new are compared. */
function digestParsed(prefixes: readonly BgpPrefix[]): number {
  let sum = 0;
  for (const prefix of prefixes)
    sum =
      (sum * 31 +
        (prefix.afi === 1 ? prefix.address : prefix.address[15]! + prefix.address[2]!) +
        prefix.length) |
      0;
  return sum;
}

function digestTexts(texts: readonly string[]): number {
  let sum = 0;
  for (const text of texts) sum = (sum * 31 + text.length + text.charCodeAt(text.length - 3)) | 0;
  return sum;
}

const rows: Record<string, string | number>[] = [];

function benchFamily(family: string, prefixes: readonly BgpPrefix[]): void {
  const texts = prefixes.map(baselineFormatPrefix);
  const newTexts = prefixes.map(formatPrefix);
  if (digestTexts(texts) !== digestTexts(newTexts) || texts.some((text, i) => text !== newTexts[i]))
    throw new Error(`${family}: old and new formatPrefix disagree`);
  if (
    digestParsed(texts.map((t) => baselineParsePrefix(t))) !== digestParsed(texts.map((t) => parsePrefix(t)))
  )
    throw new Error(`${family}: old and new parsePrefix disagree`);

  const sink = { value: 0 };
  const parseWith = (parse: (text: string) => BgpPrefix) => () => {
    let sum = 0;
    for (let i = 0; i < texts.length; i++) sum += parse(texts[i]!).length;
    sink.value += sum;
  };
  const formatWith = (format: (prefix: BgpPrefix) => string) => () => {
    let sum = 0;
    for (let i = 0; i < prefixes.length; i++) sum += format(prefixes[i]!).length;
    sink.value += sum;
  };
  const roundTripWith = (parse: (text: string) => BgpPrefix, format: (prefix: BgpPrefix) => string) => () => {
    let sum = 0;
    for (let i = 0; i < texts.length; i++) sum += format(parse(texts[i]!)).length;
    sink.value += sum;
  };
  const cases: [string, { old: Timing; new: Timing }][] = [
    [
      'parsePrefix',
      compare(
        parseWith((t) => baselineParsePrefix(t)),
        parseWith((t) => parsePrefix(t)),
      ),
    ],
    ['formatPrefix', compare(formatWith(baselineFormatPrefix), formatWith(formatPrefix))],
    [
      'parse+format',
      compare(
        roundTripWith((t) => baselineParsePrefix(t), baselineFormatPrefix),
        roundTripWith((t) => parsePrefix(t), formatPrefix),
      ),
    ],
  ];
  for (const [what, seconds] of cases) {
    rows.push({
      family,
      what,
      prefixes: prefixes.length,
      'old ms': Math.round(seconds.old.median * 1000),
      'new ms': Math.round(seconds.new.median * 1000),
      'old prefixes/s': Math.round(prefixes.length / seconds.old.median),
      'new prefixes/s': Math.round(prefixes.length / seconds.new.median),
      'new/old (median)': `${(seconds.new.median / seconds.old.median).toFixed(2)}x`,
      'new/old (best)': `${(seconds.new.best / seconds.old.best).toFixed(2)}x`,
    });
  }
  if (sink.value === 0) throw new Error('no work measured');
}

if (!gc) console.error('ip bench: run with node --expose-gc for a GC before each timed run');
benchFamily('IPv4', ipv4Prefixes(IPV4_PREFIXES));
benchFamily('IPv6', ipv6Prefixes(IPV6_PREFIXES));
console.table(rows);
