import { crc16 } from './crc16.js';
import { slipEncode } from './slip.js';

/**
 * FDP/1 frame bodies (dock-protocol.md): ver(1) type(1) seq(2) len(2) payload(len) crc(2),
 * big-endian, CRC-16/CCITT-FALSE over ver..payload. Pure: bytes in, a frame or a typed error out.
 */
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 6;
export const CRC_BYTES = 2;
export const DEFAULT_MAX_FRAME = 1024;
export const MAX_FRAME_LIMIT = 8192;
/** Revision 2: no session runs below this maxFrame (a HELLO offering less is answered with it). */
export const MIN_MAX_FRAME = 256;

export const FrameType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  PING: 0x05,
  ACK: 0x06,
  LOAD_BEGIN: 0x10,
  DATA: 0x11,
  LOAD_END: 0x12,
  LOAD_OK: 0x13,
  READY: 0x14,
  NAK: 0x15,
  UNLOAD_BEGIN: 0x20,
  UNLOAD_INFO: 0x21,
  UNLOAD_END: 0x22,
  HOLDING: 0x23,
  CLEAR: 0x30,
  CLEARED: 0x31,
  ERROR: 0x40,
  BYE: 0x50,
} as const;
export type FrameTypeName = keyof typeof FrameType;
export type FrameTypeCode = (typeof FrameType)[FrameTypeName];

const NAMES = new Map<number, FrameTypeName>(Object.entries(FrameType).map(([k, v]) => [v, k as FrameTypeName]));
export const frameTypeName = (code: number): FrameTypeName | undefined => NAMES.get(code);

/** Frames without a sequence number of their own, never acknowledged. */
export const UNSEQUENCED: ReadonlySet<number> = new Set([FrameType.ACK, FrameType.NAK, FrameType.PING]);

export interface Frame {
  type: FrameTypeCode;
  seq: number;
  payload: Buffer;
}

export type FrameErrorCode = 'SHORT' | 'LENGTH' | 'OVERSIZE' | 'VERSION' | 'TYPE' | 'CRC' | 'ESCAPE';

export class FrameError extends Error {
  constructor(
    readonly code: FrameErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

export function encodeBody(frame: Frame): Buffer {
  const body = Buffer.allocUnsafe(HEADER_BYTES + frame.payload.length + CRC_BYTES);
  body[0] = PROTOCOL_VERSION;
  body[1] = frame.type;
  body.writeUInt16BE(frame.seq & 0xffff, 2);
  body.writeUInt16BE(frame.payload.length, 4);
  frame.payload.copy(body, HEADER_BYTES);
  body.writeUInt16BE(crc16(body, 0, HEADER_BYTES + frame.payload.length), HEADER_BYTES + frame.payload.length);
  return body;
}

/** A frame as it goes on the wire: SLIP-framed body. */
export function encodeFrame(frame: Frame): Buffer {
  return slipEncode(encodeBody(frame));
}

/**
 * The payload limit of a frame: the negotiated `maxFrame`, but HELLO, WELCOME, HOLDING and an
 * ERROR in WELCOME's place (seq 0) may always use 8192 (revision 2). Both sides check what they
 * send against it, not only what they receive.
 */
export function payloadLimit(type: number, seq: number, maxFrame: number): number {
  const free =
    type === FrameType.HELLO ||
    type === FrameType.WELCOME ||
    type === FrameType.HOLDING ||
    (type === FrameType.ERROR && seq === 0);
  return free ? MAX_FRAME_LIMIT : maxFrame;
}

/**
 * Decodes one unescaped body. `maxFrame` is the negotiated payload limit (see payloadLimit).
 * Errors are returned, not thrown: a bad frame is dropped and counted.
 */
export function decodeBody(body: Uint8Array, maxFrame = DEFAULT_MAX_FRAME): Frame | FrameError {
  if (body.length < HEADER_BYTES + CRC_BYTES)
    return new FrameError('SHORT', `frame of ${body.length} bytes is shorter than a header and CRC`);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.length);
  const len = buf.readUInt16BE(4);
  if (buf.length !== HEADER_BYTES + len + CRC_BYTES)
    return new FrameError(
      'LENGTH',
      `length field says ${len} payload bytes, frame carries ${buf.length - HEADER_BYTES - CRC_BYTES}`,
    );
  const expected = crc16(buf, 0, HEADER_BYTES + len);
  const got = buf.readUInt16BE(HEADER_BYTES + len);
  if (expected !== got)
    return new FrameError(
      'CRC',
      `CRC 0x${got.toString(16).padStart(4, '0')} does not match 0x${expected.toString(16).padStart(4, '0')}`,
    );
  if (buf[0] !== PROTOCOL_VERSION)
    return new FrameError('VERSION', `protocol version ${buf[0]} is not ${PROTOCOL_VERSION}`);
  const type = buf[1]!;
  if (!NAMES.has(type)) return new FrameError('TYPE', `unknown frame type 0x${type.toString(16).padStart(2, '0')}`);
  const limit = payloadLimit(type, buf.readUInt16BE(2), maxFrame);
  if (len > limit) return new FrameError('OVERSIZE', `payload of ${len} bytes is over the ${limit}-byte limit`);
  return {
    type: type as FrameTypeCode,
    seq: buf.readUInt16BE(2),
    payload: Buffer.from(buf.subarray(HEADER_BYTES, HEADER_BYTES + len)),
  };
}

/** ACK and NAK carry one u16: the highest seq received in order, or the seq expected next. */
export function seqPayload(seq: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(seq & 0xffff, 0);
  return b;
}

/** DATA: offset u32, then the bytes. */
export function dataPayload(offset: number, bytes: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(4 + bytes.length);
  b.writeUInt32BE(offset >>> 0, 0);
  b.set(bytes, 4);
  return b;
}

export function readData(payload: Buffer): { offset: number; bytes: Buffer } | FrameError {
  if (payload.length < 4) return new FrameError('SHORT', 'DATA payload shorter than its 4-byte offset');
  return { offset: payload.readUInt32BE(0), bytes: payload.subarray(4) };
}

export function readSeq(payload: Buffer): number | FrameError {
  if (payload.length !== 2) return new FrameError('LENGTH', `ACK/NAK payload must be 2 bytes, got ${payload.length}`);
  return payload.readUInt16BE(0);
}

/** Sequence numbers compare modulo 65536: true when a comes after b. */
export function seqAfter(a: number, b: number): boolean {
  const d = (a - b) & 0xffff;
  return d !== 0 && d < 0x8000;
}
