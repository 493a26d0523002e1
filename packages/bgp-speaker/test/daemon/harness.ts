// Test harness for the daemon: Speakers on distinct loopback addresses (127.0.0.x, free ports) wired to
// each other over real TCP, configured through the real YAML schema, with an in-memory FIB each.

import { freeTcpPort } from '@caracal/lab';
import { afterEach } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import type { BgpdConfig } from '../../src/config/types.js';
import { formatConfigIssue } from '../../src/config/types.js';
import { Speaker, type SpeakerOptions } from '../../src/daemon/index.js';
import { MemoryFib } from './memory-fib.js';
import type { RawPeer } from './raw-peer.js';

/** A TCP port free on `address` right now (the lab harness's freeTcpPort, under the name these tests use). */
export const freePort = freeTcpPort;

export function config(yaml: string): BgpdConfig {
  const result = parseConfig(yaml, 'test.yaml');
  if (!result.ok) throw new Error(result.issues.map(formatConfigIssue).join('\n'));
  return result.config;
}

export interface Node {
  readonly name: string;
  readonly address: string;
  readonly asNumber: number;
  readonly port: number;
}

export interface PeerSpec {
  readonly node: Node;
  /** Extra YAML lines of the peer entry (indented by the harness). */
  readonly extra?: string;
}

/** The YAML of one speaker peering with `peers` (short timers so tests run fast). */
export function speakerYaml(self: Node, peers: readonly PeerSpec[], extra = ''): string {
  const peerLines = peers
    .map(({ node, extra: peerExtra = '' }) =>
      [
        `  - name: ${node.name}`,
        `    address: ${node.address}`,
        `    port: ${node.port}`,
        `    asNumber: ${node.asNumber}`,
        `    localAddress: ${self.address}`,
        '    holdTime: 9',
        '    connectRetryTime: 1',
        ...peerExtra
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => `    ${line}`),
      ].join('\n'),
    )
    .join('\n');
  return [
    `asNumber: ${self.asNumber}`,
    `routerId: ${self.address}`,
    `listen: { address: ${self.address}, port: ${self.port} }`,
    extra,
    peers.length > 0 ? `peers:\n${peerLines}` : '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

export class Running {
  constructor(
    readonly node: Node,
    readonly speaker: Speaker,
    readonly fib: MemoryFib,
  ) {}
}

const running: Running[] = [];

export async function startSpeaker(
  node: Node,
  yaml: string,
  options: SpeakerOptions & { fib?: MemoryFib } = {},
): Promise<Running> {
  const fib = options.fib ?? new MemoryFib();
  const speaker = new Speaker(config(yaml), { ...options, fib });
  const handle = new Running(node, speaker, fib);
  running.push(handle);
  await speaker.start();
  return handle;
}

/**
 * Starts several speakers at once: every listener is bound before any of them connects out, so no
 * session starts with a refused connection (which the FSM answers with a damped IdleHold wait).
 */
export async function startSpeakers(
  specs: ReadonlyArray<readonly [Node, string, (SpeakerOptions & { fib?: MemoryFib })?]>,
): Promise<Running[]> {
  const handles = specs.map(([node, yaml, options = {}]) => {
    const fib = options.fib ?? new MemoryFib();
    const handle = new Running(node, new Speaker(config(yaml), { ...options, fib }), fib);
    running.push(handle);
    return handle;
  });
  await Promise.all(handles.map((handle) => handle.speaker.start()));
  return handles;
}

/** A policy that accepts every route both ways (YAML fragment for speakerYaml's extra text). */
export const ACCEPT_ALL = 'import: { action: accept }\nexport: { action: accept }';

/**
 * The list a test file puts its RawPeers in; after each test they are stopped and so is every speaker
 * (call once at the top of the file).
 */
export function rawPeersStoppedAfterEach(): RawPeer[] {
  const raws: RawPeer[] = [];
  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.stop();
    await stopAll();
  });
  return raws;
}

/** Stops every speaker started by startSpeaker (afterEach). */
export async function stopAll(): Promise<void> {
  for (const handle of running.splice(0)) await handle.speaker.stop({ keepRoutes: false });
}

let nextHost = 10 + Math.floor(Math.random() * 200);

/** A node on a fresh loopback address with a free port. */
export async function node(name: string, asNumber: number): Promise<Node> {
  nextHost = nextHost >= 250 ? 10 : nextHost + 1;
  const address = `127.0.${Math.floor(Math.random() * 250) + 1}.${nextHost}`;
  return { name, address, asNumber, port: await freePort(address) };
}

/** Polls `probe` until it returns a value other than undefined/null/false (20 s at most). */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | null | false,
  timeoutMs = 20000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function peerRow(handle: Running, name: string) {
  const row = handle.speaker.status().peers.find((p) => p.name === name);
  if (row === undefined) throw new Error(`no peer ${name} on ${handle.node.name}`);
  return row;
}

export async function established(handle: Running, name: string): Promise<void> {
  await eventually(
    `${handle.node.name} → ${name} Established`,
    () => peerRow(handle, name).state === 'Established',
  );
}
