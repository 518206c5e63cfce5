import { encodeFrame, type Frame } from './codec/frame.js';
import { SlipFrameParser, type ParsedItem } from './codec/slip-parser.js';
import { ReliableLink } from './link.js';
import type { Transport } from './transport.js';

/**
 * Joins a transport to FDP/1: bytes in → SLIP parser → frames into the reliable link (a bad
 * frame counts as corrupted, which NAKs); frames out → SLIP → transport, resolving on drain.
 */
export interface FramedLink {
  link: ReliableLink;
  parser: SlipFrameParser;
  /** Sets the negotiated limits after HELLO/WELCOME. */
  negotiate(maxFrame: number, window: number): void;
  detach(): void;
}

export function frameLink(transport: Transport, opts: { now?: () => number; ackTimeoutMs?: number; window?: number; maxFrame?: number } = {}): FramedLink {
  const parser = new SlipFrameParser({ maxFrame: opts.maxFrame });
  const link = new ReliableLink({
    write: (frame: Frame) => transport.write(encodeFrame(frame)),
    now: opts.now ?? Date.now,
    ackTimeoutMs: opts.ackTimeoutMs,
    window: opts.window,
  });
  const onItem = (item: ParsedItem) => ('frame' in item ? link.receive(item.frame) : link.corrupted());
  const onData = (bytes: Buffer) => parser.write(bytes);
  const onClose = ({ reason }: { reason: string }) => link.close(reason);
  parser.on('data', onItem);
  transport.on('data', onData);
  transport.on('close', onClose);
  return {
    link,
    parser,
    negotiate(maxFrame, window) {
      parser.maxFrame = maxFrame;
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
