import { afterAll, describe, expect, it } from 'vitest';
import {
  generateReferenceData,
  referenceDataChunks,
  type SeedOptions,
} from '../../src/infra/billing/reference/seed-data.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { connect } from '../../src/infra/db/connect.js';
import { copyRows } from '../../src/infra/db/copy.js';
import { availableDialects, type TestDatabase } from '../helpers/databases.js';

/**
 * The demo billing is seeded part by part (a million accounts in flat memory), by COPY on
 * PostgreSQL: the parts are exactly the utility generateReferenceData makes, and what lands in
 * billing is that data, nulls, quotes and all.
 */
const OPTS: SeedOptions = { accounts: 700, routes: 3, seed: 5, today: '2026-11-23' };

describe('reference billing seed', () => {
  it('makes the same utility in parts as at once', () => {
    const whole = generateReferenceData(OPTS);
    const parts = [...referenceDataChunks(OPTS, 64)];
    expect(parts.length).toBe(Math.ceil(700 / 64));
    const joined = (k: keyof typeof whole) => parts.flatMap((p) => p[k]);
    for (const k of Object.keys(whole) as (keyof typeof whole)[]) expect(joined(k), k).toEqual(whole[k]);
    expect(parts.slice(1).every((p) => p.routes.length === 0 && p.rates.length === 0)).toBe(true);
  });

  describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('on $name', (dialect) => {
    const made: TestDatabase[] = [];
    afterAll(async () => {
      for (const d of made) await d.drop();
    });

    it('stores every row as generated', async () => {
      const target = await dialect.create('seedcopy');
      made.push(target);
      const db = connect(target.url);
      try {
        const summary = await seedReferenceBilling(db, OPTS);
        const whole = generateReferenceData(OPTS);
        expect(summary).toMatchObject({
          accounts: 700,
          meters: whole.meters.length,
          registers: whole.registers.length,
          historyRows: whole.history.length,
          serviceOrders: whole.serviceOrders.length,
        });
        const count = async (t: string) => Number(((await db(t).count({ n: '*' }).first()) as { n: unknown }).n);
        expect(await count('cis_read_history')).toBe(whole.history.length);
        expect(await count('cis_service_orders')).toBe(whole.serviceOrders.length);
        const accounts = await db('cis_accounts').select('account_no', 'customer_name', 'due_date', 'balance_due');
        const byNo = new Map(accounts.map((a) => [a.account_no as string, a]));
        for (const a of whole.accounts) {
          const got = byNo.get(a.account_no as string)!;
          expect(got.customer_name).toBe(a.customer_name);
          expect(Number(got.balance_due)).toBeCloseTo(a.balance_due as number, 2);
          expect(got.due_date === null).toBe(a.due_date === null);
        }
        const meters = await db('cis_meters').select('meter_id', 'radio_id', 'location_note').orderBy('meter_id');
        expect(meters.map((m) => [m.meter_id, m.radio_id, m.location_note])).toEqual(
          [...whole.meters]
            .sort((x, y) => String(x.meter_id).localeCompare(String(y.meter_id)))
            .map((m) => [m.meter_id, m.radio_id, m.location_note]),
        );
      } finally {
        await db.destroy();
      }
    });

    it.runIf(dialect.name === 'postgres')('COPYs any text back as it was', async () => {
      const target = await dialect.create('copytext');
      made.push(target);
      const db = connect(target.url);
      try {
        await db.schema.createTable('odd', (t) => {
          t.integer('n');
          t.text('s');
          t.boolean('b');
        });
        const rows = [
          { n: 1, s: 'tab\there, line\nbreak, return\r, back\\slash', b: true },
          { n: 2, s: '\\N is not null', b: false },
          { n: 3, s: null, b: null },
          { n: 4, s: 'O\'Brien "quoted" ünïcödé', b: true },
        ];
        await db.transaction((trx) => copyRows(trx, 'odd', rows));
        expect(await db('odd').select('n', 's', 'b').orderBy('n')).toEqual(rows);
      } finally {
        await db.destroy();
      }
    });
  });
});
