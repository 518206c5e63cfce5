import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAmiFile, type AmiImportResult } from '../../src/flows/ami/import-ami.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { cmepLine } from '../tools/ami-fixtures.js';
import type { Interval } from '../../src/core/vee/types.js';

/**
 * The AMI file importers end to end on each store: the committed fixtures (written by
 * test/tools/ami-fixtures.ts) through codec → VEE → store → derived daily reads, with every
 * bad input named in an exception and the good data around it stored.
 */
const FIXTURES = path.resolve('test/fixtures/ami');
const ZONE = 'America/Chicago';
const day = (date: string) => {
  const start = DateTime.fromISO(date, { zone: ZONE });
  return [start.toSeconds(), start.plus({ days: 1 }).toSeconds()] as const;
};

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('AMI file import on $name', (dialect) => {
  let gw: TestGateway;
  const results = new Map<string, AmiImportResult>();
  const imp = async (name: string) => {
    const r = await importAmiFile({ ...gw.ctx, db: gw.ctx.store.db }, path.join(FIXTURES, name));
    results.set(name, r);
    return r;
  };
  const intervals = (meter: string, from: number, to: number) =>
    gw.ctx.store
      .db('ami_intervals')
      .where({ meter_id: meter, channel: 1 })
      .andWhere('start_at', '>=', from)
      .andWhere('start_at', '<', to)
      .orderBy('start_at') as Promise<{ start_at: number; value: number; quality: string; flags: string | null }[]>;
  const exceptions = (batch: number) =>
    gw.ctx.store.db('exceptions').where({ batch_id: batch }).orderBy('id') as Promise<
      { kind: string; message: string; field: string; line_no: number; meter_id: string; severity: string }[]
    >;

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'ami', accounts: 200, routes: 2 });
  });
  afterAll(async () => gw?.close());

  it('stores CMEP days across both DST changes in UTC: 92 and 100 intervals, no gaps or doubles', async () => {
    const r = await imp('cmep-dst.csv');
    expect(r.alreadyImported).toBe(false);
    expect((await intervals('E0000003', ...day('2026-03-08'))).length).toBe(92);
    expect((await intervals('E0000003', ...day('2026-11-01'))).length).toBe(100);
    expect((await intervals('E0000003', ...day('2026-10-31'))).length).toBe(96);
    const fall = await intervals('E0000003', ...day('2026-11-01'));
    expect(new Set(fall.map((i) => Number(i.start_at))).size).toBe(100);
    for (let i = 1; i < fall.length; i++) expect(Number(fall[i]!.start_at) - Number(fall[i - 1]!.start_at)).toBe(900);
  });

  it('estimates a 45-minute gap by linear interpolation, flagged with the method', async () => {
    const monday = await intervals('E0000003', ...day('2026-03-09'));
    expect(monday.length).toBe(96);
    const estimated = monday.filter((i) => i.quality === 'E');
    expect(estimated.length).toBe(3);
    for (const e of estimated) expect(e.flags).toBe('MISSING,EST:LINEAR');
    const at = DateTime.fromISO('2026-03-09T10:00', { zone: ZONE }).toSeconds();
    expect(Number(estimated[0]!.start_at)).toBe(at);
    const before = monday.find((i) => Number(i.start_at) === at - 900)!.value;
    const after = monday.find((i) => Number(i.start_at) === at + 3 * 900)!.value;
    expect(estimated[1]!.value).toBeCloseTo(before + ((after - before) * 2) / 4, 5);
  });

  it(
    'matches a meter by radio id and flags its spike; names unknown meters and bad values, keeping the ' + 'rest',
    async () => {
      const r = results.get('cmep-dst.csv')!;
      const spikeAt = DateTime.fromISO('2026-03-09T03:00', { zone: ZONE }).toSeconds();
      const radio = await intervals('E0000004', ...day('2026-03-09'));
      expect(radio.length).toBe(96);
      expect(radio.find((i) => Number(i.start_at) === spikeAt)).toMatchObject({
        value: 25,
        flags: 'SPIKE',
        quality: 'A',
      });
      const ex = await exceptions(r.batchId);
      const spike = ex.find((e) => e.kind === 'SPIKE')!;
      expect(spike.meter_id).toBe('E0000004');
      expect(spike.message).toMatch(
        /cmep-dst\.csv line \d+, meter E0000004 at 2026-03-09T08:00:00\.000Z, value: 25 is more than 10×/,
      );
      const unknown = ex.find((e) => e.kind === 'UNKNOWN_METER')!;
      expect(unknown.message).toMatch(
        new RegExp(
          /cmep-dst\.csv line 10, meter: 'X9999999' is not a billing meter id, radio id or serial; /.source +
            /its 96 intervals are parked in suspense until billing knows the meter/.source,
        ),
      );
      const bad = ex.find((e) => e.kind === 'BAD_RECORD')!;
      expect(bad).toMatchObject({ line_no: 11, field: 'reading 1 value' });
      expect(bad.message).toContain('cmep-dst.csv line 11, reading 1 value: expected a number');
      // The line's other 95 readings are stored.
      expect((await intervals('E0000011', ...day('2026-03-07'))).filter((i) => i.quality === 'A').length).toBe(95);
      expect(r.unknownMeters).toBe(1);
    },
  );

  it('derives a daily register read per complete day and queues it for billing once', async () => {
    const reads = (await gw.ctx.store.db('ami_daily_reads').where({ meter_id: 'E0000003' }).orderBy('read_date')) as {
      read_date: string;
      read_type: string;
      flags: string | null;
      intervals: number;
      value: number;
      consumption: number;
    }[];
    expect(reads.map((d) => d.read_date)).toEqual([
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
      '2026-10-31',
      '2026-11-01',
      '2026-11-02',
    ]);
    expect(reads.map((d) => d.intervals)).toEqual([96, 92, 96, 96, 100, 96]);
    // The first day of each run starts from billing's last read and says so; the gap day is estimated.
    expect(reads[0]).toMatchObject({ read_type: 'E', flags: 'ANCHOR:BILLING' });
    expect(reads[1]).toMatchObject({ read_type: 'A', flags: null });
    expect(reads[2]).toMatchObject({ read_type: 'E', flags: 'EST:3' });
    expect(reads[1]!.value).toBeCloseTo((reads[0]!.value + reads[1]!.consumption) % 100_000, 5);
    const queued = (await gw.ctx.store
      .db('outbox')
      .where({ kind: 'billing.read' })
      .andWhere('key', 'like', 'AMI:E0000003:%')) as { key: string; payload: string }[];
    expect(queued.length).toBe(6);
    const payload = JSON.parse(queued.find((q) => q.key === 'AMI:E0000003:1:2026-03-08')!.payload) as Record<
      string,
      unknown
    >;
    expect(payload).toMatchObject({
      meterId: 'E0000003',
      registerNo: 1,
      readType: 'actual',
      source: 'AMI',
      readValue: Math.floor(reads[1]!.value),
      readAt: '2026-03-09T05:00:00.000Z',
    });
  });

  it('imports the same file again as nothing', async () => {
    const before = await gw.ctx.store.db('ami_intervals').count({ n: '*' }).first();
    const r = await importAmiFile({ ...gw.ctx, db: gw.ctx.store.db }, path.join(FIXTURES, 'cmep-dst.csv'));
    expect(r).toMatchObject({ alreadyImported: true, batchId: results.get('cmep-dst.csv')!.batchId, stored: 0 });
    expect(await gw.ctx.store.db('ami_intervals').count({ n: '*' }).first()).toEqual(before);
  });

  it('lets actual readings delivered later replace estimates, and nothing else', async () => {
    const [from, to] = day('2026-03-09');
    const stored = await intervals('E0000003', from, to);
    const gapAt = DateTime.fromISO('2026-03-09T10:00', { zone: ZONE }).toSeconds();
    // The head-end resends the whole day: the three missing readings now, and the rest changed by 1.
    const resent: Interval[] = stored.map((r) => ({
      startAt: Number(r.start_at),
      seconds: 900,
      value: r.quality === 'E' ? 0.5 : r.value + 1,
      quality: 'A',
      flags: null,
    }));
    const dir = mkdtempSync(path.join(tmpdir(), 'fg-ami-'));
    writeFileSync(path.join(dir, 'resend.csv'), `${cmepLine('E0000003', 'KWH', resent)}\n`);
    const r = await importAmiFile({ ...gw.ctx, db: gw.ctx.store.db }, path.join(dir, 'resend.csv'));
    rmSync(dir, { recursive: true, force: true });
    expect(r).toMatchObject({ received: 96, stored: 3, estimated: 0 });
    const after = await intervals('E0000003', from, to);
    expect(after.filter((x) => x.quality === 'E')).toEqual([]);
    expect(
      after.filter((x) => Number(x.start_at) >= gapAt && Number(x.start_at) < gapAt + 2700).map((x) => x.value),
    ).toEqual([0.5, 0.5, 0.5]);
    expect(after.filter((x) => Number(x.start_at) < gapAt).map((x) => x.value)).toEqual(
      stored.filter((x) => Number(x.start_at) < gapAt).map((x) => x.value),
    );
    // The day's derived read is now actual; billing was told about the day already and is not told twice.
    const read = (await gw.ctx.store
      .db('ami_daily_reads')
      .where({ meter_id: 'E0000003', read_date: '2026-03-09' })
      .first()) as { read_type: string; estimated: number };
    expect(read).toMatchObject({ estimated: 0 });
    expect(
      await gw.ctx.store.db('outbox').where({ key: 'AMI:E0000003:1:2026-03-09' }).count({ n: '*' }).first(),
    ).toMatchObject({ n: 1 });
  });

  it('checks register rollover and the intervals against the register advance', async () => {
    const r = await imp('cmep-registers.csv');
    expect(r.registerReads).toBe(4);
    const ex = await exceptions(r.batchId);
    expect(ex.find((e) => e.kind === 'ROLLOVER')).toMatchObject({ meter_id: 'G0000010', severity: 'info' });
    expect(ex.filter((e) => e.kind === 'SUM_CHECK').map((e) => e.meter_id)).toEqual(['W0000001']);
    expect(ex.find((e) => e.kind === 'SUM_CHECK')!.message).toMatch(
      /intervals add up to 192\.000 but the register advanced 500/,
    );
  });

  it('estimates a 3-hour ESPI gap from the same-day-type history', async () => {
    const r = await imp('espi-gap.xml');
    expect(r.received).toBe(15 * 96 - 12);
    const last = await intervals('E0000011', ...day('2026-07-20'));
    expect(last.length).toBe(96);
    const est = last.filter((i) => i.quality === 'E');
    expect(est.length).toBe(12);
    for (const e of est) expect(e.flags).toBe('MISSING,EST:HISTORY');
    // 2026-07-20 is a Monday: the estimate is the mean of the weekdays before at that time of day.
    const at = DateTime.fromISO('2026-07-20T13:00', { zone: ZONE }).toSeconds();
    const weekdays = (await gw.ctx.store
      .db('ami_intervals')
      .where({ meter_id: 'E0000011', quality: 'A' })
      .whereIn(
        'start_at',
        [3, 4, 5, 6, 7, 10, 11, 12, 13, 14].map((d) => at - d * 86_400),
      )) as { value: number }[];
    expect(weekdays.length).toBe(10);
    expect(est[0]!.value).toBeCloseTo(weekdays.reduce((s, w) => s + w.value, 0) / weekdays.length, 5);
    expect((await exceptions(r.batchId)).find((e) => e.kind === 'MISSING_INTERVALS')!.message).toMatch(
      /12 intervals from 2026-07-20T18:00:00.000Z estimated from the same-day-type average/,
    );
  });

  it('skips an ESPI reading with an invalid entity, naming it, and stores the others', async () => {
    const r = await imp('espi-bad-entity.xml');
    const ex = await exceptions(r.batchId);
    expect(ex.map((e) => e.kind)).toEqual(['BAD_RECORD', 'MISSING_INTERVALS']);
    expect(ex[0]!.field).toBe('value');
    expect(ex[0]!.message).toMatch(
      /espi-bad-entity\.xml IntervalBlock \S+IntervalBlock\/1, IntervalReading 10, value: XML error: undefined entity/,
    );
    expect(r.received).toBe(191);
    expect(r.stored).toBe(192); // the one skipped is estimated from its neighbours
  });

  it('keeps the readings before the cut in a truncated ESPI file and says where it stopped', async () => {
    const r = await imp('espi-truncated.xml');
    expect(r.received).toBeGreaterThan(96);
    const ex = await exceptions(r.batchId);
    const cut = ex.find((e) => e.kind === 'TRUNCATED')!;
    expect(cut.message).toMatch(
      /espi-truncated\.xml IntervalBlock \S+\/IntervalBlock\/2, IntervalReading \d+, file: file ends inside/,
    );
  });

  it.each(['espi-billion-laughs.xml', 'espi-xxe.xml'])('refuses %s: a DOCTYPE is never expanded', async (name) => {
    const r = await imp(name);
    expect(r.received).toBe(0);
    const ex = await exceptions(r.batchId);
    expect(ex.map((e) => e.kind)).toEqual(['REFUSED']);
    expect(ex[0]!.message).toMatch(/DOCTYPE refused/);
  });

  it('reads NEM12 in market time with per-interval quality from 400 records', async () => {
    const r = await imp('nem12-basic.csv');
    expect(r).toMatchObject({ received: 96, unknownMeters: 0 });
    const start = DateTime.fromISO('2026-08-02', { zone: 'Etc/GMT-10' }).toSeconds();
    const rows = (await gw.ctx.store
      .db('ami_intervals')
      .where({ meter_id: 'E0000015' })
      .andWhere('start_at', '>=', start)
      .andWhere('start_at', '<', start + 86_400)
      .orderBy('start_at')) as { quality: string; flags: string; seconds: number }[];
    expect(rows.length).toBe(48);
    expect(rows.map((x, i) => (x.quality === 'E' ? i + 1 : 0)).filter(Boolean)).toEqual([21, 22, 23, 24]);
    expect(rows[20]).toMatchObject({ flags: 'SRC:E52', seconds: 1800 });
  });

  it('names a bad NEM12 900 record and the record after it, keeping the data', async () => {
    const r = await imp('nem12-bad-900.csv');
    const ex = await exceptions(r.batchId);
    expect(ex.map((e) => [e.line_no, e.field])).toEqual([
      [8, 'record indicator'],
      [9, 'record indicator'],
    ]);
    expect(ex[0]!.message).toMatch(
      /nem12-bad-900\.csv line 8 \(900 record\), record indicator: 900 end record carries data/,
    );
    expect(r.received).toBe(144);
  });
});
