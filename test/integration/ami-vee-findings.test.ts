import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAmiFile, type AmiImportResult } from '../../src/flows/ami/import-ami.js';
import type { Interval } from '../../src/core/vee/types.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { cmepLine, cmepRegisterLine, ZONE } from '../tools/ami-fixtures.js';

/**
 * VEE findings a CSR can trust (issue 18, point 4): a register read that does not fit the
 * register's dials is refused, not taken as a billion-unit rollover; a finding is raised once
 * per meter, rule and time, whichever import meets it again; a rule that fires on every
 * interval of a meter is a few examples and one summary with the count; intervals that disagree
 * with stored ones are reported, not dropped in silence. Demo electric meters have 5 dials, kWh.
 */
const day0 = DateTime.fromISO('2026-06-10', { zone: ZONE }).toSeconds();
const DAY = 86_400;

/** 96 quarter-hours from `start`, each `value` (or what `valueAt` gives). */
function quarterHours(start: number, value: number, valueAt?: (i: number) => number): Interval[] {
  return Array.from({ length: 96 }, (_, i) => ({
    startAt: start + i * 900,
    seconds: 900,
    value: valueAt ? valueAt(i) : value,
    quality: 'A' as const,
    flags: null,
  }));
}

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('AMI VEE findings on $name', (dialect) => {
  let gw: TestGateway;
  let dir: string;
  let files = 0;
  /** Four electric meters of the demo billing (5 dials, kWh), one per case. */
  let meters: string[] = [];
  /** Imports CMEP lines as a new file (a created stamp of its own, so no two files are the same). */
  const imp = (lines: string[]): Promise<AmiImportResult> => {
    const file = path.join(dir, `f${++files}.csv`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return importAmiFile({ ...gw.ctx, db: gw.ctx.store.db }, file);
  };
  const exceptions = (where: Record<string, unknown>) =>
    gw.ctx.store.db('exceptions').where(where).orderBy('id').select('kind', 'batch_id', 'value', 'message') as Promise<
      { kind: string; batch_id: number; value: string | null; message: string }[]
    >;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fg-vee-'));
    gw = await testGateway(dialect, { label: 'veef', accounts: 200, routes: 2 });
    const electric = (await gw.ctx.billing
      .db('cis_meters')
      .where({ meter_type: 'E', dials: 5 })
      .orderBy('meter_id')
      .limit(4)
      .select('meter_id')) as { meter_id: string }[];
    meters = electric.map((m) => m.meter_id);
    expect(meters).toHaveLength(4);
  });
  afterAll(async () => gw?.close());

  it('refuses a register read with more digits than the dials, instead of a rollover', async () => {
    const r = await imp([
      cmepRegisterLine(meters[0]!, 'KWH', [
        { at: day0, value: 1000 },
        { at: day0 + DAY, value: 1_234_567_890 },
      ]),
      cmepLine(meters[0]!, 'KWH', quarterHours(day0, 0.25)),
    ]);
    expect(r.registerReads).toBe(1);
    const ex = await exceptions({ meter_id: meters[0]! });
    expect(ex.map((e) => e.kind)).toEqual(['REGISTER_DIALS']);
    expect(ex[0]!.message).toMatch(
      new RegExp(
        `^f\\d+\\.csv line 1, meter ${meters[0]} at 2026-06-11T05:00:00\\.000Z, value: register read 1234567890 ` +
          `has 10 digits, but the register has 5 dials \\(at most 99999\\); the read was not stored$`,
      ),
    );
    const stored = await gw.ctx.store.db('ami_register_reads').where({ meter_id: meters[0]! }).select('value');
    expect(stored.map((s) => Number(s.value))).toEqual([1000]);
  });

  it('raises a rollover once, when a later file brings the same register reads again', async () => {
    const reads = [
      { at: day0, value: 99_990 },
      { at: day0 + DAY, value: 14 },
    ];
    const first = await imp([
      cmepRegisterLine(meters[1]!, 'KWH', reads),
      cmepLine(meters[1]!, 'KWH', quarterHours(day0, 0.25)),
    ]);
    const second = await imp([
      cmepRegisterLine(meters[1]!, 'KWH', [...reads, { at: day0 + 2 * DAY, value: 38 }]),
      cmepLine(meters[1]!, 'KWH', [...quarterHours(day0, 0.25), ...quarterHours(day0 + DAY, 0.25)]),
    ]);
    const rollovers = await exceptions({ meter_id: meters[1]!, kind: 'ROLLOVER' });
    expect(rollovers.map((e) => e.batch_id)).toEqual([first.batchId]);
    expect(rollovers[0]!.message).toContain('99990 → 14 = 24 units');
    expect(second.exceptions).toBe(0);
  });

  it('lists the first findings of a rule on a meter and counts the rest in one summary', async () => {
    // 40 negative quarter-hours: 5 listed, 35 counted.
    const r = await imp([
      cmepLine(
        meters[2]!,
        'KWH',
        quarterHours(day0, 0, (i) => (i < 40 ? -0.1 : 0.3)),
      ),
    ]);
    const negatives = await exceptions({ batch_id: r.batchId, kind: 'NEGATIVE_CONSUMPTION' });
    expect(negatives).toHaveLength(6);
    expect(negatives.slice(0, 5).every((e) => e.message.includes('negative consumption -0.1'))).toBe(true);
    expect(negatives[5]).toMatchObject({
      value: '35',
      message:
        `f${files}.csv, meter ${meters[2]}: 35 more NEGATIVE_CONSUMPTION findings in this file, the last at ` +
        `${new Date((day0 + 39 * 900) * 1000).toISOString()} (the first 5 are listed on their own)`,
    });
    expect(r.exceptions).toBe(6);
  });

  it('reports intervals that disagree with stored ones, once per meter and time, and keeps the stored values', async () => {
    const first = await imp([cmepLine(meters[3]!, 'KWH', quarterHours(day0, 0.5))]);
    // The same values again (a file one blank line longer): nothing differs, nothing to say.
    const again = await imp([cmepLine(meters[3]!, 'KWH', quarterHours(day0, 0.5)), '']);
    expect(again).toMatchObject({ alreadyImported: false, exceptions: 0 });
    const changed = await imp([cmepLine(meters[3]!, 'KWH', quarterHours(day0, 0.75))]);
    const conflicts = await exceptions({ meter_id: meters[3]!, kind: 'INTERVAL_CONFLICT' });
    expect(conflicts).toEqual([
      {
        kind: 'INTERVAL_CONFLICT',
        batch_id: changed.batchId,
        value: '0.75',
        message:
          `f${files}.csv, meter ${meters[3]} at ${new Date(day0 * 1000).toISOString()}, value: register 1: 96 ` +
          `interval(s) differ from those batch ${first.batchId} stored (the first: stored 0.5, now 0.75); the ` +
          'stored values were kept',
      },
    ]);
    // The same disagreement in yet another file is not raised again.
    const third = await imp([cmepLine(meters[3]!, 'KWH', quarterHours(day0, 0.8))]);
    expect((await exceptions({ meter_id: meters[3]!, kind: 'INTERVAL_CONFLICT' })).length).toBe(1);
    expect(third.exceptions).toBe(0);
    const sum = (await gw.ctx.store
      .db('ami_intervals')
      .where({ meter_id: meters[3]! })
      .sum({ s: 'value' })
      .first()) as {
      s: number;
    };
    expect(Number(sum.s)).toBeCloseTo(48, 6);
  });
});
