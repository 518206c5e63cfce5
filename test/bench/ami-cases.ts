import { ensureMonths, monthsBetween } from '../../src/infra/store/interval-partitions.js';
import { once } from 'node:events';
import { createWriteStream, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { parseStringPromise } from 'xml2js';
import { importLanes, runAmiImport } from '../../src/flows/ami/import-runner.js';
import { inTurn } from '../../src/core/in-turn.js';
import Database from 'better-sqlite3';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { espiFeed } from '../../src/flows/ami/espi-writer.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { connect } from '../../src/infra/db/connect.js';
import type { Interval } from '../../src/core/vee/types.js';
import { migrateStore } from '../../src/infra/store/store.js';
import { cmepLine } from '../tools/ami-fixtures.js';

/**
 * AMI import cases, one per process so each peak RSS is its own:
 *   prepare <dir> <intervals> <baselineIntervals>   billing (5,000 accounts) and the files (whole, and in
 *                                                   two halves by meter range, as a head-end splits a night)
 *   raw <sqlite|postgres> <dir>                     the store's limit: the CMEP file's rows, made in memory,
 *                                                   by raw COPY (PostgreSQL) or one prepared insert (SQLite)
 *   import-split <cmep|espi> <sqlite|postgres> <dir>  both halves at once (ami.parallelImports 2)
 *   import <cmep|espi> <sqlite|postgres> <dir>      the product's import, end to end
 *   baseline <sqlite|postgres> <dir>                xml2js on the whole document, knex row by row
 */
const [cmd, ...args] = process.argv.slice(2);
const METERS = 2000;
const START = Date.UTC(2026, 0, 5, 6) / 1000; // midnight in Chicago

function meterDay(meterNo: number, day: number, seconds = 900): Interval[] {
  const out: Interval[] = [];
  const base = START + day * 86_400;
  for (let t = base; t < base + 86_400; t += seconds) {
    const hour = ((t - START) / 3600) % 24;
    const v =
      0.3 +
      0.5 * Math.exp(-((hour - 7) ** 2) / 4) +
      0.9 * Math.exp(-((hour - 19) ** 2) / 6) +
      ((meterNo * 7 + t / 900) % 10) / 50;
    out.push({ startAt: t, seconds, value: Math.round(v * 1000) / 1000, quality: 'A', flags: null });
  }
  return out;
}

async function writeAll(file: string, chunks: Iterable<string>): Promise<void> {
  const out = createWriteStream(file);
  for (const c of chunks) if (!out.write(c)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

async function prepare(dir: string, intervals: number, baselineIntervals: number): Promise<void> {
  const billing = connect(`sqlite:${path.join(dir, 'billing.sqlite')}`);
  await seedReferenceBilling(billing, { accounts: 5000, routes: 10, seed: 7, today: '2026-11-23' });
  const meters = (await billing('cis_registers')
    .select('meter_id', 'uom')
    .where({ register_no: 1 })
    .orderBy('meter_id')
    .limit(METERS)) as { meter_id: string; uom: string }[];
  await billing.destroy();
  const days = Math.ceil(intervals / (meters.length * 96));
  const cmep = function* (from: number, to: number) {
    for (let m = from; m < to; m++)
      for (let d = 0; d < days; d++) yield `${cmepLine(meters[m]!.meter_id, meters[m]!.uom, meterDay(m, d))}\n`;
  };
  const espiPoints = (from: number, to: number, dayCount: number) =>
    meters.slice(from, to).map((mt, i) => ({
      channel: { meterId: mt.meter_id, channel: 1, unit: mt.uom, seconds: 900 },
      blocks: (function* () {
        for (let d = 0; d < dayCount; d++) yield meterDay(from + i, d);
      })(),
    }));
  const half = Math.ceil(meters.length / 2);
  for (const [suffix, from, to] of [
    ['', 0, meters.length],
    ['-1of2', 0, half],
    ['-2of2', half, meters.length],
  ] as const) {
    await writeAll(path.join(dir, `cmep${suffix}.csv`), cmep(from, to));
    await writeAll(
      path.join(dir, `espi${suffix}.xml`),
      espiFeed(espiPoints(from, to, days), { updated: '2026-11-23T06:00:00Z' }),
    );
  }
  writeFileSync(path.join(dir, 'meters.json'), JSON.stringify({ meters, days }));
  const baselineDays = Math.max(1, Math.round(baselineIntervals / (10 * 96)));
  await writeAll(
    path.join(dir, 'espi-baseline.xml'),
    espiFeed(espiPoints(0, 10, baselineDays), { updated: '2026-11-23T06:00:00Z' }),
  );
  console.log(
    JSON.stringify({
      meters: meters.length,
      days,
      intervals: meters.length * days * 96,
      baseline: 10 * baselineDays * 96,
    }),
  );
}

/** An ESPI file of at least `mb` megabytes, for the memory row. */
async function prepareLarge(dir: string, mb: number): Promise<void> {
  const billing = connect(`sqlite:${path.join(dir, 'billing.sqlite')}`);
  const meters = (await billing('cis_registers')
    .select('meter_id', 'uom')
    .where({ register_no: 1 })
    .orderBy('meter_id')
    .limit(METERS)) as { meter_id: string; uom: string }[];
  await billing.destroy();
  // ESPI spends about 190 bytes on a 15-minute reading.
  const days = Math.ceil((mb * 1e6) / 190 / 96 / meters.length);
  const file = path.join(dir, 'espi-large.xml');
  await writeAll(
    file,
    espiFeed(
      meters.map((mt, m) => ({
        channel: { meterId: mt.meter_id, channel: 1, unit: mt.uom, seconds: 900 },
        blocks: (function* () {
          for (let d = 0; d < days; d++) yield meterDay(m, d);
        })(),
      })),
      { updated: '2026-11-23T06:00:00Z' },
    ),
  );
  console.log(JSON.stringify({ items: statSync(file).size / 1e6 }));
}

async function freshStore(dialect: string, dir: string, tag: string): Promise<{ url: string; db: Knex }> {
  const file = path.join(dir, `store-${tag}.sqlite`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  let url = `sqlite:${file}`;
  if (dialect === 'postgres') {
    const name = `fg_bench_ami_${tag}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
    await admin.end();
    const u = new URL(process.env.DATABASE_URL!);
    u.pathname = `/${name}`;
    url = u.toString();
  }
  const db = connect(url);
  await migrateStore(db);
  return { url, db };
}

function report(items: number, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({ items, seconds, rate: items / seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 }),
  );
}

function benchConfig(dir: string, url: string, ami: { parallelImports?: number } = {}) {
  return loadConfig({
    env: {},
    overrides: {
      store: { url },
      billing: { url: `sqlite:${path.join(dir, 'billing.sqlite')}` },
      log: { level: 'error', format: 'json' },
      ami,
    },
  });
}

/** The product's path: `fieldgate ami import` and the drop folder run the import in a worker thread. */
async function importCase(format: 'cmep' | 'espi' | 'espi-large', dialect: string, dir: string): Promise<void> {
  const { url, db } = await freshStore(dialect, dir, format);
  await db.destroy();
  const config = benchConfig(dir, url);
  const started = performance.now();
  const r = await runAmiImport(config, path.join(dir, format === 'cmep' ? 'cmep.csv' : `${format}.xml`), {
    format: format === 'cmep' ? 'cmep' : 'espi',
  });
  report(r.received, started);
  process.stderr.write(
    `  ${format} on ${dialect}: stored ${r.stored}, daily reads ${r.dailyReads}, exceptions ` +
      `${JSON.stringify(r.exceptionsByKind)}\n`,
  );
}

/** A head-end's night in two files by meter range, imported side by side as the drop folder does (ami.parallelImports 2). */
async function importSplitCase(format: 'cmep' | 'espi', dialect: string, dir: string): Promise<void> {
  const { url, db } = await freshStore(dialect, dir, `${format}_split`);
  await db.destroy();
  const config = benchConfig(dir, url, { parallelImports: 2 });
  const ext = format === 'cmep' ? 'csv' : 'xml';
  const files = [1, 2].map((k) => path.join(dir, `${format}-${k}of2.${ext}`));
  const started = performance.now();
  let received = 0;
  await inTurn(files, importLanes(config), async (file) => {
    const r = await runAmiImport(config, file, { format });
    received += r.received;
  });
  report(received, started);
}

/**
 * The store's own limit for the same rows, made in memory (no parsing, no VEE, no daily reads):
 * PostgreSQL's COPY into the month-partitioned ami_intervals in one transaction, or SQLite's
 * prepared insert in one transaction on WAL. What the product's import is measured against.
 */
async function rawCase(dialect: string, dir: string): Promise<void> {
  const { db, url } = await freshStore(dialect, dir, 'raw');
  const { meters, days } = JSON.parse(readFileSync(path.join(dir, 'meters.json'), 'utf8')) as {
    meters: { meter_id: string }[];
    days: number;
  };
  const rows = function* () {
    for (let m = 0; m < meters.length; m++)
      for (let d = 0; d < days; d++) for (const iv of meterDay(m, d)) yield [meters[m]!.meter_id, iv] as const;
  };
  let n = 0;
  if (dialect === 'postgres') {
    await ensureMonths((sql) => db.raw(sql), monthsBetween(START, START + days * 86_400), new Set());
    const chunks: Buffer[] = [];
    let text = '';
    for (const [meterId, iv] of rows()) {
      text += `${meterId}\t1\t${iv.startAt}\t${iv.seconds}\t${iv.value}\tA\t\\N\t1\n`;
      n++;
      if (text.length > 256_000) {
        chunks.push(Buffer.from(text));
        text = '';
      }
    }
    chunks.push(Buffer.from(text));
    await db.destroy();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const started = performance.now();
    await client.query('BEGIN');
    await client.query('SET LOCAL synchronous_commit = off');
    await pipeline(Readable.from(chunks), client.query(copyFrom('COPY ami_intervals FROM STDIN')));
    await client.query('COMMIT');
    report(n, started);
    await client.end();
    return;
  }
  const values: (string | number)[][] = [];
  for (const [meterId, iv] of rows()) values.push([meterId, iv.startAt, iv.seconds, iv.value]);
  n = values.length;
  await db.destroy();
  const sqlite = new Database(path.join(dir, 'store-raw.sqlite'));
  sqlite.pragma('journal_mode = WAL');
  const insert = sqlite.prepare(
    'INSERT INTO ami_intervals (meter_id, channel, start_at, seconds, value, quality, flags, batch_id) ' +
      "VALUES (?, 1, ?, ?, ?, 'A', NULL, 1)",
  );
  const started = performance.now();
  sqlite.transaction(() => {
    for (const v of values) insert.run(v);
  })();
  report(n, started);
  sqlite.close();
}

/** The naive way: the whole document in memory through xml2js, then one knex insert per interval. */
async function baselineCase(dialect: string, dir: string): Promise<void> {
  const { db } = await freshStore(dialect, dir, 'baseline');
  const started = performance.now();
  const doc = (await parseStringPromise(readFileSync(path.join(dir, 'espi-baseline.xml'), 'utf8'))) as {
    feed: { entry: Record<string, unknown>[] };
  };
  let n = 0;
  // PostgreSQL partitions intervals by month: the months of the file are made first, as the product's writer does.
  if (dialect === 'postgres') {
    const starts = [...readFileSync(path.join(dir, 'espi-baseline.xml'), 'utf8').matchAll(/<espi:start>(\d+)</g)].map(
      (m) => Number(m[1]),
    );
    const months = monthsBetween(Math.min(...starts), Math.max(...starts));
    await ensureMonths((sql) => db.raw(sql), months, new Set());
  }
  for (const entry of doc.feed.entry) {
    const content = (entry.content as Record<string, unknown[]>[])[0]!;
    const block = content['espi:IntervalBlock']?.[0] as Record<string, unknown[]> | undefined;
    if (!block) continue;
    const self = (
      (entry.link as { $: { rel: string; href: string } }[]).find((l) => l.$.rel === 'up') ?? { $: { href: '' } }
    ).$.href;
    const meterId = self.split('UsagePoint/')[1]!.split('-')[0]!;
    for (const r of block['espi:IntervalReading'] as Record<string, unknown[]>[]) {
      const tp = r['espi:timePeriod']![0] as Record<string, string[]>;
      await db('ami_intervals').insert({
        meter_id: meterId,
        channel: 1,
        start_at: Number(tp['espi:start']![0]),
        seconds: Number(tp['espi:duration']![0]),
        value: Number((r['espi:value'] as string[])[0]) / 1e6,
        quality: 'A',
        flags: null,
        batch_id: 1,
      });
      n++;
    }
  }
  report(n, started);
  await db.destroy();
}

if (cmd === 'prepare') await prepare(args[0]!, Number(args[1]), Number(args[2]));
else if (cmd === 'prepare-large') await prepareLarge(args[0]!, Number(args[1]));
else if (cmd === 'raw') await rawCase(args[0]!, args[1]!);
else if (cmd === 'import-split') await importSplitCase(args[0] as 'cmep' | 'espi', args[1]!, args[2]!);
else if (cmd === 'import') await importCase(args[0] as 'cmep' | 'espi' | 'espi-large', args[1]!, args[2]!);
else if (cmd === 'baseline') await baselineCase(args[0]!, args[1]!);
else throw new Error(`unknown case ${cmd}`);
