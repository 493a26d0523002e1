// A TCP forwarder for tests of any package: lets processes in a network namespace reach a TestEtcd that
// listens on the root namespace's 127.0.0.1 (listen on a veth address, forward to loopback). close() cuts
// every forwarded connection, so a test can also simulate the datastore becoming unreachable and listen()
// again to bring it back.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpForwarder {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: { readonly host: string; readonly port: number }) {}

  /** Starts accepting on `address:port` (again, after close()). */
  async listen(address: string, port: number): Promise<void> {
    if (this.server !== undefined) throw new Error(`TcpForwarder already listens on ${address}:${port}`);
    const server = createServer((socket) => this.forward(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting and destroys every forwarded connection (both sides). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private forward(socket: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    const done = () => {
      socket.destroy();
      upstream.destroy();
      this.sockets.delete(socket);
      this.sockets.delete(upstream);
    };
    socket.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
  }
}
