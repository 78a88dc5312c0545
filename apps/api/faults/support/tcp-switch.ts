import { createServer, Server, Socket } from 'node:net';
import { freePort } from '@keeper/test-support';

/**
 * A TCP port in front of a server (the sandbox standing in for Amazon):
 * - `forward`: every connection is piped to the target;
 * - `refuse`: nothing listens (connection refused: the host is down);
 * - `hold`: connections are accepted and what they send is swallowed, never forwarded and
 *   never answered (a request that has left the API but never reached Amazon).
 * Switching mode destroys every open connection, as a network cut would.
 */
export class TcpSwitch {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private currentMode: 'forward' | 'refuse' | 'hold' = 'refuse';
  /** Connections accepted in `hold` mode that sent at least one byte. */
  heldRequests = 0;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async create(target: {
    host: string;
    port: number;
  }): Promise<TcpSwitch> {
    return new TcpSwitch(await freePort(), target);
  }

  get mode() {
    return this.currentMode;
  }

  url(path = ''): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async set(mode: 'forward' | 'refuse' | 'hold'): Promise<void> {
    this.cutAll();
    this.currentMode = mode;
    if (mode === 'refuse') {
      await this.closeServer();
      return;
    }
    if (this.server) return;
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((done) =>
      this.server?.listen(this.port, '127.0.0.1', done),
    );
  }

  private accept(client: Socket): void {
    this.track(client);
    if (this.currentMode === 'hold') {
      client.once('data', () => {
        this.heldRequests += 1;
      });
      client.resume();
      return;
    }
    const upstream = new Socket();
    this.track(upstream);
    upstream.connect(this.target.port, this.target.host);
    client.pipe(upstream).pipe(client);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  private cutAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise((done) => server.close(done));
  }

  async close(): Promise<void> {
    this.cutAll();
    await this.closeServer();
  }
}
