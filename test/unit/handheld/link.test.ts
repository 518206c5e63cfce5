import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FrameType, readData, seqPayload, type Frame } from '../../../adapters/handheld-serial/codec/frame.js';
import { FrameTooLargeError, LinkLostError, ReliableLink } from '../../../adapters/handheld-serial/link.js';

type Filter = (frame: Frame, from: 'a' | 'b') => 'pass' | 'drop' | 'dup';

/** Two links joined by a channel that can drop or duplicate frames; `drainMs` is the line time. */
function pair(filter: Filter = () => 'pass', opts: { drainMs?: number; window?: number } = {}) {
  const sent: { from: 'a' | 'b'; frame: Frame }[] = [];
  const make = (name: 'a' | 'b') =>
    new ReliableLink({
      now: () => Date.now(),
      window: opts.window ?? 8,
      write: async (frame) => {
        sent.push({ from: name, frame });
        await new Promise((r) => setTimeout(r, opts.drainMs ?? 1));
        const verdict = filter(frame, name);
        const peer = name === 'a' ? b : a;
        if (verdict !== 'drop') peer.receive(frame);
        if (verdict === 'dup') peer.receive(frame);
      },
    });
  const a = make('a');
  const b = make('b');
  const received: number[] = [];
  b.on('message', (f) => {
    const d = readData(f.payload);
    if (!(d instanceof Error)) received.push(d.offset);
  });
  return { a, b, sent, received };
}

