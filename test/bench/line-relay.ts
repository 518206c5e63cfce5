import type { Transport } from '../../adapters/handheld-serial/transport.js';

/**
 * Joins two transports like a serial line: bytes are paced at `baud` (8N1: 10 bits a byte) and
 * may be damaged on the way, so throughput and recovery can be measured on one machine.
 * `corruptFrameFraction` flips one byte in that fraction of SLIP frames (dock-protocol.md reads
 * "1% corrupted" as 1% of frames).
 */
export interface RelayOptions {
  baud?: number;
  corruptFrameFraction?: number;
  seed?: number;
}

export interface Relay {
  stats: { bytes: number; corruptedFrames: number };
  stop(): void;
}

export function relay(left: Transport, right: Transport, opts: RelayOptions = {}): Relay {
  const stats = { bytes: 0, corruptedFrames: 0 };
  let state = (opts.seed ?? 1) >>> 0;
  const random = () => (state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296;
  const bytesPerSecond = opts.baud ? opts.baud / 10 : Infinity;
  let stopped = false;

  const pipe = (from: Transport, to: Transport) => {
    const queue: Buffer[] = [];
    let busy = false;
    let damageNext = false;
    const pump = async () => {
      if (busy) return;
      busy = true;
      const started = Date.now();
      let sent = 0;
      while (queue.length > 0 && !stopped) {
        const chunk = queue.shift()!;
        if (opts.corruptFrameFraction) {
          for (let i = 0; i < chunk.length; i++) {
            if (chunk[i] === 0xc0) damageNext = random() < opts.corruptFrameFraction;
            else if (damageNext) {
              chunk[i] = chunk[i]! ^ 0x01;
              damageNext = false;
              stats.corruptedFrames++;
            }
          }
        }
        await to.write(chunk).catch(() => undefined);
        stats.bytes += chunk.length;
        sent += chunk.length;
        if (Number.isFinite(bytesPerSecond)) {
          const due = started + (sent / bytesPerSecond) * 1000;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      }
      busy = false;
    };
    from.on('data', (bytes) => {
      // Pace in small slices so a burst does not arrive at once.
      for (let i = 0; i < bytes.length; i += 64) queue.push(Buffer.from(bytes.subarray(i, i + 64)));
      void pump();
    });
  };
  pipe(left, right);
  pipe(right, left);
  return { stats, stop: () => void (stopped = true) };
}
