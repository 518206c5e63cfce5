import { copyFileSync, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { postReadings } from '../../jobs/post-readings.js';
import { prepare } from '../../src/entry/gateway.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import type { GatewayContext } from '../../src/flows/context.js';
import type { ReadUploadRow } from '../../src/infra/billing/queries.js';
import * as q from '../../src/infra/billing/queries.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { decodeLine } from '../../src/core/fixed-width/codec.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { fileLineSource } from '../../src/flows/readings/file-source.js';
import { BILLING_READ, importReadings } from '../../src/flows/readings/import-readings.js';
import { exportRoute } from '../../src/flows/routes/export-route.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { localToUtc } from '../../src/core/local-time.js';
import { readRoute } from '../../src/flows/sim/read-route.js';
import { insertMany, insertReturningId } from '../../src/infra/db/sql-utils.js';

/**
 * One benchmark case per process (`node readings-cases.js <case> <dialect> <dir> [n]`), so
 * each reports its own peak RSS. Prints one JSON line: { items, seconds, rate, peakRssMb }.
 */
const NOW = new Date('2026-11-23T23:00:00Z');

interface Target {
  dialect: 'sqlite' | 'postgres';
  dir: string;
}

function urls(t: Target, tag: string): { store: string; billing: string } {
  if (t.dialect === 'sqlite')
    return {
      store: `sqlite:${path.join(t.dir, `store-${tag}.sqlite`)}`,
      billing: `sqlite:${path.join(t.dir, `billing-${tag}.sqlite`)}`,
    };
  const base = new URL(process.env.DATABASE_URL!);
  const at = (name: string) => Object.assign(new URL(base.toString()), { pathname: `/${name}` }).toString();
  return { store: at(`fg_bench_store_${tag}`), billing: at(`fg_bench_billing_${tag}`) };
}

function context(t: Target, tag: string, batch = 5000): GatewayContext {
  const u = urls(t, tag);
  const config = loadConfig({
    env: {},
    overrides: {
      store: { url: u.store },
      billing: {
        url: u.billing,
        postBatchSize: batch,
        demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 },
      },
    },
  });
  return openContext(config, silentLogger(), () => NOW);
}

async function pgAdmin(sql: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  for (const s of sql) await c.query(s);
  await c.end();
}

/** Copies the prepared databases to a fresh pair for one case. */
async function cloneFrom(t: Target, from: string, to: string): Promise<void> {
  if (t.dialect === 'sqlite') {
    for (const kind of ['store', 'billing']) {
      rmSync(path.join(t.dir, `${kind}-${to}.sqlite`), { force: true });
      copyFileSync(path.join(t.dir, `${kind}-${from}.sqlite`), path.join(t.dir, `${kind}-${to}.sqlite`));
    }
    return;
  }
  const sql: string[] = [];
  for (const kind of ['store', 'billing']) {
    sql.push(
      `drop database if exists fg_bench_${kind}_${to} with (force)`,
      `create database fg_bench_${kind}_${to} template fg_bench_${kind}_${from}`,
    );
  }
  await pgAdmin(sql);
}

