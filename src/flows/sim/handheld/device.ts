/**
 * A hand-held meter reader on the device side of FDP/1, for demos, tests and benchmarks without
 * hardware. It keeps routes and readings on disk, answers the gateway's transfers, "reads" its
 * routes with a realistic mix, never deletes readings without a CLEAR naming their hash, and
 * behaves like a device after resets and pulled cables: it says HELLO again until welcomed.
 */

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  FrameType,
  readData,
  seqPayload,
  FrameError,
  type Frame,
} from '../../../../adapters/handheld-serial/codec/frame.js';
import {
  decodeMessage,
  encodeMessage,
  MessageError,
  type Hello,
  type JsonFrameType,
  type MessageOf,
} from '../../../../adapters/handheld-serial/codec/messages.js';
import { frameLink, type FramedLink } from '../../../../adapters/handheld-serial/framed-link.js';
import { transportFor, type Transport } from '../../../../adapters/handheld-serial/transport.js';
import type { Layout } from '../../../core/fixed-width/layout.js';
import { readRoute, type ReadMix } from '../read-route.js';
import { FaultInjector, type FaultOptions } from './faults.js';
import { appendJournal } from '../journal.js';
import { EMPTY_SHA256, HandheldStorage } from './storage.js';
import { TcpListenTransport } from './tcp-listener.js';
import { paceWrites } from './pacing.js';

export interface HandheldOptions {
  deviceId: string;
  port: string;
  dir: string;
  model?: string;
  firmware?: string;
  battery?: number;
  baudRate?: number;
  maxFrame?: number;
  window?: number;
  ackTimeoutMs?: number;
  helloRetryMs?: number;
  /** At most this long before HELLO again after a refusal, whatever its retryAfterSeconds (tests). */
  maxRetryAfterMs?: number;
  /** With a session up and nothing heard from the gateway (which PINGs every 2 s) this long, start over. */
  gatewayQuietMs?: number;
  reconnectMs?: number;
  /** Pace what the device sends at this line rate (as its UART would); unpaced when absent. */
  paceBaud?: number;
  faults?: FaultOptions;
  reading?: {
    routeLayout: Layout;
    readLayout: Layout;
    zone: string;
    readerId: string;
    seed: number;
    mix?: ReadMix;
    now?: () => Date;
    journal?: string;
  };
  /** Read each route this long after it loaded, then dock again (a whole day in one run). */
  readAfterLoadMs?: number;
  openTransport?: (port: string) => Transport;
  log?: (message: string) => void;
}

export interface HandheldEvents {
  welcome: [MessageOf<typeof FrameType.WELCOME>];
  refused: [code: string, message: string];
  loadBegin: [route: string, fromOffset: number];
  loaded: [route: string, records: number];
  unloadBegin: [route: string, fromOffset: number];
  cleared: [route: string];
  gatewayError: [code: string, message: string];
  sessionLost: [reason: string];
  bye: [];
}

const PACE_SECONDS = 30;

export class HandheldDevice extends EventEmitter<HandheldEvents> {
  readonly storage: HandheldStorage;
  readonly faults: FaultInjector;
  /** Frames this device sent again (go-back-N), over all its sessions: for the bench. */
  framesResent = 0;
  private transport: Transport | null = null;
  private framed: FramedLink | null = null;
  private stopped = true;
  private sessionUp = false;
  private generation = 0;
  private maxFrame: number;
  /** The zone WELCOME named, for the read times this device writes. */
  private zone: string | null = null;
  private clockSkewMs = 0;
  private lastHeard = 0;
  private loading: { route: string; records: number } | null = null;
  private work: Promise<void> = Promise.resolve();
  private timers = new Set<NodeJS.Timeout>();
  private helloTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;

  constructor(private readonly opts: HandheldOptions) {
    super();
    this.storage = new HandheldStorage(opts.dir);
    this.faults = new FaultInjector(opts.faults);
    this.maxFrame = opts.maxFrame ?? 4096;
  }

