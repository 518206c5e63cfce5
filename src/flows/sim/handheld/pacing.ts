import type { Transport } from '../../../../adapters/handheld-serial/transport.js';

/**
 * Makes a transport's writes take the time a UART at `baud` (8N1: 10 bits a byte) would need,
 * and resolve when the last byte "left the line", as a real serial drain does. A PTY or a socket
 * is otherwise far faster than any hand-held's cable.
 */
export function paceWrites(transport: Transport, baud: number): void {
  const bytesPerMs = baud / 10 / 1000;
  const write = transport.write.bind(transport);
  // One write on the line at a time: the next starts when the last byte of this one went out.
  let line: Promise<void> = Promise.resolve();
  transport.write = (bytes: Buffer) => {
    const sent = line.then(async () => {
      await write(bytes);
      await new Promise((r) => setTimeout(r, bytes.length / bytesPerMs));
    });
    line = sent.catch(() => undefined);
    return sent;
  };
}
