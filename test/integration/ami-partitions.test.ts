import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepIntervalMonths } from '../../src/flows/ami/interval-retention.js';
import { registerUsage } from '../../src/flows/ami/usage.js';
import { openContext, type GatewayContext } from '../../src/flows/context.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { intervalWriter } from '../../src/infra/store/interval-writer.js';
import { isPartitioned, listMonths } from '../../src/infra/store/interval-partitions.js';
import { runMigrations, STORE_MIGRATIONS } from '../../src/infra/store/migrations/index.js';
import { migrateStore } from '../../src/infra/store/store.js';
import { availableDialects, type TestDatabase } from '../helpers/databases.js';

/**
 * Intervals by month (PostgreSQL): a store made before migration 010 keeps its intervals, now in
 * their months; an import of a month with no partition yet makes it; the ami-partitions job makes
 * the months ahead and drops whole months past ami.retentionMonths, keeping the daily reads, and a
 * month dropped under a writer that had seen it is made again. SQLite: one table, retention deletes.
 */
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 1000;
const quarterHours = (from: number, n: number) =>
  Array.from({ length: n }, (_, k) => ({
    startAt: from + k * 900,
    seconds: 900,
    value: 0.25,
    quality: 'A' as const,
    flags: null,
  }));

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('AMI interval months on $name', (dialect) => {
  let store: TestDatabase;
  let ctx: GatewayContext;
  const now = new Date('2026-11-23T12:00:00Z');
  const pg = dialect.name === 'postgres';

  beforeAll(async () => {
    store = await dialect.create('ami_months');
    const config = loadConfig({
      env: {},
      overrides: {
        store: { url: store.url },
        ami: { retentionMonths: 12, partitionsAhead: 3 },
        log: { level: 'error' },
      },
    });
    ctx = openContext(config, silentLogger(), () => now);
    const db = ctx.store.db;
    // A store as it was before intervals were partitioned, with intervals of two years.
    await runMigrations(db, STORE_MIGRATIONS.slice(0, 9), 'fieldgate_migrations');
    await db('import_batches').insert({
      id: 1,
      source: 'test',
      idempotency_key: 'k1',
      file_name: 'old.csv',
      sha256: 'x',
      layout: 'cmep',
      actor: 'test',
      lines: 0,
      stored: 0,
      rejected: 0,
      held: 0,
      skipped: 0,
      created_at: now.toISOString(),
    });
    for (const [meter, from] of [
      ['M1', day('2025-01-10')],
      ['M1', day('2026-11-01')],
      ['M2', day('2025-06-30')],
    ] as const)
      await db('ami_intervals').insert(
        quarterHours(from, 96).map((iv) => ({
          meter_id: meter,
          channel: 1,
          start_at: iv.startAt,
          seconds: 900,
          value: iv.value,
          quality: 'A',
          flags: null,
          batch_id: 1,
        })),
      );
    await db('ami_daily_reads').insert({
      meter_id: 'M1',
      channel: 1,
      read_date: '2025-01-10',
      value: 24,
      consumption: 24,
      read_type: 'A',
      flags: null,
      intervals: 96,
      estimated: 0,
      derived_at: now.toISOString(),
    });
    await migrateStore(db);
  }, 60_000);
  afterAll(async () => {
    await ctx?.store.close();
    await ctx?.billing.close();
    await store?.drop();
  });

  const count = async (where: Record<string, unknown> = {}) =>
    Number((await ctx.store.db('ami_intervals').where(where).count({ n: '*' }).first())!.n);

  it('keeps the intervals stored before, in their months (PostgreSQL partitions them)', async () => {
    expect(await isPartitioned(ctx.store.db)).toBe(pg);
    expect(await count()).toBe(3 * 96);
    if (!pg) return;
    const months = (await listMonths(ctx.store.db)).map((m) => m.table);
    // Every month from the oldest interval to this one.
    expect(months[0]).toBe('ami_intervals_p202501');
    expect(months).toContain('ami_intervals_p202506');
    expect(months.length).toBeGreaterThanOrEqual(23);
  });

  it('makes the month of an import that has none yet (a head-end backfill)', async () => {
    const writer = intervalWriter(ctx.store.db);
    writer.add('M3', 1, quarterHours(day('2023-03-15'), 96), 1);
    expect(await writer.flush()).toBe(96);
    expect(await count({ meter_id: 'M3' })).toBe(96);
    if (pg) expect((await listMonths(ctx.store.db)).map((m) => m.table)).toContain('ami_intervals_p202303');
  });

  it('makes the months ahead and drops those past the retention, daily reads kept; a dropped month is made again', async () => {
    const counts = await keepIntervalMonths(ctx);
    // Kept: from November 2025 on. Gone: March 2023, January and June 2025.
    expect(await count()).toBe(96);
    expect(await count({ meter_id: 'M1' })).toBe(96);
    expect(await ctx.store.db('ami_daily_reads').where({ meter_id: 'M1' })).toHaveLength(1);
    if (pg) {
      const months = (await listMonths(ctx.store.db)).map((m) => m.table);
      expect(months[0]).toBe('ami_intervals_p202511');
      expect(months).toEqual(
        expect.arrayContaining(['ami_intervals_p202612', 'ami_intervals_p202701', 'ami_intervals_p202702']),
      );
      expect(counts.dropped).toBeGreaterThanOrEqual(3);
    } else expect(counts).toMatchObject({ deleted: 3 * 96 });
    // The writer that made March 2023 earlier writes there again: the month is made again.
    const writer = intervalWriter(ctx.store.db);
    writer.add('M3', 1, quarterHours(day('2023-03-15'), 4), 1);
    expect(await writer.flush()).toBe(4);
    expect(await count({ meter_id: 'M3' })).toBe(4);
  });

  it("answers a register's days from its derived reads where the import derived them, from the intervals elsewhere", async () => {
    const db = ctx.store.db;
    const zone = 'America/Chicago';
    // Three local days of intervals (Chicago midnight is 06:00 UTC in November); the middle one derived.
    const writer = intervalWriter(db);
    writer.add('M9', 1, quarterHours(day('2026-11-10') + 6 * 3600, 3 * 96), 1);
    await writer.flush();
    await db('ami_daily_reads').insert({
      meter_id: 'M9',
      channel: 1,
      read_date: '2026-11-11',
      value: 1000,
      consumption: 24,
      read_type: 'E',
      flags: null,
      intervals: 96,
      estimated: 2,
      derived_at: now.toISOString(),
    });
    const usage = await registerUsage(db, 'M9', 1, { from: '2026-11-10', to: '2026-11-12', zone }, 'day');
    expect(usage.points).toEqual([
      { at: '2026-11-10', value: 24, intervals: 96, estimated: 0 },
      { at: '2026-11-11', value: 24, intervals: 96, estimated: 2 },
      { at: '2026-11-12', value: 24, intervals: 96, estimated: 0 },
    ]);
    expect(usage).toMatchObject({ seconds: 900, total: 72 });
    const month = await registerUsage(db, 'M9', 1, { from: '2026-11-01', to: '2026-11-30', zone }, 'month');
    expect(month.points).toEqual([{ at: '2026-11', value: 72, intervals: 288, estimated: 2 }]);
  });
});
