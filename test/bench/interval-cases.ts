import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { registerUsage } from '../../src/flows/ami/usage.js';
import { openStore, migrateStore } from '../../src/infra/store/store.js';
import { ensureMonths, listMonths, monthsBetween } from '../../src/infra/store/interval-partitions.js';
import { prng } from '../../src/infra/billing/reference/seed-data.js';
import { localDay } from '../../src/core/vee/rules/daily.js';

/**
 * Intervals at scale on PostgreSQL (`node interval-cases.js <intervals>`): a year of 15-minute
 * intervals for as many meters as make `intervals` rows, loaded day by day as the nightly imports
 * write them (COPY into the month-partitioned table, and each day's derived reads as the import
 * derives them for a whole day), then the usage API's own query timed: one
 * meter's month by day (a CSR's bill question) and one account's year by month (a customer's
 * chart), at random meters. Prints the table's and its indexes' size. One JSON line.
 */
const total = Number(process.argv[2] ?? 100_000_000);
const DAYS = 365;
const meters = Math.ceil(total / (DAYS * 96));
const ZONE = 'America/Chicago';
const FIRST = Date.UTC(2025, 11, 1, 6) / 1000; // 2025-12-01 00:00 in Chicago; local days from there (DST: 92 and 100)
const dbName = 'fg_bench_intervals';
const log = (s: string) => process.stderr.write(`[intervals] ${s}\n`);

const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
await admin.connect();
await admin.query(`drop database if exists ${dbName} with (force)`);
await admin.query(`create database ${dbName}`);
await admin.end();
const url = Object.assign(new URL(process.env.DATABASE_URL!), { pathname: `/${dbName}` }).toString();
const store = openStore(url);
try {
  await migrateStore(store.db);
  await ensureMonths((sql) => store.db.raw(sql), monthsBetween(FIRST, FIRST + DAYS * 86_400), new Set());
  const meterId = (m: number) => `BM${String(m).padStart(8, '0')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = performance.now();
  let rows = 0;
  let day = localDay(FIRST, ZONE);
  for (let d = 0; d < DAYS && rows < total; d++, day = localDay(day.dayEnd, ZONE)) {
    const { dayStart, dayEnd, date } = day;
    const slots = (dayEnd - dayStart) / 900;
    // The day's derived reads, as the import derives them for a day whose intervals are all there.
    let reads = '';
    const chunk = function* () {
      for (let m = 0; m < meters && rows < total; m++) {
        let text = '';
        let used = 0;
        for (let k = 0; k < slots; k++) {
          const v = Math.round((0.1 + ((m + k) % 13) / 20) * 1000) / 1000;
          used += v;
          text += `${meterId(m)}\t1\t${dayStart + k * 900}\t900\t${v}\tA\t\\N\t1\n`;
        }
        rows += slots;
        reads += `${meterId(m)}\t1\t${date}\t${(m * 1000 + used).toFixed(6)}\t${used.toFixed(6)}\tA\t\\N\t${slots}\t0\t${new Date().toISOString()}\n`;
        yield text;
      }
    };
    await pipeline(Readable.from(chunk()), client.query(copyFrom('COPY ami_intervals FROM STDIN')));
    await pipeline(
      Readable.from([reads]),
      client.query(
        copyFrom(
          'COPY ami_daily_reads (meter_id, channel, read_date, value, consumption, read_type, flags, intervals, estimated, derived_at) FROM STDIN',
        ),
      ),
    );
    if (d % 30 === 29) log(`${rows.toLocaleString('en-US')} intervals loaded (${d + 1} days)`);
  }
  const loadSeconds = (performance.now() - started) / 1000;
  await client.query('ANALYZE ami_intervals');
  const size = async (fn: string) =>
    Number(
      (
        await client.query(
          `SELECT sum(${fn}(c.oid))::bigint AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid ` +
            `JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'ami_intervals'`,
        )
      ).rows[0].n,
    );
  const tableBytes = await size('pg_table_size');
  const indexBytes = await size('pg_indexes_size');
  const dailyBytes = Number((await client.query("SELECT pg_total_relation_size('ami_daily_reads') AS n")).rows[0].n);
  await client.end();

  const rnd = prng(11);
  const time = async (n: number, query: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await query();
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    return { n, p50: ms[Math.floor(n * 0.5)]!, p99: ms[Math.min(n - 1, Math.floor(n * 0.99))]!, max: ms[n - 1]! };
  };
  const months = [
    '2025-12',
    '2026-01',
    '2026-02',
    '2026-03',
    '2026-04',
    '2026-05',
    '2026-06',
    '2026-07',
    '2026-08',
    '2026-09',
    '2026-10',
  ];
  const monthEnd = (ym: string) =>
    new Date(Date.UTC(Number(ym.slice(0, 4)), Number(ym.slice(5)), 0)).toISOString().slice(0, 10);
  const meterMonth = await time(300, async () => {
    const ym = months[Math.floor(rnd() * months.length)]!;
    const r = await registerUsage(
      store.db,
      meterId(Math.floor(rnd() * meters)),
      1,
      { from: `${ym}-01`, to: monthEnd(ym), zone: ZONE },
      'day',
    );
    if (r.points.length < 28) throw new Error(`a month of ${r.points.length} days`);
  });
  const accountYear = await time(60, async () => {
    const r = await registerUsage(
      store.db,
      meterId(Math.floor(rnd() * meters)),
      1,
      { from: '2025-12-01', to: '2026-11-30', zone: ZONE },
      'month',
    );
    if (r.points.length < 11) throw new Error(`a year of ${r.points.length} months`);
  });
  console.log(
    JSON.stringify({
      intervals: rows,
      meters,
      partitions: (await listMonths(store.db)).length,
      loadSeconds,
      tableBytes,
      indexBytes,
      dailyBytes,
      meterMonth,
      accountYear,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
} finally {
  await store.close();
  if (!process.env.BENCH_INTERVALS_KEEP) {
    const a = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await a.connect();
    await a.query(`drop database if exists ${dbName} with (force)`);
    await a.end();
  }
}
