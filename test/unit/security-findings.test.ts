import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DropFolder, movedName, type DropOutcome } from '../../adapters/ami-files/drop-folder.js';
import { parseRtlamr } from '../../adapters/ami-mqtt/rtlamr.js';
import { helloSchema } from '../../adapters/handheld-serial/codec/messages.js';
import { MqttPacketGuard, PacketTooLargeError } from '../../adapters/mqtt/packet-guard.js';
import { Topics } from '../../adapters/mqtt/topics.js';
import { auditedBody } from '../../src/entry/api/openapi.js';
import { calendarDay, calendarMonth, isCalendarDate } from '../../src/core/calendar.js';
import { isDeviceId } from '../../src/core/device-id.js';
import { LineSplitter } from '../../src/infra/io/line-splitter.js';
import { linesOf } from '../../src/flows/readings/file-source.js';

/**
 * Regression tests of the security probe's findings (issue 16) that need no server: each is
 * named after its finding and reproduces it as it was reported.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'fg-sec-'));
  dirs.push(d);
  return d;
}

describe('finding 1: a long file name in the AMI inbox crash-looped the gateway', () => {
  it(
    'moves a 240-character name to done/ under a name the file system takes, and the scan does not ' + 'reject',
    async () => {
      const dir = tempDir();
      const name = `${'x'.repeat(236)}.csv`;
      const folder = new DropFolder(dir, async () => ({ ok: true, reason: 'stored' }), 60_000);
      await folder.start();
      await folder.scan(); // the pass start() began, on the empty folder
      writeFileSync(path.join(dir, name), 'MEPMD01\n');
      await folder.scan(); // size seen
      await folder.scan(); // taken
      await folder.stop();
      expect(existsSync(path.join(dir, name))).toBe(false);
      const done = readdirSync(path.join(dir, 'done'));
      expect(done).toHaveLength(1);
      expect(Buffer.byteLength(done[0]!)).toBeLessThanOrEqual(255 - '.reason.txt'.length);
      expect(done[0]).toMatch(/^\d{4}-\d\d-\d\dT.*x~[0-9a-f]{12}\.csv$/);
    },
  );

  it("keeps a failed file's reason beside it, both under the 255-byte limit", async () => {
    const dir = tempDir();
    const name = `${'é'.repeat(120)}.xml`; // 244 bytes of UTF-8
    const folder = new DropFolder(dir, async () => ({ ok: false, reason: 'not ESPI' }), 60_000);
    await folder.start();
    await folder.scan(); // the pass start() began, on the empty folder
    writeFileSync(path.join(dir, name), '<x/>');
    await folder.scan();
    await folder.scan();
    await folder.stop();
    const failed = readdirSync(path.join(dir, 'failed')).sort();
    expect(failed).toHaveLength(2);
    for (const f of failed) expect(Buffer.byteLength(f)).toBeLessThanOrEqual(255);
    expect(failed[1]).toBe(`${failed[0]}.reason.txt`);
  });

  it(
    'a file that cannot be moved at all is reported once and left alone, and the next file is still ' + 'taken',
    async () => {
      const dir = tempDir();
      const handled: string[] = [];
      const stuck: string[] = [];
      const folder = new DropFolder(
        dir,
        async (file) => (handled.push(path.basename(file)), { ok: true, reason: 'stored' }),
        60_000,
      );
      folder.on('stuck', (name) => stuck.push(name));
      await folder.start();
      await folder.scan(); // the pass start() began, on the empty folder
      // done/ points nowhere: every rename into it fails (ENOENT), as ENAMETOOLONG did.
      rmSync(path.join(dir, 'done'), { recursive: true });
      symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'done'));
      writeFileSync(path.join(dir, 'a.csv'), 'MEPMD01\n');
      await folder.scan();
      await expect(folder.scan()).resolves.toBeUndefined();
      await folder.scan();
      await folder.scan();
      expect(stuck).toEqual(['a.csv']);
      expect(handled).toEqual(['a.csv']); // not taken again while it stays as it is
      expect(folder.stuckFiles).toBe(1);
      expect(folder.health().state).toBe('degraded');
      rmSync(path.join(dir, 'done'));
      mkdirSync(path.join(dir, 'done'));
      writeFileSync(path.join(dir, 'b.csv'), 'MEPMD01\n');
      await folder.scan();
      await folder.scan();
      await folder.stop();
      expect(handled).toEqual(['a.csv', 'b.csv']);
    },
  );

  it('movedName keeps short names whole', () => {
    expect(movedName('day.csv', new Date('2026-11-23T06:00:00.123Z'))).toBe('2026-11-23T06-00-00-123Z-day.csv');
  });
});

describe('finding 3: a 200 MB single-line file hung the drop folder', () => {
  it('a line over the cap is skipped and named, and the lines around it are read', () => {
    const got: string[] = [];
    const long: { lineNo: number; length: number; head: string }[] = [];
    const s = new LineSplitter(10, {
      line: (t) => got.push(t),
      tooLong: (lineNo, length, head) => long.push({ lineNo, length, head }),
    });
    s.push('first\r\n0123456789');
    s.push('abcdef'); // line 2 goes on past the cap in the next chunk
    for (let i = 0; i < 100; i++) s.push('y'.repeat(1000));
    s.push('\nlast');
    s.end();
    expect(got).toEqual(['first', 'last']);
    expect(long).toEqual([{ lineNo: 2, length: 16 + 100_000, head: '0123456789' }]);
  });

  it('a 20 MB line in 64 KiB chunks holds only the cap, never the line', () => {
    let longest = 0;
    const s = new LineSplitter(1 << 16, {
      line: () => undefined,
      tooLong: (_n, length, head) => ((longest = length), expect(head.length).toBe(1 << 16)),
    });
    const chunk = 'z'.repeat(1 << 16);
    for (let i = 0; i < 320; i++) {
      s.push(chunk);
      expect((s as unknown as { parts: string[] }).parts.join('').length).toBeLessThanOrEqual(1 << 16);
    }
    s.end();
    expect(longest).toBe(320 * (1 << 16));
  });

  it('CRLF counts the CR outside the cap; a line of exactly the cap is kept', () => {
    const got: string[] = [];
    const s = new LineSplitter(5, { line: (t) => got.push(t), tooLong: () => got.push('(long)') });
    s.push('12345\r\n123456\n');
    s.end();
    expect(got).toEqual(['12345', '(long)']);
  });

  it('readings lines are capped too: a huge line comes as its head, for the layout check to refuse', async () => {
    const lines: string[] = [];
    for await (const l of linesOf(['ok\n', 'q'.repeat(100_000), '\nafter\n'], 4096)) lines.push(l);
    expect(lines.map((l) => l.length)).toEqual([2, 4096, 5]);
  });

  it('stopping the drop folder ends an import that does not finish, within stopTimeoutMs', async () => {
    const dir = tempDir();
    let aborted = false;
    const folder = new DropFolder(
      dir,
      (_file, signal) =>
        new Promise<DropOutcome>((_resolve, reject) => {
          signal.addEventListener('abort', () => ((aborted = true), reject(new Error('stopped'))));
        }),
      60_000,
      200,
    );
    await folder.start();
    await folder.scan(); // the pass start() began, on the empty folder
    writeFileSync(path.join(dir, 'big.csv'), 'MEPMD01\n');
    await folder.scan();
    void folder.scan(); // takes the file and hangs in the import
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await folder.stop();
    expect(aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(existsSync(path.join(dir, 'big.csv'))).toBe(true); // left to resume at the next start
  });
});

describe('finding 4: a CONNECT announcing 200 MB was read whole before the login was checked', () => {
  const run = (guard: MqttPacketGuard, chunks: Buffer[]) =>
    new Promise<{ passed: number; error: Error | null }>((resolve) => {
      let passed = 0;
      guard.on('data', (d: Buffer) => (passed += d.length));
      guard.on('error', (error) => resolve({ passed, error }));
      guard.on('end', () => resolve({ passed, error: null }));
      for (const c of chunks) guard.write(c);
      guard.end();
    });
  // Fixed header of a CONNECT (0x10) announcing 200,000,000 bytes: 0x80 0xD0 0xAC 0x5F as a variable byte integer.
  const connect200mb = Buffer.from([0x10, 0x80, 0x84, 0xaf, 0x5f]);

  it('refuses from the header, before any of the body passes', async () => {
    const r = await run(new MqttPacketGuard(65_536, 4 << 20), [connect200mb, Buffer.alloc(1 << 16)]);
    expect(r.error).toBeInstanceOf(PacketTooLargeError);
    expect(r.error).toMatchObject({ announced: 200_000_000, connect: true });
    expect(r.passed).toBe(0);
  });

  it('passes packets within bounds, with headers split across chunks', async () => {
    const connect = Buffer.concat([Buffer.from([0x10, 0x0c]), Buffer.alloc(12)]);
    const publish = Buffer.concat([Buffer.from([0x32, 0xe8, 0x07]), Buffer.alloc(1000)]); // 1,000 bytes
    const all = Buffer.concat([connect, publish, Buffer.from([0xc0, 0x00])]); // and a PINGREQ
    const r = await run(new MqttPacketGuard(64, 2000), [all.subarray(0, 15), all.subarray(15, 16), all.subarray(16)]);
    expect(r).toEqual({ passed: all.length, error: null });
  });

  it('holds later packets to maxPacketBytes', async () => {
    const connect = Buffer.concat([Buffer.from([0x10, 0x02]), Buffer.alloc(2)]);
    const big = Buffer.from([0x30, 0x80, 0x80, 0x80, 0x01]); // 2 MiB
    const r = await run(new MqttPacketGuard(64, 1 << 20), [Buffer.concat([connect, big])]);
    expect(r.error).toMatchObject({ announced: 2 << 20, connect: false });
  });
});

describe("finding 6: the audit log stored an import's raw body byte by byte", () => {
  it('an uploaded file is audited as its size and hash', () => {
    const body = Buffer.alloc(2 << 20, 0x41);
    const audited = auditedBody(body);
    expect(audited).toEqual({ bytes: 2 << 20, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(audited).length).toBeLessThan(200);
  });

  it('a JSON body loses its password and long strings', () => {
    expect(
      auditedBody({ username: 'ann', password: 'secret-secret', note: 'n'.repeat(2000), nested: { password: 'x' } }),
    ).toEqual({
      username: 'ann',
      note: `${'n'.repeat(500)}… (2000 characters)`,
      nested: {},
    });
  });
});

describe('finding 11: ids, dates and times from outside get one strict check', () => {
  it('device ids: one pattern everywhere', () => {
    for (const bad of ['T-17/sub', '+', '#', '', '../x', '..', 'a b', `${'a'.repeat(33)}`, 'T$1', '.hidden'])
      expect(isDeviceId(bad), bad).toBe(false);
    for (const good of ['T-17', 'HH-0042', 'radio.1', 'tab_2', 'A'.repeat(32)])
      expect(isDeviceId(good), good).toBe(true);
    expect(
      helloSchema.safeParse({ device: '../x', model: 'X', fw: '1', proto: 1, maxFrame: 1024, window: 8 }).success,
    ).toBe(false);
  });

  it('a topic naming a device id outside the pattern is not a device topic', () => {
    const t = new Topics('fieldgate');
    expect(t.parse('fieldgate/devices/T-17/readings')).toEqual({ deviceId: 'T-17', kind: 'readings' });
    expect(t.parse('fieldgate/devices/../readings')).toBeNull();
    expect(t.parse('fieldgate/rtlamr/+')).toBeNull();
    expect(t.parse('fieldgate/techs/a b/updates')).toBeNull();
  });

  it('calendar dates are real dates', () => {
    expect(isCalendarDate('2026-13-45')).toBe(false);
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(calendarDay.safeParse('2026-11-31').success).toBe(false);
    expect(calendarMonth.safeParse('2026-13').success).toBe(false);
    expect(calendarMonth.safeParse('2026-12').success).toBe(true);
  });

  it('rtlamr: a read dated year -271821 is refused, naming Time', () => {
    const msg = (time: string) => JSON.stringify({ Time: time, Type: 'SCM', Message: { ID: 1, Consumption: 5 } });
    const now = Date.parse('2026-11-23T16:00:00Z') / 1000;
    const window = { from: now - 31 * 86_400, to: now + 3600 };
    expect(parseRtlamr(msg('-271821-04-20T00:00:00Z'), window)).toMatchObject({ ok: false, field: 'Time' });
    expect(parseRtlamr(msg('2027-01-01T00:00:00Z'), window)).toMatchObject({
      ok: false,
      field: 'Time',
      message: expect.stringContaining('after the window'),
    });
    expect(parseRtlamr(msg('2026-11-23T15:00:00Z'), window)).toMatchObject({ ok: true });
  });
});
