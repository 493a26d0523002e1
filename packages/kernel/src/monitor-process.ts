// The rtnetlink events monitor as a child process of its own (spawned by events-monitor.ts): it joins the
// LINK, IPV4_ROUTE and IPV6_ROUTE multicast groups and forwards every datagram the kernel sends, untouched,
// to its stdout as a frame: a 4-byte little-endian length, then the datagram. An empty frame (length 0)
// says the memberships are in place; a frame of length 0xFFFFFFFF (no payload) says recvmsg reported an
// overrun (ENOBUFS) and notifications were lost. It decodes nothing: the parent does (route-message.ts).
// Why a process: when the kernel overruns a netlink socket (ENOBUFS: route changes arrive faster than the
// socket is read, e.g. another process's `ip -batch` of 50,000 routes), the `netlink` package (0.3.0)
// either reports it as an `error` event from recvmsg (handled above) or, when poll sees it first, aborts
// the whole process (`terminate called after throwing an instance of 'Napi::Error'`: its poll
// callback builds an error with a NULL syscall name). Here that kills only this process; the parent sees it
// exit, starts another one and tells its subscribers that events were lost (a `resync` event).
// Arguments: the SO_RCVBUF to ask for, and the most stdout bytes to hold while the parent does not read
// (beyond that the events would be stale anyway: this process exits with EXIT_PARENT_TOO_SLOW).

import { Socket } from 'node:net';
import { Protocol, RawNetlinkSocket, rt } from 'netlink';
import {
  EXIT_BAD_ARGUMENTS,
  EXIT_PARENT_TOO_SLOW,
  EXIT_SOCKET_ERROR,
  LOST_FRAME_LENGTH,
} from './events-monitor.js';

/** Bytes of frames collected before one write to the parent. */
const BATCH_BYTES = 256 * 1024;

function main(args: readonly string[]): void {
  const receiveBufferBytes = Number(args[0]);
  const maxBacklogBytes = Number(args[1]);
  if (!Number.isInteger(receiveBufferBytes) || receiveBufferBytes <= 0) {
    process.stderr.write(`receive buffer bytes must be a positive integer, got ${JSON.stringify(args[0])}\n`);
    process.exit(EXIT_BAD_ARGUMENTS);
  }
  if (!Number.isInteger(maxBacklogBytes) || maxBacklogBytes <= 0) {
    process.stderr.write(`max backlog bytes must be a positive integer, got ${JSON.stringify(args[1])}\n`);
    process.exit(EXIT_BAD_ARGUMENTS);
  }
  // Not process.stdout: a pipe there is written synchronously, so a parent that is busy would stall our
  // reads of the netlink socket; this socket queues in memory instead (bounded by maxBacklogBytes).
  const out = new Socket({ fd: 1, readable: false, writable: true });
  out.on('error', () => process.exit(0)); // the parent is gone
  process.stdin.on('end', () => process.exit(0)); // the parent is gone, or closed us
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();

  const monitor = new RawNetlinkSocket(Protocol.ROUTE, {
    recvBufferSize: receiveBufferBytes,
    sendBufferSize: 0,
  });
  for (const group of ['LINK', 'IPV4_ROUTE', 'IPV6_ROUTE'] as const) {
    monitor.addMembership(rt.MulticastGroups[group]);
  }
  // Frames are copied into one buffer for the rest of the event-loop turn (the package hands over up to 32
  // datagrams per wake-up) and written with one call: a bulk install of 100k routes is 100k datagrams, and
  // two stream writes per datagram cost more than reading them.
  let batch = Buffer.allocUnsafe(BATCH_BYTES);
  let batched = 0;
  let writeScheduled = false;
  const writeBatch = () => {
    writeScheduled = false;
    if (batched === 0) return;
    out.write(batch.subarray(0, batched));
    batch = Buffer.allocUnsafe(BATCH_BYTES);
    batched = 0;
    if (out.writableLength > maxBacklogBytes) {
      process.stderr.write(`parent did not read ${out.writableLength} bytes of events\n`);
      process.exit(EXIT_PARENT_TOO_SLOW);
    }
  };
  const send = (length: number, datagram?: Buffer) => {
    const size = 4 + (datagram?.length ?? 0);
    if (batched + size > batch.length) {
      writeBatch();
      if (size > batch.length) batch = Buffer.allocUnsafe(size);
    }
    batch.writeUInt32LE(length, batched);
    if (datagram) datagram.copy(batch, batched + 4);
    batched += size;
    if (!writeScheduled) {
      writeScheduled = true;
      setImmediate(writeBatch);
    }
  };
  monitor.on('message', (datagram: Buffer) => send(datagram.length, datagram));
  monitor.on('error', (error: Error & { code?: string }) => {
    if (error.code === 'ENOBUFS') {
      // recvmsg reported the overrun (the kernel dropped notifications) and cleared it: the socket goes on.
      // Tell the parent, which resyncs. (When poll reports it first instead, the package aborts us.)
      send(LOST_FRAME_LENGTH);
      return;
    }
    process.stderr.write(`netlink monitor socket: ${error.message}\n`);
    process.exit(EXIT_SOCKET_ERROR);
  });
  out.write(Buffer.alloc(4)); // ready: every change from now on is forwarded
}

main(process.argv.slice(2));
