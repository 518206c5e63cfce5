import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { dataPayload, FrameType, readData, type Frame } from '../../../adapters/handheld-serial/codec/frame.js';
import {
  decodeMessage,
  encodeMessage,
  type JsonFrameType,
  type MessageOf,
} from '../../../adapters/handheld-serial/codec/messages.js';
import {
  DeviceRefusedError,
  GatewaySession,
  ProtocolError,
  SessionEndedError,
} from '../../../adapters/handheld-serial/gateway-session.js';
import { Inbox, ReplyTimeoutError } from '../../../adapters/handheld-serial/inbox.js';
import { ReliableLink } from '../../../adapters/handheld-serial/link.js';

/**
 * The gateway's transfers against a scripted device, over two reliable links joined in memory:
 * what the gateway sends at each step, and every way a device can refuse or misbehave.
 */
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function pair() {
  const links: ReliableLink[] = [];
  const make = (peer: () => ReliableLink) =>
    new ReliableLink({
      write: async (frame: Frame) =>
        queueMicrotask(() => peer().receive({ ...frame, payload: Buffer.from(frame.payload) })),
      now: Date.now,
      ackTimeoutMs: 200,
    });
  const gateway = make(() => links[1]!);
  const device = make(() => links[0]!);
  links.push(gateway, device);
  const inbox = new Inbox();
  gateway.on('message', (f) => inbox.push(f));
  const hello = { device: 'HH-0042', proto: 1, maxFrame: 64 + 4, window: 4, routes: [] };
  const session = new GatewaySession(hello, gateway, inbox, {
    sessionId: 's',
    maxFrame: 68,
    window: 4,
    replyTimeoutMs: 500,
  });
  const received: Frame[] = [];
  device.on('message', (f) => received.push(f));
  const reply = <T extends JsonFrameType>(type: T, body: MessageOf<T>) =>
    void device.send(type, encodeMessage(type, body));
  const whenDeviceGets = (type: number) =>
    new Promise<Frame>((resolve) => {
      const check = (f: Frame) => {
        if (f.type !== type) return;
        device.off('message', check);
        resolve(f);
      };
      device.on('message', check);
    });
  return { gateway, device, session, received, reply, whenDeviceGets };
}

