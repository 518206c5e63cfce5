/**
 * The line faults a simulated hand-held can put on its link, so every error path of FDP/1 can
 * be exercised without a noisy cable: bytes dropped or flipped (both ways), whole frames
 * corrupted, frames with a wrong CRC, oversized frames, garbage between frames, and one-off
 * events after so many bytes (a stall, a device reset, a pulled cable).
 */

import { crc16 } from '../../../../adapters/handheld-serial/codec/crc16.js';
import { encodeBody, encodeFrame, FrameType, type Frame } from '../../../../adapters/handheld-serial/codec/frame.js';
import { END, slipEncode } from '../../../../adapters/handheld-serial/codec/slip.js';
import { prng } from '../../../infra/billing/reference/seed-data.js';

export interface FaultOptions {
  /** Fraction of bytes lost, each direction. */
  dropBytes?: number;
  /** Fraction of bytes with a bit flipped, each direction. */
  corruptBytes?: number;
  /** Fraction of frames with one byte flipped, each direction (dock-protocol.md's "1% corrupted"). */
  corruptFrames?: number;
  /** Fraction of sent frames whose CRC is wrong. */
  wrongCrc?: number;
  /** Fraction of sent frames preceded by a run of random bytes. */
  garbage?: number;
  /** Fraction of sent frames preceded by a well-formed frame over the negotiated size. */
  oversized?: number;
  stallAfterBytes?: number;
  stallMs?: number;
  resetAfterBytes?: number;
  disconnectAfterBytes?: number;
  seed?: number;
}

export type FaultEvent = 'stall' | 'reset' | 'disconnect';

export class FaultInjector {
  private readonly random: () => number;
  private damageNext = { in: false, out: false };
  private bytes = 0;
  private fired = new Set<FaultEvent>();
  counts = { dropped: 0, flipped: 0, corruptedFrames: 0, wrongCrc: 0, garbage: 0, oversized: 0 };

  constructor(private readonly opts: FaultOptions = {}) {
    this.random = prng(opts.seed ?? 1);
  }

  get active(): boolean {
    const o = this.opts;
    return Boolean(
      o.dropBytes ||
      o.corruptBytes ||
      o.corruptFrames ||
      o.wrongCrc ||
      o.garbage ||
      o.oversized ||
      o.stallAfterBytes ||
      o.resetAfterBytes ||
      o.disconnectAfterBytes,
    );
  }

  /** A frame as this device puts it on the line. */
  outbound(frame: Frame, maxFrame: number): Buffer {
    const o = this.opts;
    const parts: Buffer[] = [];
    if (o.garbage && this.random() < o.garbage) {
      this.counts.garbage++;
      const junk = Buffer.alloc(8 + Math.floor(this.random() * 50));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(this.random() * 256);
      parts.push(junk);
    }
    if (o.oversized && this.random() < o.oversized) {
      this.counts.oversized++;
      parts.push(encodeFrame({ type: FrameType.DATA, seq: frame.seq, payload: Buffer.alloc(maxFrame + 1, 0x55) }));
    }
    if (o.wrongCrc && this.random() < o.wrongCrc) {
      this.counts.wrongCrc++;
      const body = encodeBody(frame);
      const at = body.length - 2;
      body.writeUInt16BE(crc16(body, 0, at) ^ 0x5a5a, at);
      parts.push(slipEncode(body));
    } else parts.push(encodeFrame(frame));
    return this.damage(Buffer.concat(parts), 'out');
  }

  inbound(bytes: Buffer): Buffer {
    return this.damage(bytes, 'in');
  }

  /** Counts bytes moved and says which one-off event is due now, once each. */
  progress(bytes: number): FaultEvent | null {
    this.bytes += bytes;
    const o = this.opts;
    const thresholds: [FaultEvent, number | undefined][] = [
      ['disconnect', o.disconnectAfterBytes],
      ['reset', o.resetAfterBytes],
      ['stall', o.stallAfterBytes],
    ];
    for (const [event, after] of thresholds) {
      if (after === undefined || this.bytes < after || this.fired.has(event)) continue;
      this.fired.add(event);
      return event;
    }
    return null;
  }

  get stallMs(): number {
    return this.opts.stallMs ?? 8000;
  }

  private damage(bytes: Buffer, way: 'in' | 'out'): Buffer {
    const o = this.opts;
    if (!o.dropBytes && !o.corruptBytes && !o.corruptFrames) return bytes;
    const out: number[] = [];
    for (const b of bytes) {
      if (o.dropBytes && this.random() < o.dropBytes) {
        this.counts.dropped++;
        continue;
      }
      let v = b;
      if (b === END) this.damageNext[way] = Boolean(o.corruptFrames && this.random() < o.corruptFrames);
      else if (this.damageNext[way]) {
        v ^= 0x01;
        this.damageNext[way] = false;
        this.counts.corruptedFrames++;
      }
      if (o.corruptBytes && this.random() < o.corruptBytes) {
        v ^= 1 << Math.floor(this.random() * 8);
        this.counts.flipped++;
      }
      out.push(v);
    }
    return Buffer.from(out);
  }
}
