// A TCP proxy in front of a real server, for fault injection: it counts client->server chunks
// containing a marker, and can be armed to cut the connection right after forwarding such a chunk
// (the request reached the server, the answer never comes back).
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  /** Client->server chunks that contained the marker. */
  seen = 0;
  /** When true, the next chunk with the marker is forwarded and then both sides are closed. */
  cutNext = false;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly targetPort: number,
    private readonly marker: Buffer,
  ) {
    this.server = createServer((client) => this.onClient(client));
  }

  static async start(targetPort: number, marker: string): Promise<TcpProxy> {
    const p = new TcpProxy(targetPort, Buffer.from(marker));
    await new Promise<void>((res) => p.server.listen(0, '127.0.0.1', res));
    return p;
  }

  get url(): string {
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('not listening');
    return `http://127.0.0.1:${addr.port}`;
  }

  private onClient(client: Socket): void {
    const upstream = connect(this.targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    upstream.on('data', (b) => client.write(b));
    client.on('data', (b: Buffer) => {
      if (b.includes(this.marker)) {
        this.seen++;
        if (this.cutNext) {
          this.cutNext = false;
          upstream.end(b); // the request reaches the server...
          client.destroy(); // ...but the client never hears back
          return;
        }
      }
      upstream.write(b);
    });
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}