  get connected(): boolean {
    return this.sessionUp;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.watchdog = setInterval(() => this.checkGateway(), 250);
    this.transport = (this.opts.openTransport ?? openDeviceTransport)(this.opts.port);
    if (this.opts.paceBaud) paceWrites(this.transport, this.opts.paceBaud);
    // As a serial device server, listen now (a busy port is an error to report), then wait for the gateway.
    if (this.transport instanceof TcpListenTransport) await this.transport.listen();
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.helloTimer) clearTimeout(this.helloTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.framed?.detach();
    const transport = this.transport;
    this.transport = null;
    await transport?.close().catch(() => undefined);
    if (transport instanceof TcpListenTransport) await transport.shutdown();
    await this.work.catch(() => undefined);
  }

  /** Takes the device out of the cradle and back in: a new session starts with HELLO. */
  redock(): void {
    this.hello();
  }

  /** A device reset: the session and any transfer in memory are gone, files stay, HELLO follows. */
  reset(): void {
    this.generation++;
    this.sessionUp = false;
    this.loading = null;
    this.framed?.link.resetSequences();
    this.later(300, () => this.hello());
  }

  /** Goes silent for `ms`: hears nothing, says nothing (a hung device, a cable half out). */
  stall(ms: number): void {
    const until = Date.now() + ms;
    this.stalled = () => Date.now() < until;
  }

  /** The meter reader's day: every loaded route without readings gets read. Returns routes read. */
  readRoutes(): string[] {
    const reading = this.opts.reading;
    if (!reading) throw new Error('this simulator was started without reading options');
    const done: string[] = [];
    for (const meta of this.storage.routes()) {
      if (!meta.complete || this.storage.readings(meta.route)) continue;
      const routeFile = this.storage.routeFile(meta.route);
      // The day's walk ends a few minutes ago, one meter every PACE seconds.
      const now = reading.now?.() ?? new Date();
      const start = new Date(now.getTime() - (countLines(routeFile) * PACE_SECONDS + 600) * 1000);
      const outcome = readRoute(routeFile.toString('latin1'), {
        routeLayout: reading.routeLayout,
        readLayout: reading.readLayout,
        // Read times are local wall time in the zone WELCOME named (revision 2), else the configured one.
        zone: this.zone ?? reading.zone,
        readerId: reading.readerId,
        seed: reading.seed,
        mix: reading.mix,
        start,
        pace: PACE_SECONDS,
      });
      this.storage.writeReadings(meta.route, Buffer.from(outcome.lines.map((l) => `${l}\r\n`).join(''), 'latin1'));
      appendJournal(reading.journal, this.opts.deviceId, meta.route, outcome.lines);
      this.log(`read route ${meta.route}: ${outcome.lines.length} meters`);
      done.push(meta.route);
    }
    return done;
  }

  /**
   * Tells the gateway what this device holds now (HOLDING), as after reading a route while docked;
   * without a session the next HELLO says it.
   */
  sayHolding(): Promise<void> {
    if (!this.sessionUp) return Promise.resolve();
    this.log('HOLDING: the routes on board changed');
    return this.send(FrameType.HOLDING, { routes: this.heldRoutes() });
  }

  /** What HELLO says this device holds: complete routes and their readings' size and hash. */
  heldRoutes(): Hello['routes'] {
    return this.storage
      .routes()
      .filter((m) => m.complete)
      .map((m) => {
        const readings = this.storage.readings(m.route);
        return {
          route: m.route,
          cycle: m.cycle,
          records: m.records,
          read: readings ? countLines(readings) : 0,
          bytes: readings?.length ?? 0,
          sha256: readings ? sha256(readings) : EMPTY_SHA256,
        };
      });
  }

