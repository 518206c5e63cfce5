/**
 * Joins a transport to FDP/1: bytes in → SLIP parser → frames into the reliable link (a bad
 * frame counts as corrupted, which NAKs); frames out → SLIP → transport, resolving on drain.
 */

import { encodeFrame, type Frame } from './codec/frame.js';
import { SlipFrameParser, type ParsedItem } from './codec/slip-parser.js';
import { ReliableLink } from './link.js';
import type { Transport } from './transport.js';

export interface FramedLink {
  link: ReliableLink;
  parser: SlipFrameParser;
  /** Sets the negotiated limits after HELLO/WELCOME. */
  negotiate(maxFrame: number, window: number): void;
  detach(): void;
}

export interface FrameLinkOptions {
  now?: () => number;
  ackTimeoutMs?: number;
  window?: number;
  maxFrame?: number;
  /** Sees each good frame first; returning true keeps it from the link (a device's view of a refusal at seq 0). */
  intercept?: (frame: Frame) => boolean;
  /** Bytes as they arrive and leave, before framing: where a simulator injects line faults. */
  inbound?: (bytes: Buffer) => Buffer;
  outbound?: (frame: Frame) => Buffer;
}

export function frameLink(transport: Transport, opts: FrameLinkOptions = {}): FramedLink {
  const parser = new SlipFrameParser({ maxFrame: opts.maxFrame });
  const link = new ReliableLink({
    write: (frame: Frame) => transport.write(opts.outbound ? opts.outbound(frame) : encodeFrame(frame)),
    now: opts.now ?? Date.now,
    ackTimeoutMs: opts.ackTimeoutMs,
    window: opts.window,
  });
  // Until WELCOME is negotiated, only HELLO, WELCOME and a refusal go out: they may use 8192.
  link.maxFrame = opts.maxFrame ?? link.maxFrame;
  const onItem = (item: ParsedItem) => {
    if (!('frame' in item)) return link.corrupted();
    if (!opts.intercept?.(item.frame)) link.receive(item.frame);
  };
  const onData = (bytes: Buffer) => parser.write(opts.inbound ? opts.inbound(bytes) : bytes);
  const onClose = ({ reason }: { reason: string }) => link.close(reason);
  parser.on('data', onItem);
  transport.on('data', onData);
  transport.on('close', onClose);
  return {
    link,
    parser,
    negotiate(maxFrame, window) {
      parser.maxFrame = maxFrame;
      link.maxFrame = maxFrame;
      link.window = window;
    },
    detach() {
      transport.off('data', onData);
      transport.off('close', onClose);
      parser.off('data', onItem);
      link.close('detached');
    },
  };
}
