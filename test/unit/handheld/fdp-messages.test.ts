import { describe, expect, it } from 'vitest';
import { FrameType } from '../../../adapters/handheld-serial/codec/frame.js';
import { decodeMessage, encodeMessage, MessageError } from '../../../adapters/handheld-serial/codec/messages.js';

describe('FDP/1 JSON payloads', () => {
  it('reads the HELLO of dock-protocol.md, with defaults for what a device leaves out', () => {
    const hello = decodeMessage(
      FrameType.HELLO,
      Buffer.from(
        JSON.stringify({
          device: 'HH-0042',
          model: 'X9',
          fw: '2.3.1',
          proto: 1,
          maxFrame: 4096,
          window: 8,
          clock: '2026-11-23T08:01:02Z',
          battery: 87,
          routes: [{ route: 'R012', cycle: '2026-11', records: 812, read: 640, bytes: 112868, sha256: 'a'.repeat(64) }],
        }),
      ),
    );
    expect(hello).toMatchObject({ device: 'HH-0042', maxFrame: 4096, routes: [{ route: 'R012', records: 812 }] });
    expect(decodeMessage(FrameType.HELLO, Buffer.from('{"device":"HH-1","proto":1}'))).toMatchObject({
      maxFrame: 1024,
      window: 8,
      routes: [],
    });
  });

  it('round-trips every transfer message', () => {
    const sha256 = 'b'.repeat(64);
    const samples = [
      [FrameType.LOAD_BEGIN, { route: 'R01', cycle: '2026-11', records: 10, bytes: 1740, layout: 'route-v1', sha256 }],
      [FrameType.READY, { route: 'R01', fromOffset: 0 }],
      [FrameType.LOAD_END, { route: 'R01', sha256 }],
      [FrameType.LOAD_OK, { route: 'R01', records: 10 }],
      [FrameType.UNLOAD_BEGIN, { route: 'R01', fromOffset: 512 }],
      [FrameType.UNLOAD_INFO, { route: 'R01', records: 10, bytes: 1410, layout: 'read-v1', sha256 }],
      [FrameType.UNLOAD_END, { route: 'R01', sha256 }],
      [FrameType.CLEAR, { route: 'R01', sha256 }],
      [FrameType.CLEARED, { route: 'R01' }],
      [FrameType.ERROR, { code: 'ROUTE_PRESENT', message: 'route R01 is loaded and not yet unloaded' }],
    ] as const;
    for (const [type, body] of samples) expect(decodeMessage(type, encodeMessage(type, body as never))).toEqual(body);
  });

  it('names the field a device got wrong', () => {
    const attempt = (type: Parameters<typeof decodeMessage>[0], text: string) => {
      try {
        decodeMessage(type, Buffer.from(text));
      } catch (err) {
        return err as MessageError;
      }
      throw new Error('expected a MessageError');
    };
    expect(attempt(FrameType.HELLO, '{"proto":1}')).toMatchObject({ field: 'device', code: 'BAD_PAYLOAD' });
    expect(
      attempt(FrameType.UNLOAD_INFO, '{"route":"R1","records":1,"bytes":-5,"layout":"read-v1","sha256":"x"}').message,
    ).toMatch(/^bytes: /);
    expect(attempt(FrameType.ERROR, '{"code":"lower case","message":"x"}')).toMatchObject({ field: 'code' });
    expect(attempt(FrameType.READY, 'not json')).toMatchObject({ field: '(payload)', message: 'payload is not JSON' });
  });
});
