// The route sender of the bgpd benchmark (not a benchmark itself: bench/run only runs *.bench.js). Run
// inside the sender's namespace, it connects to the receiver under test, opens a session with our codec
// (OPEN with 4-octet AS, MP IPv4 unicast, route refresh), then writes COUNT distinct IPv4 prefixes packed
// into as few UPDATEs as possible (one shared attribute set, encoded before connecting, so the sender's own
// speed is out of the measurement), then End-of-RIB, and keeps the session up with KEEPALIVEs until it is
// killed. It prints one JSON line per event with wall-clock times (ms since the epoch, sub-ms precision).
//
//   node bgpd-sender.js --connect 10.88.1.2 --local 10.88.1.1 --as 65100 --peer-as 65200 --count 100000
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import {
  type BgpCodecContext,
  BgpFramer,
  type BgpPrefix,
  encodeBgpMessage,
  makeUpdate,
  packUpdates,
  parseIpv4,
} from '@caracal/bgp-speaker';

const now = () => performance.timeOrigin + performance.now();
const say = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, at: now(), ...fields })}\n`);

const { values } = parseArgs({
  options: {
    connect: { type: 'string' },
    local: { type: 'string' },
    as: { type: 'string', default: '65100' },
    'peer-as': { type: 'string' },
    'router-id': { type: 'string' },
    count: { type: 'string', default: '100000' },
    first: { type: 'string', default: '20.0.0.0' },
    length: { type: 'string', default: '24' },
    'hold-time': { type: 'string', default: '240' },
  },
});

function required(name: string, value: string | undefined): string {
  if (value === undefined) throw new Error(`bgpd-sender: missing --${name}`);
  return value;
}

const target = required('connect', values.connect);
const local = required('local', values.local);
const asNumber = Number(values.as);
const count = Number(values.count);
const length = Number(values.length);
const holdTime = Number(values['hold-time']);
if (!Number.isInteger(count) || count <= 0)
  throw new Error(`bgpd-sender: --count must be a positive integer, got ${values.count}`);
if (!Number.isInteger(length) || length < 8 || length > 32)
  throw new Error(`bgpd-sender: --length must be 8..32, got ${values.length}`);

const context: BgpCodecContext = { as4: true };
const step = 2 ** (32 - length);
const first = parseIpv4(values.first);
const prefixes: BgpPrefix[] = new Array(count);
for (let i = 0; i < count; i++) prefixes[i] = { afi: 1, address: (first + i * step) >>> 0, length };
const updates = packUpdates(
  {
    attributes: [
      { kind: 'origin', value: 0 },
      { kind: 'as-path', segments: [{ type: 2, asns: [asNumber] }] },
      { kind: 'next-hop', address: parseIpv4(local) },
    ],
    announced: prefixes,
  },
  context,
);
const updateBytes = updates.reduce((sum, u) => sum + u.length, 0);
say('encoded', { prefixes: count, updates: updates.length, bytes: updateBytes });

async function connectWithRetry(): Promise<Socket> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect({ host: target, port: 179, localAddress: local });
        socket.once('connect', () => resolve(socket));
        socket.once('error', reject);
      });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const socket = await connectWithRetry();
socket.setNoDelay(true);
say('connected');
const framer = new BgpFramer(context);
let gotOpen = false;
let established = false;
const write = (bytes: Uint8Array) => (socket.writable ? socket.write(bytes) : true);

async function sendAll(): Promise<void> {
  for (const update of updates) {
    if (!write(update)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  say('sent', { updates: updates.length, bytes: updateBytes });
  write(encodeBgpMessage(makeUpdate({}), context)); // End-of-RIB (IPv4 unicast)
}

socket.on('data', (chunk: Buffer) => {
  for (const bytes of framer.push(chunk)) {
    const type = bytes[18];
    if (type === 1) gotOpen = true;
    else if (type === 3) {
      say('notification', { code: bytes[19], subcode: bytes[20] });
    } else if (type === 4 && gotOpen && !established) {
      established = true;
      write(encodeBgpMessage({ type: 'keepalive' }, context));
      say('established');
      void sendAll();
    }
  }
});
socket.on('close', () => {
  say('closed');
  process.exit(0);
});
socket.on('error', (error) => say('error', { message: error.message }));
write(
  encodeBgpMessage(
    {
      type: 'open',
      version: 4,
      myAs: asNumber > 0xffff ? 23456 : asNumber,
      holdTime,
      bgpIdentifier: values['router-id'] ?? local,
      optionalParameters: [
        {
          type: 2,
          capabilities: [
            { kind: 'multiprotocol', afi: 1, safi: 1 },
            { kind: 'route-refresh', code: 2 },
            { kind: 'four-octet-as', asn: asNumber },
          ],
        },
      ],
    },
    context,
  ),
);
setInterval(() => write(encodeBgpMessage({ type: 'keepalive' }, context)), (holdTime / 3) * 1000);
process.on('SIGTERM', () => {
  socket.destroy();
  process.exit(0);
});
