/**
 * The byte stream a dock session runs over, as plainly as node-serialport's binding contract:
 * `open()` resolves when bytes can flow; `write()` resolves when the bytes have left this
 * process (drained), which is when FDP/1's resend timer starts; `close` says whether the other
 * side went away (`disconnected: true`: cable pulled, port gone, peer closed) or we closed it.
 */

import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { SerialPort } from 'serialport';

export interface TransportEvents {
  data: [Buffer];
  close: [{ disconnected: boolean; reason: string }];
}

export interface Transport extends EventEmitter<TransportEvents> {
  readonly description: string;
  open(): Promise<void>;
  write(bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

export class TransportError extends Error {
  constructor(
    readonly code: 'OPEN' | 'WRITE' | 'CLOSED',
    message: string,
  ) {
    super(message);
  }
}

/** A port from config: `tcp://host:port` for a serial device server, anything else a serial device path. */
export function transportFor(port: string, opts: { baudRate?: number } = {}): Transport {
  const tcp = /^tcp:\/\/([^:/]+):(\d+)$/.exec(port);
  if (tcp) return new TcpTransport(tcp[1]!, Number(tcp[2]));
  return new SerialTransport(port, opts.baudRate ?? 115_200);
}

/**
 * What both transports share: whether a close was ours or the other side's. A close we did not
 * ask for is a disconnect (cable pulled, device off, server gone), which the session reports.
 */
export abstract class ClosingTracker extends EventEmitter<TransportEvents> {
  private closing = false;

  protected beginOpen(): void {
    this.closing = false;
  }

  protected beginClose(): void {
    this.closing = true;
  }

  protected closed(reasonIfDisconnected: string): void {
    this.emit('close', { disconnected: !this.closing, reason: this.closing ? 'closed' : reasonIfDisconnected });
  }
}

export class SerialTransport extends ClosingTracker implements Transport {
  private port: SerialPort | null = null;

  constructor(
    readonly path: string,
    readonly baudRate: number,
  ) {
    super();
  }

  get description(): string {
    return `${this.path} @ ${this.baudRate} 8N1`;
  }

  open(): Promise<void> {
    this.beginOpen();
    return new Promise((resolve, reject) => {
      const port = new SerialPort({
        path: this.path,
        baudRate: this.baudRate,
        dataBits: 8,
        parity: 'none',
        stopBits: 1,
        autoOpen: false,
      });
      port.open((err) => {
        if (err) return reject(new TransportError('OPEN', `cannot open ${this.description}: ${err.message}`));
        this.port = port;
        port.on('data', (d: Buffer) => this.emit('data', d));
        port.on('close', (e: Error | null) => {
          this.port = null;
          this.closed(e?.message ?? 'port closed');
        });
        port.on('error', () => undefined);
        resolve();
      });
    });
  }

  write(bytes: Buffer): Promise<void> {
    const port = this.port;
    if (!port) return Promise.reject(new TransportError('CLOSED', `${this.path} is not open`));
    return new Promise((resolve, reject) => {
      port.write(bytes, (err) => {
        if (err) return reject(new TransportError('WRITE', `write to ${this.path} failed: ${err.message}`));
        port.drain((e) =>
          e ? reject(new TransportError('WRITE', `drain of ${this.path} failed: ${e.message}`)) : resolve(),
        );
      });
    });
  }

  close(): Promise<void> {
    const port = this.port;
    if (!port) return Promise.resolve();
    this.beginClose();
    return new Promise((resolve) => port.close(() => resolve()));
  }
}

export class TcpTransport extends ClosingTracker implements Transport {
  private socket: Socket | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super();
  }

  get description(): string {
    return `tcp://${this.host}:${this.port}`;
  }

  open(): Promise<void> {
    this.beginOpen();
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: this.host, port: this.port, noDelay: true });
      socket.once('error', (err) =>
        reject(new TransportError('OPEN', `cannot connect to ${this.description}: ${err.message}`)),
      );
      socket.once('connect', () => {
        this.socket = socket;
        socket.removeAllListeners('error');
        socket.on('error', () => undefined);
        socket.on('data', (d) => this.emit('data', d));
        socket.on('close', () => {
          this.socket = null;
          this.closed('peer closed the connection');
        });
        resolve();
      });
    });
  }

  write(bytes: Buffer): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new TransportError('CLOSED', `${this.description} is not connected`));
    return new Promise((resolve, reject) =>
      socket.write(bytes, (err) =>
        err ? reject(new TransportError('WRITE', `write to ${this.description} failed: ${err.message}`)) : resolve(),
      ),
    );
  }

  close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.resolve();
    this.beginClose();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 500).unref();
    });
  }
}
