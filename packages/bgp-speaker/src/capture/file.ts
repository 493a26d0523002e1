// Streaming file input for captures: reads a pcap/pcapng file (gzipped or not, detected by magic) chunk
// by chunk and yields its frames, so large captures are never held in memory whole.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { type CapturedFrame, CaptureFrameParser, detectInputKind, type InputKind } from './pcap.js';

/** The kind of a file judged by its first bytes, looking inside gzip. */
export async function detectFileKind(
  path: string,
): Promise<{ readonly kind: InputKind; readonly gzipped: boolean }> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(32);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const kind = detectInputKind(head.subarray(0, bytesRead));
    if (kind !== 'gzip') return { kind, gzipped: false };
  } finally {
    await handle.close();
  }
  const stream = createReadStream(path).pipe(createGunzip());
  let head = new Uint8Array(0);
  for await (const chunk of stream) {
    head = new Uint8Array([...head, ...(chunk as Buffer).subarray(0, 32 - head.length)]);
    if (head.length >= 32) break;
  }
  stream.destroy();
  return { kind: detectInputKind(head), gzipped: true };
}

/** Yields the frames of a capture file; `onBytes` reports progress in (compressed) file bytes read. */
export async function* readCaptureFrames(
  path: string,
  onBytes?: (bytesRead: number) => void,
): AsyncGenerator<CapturedFrame> {
  const { gzipped } = await detectFileKind(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  let bytesRead = 0;
  file.on('data', (chunk) => {
    bytesRead += chunk.length;
    onBytes?.(bytesRead);
  });
  const source = gzipped ? file.pipe(createGunzip()) : file;
  const parser = new CaptureFrameParser();
  for await (const chunk of source) {
    const bytes = chunk as Buffer;
    yield* parser.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  parser.finish();
}
