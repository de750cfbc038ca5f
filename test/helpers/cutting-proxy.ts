import net from 'node:net';

/**
 * A loopback TCP proxy in front of MariaDB that can cut a connection right after it forwarded the client's
 * COMMIT, before the server's answer comes back: the commit lands, the client only sees a lost connection.
 */
export class CuttingProxy {
  /** While true, the next COMMIT that passes cuts its connection. */
  cutAfterCommit = false;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<CuttingProxy> {
    let proxy: CuttingProxy | undefined;
    const server = net.createServer((client) => {
      const upstream = net.connect(target);
      proxy?.track(client, upstream);
      let cutting = false;
      upstream.on('data', (chunk) => {
        // The server has read the COMMIT and answered: drop both sides instead of passing its OK on.
        if (cutting) close();
        else client.write(chunk);
      });
      client.on('data', (chunk) => {
        if (proxy?.cutAfterCommit && isCommit(chunk)) {
          proxy.cutAfterCommit = false;
          cutting = true;
        }
        upstream.write(chunk);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new CuttingProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  private track(...sockets: net.Socket[]): void {
    for (const s of sockets) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A MySQL COM_QUERY packet (header of 4 bytes, then 0x03) whose text is COMMIT. */
function isCommit(chunk: Buffer): boolean {
  return chunk.length >= 5 && chunk[4] === 0x03 && chunk.subarray(5).toString('utf8').trim().toUpperCase() === 'COMMIT';
}
