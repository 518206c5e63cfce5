/**
 * FDP/1 reliability (dock-protocol.md, "Reliability"): sequence numbers per direction, a
 * go-back-N window, cumulative ACKs, one NAK per gap, and resends when the oldest unacknowledged
 * frame has waited `ackTimeoutMs` since the transport drained it. Both the gateway and the
 * simulated hand-held use it. No I/O of its own: `write` is the transport, time comes from `now`.
 */

import { EventEmitter } from 'node:events';
import {
  dataPayload,
  DEFAULT_MAX_FRAME,
  FrameType,
  payloadLimit,
  readSeq,
  seqAfter,
  seqPayload,
  UNSEQUENCED,
  type Frame,
  type FrameTypeCode,
  FrameError,
} from './codec/frame.js';

export interface LinkOptions {
  /** Sends one frame; resolves when the transport has drained it (not when it was queued). */
  write(frame: Frame): Promise<void>;
  now(): number;
  window?: number;
  ackTimeoutMs?: number;
  maxResends?: number;
}

export interface LinkEvents {
  /** A sequenced frame received in order, once. */
  message: [Frame];
  /** ACK/NAK/PING and anything else the session may want to see. */
  control: [Frame];
  /** HELLO or WELCOME: seq 0, outside the sequence, starts a session (see resetSequences). */
  session: [Frame];
  /** The same frame was resent 5 times without an ACK: the session is lost. */
  lost: [reason: string];
  resend: [seq: number];
  /** A frame received and not taken: out of order (GAP), or an ACK/NAK without its u16 (BAD_ACK). */
  dropped: [reason: 'GAP' | 'BAD_ACK', detail: string];
}

interface Outgoing {
  seq: number;
  type: FrameTypeCode;
  payload: Buffer;
  sentAt: number | null;
  resends: number;
  acked: () => void;
  failed: (err: Error) => void;
}

export class LinkLostError extends Error {
  readonly code = 'LINK_LOST';
}

/** A frame this side was about to send is over the negotiated maxFrame: never sent (a bug of the sender's). */
export class FrameTooLargeError extends Error {
  readonly code = 'FRAME_TOO_LARGE';
}

export class ReliableLink extends EventEmitter<LinkEvents> {
  window: number;
  /** The negotiated payload limit, checked on every frame this side sends (revision 2). */
  maxFrame = DEFAULT_MAX_FRAME;
  readonly ackTimeoutMs: number;
  private readonly maxResends: number;
  private nextSendSeq = 1;
  private expectedSeq = 1;
  private lastNak: { seq: number; at: number } | null = null;
  private queue: Outgoing[] = [];
  private inFlight: Outgoing[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Frames resent, for metrics and the bench. */
  resent = 0;
  dropped = 0;

  constructor(private readonly opts: LinkOptions) {
    super();
    this.window = opts.window ?? 8;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 1000;
    this.maxResends = opts.maxResends ?? 5;
  }

  /** Sends a sequenced frame; resolves when the peer acknowledged it. */
  send(type: FrameTypeCode, payload: Buffer = Buffer.alloc(0)): Promise<void> {
    return this.enqueue(type, payload, false);
  }

  /**
   * WELCOME, or the ERROR that stands in its place: seq 0, acknowledged (ACK 0) and resent like
   * any other frame until it is (revision 2). The frames after it are seq 1 on.
   */
  sendSessionAnswer(type: FrameTypeCode, payload: Buffer): Promise<void> {
    return this.enqueue(type, payload, true);
  }

  private enqueue(type: FrameTypeCode, payload: Buffer, sessionAnswer: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new LinkLostError('link is closed'));
    const seq = sessionAnswer ? 0 : this.nextSendSeq;
    const limit = payloadLimit(type, seq, this.maxFrame);
    if (payload.length > limit)
      return Promise.reject(
        new FrameTooLargeError(
          `a ${payload.length}-byte payload (frame type 0x${type.toString(16)}) is over the negotiated ${limit}-byte maxFrame`,
        ),
      );
    return new Promise((acked, failed) => {
      const out = { seq, type, payload, sentAt: null, resends: 0, acked, failed };
      if (sessionAnswer) this.queue.unshift(out);
      else {
        this.queue.push(out);
        this.nextSendSeq = (this.nextSendSeq + 1) & 0xffff;
      }
      this.pump();
    });
  }

  sendData(offset: number, bytes: Uint8Array): Promise<void> {
    return this.send(FrameType.DATA, dataPayload(offset, bytes));
  }

  /** Frames without sequence numbers (ACK, NAK, PING) and the session's seq-0 HELLO/WELCOME. */
  sendRaw(type: FrameTypeCode, seq: number, payload: Buffer = Buffer.alloc(0)): Promise<void> {
    return this.opts.write({ type, seq, payload });
  }

  /** After HELLO/WELCOME (seq 0) both sides start over: next frames are seq 1 each way. */
  resetSequences(): void {
    this.fail(new LinkLostError('session reset by HELLO'));
    this.closed = false;
    this.nextSendSeq = 1;
    this.expectedSeq = 1;
    this.lastNak = null;
  }

