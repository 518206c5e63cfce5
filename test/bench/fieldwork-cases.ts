import path from 'node:path';
import pg from 'pg';
import { postFieldWork } from '../../jobs/post-field-work.js';
import { prepare } from '../../src/entry/gateway.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import * as q from '../../src/infra/billing/queries.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { insertMany } from '../../src/infra/db/sql-utils.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { BILLING_FIELDWORK } from '../../src/flows/work-orders/work-orders.js';

/**
 * Completed work orders posted to billing's field-work upload table (`node fieldwork-cases.js
 * <post|post-naive> <sqlite|postgres> <dir> <n>`): the post-field-work job against the same job
 * written row by row. One JSON line: { items, seconds, rate, peakRssMb }.
 */
const NOW = new Date('2026-11-23T23:00:00Z');
const [name, dialect, dir, nText] = process.argv.slice(2);
const n = Number(nText);

async function context(tag: string) {
  let store = `sqlite:${path.join(dir!, `fw-store-${tag}.sqlite`)}`;
  let billing = `sqlite:${path.join(dir!, `fw-billing-${tag}.sqlite`)}`;
  if (dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    for (const db of [`fg_bench_fw_store_${tag}`, `fg_bench_fw_billing_${tag}`]) {
      await admin.query(`drop database if exists ${db} with (force)`);
      await admin.query(`create database ${db}`);
    }
    await admin.end();
    const at = (db: string) => Object.assign(new URL(process.env.DATABASE_URL!), { pathname: `/${db}` }).toString();
    store = at(`fg_bench_fw_store_${tag}`);
    billing = at(`fg_bench_fw_billing_${tag}`);
  }
  const config = loadConfig({
    env: {},
    overrides: {
      store: { url: store },
      billing: { url: billing, postBatchSize: 5000, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
    },
  });
  const ctx = openContext(config, silentLogger(), () => NOW);
  await seedReferenceBilling(ctx.billing.db, { accounts: 10, routes: 1, seed: 1, today: '2026-11-23' });
  await prepare(ctx);
  const rows: q.FieldWorkUploadRow[] = Array.from({ length: n }, (_, i) => ({
    completionKey: `WO:B${String(i).padStart(10, '0')}`,
    orderNo: `B${String(i).padStart(10, '0')}`,
    outcome: 'COMPLETED',
    completedAt: '2026-11-23T15:00:00.000Z',
    technician: `tech${i % 40}`,
    finalRead: 10_000 + i,
    newMeterSerial: i % 10 === 0 ? `LG${String(i).padStart(8, '0')}` : null,
    newMeterRead: i % 10 === 0 ? 1 : null,
  }));
  await insertMany(
    ctx.store.db,
    'outbox',
    rows.map((r) => ({
      kind: BILLING_FIELDWORK,
      key: r.completionKey,
      payload: JSON.stringify(r),
      status: 'pending',
      attempts: 0,
      created_at: NOW.toISOString(),
    })),
  );
  return ctx;
}

const ctx = await context(name === 'post' ? 'job' : 'naive');
const started = performance.now();
if (name === 'post') {
  const outcome = await runJob(ctx, postFieldWork, { trigger: 'manual' });
  if (outcome.status !== 'ok' || outcome.counts.posted !== n)
    throw new Error(`post-field-work posted ${outcome.counts.posted} of ${n}: ${outcome.error}`);
} else {
  // The same job row by row: each completion inserted into billing, then its outbox row moved, one statement at a time.
  const billing = ctx.billing.db;
  await billing('cis_upload_batch').insert({
    batch_id: 'naive',
    kind: 'FIELDWORK',
    source: 'bench',
    row_count: 0,
    checksum: '-',
    created_at: q.dbTime(billing, NOW.toISOString()),
  });
  const items = (await ctx.store
    .db('outbox')
    .where({ kind: BILLING_FIELDWORK })
    .orderBy('id')
    .select('id', 'key', 'payload')) as { id: number; key: string; payload: string }[];
  for (const item of items) {
    await billing('cis_fieldwork_upload').insert(
      q.fieldWorkUploadRecord(billing, ctx.billing.mapping, JSON.parse(item.payload) as q.FieldWorkUploadRow, 'naive'),
    );
    await ctx.store
      .db('outbox_sent')
      .insert({ id: item.id, kind: BILLING_FIELDWORK, key: item.key, ref: 'naive', sent_at: NOW.toISOString() });
    await ctx.store.db('outbox').where({ id: item.id }).del();
  }
}
const seconds = (performance.now() - started) / 1000;
await closeContext(ctx);
console.log(JSON.stringify({ items: n, seconds, rate: n / seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
