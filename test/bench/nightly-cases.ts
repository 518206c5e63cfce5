import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pastDue } from '../../jobs/past-due.js';
import { postFieldWork } from '../../jobs/post-field-work.js';
import { postReadings } from '../../jobs/post-readings.js';
import { pullServiceOrders } from '../../jobs/pull-service-orders.js';
import { runAmiImport } from '../../src/flows/ami/import-runner.js';
import { prepare } from '../../src/entry/gateway.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import type { FieldWorkUploadRow } from '../../src/infra/billing/queries.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { loadConfig } from '../../src/infra/config/load.js';
import type { Interval } from '../../src/core/vee/types.js';
import { insertMany } from '../../src/infra/db/sql-utils.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { LedgerService } from '../../src/flows/prebill/ledger-service.js';
import { fileLineSource } from '../../src/flows/readings/file-source.js';
import { importReadings } from '../../src/flows/readings/import-readings.js';
import { exportRoute } from '../../src/flows/routes/export-route.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { readRoute } from '../../src/flows/sim/read-route.js';
import { BILLING_FIELDWORK } from '../../src/flows/work-orders/work-orders.js';
import { cmepLine } from '../tools/ami-fixtures.js';

/**
 * A night at a large utility on PostgreSQL (`node nightly-cases.js <dir>`): billing seeded with
 * BENCH_NIGHT_ACCOUNTS (100,000) accounts; the day's input made ready (10,000 hand-held readings
 * in route files, a CMEP file of 100,000 meters × 96 intervals, 2,000 completed work orders);
 * then the night's work timed step by step, each through the product's own code. One JSON line.
 */
const [dir] = process.argv.slice(2) as [string];
const ACCOUNTS = Number(process.env.BENCH_NIGHT_ACCOUNTS ?? 100_000);
const HANDHELD = Number(process.env.BENCH_NIGHT_READINGS ?? 10_000);
const AMI_METERS = Number(process.env.BENCH_NIGHT_AMI_METERS ?? 100_000);
const COMPLETIONS = Number(process.env.BENCH_NIGHT_COMPLETIONS ?? 2_000);
const NOW = new Date('2026-11-23T23:00:00Z');
// Local midnight in Chicago on the 22nd: one whole local day of 15-minute intervals.
const DAY_START = Date.UTC(2026, 10, 22, 6) / 1000;

const log = (s: string) => process.stderr.write(`[nightly] ${s}\n`);

async function databases(): Promise<{ store: string; billing: string }> {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  for (const db of ['fg_bench_night_store', 'fg_bench_night_billing']) {
    await admin.query(`drop database if exists ${db} with (force)`);
    await admin.query(`create database ${db}`);
  }
  await admin.end();
  const at = (db: string) => Object.assign(new URL(process.env.DATABASE_URL!), { pathname: `/${db}` }).toString();
  return { store: at('fg_bench_night_store'), billing: at('fg_bench_night_billing') };
}

function meterDay(meterNo: number): Interval[] {
  const out: Interval[] = [];
  for (let k = 0; k < 96; k++) {
    const hour = k / 4;
    const v =
      0.3 +
      0.5 * Math.exp(-((hour - 7) ** 2) / 4) +
      0.9 * Math.exp(-((hour - 19) ** 2) / 6) +
      ((meterNo * 7 + k) % 10) / 50;
    out.push({
      startAt: DAY_START + k * 900,
      seconds: 900,
      value: Math.round(v * 1000) / 1000,
      quality: 'A',
      flags: null,
    });
  }
  return out;
}

interface Step {
  step: string;
  items: number;
  unit: string;
  seconds: number;
}

