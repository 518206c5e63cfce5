/**
 * The gateway's side of one FDP/1 session after WELCOME (dock-protocol.md, "Transfers"): load a
 * file, unload a file, clear a route, end. It knows the protocol, not the store: what to load
 * and where uploads go are the caller's (src/flows/dock/). Replies are taken from the inbox in order.
 */

import { FrameType, frameTypeName, readData, FrameError, type Frame } from './codec/frame.js';
import {
  decodeMessage,
  encodeMessage,
  MessageError,
  type Hello,
  type JsonFrameType,
  type MessageOf,
} from './codec/messages.js';
import type { Inbox } from './inbox.js';
import type { ReliableLink } from './link.js';

export interface TransferProgress {
  direction: 'load' | 'unload';
  route: string;
  bytesDone: number;
  bytesTotal: number;
  /** Where this transfer started in the file (non-zero when it resumed). */
  fromOffset: number;
}

export interface RouteFile {
  route: string;
  cycle: string;
  layout: string;
  records: number;
  sha256: string;
  content: Buffer;
}

/** What the device said when it refused (ERROR frame), e.g. ROUTE_PRESENT, FULL, HASH. */
export class DeviceRefusedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The device sent something the protocol does not allow at this point. */
export class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class SessionEndedError extends Error {
  readonly code = 'BYE';
}

export interface UploadSink {
  /** Writes a chunk at its offset; a resent chunk overwrites the same bytes. */
  write(offset: number, bytes: Buffer): Promise<void>;
}

export interface SessionOptions {
  sessionId: string;
  maxFrame: number;
  window: number;
  /** How long to wait for a device's answer (READY, LOAD_OK, UNLOAD_INFO, the next DATA…). */
  replyTimeoutMs: number;
}

export type HeldRoutes = MessageOf<typeof FrameType.HOLDING>['routes'];

export class GatewaySession {
  /** The latest HOLDING the device sent (revision 2), until the caller takes it. */
  private holding: HeldRoutes | null = null;

  constructor(
    readonly hello: Hello,
    private readonly link: ReliableLink,
    private readonly inbox: Inbox,
    readonly opts: SessionOptions,
  ) {}

  get deviceId(): string {
    return this.hello.device;
  }

  /** Sends a route file from the offset the device asks for; resolves with the device's LOAD_OK. */
  async load(
    file: RouteFile,
    progress: (p: TransferProgress) => void = () => undefined,
  ): Promise<{ records: number; fromOffset: number }> {
    this.send(FrameType.LOAD_BEGIN, {
      route: file.route,
      cycle: file.cycle,
      records: file.records,
      bytes: file.content.length,
      layout: file.layout,
      sha256: file.sha256,
    });
    const ready = await this.expect(FrameType.READY, 'READY');
    if (ready.route !== file.route)
      throw this.violation('ROUTE', `READY names route ${ready.route}, not ${file.route}`);
    if (ready.fromOffset > file.content.length)
      throw this.violation(
        'OFFSET',
        `READY fromOffset ${ready.fromOffset} is past the end of the ${file.content.length}-byte file`,
      );
    const fromOffset = ready.fromOffset;
    const chunk = this.opts.maxFrame - 4;
    const total = file.content.length;
    let done = fromOffset;
    progress({ direction: 'load', route: file.route, bytesDone: done, bytesTotal: total, fromOffset });
    // Keep the window full without queueing the whole file: a few windows ahead is enough.
    const ahead: Promise<void>[] = [];
    for (let offset = fromOffset; offset < total; offset += chunk) {
      const end = Math.min(offset + chunk, total);
      const acked = this.link.sendData(offset, file.content.subarray(offset, end)).then(() => {
        done += end - offset;
        progress({ direction: 'load', route: file.route, bytesDone: done, bytesTotal: total, fromOffset });
      });
      acked.catch(() => undefined);
      ahead.push(acked);
      if (ahead.length >= this.opts.window * 2) await ahead.shift();
    }
    await Promise.all(ahead);
    this.send(FrameType.LOAD_END, { route: file.route, sha256: file.sha256 });
    const ok = await this.expect(FrameType.LOAD_OK, 'LOAD_OK');
    return { records: ok.records, fromOffset };
  }

  /**
   * Asks for a route's readings from `fromOffset`. `onInfo` sees UNLOAD_INFO before any DATA and
   * says whether the offset still holds (the device may hold another file than the one the
   * kept prefix came from); if not, this unload is drained and the caller starts over from 0.
   */
  async unload(
    route: string,
    fromOffset: number,
    sink: UploadSink,
    onInfo: (info: MessageOf<typeof FrameType.UNLOAD_INFO>) => boolean,
    progress: (p: TransferProgress) => void = () => undefined,
  ): Promise<{ info: MessageOf<typeof FrameType.UNLOAD_INFO>; accepted: boolean }> {
    this.send(FrameType.UNLOAD_BEGIN, { route, fromOffset });
    const info = await this.expect(FrameType.UNLOAD_INFO, 'UNLOAD_INFO');
    if (info.route !== route) throw this.violation('ROUTE', `UNLOAD_INFO names route ${info.route}, not ${route}`);
    const accepted = onInfo(info);
    let done = fromOffset;
    progress({ direction: 'unload', route, bytesDone: done, bytesTotal: info.bytes, fromOffset });
    for (;;) {
      const frame = await this.next('DATA or UNLOAD_END');
      if (frame.type === FrameType.UNLOAD_END) {
        const end = this.decode(FrameType.UNLOAD_END, frame);
        if (end.sha256 !== info.sha256)
          throw this.violation('HASH', `UNLOAD_END hash ${end.sha256} differs from UNLOAD_INFO's ${info.sha256}`);
        return { info, accepted };
      }
      if (frame.type !== FrameType.DATA) throw this.unexpected(frame, 'DATA or UNLOAD_END');
      const data = readData(frame.payload);
      if (data instanceof FrameError) throw this.violation('DATA', data.message);
      if (!accepted) continue;
      if (data.offset > done)
        throw this.violation('OFFSET', `DATA at offset ${data.offset} leaves a gap after byte ${done}`);
      if (data.offset + data.bytes.length > info.bytes)
        throw this.violation('OFFSET', `DATA runs past the ${info.bytes} bytes UNLOAD_INFO announced`);
      await sink.write(data.offset, data.bytes);
      done = Math.max(done, data.offset + data.bytes.length);
      progress({ direction: 'unload', route, bytesDone: done, bytesTotal: info.bytes, fromOffset });
    }
  }