const CASES: Record<string, (t: Target, n: number) => Promise<number>> = {
  /** Seeds billing with one route of n meters, exports it, and writes the readings file. */
  async prepare(t, n) {
    mkdirSync(t.dir, { recursive: true });
    if (t.dialect === 'postgres')
      await pgAdmin(
        ['store', 'billing'].flatMap((k) => [
          `drop database if exists fg_bench_${k}_base with (force)`,
          `create database fg_bench_${k}_base`,
        ]),
      );
    else for (const k of ['store', 'billing']) rmSync(path.join(t.dir, `${k}-base.sqlite`), { force: true });
    const ctx = context(t, 'base');
    // route-v1 numbers lines with 5 digits: one route holds at most 99,999 register lines.
    await seedReferenceBilling(ctx.billing.db, {
      accounts: Math.min(n, 98_500),
      routes: 1,
      seed: 9,
      today: '2026-11-23',
      historyMonths: 3,
    });
    await prepare(ctx);
    const exported = await exportRoute(ctx, { routeCode: 'R01', actor: 'bench' });
    const day = readRoute(exported.content.toString('latin1'), {
      routeLayout: ctx.layout('route-v1'),
      readLayout: ctx.layout('read-v1'),
      zone: ctx.config.timeZone,
      start: new Date('2026-11-22T00:00:00Z'),
      seed: 3,
      readerId: 'BENCH',
      pace: 0.5,
    });
    const out = createWriteStream(path.join(t.dir, 'readings.txt'));
    for (const line of day.lines) out.write(`${line}\r\n`);
    await new Promise<void>((resolve) => out.end(resolve));
    await closeContext(ctx);
    return day.lines.length;
  },

  /** fieldgate's import: streamed, checked, batched inside one transaction. */
  async import(t) {
    await cloneFrom(t, 'base', 'imp');
    const ctx = context(t, 'imp');
    const started = performance.now();
    const s = await importReadings(ctx, await fileLineSource(path.join(t.dir, 'readings.txt')), {
      source: 'file',
      actor: 'bench',
    });
    mark(started);
    await closeContext(ctx);
    return s.lines;
  },

  /** Baseline: decode each line and insert it alone, as a first script would. */
  async 'import-naive'(t, n) {
    await cloneFrom(t, 'base', 'naive');
    const ctx = context(t, 'naive');
    const layout = ctx.layout('read-v1');
    const source = await fileLineSource(path.join(t.dir, 'readings.txt'));
    const started = performance.now();
    const batchId = await insertReturningId(ctx.store.db, 'import_batches', {
      source: 'naive',
      idempotency_key: 'naive',
      sha256: source.sha256,
      lines: 0,
      stored: 0,
      rejected: 0,
      held: 0,
      skipped: 0,
      created_at: NOW.toISOString(),
    });
    let count = 0;
    for await (const text of source.lines) {
      if (++count > n) break;
      const r = decodeLine(layout, text, count).record;
      const at = localToUtc(String(r.read_at), ctx.config.timeZone);
      await ctx.store.db('readings').insert({
        batch_id: batchId,
        line_no: count,
        sequence: r.sequence == null ? null : Number(r.sequence),
        account: String(r.account),
        meter_id: String(r.meter_id),
        register: Number(r.register),
        reading: r.reading == null ? null : Number(r.reading),
        read_at: at.ok ? at.utc : null,
        method: r.method == null ? null : String(r.method),
        status: 'valid',
        read_key: `${String(r.meter_id)}|${String(r.register)}|${count}`,
        created_at: NOW.toISOString(),
      });
    }
    mark(started);
    await closeContext(ctx);
    return Math.min(count, n);
  },

  /** fieldgate's post-readings job: batches of 5,000 per billing transaction. */
  async post(t) {
    const ctx = context(t, 'imp');
    const pending = Number(
      (
        (await ctx.store.db('outbox').where({ kind: BILLING_READ, status: 'pending' }).count({ n: '*' }).first()) as {
          n: number;
        }
      ).n,
    );
    const started = performance.now();
    const outcome = await runJob(ctx, postReadings, { trigger: 'manual' });
    mark(started);
    if (outcome.status !== 'ok' || outcome.counts.posted !== pending)
      throw new Error(`post-readings posted ${outcome.counts.posted} of ${pending}: ${outcome.error}`);
    await closeContext(ctx);
    return pending;
  },

  /**
   * Baseline: the same job written row by row: insert each read into billing, then mark its outbox row, each on its
   * own.
   */
  async 'post-naive'(t, n) {
    const ctx = context(t, 'naive');
    const src = context(t, 'imp');
    const items = (await src.store
      .db('outbox')
      .where({ kind: BILLING_READ })
      .orderBy('id')
      .limit(n)
      .select('id', 'payload')) as { id: number; payload: string }[];
    // Copy the reads into this case's own store so the baseline marks rows as the job does.
    await ctx.store.db('outbox').del();
    await insertMany(
      ctx.store.db,
      'outbox',
      items.map((i) => ({
        id: i.id,
        kind: BILLING_READ,
        key: String(i.id),
        payload: i.payload,
        status: 'pending',
        attempts: 0,
        created_at: NOW.toISOString(),
      })),
    );
    const billing: Knex = ctx.billing.db;
    await billing('cis_upload_batch').insert({
      batch_id: 'naive',
      kind: 'READS',
      source: 'bench',
      row_count: 0,
      checksum: '-',
      created_at: q.dbTime(billing, NOW.toISOString()),
    });
    const started = performance.now();
    for (const item of items) {
      await billing('cis_read_upload').insert(
        q.readUploadRecord(
          billing,
          ctx.billing.mapping,
          JSON.parse(item.payload) as ReadUploadRow,
          'naive',
          NOW.toISOString(),
        ),
      );
      await ctx.store
        .db('outbox_sent')
        .insert({ id: item.id, kind: BILLING_READ, key: String(item.id), ref: 'naive', sent_at: NOW.toISOString() });
      await ctx.store.db('outbox').where({ id: item.id }).del();
    }
    mark(started);
    await closeContext(ctx);
    await closeContext(src);
    return items.length;
  },
};

let seconds = 0;
const mark = (started: number) => (seconds = (performance.now() - started) / 1000);

const [name, dialect, dir, n] = process.argv.slice(2);
const work = CASES[name ?? ''];
if (!work || (dialect !== 'sqlite' && dialect !== 'postgres') || !dir) {
  console.error(`usage: readings-cases <${Object.keys(CASES).join('|')}> <sqlite|postgres> <dir> [n]`);
  process.exit(2);
}
const items = await work({ dialect, dir }, Number(n ?? 100_000));
console.log(
  JSON.stringify({
    items,
    seconds,
    rate: seconds ? items / seconds : 0,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
