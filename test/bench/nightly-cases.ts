import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pastDue } from '../../jobs/past-due.js';
import { postFieldWork } from '../../jobs/post-field-work.js';
import { postReadings } from '../../jobs/post-readings.js';
import { pullServiceOrders } from '../../jobs/pull-service-orders.js';
import { importLanes, runAmiImport } from '../../src/flows/ami/import-runner.js';
import { inTurn } from '../../src/core/in-turn.js';
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
 * BENCH_NIGHT_ACCOUNTS (100,000) accounts; the day's input made ready (the hand-held readings of
 * 20 routes in route files; a CMEP day of every meter, 96 intervals each, in files of
 * BENCH_NIGHT_FILE_METERS (100,000) meters by meter range, as a head-end sends them; one
 * completed work order per 50 accounts); then the night's work timed step by step, each through
 * the product's own code, in this one process as the gateway runs it. One JSON line, with the
 * process's peak RSS.
 */
const [dir] = process.argv.slice(2) as [string];
const ACCOUNTS = Number(process.env.BENCH_NIGHT_ACCOUNTS ?? 100_000);
const HANDHELD_ROUTES = Number(process.env.BENCH_NIGHT_ROUTES ?? 20);
const AMI_METERS = Number(process.env.BENCH_NIGHT_AMI_METERS ?? ACCOUNTS);
const FILE_METERS = Number(process.env.BENCH_NIGHT_FILE_METERS ?? 100_000);
const COMPLETIONS = Number(process.env.BENCH_NIGHT_COMPLETIONS ?? Math.round(ACCOUNTS / 50));
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
    // The head-end's files are split by meter range: two at a time, one per core.
    ami: { parallelImports: 2 },
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

  // The day: routes read by hand-helds, waiting as files.
  const readFiles: { route: string; file: string; lines: number }[] = [];
  let readings = 0;
  for (const route of (await ctx.billing.listRoutes()).slice(0, HANDHELD_ROUTES)) {
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

  // AMI: one whole day of every AMI meter, in CMEP files of FILE_METERS meters by meter range
  // (billing's meters read page by page, so this process never holds a million of them).
  const cmepFiles: string[] = [];
  let amiMeters = 0;
  let after = '';
  let out: ReturnType<typeof createWriteStream> | null = null;
  while (amiMeters < AMI_METERS) {
    const page = (await ctx.billing
      .db('cis_registers')
      .select('meter_id', 'uom')
      .where({ register_no: 1 })
      .andWhere('meter_id', '>', after)
      .orderBy('meter_id')
      .limit(Math.min(10_000, AMI_METERS - amiMeters))) as { meter_id: string; uom: string }[];
    if (page.length === 0) break;
    for (const m of page) {
      if (amiMeters % FILE_METERS === 0) {
        if (out) {
          out.end();
          await once(out, 'finish');
        }
        const file = path.join(dir, `night-${String(cmepFiles.length + 1).padStart(3, '0')}.cmep.csv`);
        cmepFiles.push(file);
        out = createWriteStream(file);
      }
      if (!out!.write(`${cmepLine(m.meter_id, m.uom, meterDay(amiMeters))}\n`)) await once(out!, 'drain');
      amiMeters++;
    }
    after = page[page.length - 1]!.meter_id;
  }
  if (out) {
    out.end();
    await once(out, 'finish');
  }

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
      `${(amiMeters * 96).toLocaleString('en-US')} intervals in ${cmepFiles.length} files, ` +
      `${COMPLETIONS.toLocaleString('en-US')} ` +
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
  let heapRetries = 0;
  await timed(
    `AMI import: CMEP → VEE → store → daily reads (${cmepFiles.length} files, ${importLanes(config)} at a time)`,
    'intervals',
    async () => {
      let received = 0;
      await inTurn(cmepFiles, importLanes(config), async (file) => {
        const r = await runAmiImport(config, file, {
          format: 'cmep',
          onHeapRetry: (from, to) => {
            heapRetries++;
            log(`  ${path.basename(file)} outgrew ${from} MB of heap; again with ${to} MB`);
          },
        });
        received += r.received;
      });
      return received;
    },
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
  const setting = async (name: string) =>
    ((await ctx.store.db.raw(`select current_setting('${name}') as v`)) as { rows: { v: string }[] }).rows[0]!.v;
  const postgres = Object.fromEntries(
    await Promise.all(
      ['shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'synchronous_commit'].map(
        async (n) => [n, await setting(n)] as const,
      ),
    ),
  );
  console.log(
    JSON.stringify({
      accounts: ACCOUNTS,
      steps,
      postgres,
      heapRetries,
      workerHeapMb: config.ami.workerHeapMb,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
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
