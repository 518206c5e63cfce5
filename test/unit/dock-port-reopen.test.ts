import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameType } from '../../adapters/handheld-serial/codec/frame.js';
import { encodeMessage } from '../../adapters/handheld-serial/codec/messages.js';
import { DockPort, type DockPortOptions } from '../../adapters/handheld-serial/dock-port.js';
import type { Transport, TransportEvents } from '../../adapters/handheld-serial/transport.js';

/**
 * Fault suite finding "two reopens": after a pulled cable the port reported its end twice (the
 * disconnect, then a failed write with EIO). Each report scheduled a reopen; the second open found
 * the first holding the port's lock ("Cannot lock port") and retried with backoff for as long as
 * the gateway ran, the dock shown as reopening while a hand-held was docked on it.
 */
class FakePort extends EventEmitter<TransportEvents> implements Transport {
  readonly description = 'fake';
  isOpen = false;
  constructor(private readonly opens: { count: number; locked: number }) {
    super();
  }
  async open(): Promise<void> {
    this.opens.count++;
    if (FakePort.held) {
      this.opens.locked++;
      throw new Error('Error Resource temporarily unavailable Cannot lock port');
    }
    FakePort.held = true;
    this.isOpen = true;
  }
  write: (bytes: Buffer) => Promise<void> = async () => undefined;
  async close(): Promise<void> {
    if (this.isOpen) FakePort.held = false;
    this.isOpen = false;
  }
  /** The cable pulled: the lock goes with the device, and the port says so twice. */
  pull(): void {
    FakePort.held = false;
    this.isOpen = false;
    this.emit('close', { disconnected: true, reason: 'port closed' });
    this.emit('close', { disconnected: true, reason: 'EIO: i/o error, write' });
  }
  static held = false;
}

function portOptions(openTransport: () => Transport, pingAfterMs = 2000): DockPortOptions {
  return {
    name: 'dock1',
    port: '/dev/fake',
    baudRate: 115_200,
    maxFrame: 1024,
    window: 8,
    ackTimeoutMs: 1000,
    pingAfterMs,
    replyTimeoutMs: 5000,
    reopenMinMs: 20,
    reopenMaxMs: 200,
    random: () => 0.5,
    zone: 'America/Chicago',
    retryAfterSeconds: 30,
    openTransport,
  };
}

describe('dock port reopening', () => {
  let port: DockPort | null = null;
  afterEach(async () => {
    await port?.stop();
    FakePort.held = false;
  });

  it('fault finding two reopens: reopens once after a port reports its end twice, and holds it', async () => {
    const opens = { count: 0, locked: 0 };
    const made: FakePort[] = [];
    port = new DockPort(
      portOptions(() => {
        const t = new FakePort(opens);
        made.push(t);
        return t;
      }),
      { admit: async () => null, run: async () => undefined },
    );
    await port.start();
    expect(port.phase).toBe('waiting');
    made[0]!.pull();
    await new Promise((r) => setTimeout(r, 400));
    expect(opens).toEqual({ count: 2, locked: 0 });
    expect(port.phase).toBe('waiting');
  });

  // Fault suite finding "WELCOME to a pulled cable": writing WELCOME failed with EIO, the session's
  // promise rejected with nobody listening, and the gateway ended on the unhandled rejection.
  it(
    'fault finding WELCOME to a pulled cable: a session that cannot begin is reported as lost, not ' + 'thrown',
    async () => {
      const opens = { count: 0, locked: 0 };
      let made: FakePort | null = null;
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        port = new DockPort(
          portOptions(() => {
            made = new FakePort(opens);
            // Every write fails as on a pulled cable; the port has not said so yet.
            made.write = () => Promise.reject(new Error('write to /dev/fake failed: EIO: i/o error, write'));
            return made;
          }),
          { admit: async () => null, run: async () => undefined },
        );
        const lost = new Promise<string>((resolve) => port!.once('lost', (reason) => resolve(reason)));
        await port.start();
        const hello = encodeMessage(FrameType.HELLO, {
          device: 'HH-0001',
          model: 'SIM',
          fw: '1',
          battery: 80,
          proto: 1,
          maxFrame: 1024,
          window: 8,
          routes: [],
        });
        made!.emit('data', encodeFrame({ type: FrameType.HELLO, seq: 0, payload: hello }));
        expect(await lost).toMatch(
          /session could not begin: (transport write failed: )?write to \/dev\/fake failed: EIO/,
        );
        await new Promise((r) => setTimeout(r, 50));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    },
  );

  // Fault suite finding "port dead as it opened": a PTY pulled just as the gateway opened it
  // reported no close (its reads end quietly on a hung-up terminal; only a write fails). The dock
  // waited on it for good while the hand-held said HELLO on the new one: nothing was docked again.
  it(
    'fault finding port dead as it opened: a dock waiting for HELLO probes the line, ' + 'and a failed probe reopens',
    async () => {
      const opens = { count: 0, locked: 0 };
      const made: FakePort[] = [];
      const written: Buffer[] = [];
      port = new DockPort(
        portOptions(() => {
          const t = new FakePort(opens);
          const dead = made.length === 0;
          t.write = async (bytes: Buffer) => {
            if (!dead) {
              written.push(bytes);
              return;
            }
            // As serialport does: the failed write closes the port, then the write's caller hears of it.
            await t.close();
            t.emit('close', { disconnected: true, reason: 'EIO: i/o error, write' });
            throw new Error('write to /dev/fake failed: EIO: i/o error, write');
          };
          made.push(t);
          return t;
        }, 100),
        { admit: async () => null, run: async () => undefined },
      );
      await port.start();
      expect(port.phase).toBe('waiting');
      await new Promise((r) => setTimeout(r, 600));
      expect(opens.count).toBe(2);
      expect(port.phase).toBe('waiting');
      // The port that works is probed while it waits with empty SLIP frames only (a receiver ignores them).
      expect(written.length).toBeGreaterThanOrEqual(2);
      expect(written.every((bytes) => bytes.equals(Buffer.from([0xc0])))).toBe(true);
    },
  );
});