  private log(message: string): void {
    this.opts.log?.(`${this.opts.deviceId}: ${message}`);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const transport = this.transport ?? (this.opts.openTransport ?? openDeviceTransport)(this.opts.port);
    if (this.opts.paceBaud && transport !== this.transport) paceWrites(transport, this.opts.paceBaud);
    this.transport = transport;
    try {
      await transport.open();
    } catch (err) {
      this.log(`cannot open ${this.opts.port}: ${(err as Error).message}; retrying`);
      this.transport = null;
      this.later(this.opts.reconnectMs ?? 500, () => void this.connect());
      return;
    }
    if (this.stopped) return;
    const framed = frameLink(transport, {
      ackTimeoutMs: this.opts.ackTimeoutMs,
      window: this.opts.window,
      maxFrame: this.maxFrame,
      // Heard = a good frame: a dock waiting for HELLO writes empty frames, which keep no session alive.
      intercept: (frame) => {
        this.lastHeard = Date.now();
        return this.intercept(frame);
      },
      inbound: (bytes) => {
        this.afterBytes(bytes.length);
        return this.stalled() ? Buffer.alloc(0) : this.faults.inbound(bytes);
      },
      outbound: (frame) => {
        if (this.stalled()) return Buffer.alloc(0);
        const bytes = this.faults.outbound(frame, this.maxFrame);
        this.afterBytes(bytes.length);
        return bytes;
      },
    });
    this.framed = framed;
    const onClose = ({ reason }: { reason: string }) => {
      transport.off('close', onClose);
      this.sessionDown(`port closed: ${reason}`);
      if (this.framed === framed) this.framed = null;
      if (transport instanceof TcpListenTransport) this.later(10, () => void this.connect());
      else {
        if (this.transport === transport) this.transport = null;
        this.later(this.opts.reconnectMs ?? 500, () => void this.connect());
      }
    };
    transport.on('close', onClose);
    framed.link.on('session', (frame) => this.onSessionFrame(frame));
    framed.link.on('control', (frame) => {
      if (frame.type === FrameType.PING)
        void framed.link.sendRaw(FrameType.ACK, 0, seqPayload(framed.link.lastReceived)).catch(() => undefined);
    });
    framed.link.on('message', (frame) => {
      const gen = this.generation;
      this.work = this.work
        .then(() => this.handle(frame, gen))
        .catch((err: Error) => this.log(`error handling a frame: ${err.message}`));
    });
    framed.link.on('lost', (reason) => this.sessionDown(reason));
    framed.link.on('resend', () => this.framesResent++);
    this.hello();
  }

  private afterBytes(n: number): void {
    const event = this.faults.progress(n);
    if (!event) return;
    this.log(`fault: ${event}`);
    if (event === 'stall') this.stall(this.faults.stallMs);
    else if (event === 'reset') {
      queueMicrotask(() => this.reset());
    } else if (event === 'disconnect') {
      queueMicrotask(() => void this.transport?.close());
    }
  }

  private stalled: () => boolean = () => false;

  private hello(): void {
    const framed = this.framed;
    if (!framed || this.stopped) return;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.generation++;
    this.sessionUp = false;
    this.loading = null;
    framed.link.resetSequences();
    const hello: Hello = {
      device: this.opts.deviceId,
      model: this.opts.model ?? 'SIM-1',
      fw: this.opts.firmware ?? '1.0.0',
      proto: 1,
      maxFrame: this.maxFrame,
      window: this.opts.window ?? 8,
      clock: new Date(Date.now() + this.clockSkewMs).toISOString(),
      battery: this.opts.battery ?? 87,
      routes: this.heldRoutes(),
    };
    void this.writeRaw(FrameType.HELLO, encodeMessage(FrameType.HELLO, hello));
    // Nothing heard for 3 × ackTimeoutMs after HELLO (WELCOME is resent meanwhile): HELLO again.
    this.helloTimer = setTimeout(() => this.hello(), this.opts.helloRetryMs ?? 3 * (this.opts.ackTimeoutMs ?? 1000));
  }

  private writeRaw(type: (typeof FrameType)[keyof typeof FrameType], payload: Buffer, seq = 0): Promise<void> {
    if (this.stalled()) return Promise.resolve();
    return this.framed ? this.framed.link.sendRaw(type, seq, payload).catch(() => undefined) : Promise.resolve();
  }

  private intercept(frame: Frame): boolean {
    if (this.stalled()) return true;
    // Before WELCOME, an ERROR at seq 0 is the gateway's refusal of our HELLO: ACKed (it is resent until it
    // is), and HELLO said again after the delay it names (revision 2); the link stays open meanwhile.
    if (!this.sessionUp && frame.type === FrameType.ERROR && frame.seq === 0) {
      void this.writeRaw(FrameType.ACK, seqPayload(0));
      if (this.helloTimer) clearTimeout(this.helloTimer);
      const err = safeDecode(FrameType.ERROR, frame.payload);
      const retryMs = Math.min(
        this.opts.maxRetryAfterMs ?? Infinity,
        err?.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : 5000,
      );
      this.log(`refused: ${err?.code} ${err?.message}; HELLO again in ${(retryMs / 1000).toFixed(1)} s`);
      this.emit('refused', err?.code ?? 'ERROR', err?.message ?? '');
      this.helloTimer = setTimeout(() => this.hello(), retryMs);
      return true;
    }
    return false;
  }

