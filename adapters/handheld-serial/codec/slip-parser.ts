/**
 * Turns a byte stream into frames. Resyncs on END, ignores empty frames, drops (and reports)
 * bad ones, and never buffers more than one maximal escaped frame of garbage. Emits objects:
 * `{ frame }` or `{ error }` so the session can count drops and NAK.
 */

import { Transform, type TransformCallback } from 'node:stream';
import { decodeBody, FrameError, HEADER_BYTES, CRC_BYTES, MAX_FRAME_LIMIT, type Frame } from './frame.js';
import { END, slipUnescape } from './slip.js';

export type ParsedItem = { frame: Frame } | { error: FrameError };

export class SlipFrameParser extends Transform {
  private buf: number[] = [];
  private overflow = false;
  /** Negotiated payload limit; the session raises it after WELCOME. */
  maxFrame: number;

  constructor(opts: { maxFrame?: number } = {}) {
    super({ readableObjectMode: true });
    if (
      opts.maxFrame !== undefined &&
      (!Number.isInteger(opts.maxFrame) || opts.maxFrame < 1 || opts.maxFrame > MAX_FRAME_LIMIT)
    ) {
      throw new TypeError(`maxFrame must be a whole number from 1 to ${MAX_FRAME_LIMIT}`);
    }
    this.maxFrame = opts.maxFrame ?? 1024;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    // Escaping can double a body; past that it is garbage or a lost END.
    const cap = 2 * (MAX_FRAME_LIMIT + HEADER_BYTES + CRC_BYTES);
    for (const b of chunk) {
      if (b !== END) {
        if (this.buf.length < cap) this.buf.push(b);
        else this.overflow = true;
        continue;
      }
      if (this.overflow)
        this.push({ error: new FrameError('OVERSIZE', `no frame end within ${cap} bytes`) } satisfies ParsedItem);
      else if (this.buf.length > 0) this.emitBody(Uint8Array.from(this.buf));
      this.buf = [];
      this.overflow = false;
    }
    done();
  }

  private emitBody(escaped: Uint8Array): void {
    const body = slipUnescape(escaped);
    if (!body) {
      this.push({
        error: new FrameError('ESCAPE', 'an escape byte is not followed by 0xDC or 0xDD'),
      } satisfies ParsedItem);
      return;
    }
    const decoded = decodeBody(body, this.maxFrame);
    this.push((decoded instanceof FrameError ? { error: decoded } : { frame: decoded }) satisfies ParsedItem);
  }
}
