/**
 * One dock: a serial port (or a serial device server on TCP) where a hand-held is docked. It
 * keeps the port open (reopening with backoff and jitter when a USB adapter is unplugged or a
 * device server goes away), waits for HELLO, answers WELCOME or a refusal, watches the link
 * with PINGs, and hands each session to the dock handler. Ports are independent of each other.
 */

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Adapter, AdapterHealth, AdapterState } from '../adapter.js';
import { FrameType, MIN_MAX_FRAME, seqPayload, type Frame } from './codec/frame.js';
import { decodeMessage, encodeMessage, MessageError, type Hello } from './codec/messages.js';
import { END } from './codec/slip.js';
import { frameLink, type FramedLink } from './framed-link.js';
import { GatewaySession, SessionEndedError } from './gateway-session.js';
import { Inbox } from './inbox.js';
import { LinkLostError } from './link.js';
import { transportFor, type Transport } from './transport.js';

export interface DockHandler {
  /** null admits the device; otherwise the ERROR it gets (e.g. UNKNOWN_DEVICE). */
  admit(hello: Hello, port: DockPort): Promise<{ code: string; message: string } | null>;
  /** Drives a session until it ends; a new HELLO or link loss aborts it through its inbox. */
  run(session: GatewaySession, port: DockPort): Promise<void>;
}

export interface DockPortOptions {
  name: string;
  port: string;
  baudRate: number;
  maxFrame: number;
  window: number;
  ackTimeoutMs: number;
  /** Quiet time before a PING; three quiet periods without an answer mean the link is lost. */
  pingAfterMs: number;
  replyTimeoutMs: number;
  reopenMinMs: number;
  reopenMaxMs: number;
  /** The utility's IANA zone, sent in WELCOME: the device writes read times as local wall time in it. */
  zone: string;
  /** What a refused device is told to wait before its next HELLO (ERROR's retryAfterSeconds). */
  retryAfterSeconds: number;
  openTransport?: (port: string, baudRate: number) => Transport;
  random?: () => number;
}

export type DockPortPhase = 'stopped' | 'opening' | 'waiting' | 'docked' | 'reopening';

export interface DockPortEvents {
  phase: [DockPortPhase, string];
  /** The link went quiet or failed during a session: reported at once, for the CSR and the log. */
  lost: [reason: string, deviceId: string | null];
  hello: [Hello];
  refused: [Hello | null, code: string, message: string];
  sessionEnded: [deviceId: string, error: Error | null];
  /** A frame received and dropped, with why (CRC, LENGTH, GAP, …): logged at debug and counted by reason. */
  dropped: [reason: string, detail: string];
}

const PROTOCOL = 1;
const LOST_AFTER_QUIET_PERIODS = 3;
/** An empty SLIP frame (END alone): what the dock writes to a port while it waits for HELLO. */
const LINE_PROBE = Buffer.from([END]);

export class DockPort extends EventEmitter<DockPortEvents> implements Adapter<DockPortEvents> {
  readonly name: string;
  phase: DockPortPhase = 'stopped';
  detail = 'not started';
  since = new Date().toISOString();
  session: GatewaySession | null = null;
  /** Link counters since the port opened, for status and the bench. */
  counters = { resent: 0, dropped: 0, bytesIn: 0, droppedBy: {} as Record<string, number> };
  private transport: Transport | null = null;
  private framed: FramedLink | null = null;
  private inbox: Inbox | null = null;
  private running: Promise<void> = Promise.resolve();
  private stopping = false;
  private reopenTimer: NodeJS.Timeout | null = null;
  private reopenAttempt = 0;
  private livenessTimer: NodeJS.Timeout | null = null;
  private lastHeard = 0;
  private pingsSent = 0;
  /** Counts HELLOs: a session is begun only for the latest (a device repeats HELLO while it waits). */
  private helloCount = 0;

  constructor(
    private readonly opts: DockPortOptions,
    private readonly handler: DockHandler,
  ) {
    super();
    this.name = opts.name;
  }

  get description(): string {
    return this.transport?.description ?? this.opts.port;
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.open();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.stopLiveness();
    this.endSession(new LinkLostError('the gateway is stopping'));
    this.framed?.detach();
    await this.transport?.close().catch(() => undefined);
    await this.running.catch(() => undefined);
    this.setPhase('stopped', 'stopped');
  }

  health(): AdapterHealth {
    const state: AdapterState =
      this.phase === 'reopening'
        ? 'degraded'
        : this.phase === 'stopped'
          ? 'stopped'
          : this.phase === 'opening'
            ? 'starting'
            : 'running';
    return { state, detail: `${this.opts.port}: ${this.detail}`, since: this.since };
  }

  private setPhase(phase: DockPortPhase, detail: string): void {
    this.phase = phase;
    this.detail = detail;
    this.since = new Date().toISOString();
    this.emit('phase', phase, detail);
  }