  private onSessionFrame(frame: Frame): void {
    if (frame.type !== FrameType.WELCOME) return;
    const welcome = safeDecode(FrameType.WELCOME, frame.payload);
    if (!welcome) return;
    // WELCOME is resent until ACKed: a resent one (our ACK was lost) is ACKed again, not taken twice.
    void this.writeRaw(FrameType.ACK, seqPayload(0));
    if (this.sessionUp) return;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.sessionUp = true;
    this.lastHeard = Date.now();
    // The gateway's answer is the session's size, even above what we offered (revision 2's floor of 256).
    this.maxFrame = welcome.maxFrame;
    this.zone = welcome.zone ?? null;
    this.framed?.negotiate(this.maxFrame, welcome.window);
    if (!Number.isNaN(Date.parse(welcome.time))) this.clockSkewMs = Date.parse(welcome.time) - Date.now();
    this.log(`welcomed: session ${welcome.session}, maxFrame ${welcome.maxFrame}, window ${welcome.window}`);
    this.emit('welcome', welcome);
  }

  private checkGateway(): void {
    if (!this.sessionUp || this.stopped) return;
    const quiet = Date.now() - this.lastHeard;
    if (quiet > (this.opts.gatewayQuietMs ?? 7000))
      this.sessionDown(`nothing heard from the gateway for ${(quiet / 1000).toFixed(1)} s`);
  }

  private sessionDown(reason: string): void {
    if (!this.sessionUp) return;
    this.sessionUp = false;
    this.generation++;
    this.loading = null;
    this.log(`session lost: ${reason}`);
    this.emit('sessionLost', reason);
    if (this.framed) this.later(500, () => this.hello());
  }

  private send<T extends JsonFrameType>(type: T, body: MessageOf<T>): Promise<void> {
    const link = this.framed?.link;
    if (!link) return Promise.resolve();
    return link.send(type, encodeMessage(type, body)).catch(() => undefined);
  }

  private refuse(code: string, message: string): Promise<void> {
    this.log(`ERROR ${code}: ${message}`);
    return this.send(FrameType.ERROR, { code, message });
  }