  /** Tells the device it may delete a route and its readings: only after the store committed them. */
  async clear(route: string, sha256: string): Promise<void> {
    this.send(FrameType.CLEAR, { route, sha256 });
    const cleared = await this.expect(FrameType.CLEARED, 'CLEARED');
    if (cleared.route !== route) throw this.violation('ROUTE', `CLEARED names route ${cleared.route}, not ${route}`);
  }

  /**
   * Waits docked with nothing to do for up to `ms` (rejects with ReplyTimeoutError when quiet,
   * which is the normal case). Resolves with the routes the device holds when it says they
   * changed (HOLDING: a route read while docked). A device that undocks says BYE, which ends the session.
   */
  async idle(ms: number): Promise<HeldRoutes> {
    const held = this.takeHolding();
    if (held) return held;
    const frame = await this.next('nothing (idle)', ms, true);
    if (frame.type === FrameType.HOLDING) return this.takeHolding()!;
    throw this.unexpected(frame, 'nothing while idle');
  }

  /** What the device last said it holds (HOLDING) and the caller has not acted on yet. */
  takeHolding(): HeldRoutes | null {
    const held = this.holding;
    this.holding = null;
    return held;
  }

  /** An ERROR for a person at the device; FATAL ends the session. Its message is cut to fit the negotiated maxFrame. */
  refuse(code: string, message: string): void {
    let text = message.slice(0, 500);
    while (text.length > 0 && encodeMessage(FrameType.ERROR, { code, message: text }).length > this.opts.maxFrame)
      text = text.slice(0, Math.floor(text.length * 0.9));
    this.send(FrameType.ERROR, { code, message: text });
  }

  /** Ends the session politely; the caller then waits for the next HELLO. */
  async bye(): Promise<void> {
    if (!this.inbox.failed) await this.link.send(FrameType.BYE).catch(() => undefined);
  }

  /** Ends this session's part in the link (a new HELLO or link loss): it sends nothing more. */
  abort(err: Error): void {
    this.inbox.fail(err);
  }

  private send<T extends JsonFrameType>(type: T, body: MessageOf<T>): void {
    // After a new HELLO the link's sequence space belongs to the next session.
    if (this.inbox.failed) return;
    // Delivery is the link's job; a lost link fails the next expect(), which is where we wait.
    this.link.send(type, encodeMessage(type, body)).catch(() => undefined);
  }

  /**
   * The device's next frame. HOLDING may come at any point of a session (the device read a route
   * meanwhile): it is kept for the caller, and the wait goes on unless `holdingEnds` says it answers it.
   */
  private async next(waitingFor: string, timeoutMs = this.opts.replyTimeoutMs, holdingEnds = false): Promise<Frame> {
    let frame = await this.inbox.next(timeoutMs, waitingFor);
    while (frame.type === FrameType.HOLDING) {
      this.holding = this.decode(FrameType.HOLDING, frame).routes;
      if (holdingEnds) return frame;
      frame = await this.inbox.next(timeoutMs, waitingFor);
    }
    if (frame.type === FrameType.BYE) throw new SessionEndedError('the device ended the session (BYE)');
    if (frame.type === FrameType.ERROR) {
      const err = this.decode(FrameType.ERROR, frame);
      throw new DeviceRefusedError(err.code, err.message);
    }
    return frame;
  }

  private async expect<T extends JsonFrameType>(type: T, name: string): Promise<MessageOf<T>> {
    const frame = await this.next(name);
    if (frame.type !== type) throw this.unexpected(frame, name);
    return this.decode(type, frame);
  }

  private decode<T extends JsonFrameType>(type: T, frame: Frame): MessageOf<T> {
    try {
      return decodeMessage(type, frame.payload);
    } catch (err) {
      if (err instanceof MessageError) {
        const message = `${frameTypeName(type)} payload: ${err.message}`;
        this.refuse('BAD_PAYLOAD', message);
        throw new ProtocolError('BAD_PAYLOAD', message);
      }
      throw err;
    }
  }

  private unexpected(frame: Frame, wanted: string): ProtocolError {
    return this.violation('UNEXPECTED', `expected ${wanted}, got ${frameTypeName(frame.type) ?? frame.type}`);
  }

  /** Tells the device what it did wrong (ERROR) and returns the error that ends this transfer. */
  private violation(code: string, message: string): ProtocolError {
    this.refuse(code, message);
    return new ProtocolError(code, message);
  }
}