  private async open(): Promise<void> {
    if (this.transport) return; // open already
    this.setPhase('opening', `opening ${this.opts.port}`);
    const transport = (this.opts.openTransport ?? ((p, baudRate) => transportFor(p, { baudRate })))(
      this.opts.port,
      this.opts.baudRate,
    );
    try {
      await transport.open();
    } catch (err) {
      this.scheduleReopen((err as Error).message);
      return;
    }
    if (this.stopping) {
      await transport.close();
      return;
    }
    this.reopenAttempt = 0;
    this.transport = transport;
    const framed = frameLink(transport, {
      ackTimeoutMs: this.opts.ackTimeoutMs,
      window: this.opts.window,
      maxFrame: this.opts.maxFrame,
    });
    this.framed = framed;
    const { link } = framed;
    link.on('session', (frame) => this.onSessionFrame(frame));
    link.on('message', (frame) => this.inbox?.push(frame));
    link.on('lost', (reason) => this.linkLost(reason));
    link.on('resend', () => this.counters.resent++);
    link.on('dropped', (reason, detail) => this.dropped(reason, detail));
    framed.parser.on('data', (item) => {
      if ('error' in item) this.dropped(item.error.code, item.error.message);
    });
    transport.on('data', (bytes) => {
      this.counters.bytesIn += bytes.length;
      this.heard();
    });
    let closed = false;
    transport.on('close', ({ disconnected, reason }) => {
      // A port can report its end twice (the disconnect, then a failed write): one reopen per port.
      if (closed) return;
      closed = true;
      this.stopLiveness();
      framed.detach();
      if (this.framed === framed) this.framed = null;
      if (this.transport === transport) this.transport = null;
      if (this.session) this.linkLost(disconnected ? `port closed: ${reason}` : 'port closed');
      if (!this.stopping) this.scheduleReopen(reason);
    });
    this.heard();
    this.startLiveness();
    this.setPhase('waiting', `open (${transport.description}); waiting for a hand-held to say HELLO`);
  }