const urls = await databases();
const config = loadConfig({
  env: {},
  overrides: {
    store: { url: urls.store },
    billing: { url: urls.billing, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
    log: { level: 'error', format: 'json' },
    dataDir: dir,
  },
});
const ctx = openContext(config, silentLogger(), () => NOW);
try {
  const t = performance.now();
  const routesCount = Math.max(1, Math.round(ACCOUNTS / 500));
  log(`seeding billing: ${ACCOUNTS.toLocaleString('en-US')} accounts on ${routesCount} routes…`);
  await seedReferenceBilling(ctx.billing.db, { accounts: ACCOUNTS, routes: routesCount, seed: 9, today: '2026-11-23' });
  await prepare(ctx);
  log(`seeded in ${((performance.now() - t) / 1000).toFixed(0)} s; preparing the day's input…`);

  // The day: routes read by hand-helds until HANDHELD readings, waiting as files.
  const readFiles: { route: string; file: string; lines: number }[] = [];
  let readings = 0;
  for (const route of await ctx.billing.listRoutes()) {
    if (readings >= HANDHELD) break;
    const exported = await exportRoute(ctx, { routeCode: route.code, actor: 'bench' });
    const day = readRoute(exported.content.toString('latin1'), {
      routeLayout: ctx.layout('route-v1'),
      readLayout: ctx.layout('read-v1'),
      zone: config.timeZone,
      start: new Date('2026-11-23T12:00:00Z'),
      seed: 3,
      readerId: 'NIGHT',
      pace: 5,
    });
    const file = path.join(dir, `${route.code}.txt`);
    writeFileSync(file, day.lines.map((l) => `${l}\r\n`).join(''), 'latin1');
    readFiles.push({ route: route.code, file, lines: day.lines.length });
    readings += day.lines.length;
  }

  // AMI: one CMEP file, one whole day of every AMI meter.
  const meters = (await ctx.billing
    .db('cis_registers')
    .select('meter_id', 'uom')
    .where({ register_no: 1 })
    .orderBy('meter_id')
    .limit(AMI_METERS)) as { meter_id: string; uom: string }[];
  const cmepFile = path.join(dir, 'night.cmep.csv');
  const out = createWriteStream(cmepFile);
  for (let m = 0; m < meters.length; m++)
    if (!out.write(`${cmepLine(meters[m]!.meter_id, meters[m]!.uom, meterDay(m))}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');

  // The technicians' day: completed orders waiting for billing.
  const completions: FieldWorkUploadRow[] = Array.from({ length: COMPLETIONS }, (_, i) => ({
    completionKey: `WO:N${String(i).padStart(10, '0')}`,
    orderNo: `N${String(i).padStart(10, '0')}`,
    outcome: 'COMPLETED',
    completedAt: '2026-11-23T20:00:00.000Z',
    technician: `tech${i % 40}`,
    finalRead: 10_000 + i,
    newMeterSerial: null,
    newMeterRead: null,
  }));
  await insertMany(
    ctx.store.db,
    'outbox',
    completions.map((r) => ({
      kind: BILLING_FIELDWORK,
      key: r.completionKey,
      payload: JSON.stringify(r),
      status: 'pending',
      attempts: 0,
      created_at: NOW.toISOString(),
    })),
  );
  log(
    `input ready: ${readings.toLocaleString('en-US')} readings in ${readFiles.length} files, ` +
      `${(meters.length * 96).toLocaleString('en-US')} intervals, ${COMPLETIONS.toLocaleString('en-US')} ` +
      `completions; the night starts`,
  );

  // The night, step by step.
  const steps: Step[] = [];
  const timed = async (step: string, unit: string, work: () => Promise<number>) => {
    const started = performance.now();
    const items = await work();
    steps.push({ step, items, unit, seconds: (performance.now() - started) / 1000 });
    log(`${step}: ${items.toLocaleString('en-US')} ${unit} in ${steps.at(-1)!.seconds.toFixed(1)} s`);
  };
  const job = async (definition: Parameters<typeof runJob>[1], count: (c: Record<string, number>) => number) => {
    const outcome = await runJob(ctx, definition, { trigger: 'manual' });
    if (outcome.status !== 'ok') throw new Error(`${definition.name} ${outcome.status}: ${outcome.error}`);
    return count(outcome.counts);
  };
  await timed('import hand-held readings files', 'readings', async () => {
    let stored = 0;
    for (const f of readFiles)
      stored += (
        await importReadings(ctx, await fileLineSource(f.file), {
          source: 'dock',
          actor: 'bench',
          route: { code: f.route },
        })
      ).lines;
    return stored;
  });
  await timed(
    'AMI import: CMEP → VEE → store → daily reads (worker)',
    'intervals',
    async () =>
      (
        await runAmiImport(config, cmepFile, {
          format: 'cmep',
          onHeapRetry: (from, to) => log(`  the import outgrew ${from} MB of heap; again with ${to} MB`),
        })
      ).received,
  );
  await timed('pull-service-orders', 'orders', () =>
    job(pullServiceOrders, (c) => Object.values(c).reduce((a, b) => a + b, 0)),
  );
  await timed("past-due (every account's standing)", 'accounts', async () => {
    await job(pastDue, () => 0);
    return ACCOUNTS;
  });
  await timed('post-readings (hand-held and AMI daily reads)', 'reads', () => job(postReadings, (c) => c.posted ?? 0));
  await timed('post-field-work', 'completions', () => job(postFieldWork, (c) => c.posted ?? 0));
  await timed('pre-bill ledger of the read cycle', 'registers', async () => {
    const cycle = (await ctx.store.db('routes').select('cycle').first()) as { cycle: string };
    return (await new LedgerService(ctx, 0, 0).ledger(cycle.cycle)).rows.length;
  });
  console.log(JSON.stringify({ accounts: ACCOUNTS, steps }));
} finally {
  await closeContext(ctx);
  if (!process.env.BENCH_NIGHT_KEEP) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    for (const db of ['fg_bench_night_store', 'fg_bench_night_billing'])
      await admin.query(`drop database if exists ${db} with (force)`);
    await admin.end();
  }
}