describe('FDP/1 reliable link', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2026-11-23T08:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('delivers frames in order with at most `window` unacknowledged', async () => {
    const { a, sent, received } = pair(() => 'pass', { window: 4 });
    const done = Promise.all(Array.from({ length: 40 }, (_, i) => a.sendData(i, Buffer.from('x'))));
    await vi.advanceTimersByTimeAsync(5_000);
    await done;
    expect(received).toEqual(Array.from({ length: 40 }, (_, i) => i));
    // The window holds: never more than 4 DATA frames sent ahead of the last ACK seen.
    let outstanding = 0;
    let max = 0;
    for (const s of sent) {
      if (s.from === 'a' && s.frame.type === FrameType.DATA) max = Math.max(max, ++outstanding);
      if (s.from === 'b' && s.frame.type === FrameType.ACK) outstanding = Math.max(0, outstanding - 1);
    }
    expect(max).toBeLessThanOrEqual(4);
    expect(a.resent).toBe(0);
  });

  it("recovers a lost frame through the receiver's NAK, delivering each once and in order", async () => {
    let dropped = false;
    const { a, b, sent, received } = pair((f, from) => {
      if (from === 'a' && f.type === FrameType.DATA && f.seq === 3 && !dropped) return ((dropped = true), 'drop');
      return 'pass';
    });
    const done = Promise.all(Array.from({ length: 10 }, (_, i) => a.sendData(i, Buffer.from('x'))));
    await vi.advanceTimersByTimeAsync(3_000);
    await done;
    expect(received).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const naks = sent.filter((s) => s.frame.type === FrameType.NAK);
    expect(naks).toHaveLength(1);
    expect(naks[0]!.frame.payload.readUInt16BE(0)).toBe(3);
    expect(b.dropped).toBeGreaterThan(0);
  });

  it('ACKs a duplicate again without processing it twice', async () => {
    const { a, received, sent } = pair((f, from) =>
      from === 'a' && f.type === FrameType.DATA && f.seq === 2 ? 'dup' : 'pass',
    );
    const done = Promise.all([0, 1, 2].map((i) => a.sendData(i, Buffer.from('x'))));
    await vi.advanceTimersByTimeAsync(1_000);
    await done;
    expect(received).toEqual([0, 1, 2]);
    expect(
      sent.filter((s) => s.from === 'b' && s.frame.type === FrameType.ACK && s.frame.payload.readUInt16BE(0) === 2),
    ).toHaveLength(2);
  });

  it('resends after ackTimeout when an ACK is lost', async () => {
    let lost = false;
    const { a, received } = pair((f, from) =>
      from === 'b' && f.type === FrameType.ACK && !lost ? ((lost = true), 'drop') : 'pass',
    );
    const done = a.sendData(0, Buffer.from('x'));
    await vi.advanceTimersByTimeAsync(999);
    expect(a.resent).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(a.resent).toBe(1);
    expect(received).toEqual([0]);
  });

  it('times the resend from when the transport drained the frame, not when it was queued', async () => {
    const { a } = pair(() => 'drop', { drainMs: 800 });
    void a.sendData(0, Buffer.from('x')).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(a.resent).toBe(0);
    await vi.advanceTimersByTimeAsync(400);
    expect(a.resent).toBe(1);
    a.close();
  });

  it('declares the session lost after 5 resends of the same frame', async () => {
    const { a } = pair(() => 'drop');
    const lost = vi.fn();
    a.on('lost', lost);
    const sending = a.sendData(0, Buffer.from('x'));
    const outcome = expect(sending).rejects.toThrow(LinkLostError);
    await vi.advanceTimersByTimeAsync(10_000);
    await outcome;
    expect(lost).toHaveBeenCalledWith('frame 1 was resent 5 times without an ACK');
    expect(a.resent).toBe(5);
  });

  it('NAKs a gap once per ackTimeout, not for every frame after it', async () => {
    const { a, sent } = pair((f, from) =>
      from === 'a' && f.type === FrameType.DATA && f.seq === 1 && a.resent === 0 ? 'drop' : 'pass',
    );
    const done = Promise.all(Array.from({ length: 8 }, (_, i) => a.sendData(i, Buffer.from('x'))));
    await vi.advanceTimersByTimeAsync(3_000);
    await done;
    expect(sent.filter((s) => s.frame.type === FrameType.NAK)).toHaveLength(1);
  });

  it('wraps sequence numbers from 65535 to 0', async () => {
    const { a, b, received } = pair();
    (a as unknown as { nextSendSeq: number }).nextSendSeq = 65_534;
    (b as unknown as { expectedSeq: number }).expectedSeq = 65_534;
    const done = Promise.all([0, 1, 2, 3].map((i) => a.sendData(i, Buffer.from('x'))));
    await vi.advanceTimersByTimeAsync(1_000);
    await done;
    expect(received).toEqual([0, 1, 2, 3]);
    expect(b.lastReceived).toBe(1);
  });

  it('checks what it sends against the negotiated maxFrame: never on the wire over it, HOLDING and seq-0 answers excepted', async () => {
    const { a, sent } = pair();
    a.maxFrame = 256;
    await expect(a.send(FrameType.LOAD_BEGIN, Buffer.alloc(257))).rejects.toBeInstanceOf(FrameTooLargeError);
    await expect(a.sendData(0, Buffer.alloc(253))).rejects.toBeInstanceOf(FrameTooLargeError);
    expect(sent).toHaveLength(0);
    const fits = a.sendData(0, Buffer.alloc(252));
    const holding = a.send(FrameType.HOLDING, Buffer.alloc(4000));
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all([fits, holding]);
    expect(sent.filter((s) => s.from === 'a').map((s) => s.frame.payload.length)).toEqual([256, 4000]);
  });

  it('resends a seq-0 session answer (WELCOME) until ACK 0, ahead of the frames after it', async () => {
    let drops = 2;
    const { a, b, sent } = pair((frame, from) =>
      from === 'a' && frame.type === FrameType.WELCOME && drops-- > 0 ? 'drop' : 'pass',
    );
    // The device ACKs WELCOME with ACK 0 (a session frame is outside the sequence, so the link leaves it to the device).
    b.on('session', () => void b.sendRaw(FrameType.ACK, 0, seqPayload(0)));
    await (async () => {
      const welcome = a.sendSessionAnswer(FrameType.WELCOME, Buffer.from('{}'));
      await vi.advanceTimersByTimeAsync(5_000);
      await welcome;
    })();
    const next = a.sendData(0, Buffer.from('x'));
    await vi.advanceTimersByTimeAsync(100);
    await next;
    const fromA = sent.filter((s) => s.from === 'a').map((s) => `${s.frame.type}:${s.frame.seq}`);
    expect(fromA.filter((f) => f === `${FrameType.WELCOME}:0`)).toHaveLength(3);
    expect(fromA[0]).toBe(`${FrameType.WELCOME}:0`);
    expect(fromA).toContain(`${FrameType.DATA}:1`);
  });
});
