import { describe, expect, it } from 'vitest';
import { crc16 } from '../../../adapters/handheld-serial/codec/crc16.js';
import {
  dataPayload,
  decodeBody,
  encodeBody,
  encodeFrame,
  FrameError,
  FrameType,
  frameTypeName,
  readData,
  readSeq,
  seqAfter,
  seqPayload,
  type Frame,
  type FrameTypeCode,
} from '../../../adapters/handheld-serial/codec/frame.js';
import { SlipFrameParser, type ParsedItem } from '../../../adapters/handheld-serial/codec/slip-parser.js';
import { END, ESC, slipEncode, slipUnescape } from '../../../adapters/handheld-serial/codec/slip.js';

const frame = (type: FrameTypeCode, seq: number, payload: Buffer | string = ''): Frame => ({
  type,
  seq,
  payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
});

function parse(chunks: Buffer[], maxFrame?: number): ParsedItem[] {
  const parser = new SlipFrameParser({ maxFrame });
  const out: ParsedItem[] = [];
  parser.on('data', (item: ParsedItem) => out.push(item));
  for (const c of chunks) parser.write(c);
  return out;
}

describe('CRC-16/CCITT-FALSE', () => {
  it('gives the check value 0x29B1 for "123456789"', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x29b1);
  });
  it('starts from 0xFFFF on no bytes', () => {
    expect(crc16(Buffer.alloc(0))).toBe(0xffff);
  });
});

describe('SLIP', () => {
  it('escapes END and ESC and restores them', () => {
    const body = Buffer.from([0x01, END, 0x02, ESC, 0x03]);
    const wire = slipEncode(body);
    expect([...wire]).toEqual([END, 0x01, ESC, 0xdc, 0x02, ESC, 0xdd, 0x03, END]);
    expect(slipUnescape(wire.subarray(1, -1))).toEqual(body);
  });
  it('refuses an ESC not followed by 0xDC or 0xDD', () => {
    expect(slipUnescape(Buffer.from([0x01, ESC, 0x05]))).toBeNull();
  });
});

describe('FDP/1 frames', () => {
  it('lays out ver, type, seq, len, payload and CRC big-endian', () => {
    const body = encodeBody(frame(FrameType.BYE, 0x1234, 'ab'));
    expect([...body.subarray(0, 8)]).toEqual([1, 0x50, 0x12, 0x34, 0x00, 0x02, 0x61, 0x62]);
    expect(body.readUInt16BE(8)).toBe(crc16(body, 0, 8));
  });

  it('round-trips every frame type of the type table', () => {
    const samples: Record<string, Buffer> = {
      HELLO: Buffer.from(JSON.stringify({ device: 'HH-0042', proto: 1, maxFrame: 4096, window: 8 })),
      WELCOME: Buffer.from(JSON.stringify({ session: 'abc', maxFrame: 1024, window: 8, time: '2026-11-23T08:01:02Z' })),
      PING: Buffer.alloc(0),
      ACK: seqPayload(7),
      NAK: seqPayload(8),
      DATA: dataPayload(123_456, Buffer.from('readings')),
      BYE: Buffer.alloc(0),
    };
    for (const [name, code] of Object.entries(FrameType)) {
      const f = frame(
        code,
        name === 'ACK' || name === 'NAK' || name === 'PING' ? 0 : 42,
        samples[name] ?? Buffer.from(JSON.stringify({ route: 'R012' })),
      );
      const items = parse([encodeFrame(f)]);
      expect(items, name).toEqual([{ frame: f }]);
      expect(frameTypeName(code)).toBe(name);
    }
  });

  it('escapes 0xC0 and 0xDB wherever they fall: header, payload and CRC', () => {
    // seq 0xC0DB puts both bytes in the header.
    const inHeader = frame(FrameType.DATA, 0xc0db, dataPayload(0, Buffer.from([1, 2])));
    expect([...encodeBody(inHeader).subarray(2, 4)]).toEqual([0xc0, 0xdb]);
    // A payload of nothing but END and ESC bytes.
    const inPayload = frame(FrameType.DATA, 3, dataPayload(0xc0c0dbdb, Buffer.from([END, ESC, END, ESC])));
    // A payload whose CRC contains 0xC0 or 0xDB, found by search.
    let inCrc: Frame | undefined;
    for (let i = 0; i < 100_000 && !inCrc; i++) {
      const f = frame(FrameType.DATA, 5, dataPayload(i, Buffer.from('x')));
      const body = encodeBody(f);
      const crc = body.subarray(body.length - 2);
      if (crc.includes(0xc0) && crc.includes(0xdb)) inCrc = f;
    }
    expect(inCrc).toBeDefined();
    for (const f of [inHeader, inPayload, inCrc!]) {
      const wire = encodeFrame(f);
      // Only the two framing ENDs stay raw on the wire.
      expect(wire.subarray(1, -1).includes(END)).toBe(false);
      expect(parse([wire])).toEqual([{ frame: f }]);
    }
  });

  it('reports a bad CRC, a wrong length, an unknown version and an unknown type', () => {
    const good = encodeBody(frame(FrameType.BYE, 1, 'x'));
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1]! ^= 0xff;
    expect((decodeBody(badCrc) as FrameError).code).toBe('CRC');

    const longer = Buffer.concat([good.subarray(0, 7), Buffer.from('y'), good.subarray(7)]);
    expect((decodeBody(longer) as FrameError).code).toBe('LENGTH');

    const v2 = Buffer.from(good);
    v2[0] = 2;
    v2.writeUInt16BE(crc16(v2, 0, v2.length - 2), v2.length - 2);
    expect(decodeBody(v2)).toMatchObject({ code: 'VERSION', message: 'protocol version 2 is not 1' });

    const unknown = Buffer.from(good);
    unknown[1] = 0x77;
    unknown.writeUInt16BE(crc16(unknown, 0, unknown.length - 2), unknown.length - 2);
    expect(decodeBody(unknown)).toMatchObject({ code: 'TYPE', message: 'unknown frame type 0x77' });

    expect((decodeBody(Buffer.from([1, 0x50, 0])) as FrameError).code).toBe('SHORT');
  });

  it('refuses a payload over the negotiated maxFrame, except HELLO and WELCOME up to 8192', () => {
    const big = Buffer.alloc(2000, 0x41);
    expect(decodeBody(encodeBody(frame(FrameType.DATA, 1, big)), 1024)).toMatchObject({ code: 'OVERSIZE' });
    expect(decodeBody(encodeBody(frame(FrameType.DATA, 1, big)), 4096)).toMatchObject({ seq: 1 });
    expect(decodeBody(encodeBody(frame(FrameType.HELLO, 0, big)), 1024)).toMatchObject({ type: FrameType.HELLO });
    expect(decodeBody(encodeBody(frame(FrameType.HELLO, 0, Buffer.alloc(8193))), 1024)).toMatchObject({
      code: 'OVERSIZE',
    });
  });

  it('reads DATA offsets and ACK/NAK sequence numbers, and compares seqs modulo 65536', () => {
    expect(readData(dataPayload(70_000, Buffer.from('abc')))).toEqual({ offset: 70_000, bytes: Buffer.from('abc') });
    expect(readData(Buffer.from([1, 2]))).toBeInstanceOf(FrameError);
    expect(readSeq(seqPayload(65_535))).toBe(65_535);
    expect(readSeq(Buffer.from([1]))).toBeInstanceOf(FrameError);
    expect(seqAfter(1, 0)).toBe(true);
    expect(seqAfter(0, 65_535)).toBe(true);
    expect(seqAfter(65_535, 0)).toBe(false);
    expect(seqAfter(5, 5)).toBe(false);
  });
});