  /**
   * One reopen at a time. Fault suite finding: a port that reported its end twice got two reopen
   * timers; the second open found the first holding the port's lock and went on retrying, with
   * backoff, for as long as the gateway ran, showing the dock as reopening while a device was docked.
   */
  private scheduleReopen(reason: string): void {
    if (this.stopping || this.reopenTimer) return;
    this.reopenAttempt++;
    const base = Math.min(this.opts.reopenMaxMs, this.opts.reopenMinMs * 2 ** (this.reopenAttempt - 1));
    // Jitter so several ports (or gateways) behind one device server do not retry in step.
    const wait = Math.round(base * (0.8 + 0.4 * (this.opts.random ?? Math.random)()));
    this.setPhase('reopening', `${reason}; reopening in ${(wait / 1000).toFixed(1)} s (attempt ${this.reopenAttempt})`);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      void this.open();
    }, wait);
    this.reopenTimer.unref();
  }

  private dropped(reason: string, detail: string): void {
    this.counters.dropped++;
    this.counters.droppedBy[reason] = (this.counters.droppedBy[reason] ?? 0) + 1;
    this.emit('dropped', reason, detail);
  }

  private write(frame: Frame): Promise<void> {
    return this.framed ? this.framed.link.sendRaw(frame.type, frame.seq, frame.payload) : Promise.resolve();
  }

  private onSessionFrame(frame: Frame): void {
    if (frame.type !== FrameType.HELLO) return; // a device never sends WELCOME
    const framed = this.framed;
    if (!framed) return;
    void this.write({ type: FrameType.ACK, seq: 0, payload: seqPayload(0) }).catch(() => undefined);
    // HELLO resets the session: drop the earlier one (its transfers stay resumable on disk).
    this.endSession(new LinkLostError('the device started a new session (HELLO)'));
    framed.link.resetSequences();
    let hello: Hello;
    try {
      hello = decodeMessage(FrameType.HELLO, frame.payload);
    } catch (err) {
      const message = err instanceof MessageError ? `HELLO payload: ${err.message}` : String(err);
      this.refuseHello(null, 'BAD_PAYLOAD', message);
      return;
    }
    if (hello.proto !== PROTOCOL) {
      this.refuseHello(
        hello,
        'PROTO',
        `this gateway speaks FDP/${PROTOCOL}; the device asked for protocol ${hello.proto}`,
      );
      return;
    }
    this.emit('hello', hello);
    const count = ++this.helloCount;
    const previous = this.running;
    // A session that cannot begin (WELCOME's write fails on a pulled cable, the store is down for the
    // admission check) ends here: the port's close reports the cable, and the device says HELLO again.
    // Fault suite finding: the rejection went unhandled and ended the gateway.
    this.running = previous
      .catch(() => undefined)
      .then(() => (count === this.helloCount ? this.beginSession(framed, hello) : undefined))
      .catch(
        (err: unknown) => void this.emit('lost', `session could not begin: ${(err as Error).message}`, hello.device),
      );
  }

  /**
   * The answer to HELLO is an ERROR in WELCOME's place: seq 0, acknowledged and resent like WELCOME,
   * with when to try again. The link stays open and the next HELLO is decided afresh (revision 2), so a
   * device approved meanwhile is welcomed without being unplugged.
   */
  private refuseHello(hello: Hello | null, code: string, message: string): void {
    void this.framed?.link
      .sendSessionAnswer(
        FrameType.ERROR,
        encodeMessage(FrameType.ERROR, { code, message, retryAfterSeconds: this.opts.retryAfterSeconds }),
      )
      .catch(() => undefined);
    this.emit('refused', hello, code, message);
  }

  private async beginSession(framed: FramedLink, hello: Hello): Promise<void> {
    if (this.framed !== framed || this.stopping) return;
    const count = this.helloCount;
    const refusal = await this.handler.admit(hello, this);
    if (count !== this.helloCount) return; // another HELLO came while we looked the device up
    if (refusal) {
      this.refuseHello(hello, refusal.code, refusal.message);
      return;
    }
    // Revision 2: no session below 256 bytes a frame (a 128-byte device could not take UNLOAD_INFO's answer).
    const maxFrame = Math.max(MIN_MAX_FRAME, Math.min(hello.maxFrame, this.opts.maxFrame));
    const window = Math.min(hello.window, this.opts.window);
    const sessionId = randomUUID();
    // WELCOME is acknowledged (ACK 0) and resent until it is; the session begins once the device has it.
    try {
      await framed.link.sendSessionAnswer(
        FrameType.WELCOME,
        encodeMessage(FrameType.WELCOME, {
          session: sessionId,
          maxFrame,
          window,
          time: new Date().toISOString(),
          zone: this.opts.zone,
        }),
      );
    } catch (err) {
      if (count !== this.helloCount) return; // a new HELLO took over while WELCOME waited for its ACK
      throw err;
    }
    if (count !== this.helloCount || this.framed !== framed) return;
    framed.negotiate(maxFrame, window);
    const inbox = new Inbox();
    const session = new GatewaySession(hello, framed.link, inbox, {
      sessionId,
      maxFrame,
      window,
      replyTimeoutMs: this.opts.replyTimeoutMs,
    });
    this.inbox = inbox;
    this.session = session;
    this.heard();
    this.setPhase('docked', `${hello.device} docked (session ${sessionId.slice(0, 8)})`);
    let error: Error | null = null;
    try {
      await this.handler.run(session, this);
    } catch (err) {
      error = err as Error;
    }
    if (this.session === session) {
      // The device hears that its session is over and why (dock-protocol.md: an ERROR FATAL ends it), rather
      // than waiting on a session the gateway has left: it shows the reason and says HELLO again.
      if (error && !(error instanceof LinkLostError) && !(error instanceof SessionEndedError))
        session.refuse('FATAL', `the gateway could not go on (${error.message}); dock again`);
      else if (!error) await session.bye();
      this.endSession(error ?? new LinkLostError('session ended'));
      this.setPhase(
        'waiting',
        `${hello.device}'s session ended${error ? ` (${error.message})` : ''}; waiting for HELLO`,
      );
    }
    this.emit('sessionEnded', hello.device, error);
  }

  private heard(): void {
    this.lastHeard = Date.now();
    this.pingsSent = 0;
  }

  /**
   * While the port is open: in a session, a PING whenever the link has been quiet for `pingAfterMs`, and
   * three quiet periods mean the link is lost; waiting for HELLO, a lone SLIP END as often (an empty frame,
   * which every receiver ignores: it opens no session and keeps none alive), because only a write finds a
   * port that died as it opened. Fault suite finding: a PTY pulled just as the gateway opened it reported no
   * close, and the dock waited on it for good while the hand-held said HELLO on the new one.
   */
  private startLiveness(): void {
    this.stopLiveness();
    const tick = Math.max(10, Math.floor(this.opts.pingAfterMs / 40));
    this.livenessTimer = setInterval(() => {
      const quietPeriods = Math.floor((Date.now() - this.lastHeard) / this.opts.pingAfterMs);
      if (quietPeriods <= this.pingsSent) return;
      if (!this.session) {
        this.pingsSent = quietPeriods;
        void this.transport?.write(LINE_PROBE).catch(() => undefined);
      } else if (quietPeriods >= LOST_AFTER_QUIET_PERIODS) {
        this.linkLost(
          `no answer to ${LOST_AFTER_QUIET_PERIODS - 1} PINGs: nothing heard for ` +
            `${((Date.now() - this.lastHeard) / 1000).toFixed(1)} s`,
        );
      } else {
        this.pingsSent = quietPeriods;
        void this.write({ type: FrameType.PING, seq: 0, payload: Buffer.alloc(0) }).catch(() => undefined);
      }
    }, tick);
    this.livenessTimer.unref();
  }

  private stopLiveness(): void {
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    this.livenessTimer = null;
  }

  private linkLost(reason: string): void {
    const deviceId = this.session?.deviceId ?? null;
    if (!this.session) return;
    this.endSession(new LinkLostError(`link lost: ${reason}`));
    this.framed?.link.resetSequences();
    this.emit('lost', reason, deviceId);
    if (this.transport) this.setPhase('waiting', `link to ${deviceId} lost (${reason}); waiting for HELLO`);
  }

  private endSession(err: Error): void {
    this.session?.abort(err);
    this.session = null;
    this.inbox = null;
  }
}
