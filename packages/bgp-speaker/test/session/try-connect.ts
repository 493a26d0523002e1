// Test helper: one TCP connection attempt, reduced to what listener tests assert on — 'connected' (then
// closed at once) or the connection error's code (ECONNREFUSED when nothing listens there).
import { connect, type Socket } from 'node:net';

/** Resolves 'connected' or the connection error's code. */
export function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
