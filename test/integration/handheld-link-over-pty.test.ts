import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { readData } from '../../adapters/handheld-serial/codec/frame.js';
import { frameLink } from '../../adapters/handheld-serial/framed-link.js';
import { SerialTransport, type Transport } from '../../adapters/handheld-serial/transport.js';
import { relay } from '../bench/line-relay.js';
import { ptyPair, type PtyPair } from '../helpers/pty.js';

/**
 * Codec + reliable link + serial transport together, over two real PTY pairs joined by a relay
 * that damages frames on the way: every chunk arrives once, in order, and the damage is repaired
 * by resends.
 */
describe('FDP/1 over a real serial line', () => {
  const cleanup = cleanupAfterEach();

  async function line(corruptFrameFraction: number, ackTimeoutMs = corruptFrameFraction === 0 ? 30_000 : 300) {
    const gatewaySide = await ptyPair();
    const deviceSide = await ptyPair();
    const ports: Transport[] = [gatewaySide.a, gatewaySide.b, deviceSide.a, deviceSide.b].map(
      (p) => new SerialTransport(p, 115_200),
    );
    for (const p of ports) await p.open();
    cleanup.push(async () => {
      for (const p of ports) await p.close();
      await gatewaySide.pull();
      await deviceSide.pull();
    });
    const wire = relay(ports[1]!, ports[2]!, { corruptFrameFraction, seed: 7 });
    cleanup.push(async () => wire.stop());
    // On a clean line a resend can only come from an ACK late past its timer (a loaded CI
    // machine): a timer no ACK misses makes "no resend on a clean line" hold every run. On a
    // damaged line the short timer repairs what NAKs do not (a damaged last frame).
    const gateway = frameLink(ports[0]!, { ackTimeoutMs });
    const device = frameLink(ports[3]!, { ackTimeoutMs });
    return { gateway, device, wire, pairs: [gatewaySide, deviceSide] as PtyPair[] };
  }

  it.each([0, 0.01, 0.05])('moves 200 full frames intact at %s of frames corrupted', async (fraction) => {
    const { gateway, device, wire } = await line(fraction);
    // A DATA payload is a 4-byte offset and the bytes: a full frame carries maxFrame − 4.
    const CHUNK = 1024 - 4;
    const file = Buffer.alloc(200 * CHUNK);
    // Every byte value, END and ESC included.
    for (let i = 0; i < file.length; i++) file[i] = (i * 31 + (i >> 10)) & 0xff;
    const received = Buffer.alloc(file.length);
    const offsets: number[] = [];
    device.link.on('message', (f) => {
      const d = readData(f.payload);
      if (d instanceof Error) return;
      d.bytes.copy(received, d.offset);
      offsets.push(d.offset);
    });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        gateway.link.sendData(i * CHUNK, file.subarray(i * CHUNK, (i + 1) * CHUNK)),
      ),
    );
    expect(offsets).toEqual(Array.from({ length: 200 }, (_, i) => i * CHUNK));
    expect(received.equals(file)).toBe(true);
    if (fraction === 0) expect(gateway.link.resent).toBe(0);
    else {
      expect(wire.stats.corruptedFrames).toBeGreaterThan(0);
      expect(gateway.link.resent).toBeGreaterThan(0);
      expect(device.link.dropped).toBeGreaterThan(0);
    }
  });

  it('fails waiting sends when the cable is pulled', async () => {
    const { gateway, pairs } = await line(0, 300);
    await pairs[0]!.pull();
    await new Promise((r) => setTimeout(r, 200));
    await expect(gateway.link.sendData(0, Buffer.from('x'))).rejects.toThrow(/closed|lost|write failed/);
  });
});