describe('gateway session', () => {
  const links: ReliableLink[] = [];
  afterEach(() => {
    for (const l of links.splice(0)) l.close();
  });

  const file = Buffer.from(
    Array.from({ length: 10 }, (_, i) => `line ${String(i).padStart(3, '0')} ${'x'.repeat(30)}\r\n`).join(''),
    'latin1',
  );
  const routeFile = {
    route: 'R01',
    cycle: '2026-11',
    layout: 'route-v1',
    records: 10,
    sha256: sha(file),
    content: file,
  };

  it('loads from the offset the device asks for, in chunks of maxFrame − 4, then LOAD_END with the hash', async () => {
    const p = pair();
    links.push(p.gateway, p.device);
    void p.whenDeviceGets(FrameType.LOAD_BEGIN).then((f) => {
      expect(decodeMessage(FrameType.LOAD_BEGIN, f.payload)).toEqual({
        route: 'R01',
        cycle: '2026-11',
        records: 10,
        bytes: file.length,
        layout: 'route-v1',
        sha256: sha(file),
      });
      p.reply(FrameType.READY, { route: 'R01', fromOffset: 128 });
    });
    void p.whenDeviceGets(FrameType.LOAD_END).then(() => p.reply(FrameType.LOAD_OK, { route: 'R01', records: 10 }));
    const progress: number[] = [];
    const result = await p.session.load(routeFile, (x) => progress.push(x.bytesDone));
    expect(result).toEqual({ records: 10, fromOffset: 128 });
    const data = p.received
      .filter((f) => f.type === FrameType.DATA)
      .map((f) => readData(f.payload) as { offset: number; bytes: Buffer });
    expect(data.map((d) => d.offset)).toEqual([128, 192, 256, 320, 384]);
    expect(data.every((d) => d.bytes.length <= 64)).toBe(true);
    expect(Buffer.concat(data.map((d) => d.bytes)).equals(file.subarray(128))).toBe(true);
    expect(progress.at(-1)).toBe(file.length);
    expect(decodeMessage(FrameType.LOAD_END, p.received.at(-1)!.payload)).toEqual({ route: 'R01', sha256: sha(file) });
  });

  it.each([
    ['ROUTE_PRESENT', 'route R01 is loaded and not yet unloaded'],
    ['FULL', 'no room for another route'],
  ])("turns the device's ERROR %s into a refusal naming the code", async (code, message) => {
    const p = pair();
    links.push(p.gateway, p.device);
    void p.whenDeviceGets(FrameType.LOAD_BEGIN).then(() => p.reply(FrameType.ERROR, { code, message }));
    await expect(p.session.load(routeFile)).rejects.toEqual(new DeviceRefusedError(code, message));
  });

  it('reports a device that finds the wrong hash after LOAD_END (ERROR HASH)', async () => {
    const p = pair();
    links.push(p.gateway, p.device);
    void p.whenDeviceGets(FrameType.LOAD_BEGIN).then(() => p.reply(FrameType.READY, { route: 'R01', fromOffset: 0 }));
    void p
      .whenDeviceGets(FrameType.LOAD_END)
      .then(() => p.reply(FrameType.ERROR, { code: 'HASH', message: 'hash differs' }));
    await expect(p.session.load(routeFile)).rejects.toMatchObject({ code: 'HASH' });
  });

  it('answers a READY past the end of the file with an ERROR and stops', async () => {
    const p = pair();
    links.push(p.gateway, p.device);
    void p
      .whenDeviceGets(FrameType.LOAD_BEGIN)
      .then(() => p.reply(FrameType.READY, { route: 'R01', fromOffset: file.length + 1 }));
    const err = await p.session.load(routeFile).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('OFFSET');
    await new Promise((r) => setTimeout(r, 20));
    const sent = p.received.find((f) => f.type === FrameType.ERROR);
    expect(decodeMessage(FrameType.ERROR, sent!.payload).code).toBe('OFFSET');
  });

  it('names the field of a payload that does not validate (BAD_PAYLOAD)', async () => {
    const p = pair();
    links.push(p.gateway, p.device);
    void p
      .whenDeviceGets(FrameType.LOAD_BEGIN)
      .then(() => void p.device.send(FrameType.READY, Buffer.from('{"route":"R01","fromOffset":-5}')));
    await expect(p.session.load(routeFile)).rejects.toThrow(/READY payload: fromOffset/);
  });

  it('unloads into the sink, resuming at the offset, and checks UNLOAD_END against UNLOAD_INFO', async () => {
    const p = pair();
    links.push(p.gateway, p.device);
    const readings = Buffer.from('x'.repeat(300));
    void p.whenDeviceGets(FrameType.UNLOAD_BEGIN).then(async (f) => {
      const { fromOffset } = decodeMessage(FrameType.UNLOAD_BEGIN, f.payload);
      expect(fromOffset).toBe(100);
      p.reply(FrameType.UNLOAD_INFO, {
        route: 'R01',
        records: 3,
        bytes: 300,
        layout: 'read-v1',
        sha256: sha(readings),
      });
      for (let o = fromOffset; o < 300; o += 64)
        void p.device.send(FrameType.DATA, dataPayload(o, readings.subarray(o, o + 64)));
      p.reply(FrameType.UNLOAD_END, { route: 'R01', sha256: sha(readings) });
    });
    const got = Buffer.alloc(300);
    const result = await p.session.unload(
      'R01',
      100,
      { write: async (offset, bytes) => void bytes.copy(got, offset) },
      () => true,
    );
    expect(result.accepted).toBe(true);
    expect(got.subarray(100).equals(readings.subarray(100))).toBe(true);
  });

  it('refuses an UNLOAD_END whose hash differs from UNLOAD_INFO, and DATA that leaves a gap', async () => {
    for (const fault of ['hash', 'gap'] as const) {
      const p = pair();
      links.push(p.gateway, p.device);
      void p.whenDeviceGets(FrameType.UNLOAD_BEGIN).then(() => {
        p.reply(FrameType.UNLOAD_INFO, {
          route: 'R01',
          records: 1,
          bytes: 10,
          layout: 'read-v1',
          sha256: 'a'.repeat(64),
        });
        if (fault === 'gap') void p.device.send(FrameType.DATA, dataPayload(5, Buffer.from('12345')));
        p.reply(FrameType.UNLOAD_END, { route: 'R01', sha256: 'b'.repeat(64) });
      });
      const err = await p.session
        .unload('R01', 0, { write: async () => undefined }, () => true)
        .catch((e: unknown) => e);
      expect((err as ProtocolError).code).toBe(fault === 'hash' ? 'HASH' : 'OFFSET');
    }
  });

  it('waits for CLEARED after CLEAR, ends on BYE, and times out a device that does not answer', async () => {
    const p = pair();
    links.push(p.gateway, p.device);
    void p.whenDeviceGets(FrameType.CLEAR).then((f) => {
      expect(decodeMessage(FrameType.CLEAR, f.payload)).toEqual({ route: 'R01', sha256: 'c'.repeat(64) });
      p.reply(FrameType.CLEARED, { route: 'R01' });
    });
    await p.session.clear('R01', 'c'.repeat(64));
    await expect(p.session.clear('R02', 'c'.repeat(64))).rejects.toBeInstanceOf(ReplyTimeoutError);
    void p.device.send(FrameType.BYE);
    await expect(p.session.idle(1000)).rejects.toBeInstanceOf(SessionEndedError);
  });

  it('sends nothing more once aborted (a new HELLO took the link)', async () => {
    const p = pair();
    links.push(p.gateway, p.device);
    p.session.abort(new Error('new HELLO'));
    await expect(p.session.clear('R01', 'c'.repeat(64))).rejects.toThrow('new HELLO');
    await new Promise((r) => setTimeout(r, 20));
    expect(p.received).toEqual([]);
  });
});
