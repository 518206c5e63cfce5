import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAmiFile, type AmiImportResult } from '../../src/flows/ami/import-ami.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * NEM12 data streams as real files carry them (issue 18): each 200 record's NMI suffix is its own
 * register, never merged with another stream of the NMI; a stream with no register, a length NEM12
 * does not allow, a wrong value count, a V day its 400 records do not cover and null data are each
 * named once, and the good streams around them are stored. Fixtures: test/tools/ami-fixtures.ts.
 */
const FIXTURES = path.resolve('test/fixtures/ami');
const MARKET = 'Etc/GMT-10';
const aug1 = DateTime.fromISO('2026-08-01', { zone: MARKET }).toSeconds();

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('NEM12 data streams on $name', (dialect) => {
  let gw: TestGateway;
  const imp = (name: string): Promise<AmiImportResult> =>
    importAmiFile({ ...gw.ctx, db: gw.ctx.store.db }, path.join(FIXTURES, name));
  const perRegister = async (meter: string) =>
    (
      (await gw.ctx.store
        .db('ami_intervals')
        .where({ meter_id: meter })
        .groupBy('channel', 'seconds')
        .select('channel', 'seconds')
        .count({ n: '*' })
        .sum({ total: 'value' })
        .orderBy('channel')) as { channel: number; seconds: number; n: number; total: number }[]
    ).map((r) => ({ channel: Number(r.channel), seconds: Number(r.seconds), n: Number(r.n), total: Number(r.total) }));
  const exceptions = (batch: number) =>
    gw.ctx.store.db('exceptions').where({ batch_id: batch }).orderBy('id') as Promise<
      { kind: string; message: string; field: string; line_no: number; severity: string }[]
    >;

  beforeAll(async () => {
    gw = await testGateway(dialect, {
      label: 'nem12s',
      accounts: 200,
      routes: 2,
      // Q1 is named on register 3; K1 (kVArh) on register 1, which counts kWh: refused by unit.
      config: { ami: { nem12: { suffixRegisters: { Q1: 3, K1: 1 } } } },
    });
    const billing = gw.ctx.billing.db;
    const reg = (meter: string, no: number, uom: string) => ({
      meter_id: meter,
      register_no: no,
      uom,
      last_read_value: 0,
      last_read_date: '2026-07-01',
    });
    await billing('cis_registers').where({ meter_id: 'E0000015' }).whereIn('register_no', [2, 3]).delete();
    await billing('cis_registers').insert([reg('E0000015', 2, 'KWH'), reg('E0000015', 3, 'KVARH')]);
    await billing('cis_registers').where({ meter_id: 'E0000019' }).where('register_no', '>', 1).delete();
  });
  afterAll(async () => gw?.close());

  it('stores each stream of one NMI on its own register at its own interval length', async () => {
    const r = await imp('nem12-streams.csv');
    expect(await perRegister('E0000015')).toEqual([
      { channel: 1, seconds: 1800, n: 96, total: expect.closeTo(48 * 0.5 + 48 * 0.25, 6) },
      { channel: 2, seconds: 900, n: 96, total: expect.closeTo(96 * 0.1, 6) },
      { channel: 3, seconds: 300, n: 288, total: expect.closeTo(288 * 0.02, 6) },
    ]);
    expect(await perRegister('E0000019')).toEqual([]);
    const ex = await exceptions(r.batchId);
    // Not one duplicate: E1 and E2 are not merged, and E2 is not stored on E1's register.
    expect(ex.filter((e) => e.kind === 'DUPLICATE_INTERVAL')).toEqual([]);
    expect(ex.map((e) => [e.kind, e.line_no])).toEqual([
      ['UNKNOWN_REGISTER', 9],
      ['UNIT', 12],
      ['UNKNOWN_REGISTER', 14],
    ]);
    expect(ex[0]!.message).toBe(
      'nem12-streams.csv line 9 (200 record), NMISuffix: NMI 4102000015 (meter E0000015) stream E2: no register ' +
        "is named for NEM12 suffix 'E2' (ami.nem12.suffixRegisters; E1 and B1 are registers 1 and 2 by default); 1 " +
        'interval day(s) of it were not stored',
    );
    expect(ex[1]!.message).toMatch(/line 12, meter E0000015, unit: unit KVARH does not convert to the register's KWH/);
    expect(ex[2]!.message).toBe(
      "nem12-streams.csv line 14, channel: meter 'E0000019' has no register 2 (stream B1) in billing; its 48 " +
        'intervals were not stored',
    );
    expect(r).toMatchObject({ received: 96 + 96 + 288 + 48 + 48, stored: 96 + 96 + 288 });
  });

  it(
    'names a disallowed length once per stream, a wrong value count by both records, ' +
      'an uncovered V day and null data',
    async () => {
      const r = await imp('nem12-checks.csv');
      const ex = await exceptions(r.batchId);
      expect(ex.map((e) => [e.kind, e.line_no, e.field, e.severity])).toEqual([
        ['BAD_RECORD', 2, 'IntervalLength', 'error'],
        ['BAD_RECORD', 6, 'IntervalValue', 'error'],
        ['BAD_RECORD', 9, 'QualityMethod', 'error'],
        ['NO_END_RECORD', 13, 'record indicator', 'warn'],
        // VEE's own finding on what was not stored: E0000025's gaps.
        ['MISSING_INTERVALS', 9, 'start', 'error'],
      ]);
      expect(ex[0]!.message).toBe(
        'nem12-checks.csv line 2 (200 record), IntervalLength: NMI 4102000015 (meter E0000015) stream E1: NEM12 ' +
          "allows intervals of 5, 15 or 30 minutes, not '10'; 2 interval day(s) of it were not stored",
      );
      expect(ex[1]!.message).toBe(
        'nem12-checks.csv line 6 (300 record), IntervalValue: the 200 record (line 5) says 15-minute intervals (96 a ' +
          'day); this 300 record of 20260801 has 48 values',
      );
      expect(ex[2]!.message).toBe(
        'nem12-checks.csv line 9 (300 record), QualityMethod: the 300 record of 20260801 has quality V, but its 400 ' +
          'records give no quality to interval(s) 41–48 of 48: those were not stored',
      );
      expect(ex[3]!.message).toMatch(/no 900 end record, but the last record is whole: the file is stored/);
      // E0000019: the whole day only. E0000025: intervals 1-4 and 9-40 of the V day (5-8 are null data), none of
      // the N day; VEE may estimate the gaps, but a null interval is never stored as the meter's usage.
      const e16 = await perRegister('E0000019');
      expect(e16).toEqual([{ channel: 1, seconds: 900, n: 96, total: expect.closeTo(96 * 0.2, 6) }]);
      const e17 = (await gw.ctx.store
        .db('ami_intervals')
        .where({ meter_id: 'E0000025', channel: 1 })
        .andWhere('start_at', '>=', aug1)
        .orderBy('start_at')) as { start_at: number; quality: string; flags: string | null; value: number }[];
      const actual = e17.filter((i) => !i.flags?.includes('EST:'));
      expect(actual.map((i) => (Number(i.start_at) - aug1) / 1800 + 1)).toEqual([
        1,
        2,
        3,
        4,
        ...Array.from({ length: 32 }, (_, i) => i + 9),
      ]);
      expect(actual.filter((i) => i.quality === 'E').map((i) => i.flags)).toEqual(new Array(32).fill('SRC:E52'));
    },
  );
});
