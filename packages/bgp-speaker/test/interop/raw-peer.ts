// A raw BGP test peer for the interop lab tests: a plain Node TCP client that speaks through our codec
// (OPEN, KEEPALIVE, UPDATE encoders; framer and decoder for what comes back) and can also send crafted,
// deliberately malformed bytes that no correct encoder would produce. It records every message it
// receives, answers nothing but KEEPALIVEs, and reports the NOTIFICATION and the close it gets.
import { connect, type Socket } from 'node:net';
import {
  type BgpCapability,
  type BgpCodecContext,
  BgpFramer,
  type BgpMessage,
  type BgpNotification,
  type BgpPathAttribute,
  decodeBgpMessage,
  encodeBgpMessage,
  makeUpdate,
  parseIpv4,
  parsePrefix,
} from '../../src/codec/index.js';

export interface RawPeerOptions {
  readonly host: string;
  readonly port?: number;
  readonly localAddress?: string;
  readonly asNumber: number;
  readonly routerId: string;
  readonly holdTime: number;
  readonly families?: readonly { readonly afi: number; readonly safi: number }[];
  readonly extraCapabilities?: readonly BgpCapability[];
}

export const RAW_PEER_CONTEXT: BgpCodecContext = { as4: true };

/** The OPEN a raw peer sends: 4-octet AS (AS_TRANS in My AS when needed), MP, route refresh. */
export function rawPeerOpen(options: RawPeerOptions): BgpMessage {
  const families = options.families ?? [{ afi: 1, safi: 1 }];
  const capabilities: BgpCapability[] = [
    ...families.map((f) => ({ kind: 'multiprotocol' as const, afi: f.afi, safi: f.safi })),
    { kind: 'route-refresh', code: 2 },
    { kind: 'four-octet-as', asn: options.asNumber },
    ...(options.extraCapabilities ?? []),
  ];
  return {
    type: 'open',
    version: 4,
    myAs: options.asNumber > 0xffff ? 23456 : options.asNumber,
    holdTime: options.holdTime,
    bgpIdentifier: options.routerId,
    optionalParameters: [{ type: 2, capabilities }],
  };
}

/** ORIGIN IGP, AS_PATH (one AS_SEQUENCE), NEXT_HOP: the well-known mandatory attributes. */
export function basicAttributes(asPath: readonly number[], nextHop: string): BgpPathAttribute[] {
  return [
    { kind: 'origin', value: 0 },
    { kind: 'as-path', segments: asPath.length ? [{ type: 2, asns: asPath }] : [] },
    { kind: 'next-hop', address: parseIpv4(nextHop) },
  ];
}

/** An encoded UPDATE announcing IPv4 `prefixes` with `attributes`. */
export function announceBytes(
  prefixes: readonly string[],
  attributes: readonly BgpPathAttribute[],
): Uint8Array {
  return encodeBgpMessage(
    makeUpdate({ attributes, nlri: prefixes.map((p) => parsePrefix(p)) }),
    RAW_PEER_CONTEXT,
  );
}

/** An encoded UPDATE withdrawing IPv4 `prefixes`. */
export function withdrawBytes(prefixes: readonly string[]): Uint8Array {
  return encodeBgpMessage(makeUpdate({ withdrawn: prefixes.map((p) => parsePrefix(p)) }), RAW_PEER_CONTEXT);
}

export class RawBgpPeer {
  readonly received: BgpMessage[] = [];
  /** Resolves when the TCP connection is closed (by either side), with the reason if there was one. */
  readonly closed: Promise<string>;
  private readonly framer = new BgpFramer(RAW_PEER_CONTEXT);
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private open = true;
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly socket: Socket,
    readonly options: RawPeerOptions,
  ) {
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.open = false;
        if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
        this.notify();
        resolve('closed');
      });
    });
    socket.on('error', () => {
      // Reported through 'close'.
    });
    socket.on('data', (chunk: Buffer) => {
      for (const bytes of this.framer.push(chunk))
        this.received.push(decodeBgpMessage(bytes, RAW_PEER_CONTEXT));
      this.notify();
    });
  }

  /** Connects, sends OPEN, waits for the speaker's OPEN and KEEPALIVE, answers KEEPALIVE: Established. */
  static async connect(options: RawPeerOptions, timeoutMs = 30_000): Promise<RawBgpPeer> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({
        host: options.host,
        port: options.port ?? 179,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const peer = new RawBgpPeer(socket, options);
    peer.send(encodeBgpMessage(rawPeerOpen(options), RAW_PEER_CONTEXT));
    await peer.waitFor('the speaker’s OPEN', (m) => m.type === 'open', timeoutMs);
    await peer.waitFor('the speaker’s KEEPALIVE', (m) => m.type === 'keepalive', timeoutMs);
    peer.send(encodeBgpMessage({ type: 'keepalive' }, RAW_PEER_CONTEXT));
    const interval = Math.max(1, Math.floor(options.holdTime / 3)) * 1000;
    peer.keepaliveTimer = setInterval(() => {
      if (peer.open) peer.send(encodeBgpMessage({ type: 'keepalive' }, RAW_PEER_CONTEXT));
    }, interval);
    return peer;
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(bytes: Uint8Array): void {
    if (this.open) this.socket.write(bytes);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Waits for a received message matching `predicate` (also one received before the call). */
  waitFor(
    description: string,
    predicate: (message: BgpMessage) => boolean,
    timeoutMs = 30_000,
  ): Promise<BgpMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.find(predicate);
        if (found) {
          finish();
          resolve(found);
        } else if (!this.open) {
          finish();
          reject(new Error(`connection closed before ${description}; received ${this.summary()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${description}; received ${this.summary()}`),
        );
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** The NOTIFICATION received, if any. */
  notification(): BgpNotification | undefined {
    return this.received.find((m): m is BgpNotification => m.type === 'notification');
  }

  /** Message types received, in order, for failure messages. */
  summary(): string {
    return this.received
      .map((m) => (m.type === 'notification' ? `notification ${m.code}/${m.subcode}` : m.type))
      .join(', ');
  }

  close(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.socket.destroy();
  }
}
