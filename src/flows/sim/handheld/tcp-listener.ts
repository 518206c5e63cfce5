import { createServer, type Server, type Socket } from 'node:net';
import { ClosingTracker, TransportError, type Transport } from '../../../../adapters/handheld-serial/transport.js';

/**
 * The simulator's side of `tcp://host:port`: it plays the hand-held behind a serial device
 * server, so it listens and the gateway connects. `open()` resolves when the gateway connects;
 * after the gateway goes away, the next `open()` waits for it to come back.
 */
export class TcpListenTransport extends ClosingTracker implements Transport {
  private server: Server | null = null;
  private socket: Socket | null = null;
  private waiting: Socket[] = [];
  private accept: ((s: Socket) => void) | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super();
  }

  get description(): string {
    return `listening on tcp://${this.host}:${this.port}`;
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const server = createServer({ noDelay: true }, (socket) => {
      if (this.accept) {
        const take = this.accept;
        this.accept = null;
        take(socket);
      } else this.waiting.push(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(new TransportError('OPEN', `cannot listen on ${this.host}:${this.port}: ${e.message}`)),
      );
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
  }

  async open(): Promise<void> {
    this.beginOpen();
    await this.listen();
    const socket = this.waiting.shift() ?? (await new Promise<Socket>((resolve) => (this.accept = resolve)));
    this.socket = socket;
    socket.on('error', () => undefined);
    socket.on('data', (d) => this.emit('data', d));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      this.closed('the gateway closed the connection');
    });
  }

  write(bytes: Buffer): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new TransportError('CLOSED', 'no gateway connected'));
    return new Promise((resolve, reject) =>
      socket.write(bytes, (err) => (err ? reject(new TransportError('WRITE', err.message)) : resolve())),
    );
  }

  /** Drops the connection (a pulled cable); the listener stays for the next one. */
  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    this.beginClose();
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  async shutdown(): Promise<void> {
    await this.close();
    for (const s of this.waiting.splice(0)) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