describe('SLIP frame parser', () => {
  const a = frame(FrameType.ACK, 0, seqPayload(1));
  const b = frame(FrameType.DATA, 2, dataPayload(0, Buffer.from('hello')));

  it('parses two frames in one chunk', () => {
    expect(parse([Buffer.concat([encodeFrame(a), encodeFrame(b)])])).toEqual([{ frame: a }, { frame: b }]);
  });
  it('parses a frame split across chunks, down to the CRC byte alone', () => {
    const wire = encodeFrame(b);
    expect(
      parse([
        wire.subarray(0, 3),
        wire.subarray(3, wire.length - 2),
        wire.subarray(wire.length - 2, wire.length - 1),
        wire.subarray(wire.length - 1),
      ]),
    ).toEqual([{ frame: b }]);
    expect(parse([...wire].map((x) => Buffer.from([x])))).toEqual([{ frame: b }]);
  });
  it('ignores empty frames and resyncs after garbage before the start', () => {
    const items = parse([Buffer.from([END, END, END]), Buffer.from('noise'), encodeFrame(a)]);
    expect(items[items.length - 1]).toEqual({ frame: a });
    expect(items.slice(0, -1).every((i) => 'error' in i)).toBe(true);
  });
  it('reports a bad frame and still reads the good one after it', () => {
    const bad = encodeFrame(b);
    bad[12]! ^= 0x10; // a payload byte: only the CRC can catch it
    const items = parse([Buffer.concat([bad, encodeFrame(a)])]);
    expect(items).toHaveLength(2);
    expect((items[0] as { error: FrameError }).error.code).toBe('CRC');
    expect(items[1]).toEqual({ frame: a });
  });
  it('drops a run with no END instead of buffering it forever', () => {
    const items = parse([Buffer.alloc(40_000, 0x41), Buffer.from([END]), encodeFrame(a)]);
    expect((items[0] as { error: FrameError }).error.code).toBe('OVERSIZE');
    expect(items[items.length - 1]).toEqual({ frame: a });
  });
  it('rejects a bad maxFrame option with a TypeError', () => {
    expect(() => new SlipFrameParser({ maxFrame: 9000 })).toThrow(TypeError);
  });
});