  private async handle(frame: Frame, gen: number): Promise<void> {
    if (gen !== this.generation) return;
    switch (frame.type) {
      case FrameType.LOAD_BEGIN: {
        const msg = safeDecode(FrameType.LOAD_BEGIN, frame.payload);
        if (!msg) return this.refuse('BAD_PAYLOAD', 'LOAD_BEGIN payload does not validate');
        if (this.storage.meta(msg.route)?.complete)
          return this.refuse(
            'ROUTE_PRESENT',
            `route ${msg.route} is loaded on ${this.opts.deviceId} and not yet unloaded`,
          );
        const from = this.storage.partialBytes(msg.route, msg.sha256);
        this.storage.beginLoad(
          {
            route: msg.route,
            cycle: msg.cycle,
            records: msg.records,
            bytes: msg.bytes,
            layout: msg.layout,
            sha256: msg.sha256,
          },
          from,
        );
        this.loading = { route: msg.route, records: msg.records };
        this.emit('loadBegin', msg.route, from);
        return this.send(FrameType.READY, { route: msg.route, fromOffset: from });
      }
      case FrameType.DATA: {
        const data = readData(frame.payload);
        if (data instanceof FrameError || !this.loading) return this.refuse('NO_TRANSFER', 'DATA outside a load');
        this.storage.writeChunk(this.loading.route, data.offset, data.bytes);
        return;
      }
      case FrameType.LOAD_END: {
        const msg = safeDecode(FrameType.LOAD_END, frame.payload);
        if (!msg || !this.loading || msg.route !== this.loading.route)
          return this.refuse('NO_TRANSFER', 'LOAD_END outside a load');
        const content = this.storage.routeFile(msg.route);
        this.loading = null;
        if (sha256(content) !== msg.sha256) {
          this.storage.remove(msg.route);
          return this.refuse('HASH', `route ${msg.route} arrived with another hash; load it again`);
        }
        this.storage.completeLoad(msg.route);
        const records = countLines(content);
        this.emit('loaded', msg.route, records);
        // Read while still docked: HOLDING tells the gateway, which unloads without a new session (revision 2).
        if (this.opts.readAfterLoadMs !== undefined)
          this.later(this.opts.readAfterLoadMs, () => this.readRoutes().length && void this.sayHolding());
        return this.send(FrameType.LOAD_OK, { route: msg.route, records });
      }
      case FrameType.UNLOAD_BEGIN: {
        const msg = safeDecode(FrameType.UNLOAD_BEGIN, frame.payload);
        if (!msg) return this.refuse('BAD_PAYLOAD', 'UNLOAD_BEGIN payload does not validate');
        return this.unload(msg.route, msg.fromOffset, gen);
      }
      case FrameType.CLEAR: {
        const msg = safeDecode(FrameType.CLEAR, frame.payload);
        if (!msg) return this.refuse('BAD_PAYLOAD', 'CLEAR payload does not validate');
        if (!this.storage.meta(msg.route)) return this.send(FrameType.CLEARED, { route: msg.route });
        const readings = this.storage.readings(msg.route);
        // Never delete readings the gateway has not confirmed: CLEAR must name what we hold.
        if ((readings ? sha256(readings) : EMPTY_SHA256) !== msg.sha256)
          return this.refuse('HASH', `CLEAR names readings of ${msg.route} this device does not hold`);
        this.storage.remove(msg.route);
        this.emit('cleared', msg.route);
        return this.send(FrameType.CLEARED, { route: msg.route });
      }
      case FrameType.ERROR: {
        const err = safeDecode(FrameType.ERROR, frame.payload);
        this.emit('gatewayError', err?.code ?? 'ERROR', err?.message ?? '');
        // FATAL ends the session (dock-protocol.md); still in the cradle, the device starts a new one.
        if (err?.code === 'FATAL') this.sessionDown(`the gateway ended the session: ${err.message}`);
        return;
      }
      case FrameType.BYE:
        this.sessionUp = false;
        this.emit('bye');
        return;
      default:
        return this.refuse('UNEXPECTED', `a device does not expect frame type 0x${frame.type.toString(16)}`);
    }
  }

  private async unload(route: string, fromOffset: number, gen: number): Promise<void> {
    const meta = this.storage.meta(route);
    if (!meta?.complete) return this.refuse('NO_ROUTE', `route ${route} is not on ${this.opts.deviceId}`);
    const readings = this.storage.readings(route) ?? Buffer.alloc(0);
    if (fromOffset > readings.length)
      return this.refuse('OFFSET', `fromOffset ${fromOffset} is past the ${readings.length}-byte readings file`);
    const hash = sha256(readings);
    this.emit('unloadBegin', route, fromOffset);
    void this.send(FrameType.UNLOAD_INFO, {
      route,
      records: countLines(readings),
      bytes: readings.length,
      layout: 'read-v1',
      sha256: hash,
    });
    const chunk = this.maxFrame - 4;
    const window = this.framed?.link.window ?? 8;
    const ahead: Promise<void>[] = [];
    for (let offset = fromOffset; offset < readings.length && gen === this.generation; offset += chunk) {
      const sent = this.framed!.link.sendData(
        offset,
        readings.subarray(offset, Math.min(offset + chunk, readings.length)),
      );
      sent.catch(() => undefined);
      ahead.push(sent);
      if (ahead.length >= window * 2) await ahead.shift()!.catch(() => undefined);
    }
    if (gen !== this.generation) return;
    void this.send(FrameType.UNLOAD_END, { route, sha256: hash });
  }
}

/** `tcp://host:port` makes the simulator the serial device server the gateway connects to. */
export function openDeviceTransport(port: string, baudRate = 115_200): Transport {
  const tcp = /^tcp:\/\/([^:/]+):(\d+)$/.exec(port);
  if (tcp) return new TcpListenTransport(tcp[1]!, Number(tcp[2]));
  return transportFor(port, { baudRate });
}

function safeDecode<T extends JsonFrameType>(type: T, payload: Buffer): MessageOf<T> | null {
  try {
    return decodeMessage(type, payload);
  } catch (err) {
    if (err instanceof MessageError) return null;
    throw err;
  }
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function countLines(bytes: Buffer): number {
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n++;
  return n;
}