  /** The last sequenced frame received in order (what a PING is answered with). */
  get lastReceived(): number {
    return (this.expectedSeq - 1) & 0xffff;
  }

  get pendingCount(): number {
    return this.queue.length + this.inFlight.length;
  }

  receive(frame: Frame): void {
    if (this.closed) return;
    if (frame.type === FrameType.ACK || frame.type === FrameType.NAK) {
      const seq = readSeq(frame.payload);
      if (seq instanceof FrameError) {
        this.dropped++;
        this.emit('dropped', 'BAD_ACK', seq.message);
        return;
      }
      if (frame.type === FrameType.ACK) this.onAck(seq);
      else this.onNak(seq);
      this.emit('control', frame);
      return;
    }
    if (frame.type === FrameType.HELLO || frame.type === FrameType.WELCOME) {
      this.emit('session', frame);
      return;
    }
    if (UNSEQUENCED.has(frame.type)) {
      this.emit('control', frame);
      return;
    }
    if (frame.seq === this.expectedSeq) {
      this.expectedSeq = (this.expectedSeq + 1) & 0xffff;
      this.lastNak = null;
      void this.sendRaw(FrameType.ACK, 0, seqPayload(frame.seq)).catch(() => undefined);
      this.emit('message', frame);
    } else if (seqAfter(frame.seq, this.expectedSeq)) {
      // A gap: drop it and NAK what we expect, once per gap per ackTimeout.
      this.dropped++;
      this.emit('dropped', 'GAP', `frame ${frame.seq} arrived while ${this.expectedSeq} was expected`);
      this.nak();
    } else {
      // Already received: ACK again (the ACK was lost), do not process twice.
      void this.sendRaw(FrameType.ACK, 0, seqPayload(this.lastReceived)).catch(() => undefined);
    }
  }

  /** A frame that failed to decode: count it and NAK what we expect. */
  corrupted(): void {
    this.dropped++;
    this.nak();
  }

  /** Stops all timers and fails what is waiting; nothing is sent after this. */
  close(reason = 'link closed'): void {
    this.fail(new LinkLostError(reason));
    this.closed = true;
  }

  private nak(): void {
    const now = this.opts.now();
    if (this.lastNak && this.lastNak.seq === this.expectedSeq && now - this.lastNak.at < this.ackTimeoutMs) return;
    this.lastNak = { seq: this.expectedSeq, at: now };
    void this.sendRaw(FrameType.NAK, 0, seqPayload(this.expectedSeq)).catch(() => undefined);
  }

  private onAck(seq: number): void {
    let progressed = false;
    while (this.inFlight.length > 0) {
      const head = this.inFlight[0]!;
      if (head.seq !== seq && !seqAfter(seq, head.seq)) break;
      this.inFlight.shift();
      head.acked();
      progressed = true;
    }
    if (progressed) {
      this.armTimer();
      this.pump();
    }
  }

  private onNak(expected: number): void {
    const index = this.inFlight.findIndex((o) => o.seq === expected);
    // Everything before the NAKed frame arrived: treat it as acknowledged.
    if (index > 0) this.onAck(this.inFlight[index - 1]!.seq);
    const head = this.inFlight[0];
    if (!head || head.seq !== expected) return;
    // Ignore a NAK for a frame resent less than ackTimeout ago: it crossed our resend.
    if (head.resends > 0 && head.sentAt !== null && this.opts.now() - head.sentAt < this.ackTimeoutMs) return;
    this.resendFromHead();
  }

  private pump(): void {
    while (!this.closed && this.queue.length > 0 && this.inFlight.length < this.window) {
      const out = this.queue.shift()!;
      this.inFlight.push(out);
      this.transmit(out);
    }
  }

  private transmit(out: Outgoing): void {
    out.sentAt = null;
    this.opts.write({ type: out.type, seq: out.seq, payload: out.payload }).then(
      () => {
        out.sentAt = this.opts.now();
        if (this.inFlight[0] === out) this.armTimer();
      },
      (err: Error) => this.fail(new LinkLostError(`transport write failed: ${err.message}`)),
    );
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const head = this.inFlight[0];
    if (!head || head.sentAt === null || this.closed) return;
    const wait = Math.max(0, head.sentAt + this.ackTimeoutMs - this.opts.now());
    this.timer = setTimeout(() => this.resendFromHead(), wait);
    this.timer.unref?.();
  }

  private resendFromHead(): void {
    const head = this.inFlight[0];
    if (!head || this.closed) return;
    if (head.resends >= this.maxResends) {
      const reason = `frame ${head.seq} was resent ${this.maxResends} times without an ACK`;
      this.fail(new LinkLostError(reason));
      this.emit('lost', reason);
      return;
    }
    for (const out of this.inFlight) {
      out.resends += out === head ? 1 : 0;
      this.resent++;
      this.emit('resend', out.seq);
      this.transmit(out);
    }
  }

  private fail(err: Error): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiting = [...this.inFlight, ...this.queue];
    this.inFlight = [];
    this.queue = [];
    for (const out of waiting) out.failed(err);
  }
}
