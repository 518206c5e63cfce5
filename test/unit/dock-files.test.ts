import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TransferTracker } from '../../src/flows/dock/transfer-progress.js';
import { UploadSpool } from '../../src/flows/dock/upload-spool.js';

describe('upload spool', () => {
  const sha = 'ab'.repeat(32);

  it('writes each chunk at its offset, so a resent chunk overwrites instead of appending', async () => {
    const spool = new UploadSpool(mkdtempSync(path.join(tmpdir(), 'fg-spool-')));
    const file = await spool.open('HH-0042', 'R01', sha, 0);
    await file.write(0, Buffer.from('0123456789'));
    await file.write(5, Buffer.from('56789'));
    await file.write(10, Buffer.from('ABCDE'));
    await file.close();
    expect(readFileSync(file.path, 'latin1')).toBe('0123456789ABCDE');
    expect(await spool.keptBytes('HH-0042', 'R01', sha)).toBe(15);
  });

  it('keeps the prefix for a resume and drops anything past the resume offset', async () => {
    const spool = new UploadSpool(mkdtempSync(path.join(tmpdir(), 'fg-spool-')));
    const first = await spool.open('HH-0042', 'R01', sha, 0);
    await first.write(0, Buffer.from('abcdefghij'));
    await first.close();
    const resumed = await spool.open('HH-0042', 'R01', sha, 6);
    await resumed.write(6, Buffer.from('GH'));
    await resumed.close();
    expect(readFileSync(resumed.path, 'latin1')).toBe('abcdefGH');
    expect(await spool.keptBytes('HH-0042', 'R01', 'cd'.repeat(32))).toBe(0);
    await spool.discard('HH-0042', 'R01');
    expect(await spool.keptBytes('HH-0042', 'R01', sha)).toBe(0);
  });

  it('keeps device ids and route codes from escaping its directory', () => {
    const spool = new UploadSpool('/spool');
    expect(spool.pathOf('../../etc', 'R/01', sha)).toBe(`/spool/.._.._etc/R_01-${sha.slice(0, 16)}.read`);
  });
});

describe('transfer progress', () => {
  it('shows records, the rate over the last seconds and the time left', () => {
    const t = new TransferTracker({ direction: 'load', route: 'R01', bytesTotal: 176_000, fromOffset: 17_600 }, 176, 0);
    expect(t.status).toMatchObject({
      bytesDone: 17_600,
      records: 100,
      recordsTotal: 1000,
      bytesPerSecond: 0,
      secondsLeft: null,
    });
    for (let s = 1; s <= 10; s++) t.update(17_600 + s * 11_000, 176_000, s * 1000);
    expect(t.status).toMatchObject({ bytesDone: 127_600, records: 725, bytesPerSecond: 11_000, secondsLeft: 5 });
    // A stall shows at once: the rate is over the last 5 s, not the whole transfer.
    for (let s = 11; s <= 16; s++) t.update(127_600, 176_000, s * 1000);
    expect(t.status.bytesPerSecond).toBe(0);
    expect(t.status.secondsLeft).toBeNull();
  });
});
