// A TCP port free on an address right now, for tests and benches that start daemons on ports chosen at run
// time (so that runs on one machine never collide): bound with port 0, read back, released.

import { createServer } from 'node:net';

/** A TCP port the kernel hands out on `address` now (bound, then released); throws when it cannot bind. */
export async function freeTcpPort(address: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const bound = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof bound !== 'object' || bound === null)
    throw new Error(`freeTcpPort: no port bound on ${address}`);
  return bound.port;
}
