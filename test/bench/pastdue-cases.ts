import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { prepare } from '../../src/entry/gateway.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import { runPastDue } from '../../src/flows/work-orders/past-due.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { runPastDueRowByRow } from './baselines/past-due-row-by-row.js';

/**
 * Past-due over every account (`node pastdue-cases.js <sets|rows> <sqlite|postgres> <dir> <accounts>`):
 * billing seeded with that many accounts (about 6% past due, as the demo's), then two days of the
 * job: the notice day (every account's standing; a notice and a door hanger for each past due) and
 * the shut-off day (every open notice settled or cut). `sets` is the gateway's job, `rows` the same
 * job account by account as it was (test/bench/baselines). One JSON line per case.
 */
const [mode, dialect, dir, nText] = process.argv.slice(2) as [string, string, string, string];
const accounts = Number(nText);
const NOTICE_DAY = new Date('2026-11-23T15:00:00Z');

async function urls(): Promise<{ store: string; billing: string }> {
  if (dialect !== 'postgres')
    return {
      store: `sqlite:${path.join(dir, `pd-store-${mode}.sqlite`)}`,
      billing: `sqlite:${path.join(dir, `pd-billing-${mode}.sqlite`)}`,
    };
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  const names = [`fg_bench_pd_store_${mode}`, `fg_bench_pd_billing_${mode}`];
  for (const db of names) {
    await admin.query(`drop database if exists ${db} with (force)`);
    await admin.query(`create database ${db}`);
  }
  await admin.end();
  const at = (db: string) => Object.assign(new URL(process.env.DATABASE_URL!), { pathname: `/${db}` }).toString();
  return { store: at(names[0]!), billing: at(names[1]!) };
}

const { store, billing } = await urls();
let now = NOTICE_DAY;
mkdirSync(path.join(dir, mode), { recursive: true });
const config = loadConfig({
  env: {},
  overrides: {
    dataDir: path.join(dir, mode),
    store: { url: store },
    billing: { url: billing, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
    pastDue: { holidays: [] },
  },
});
const ctx = openContext(config, silentLogger(), () => now);
try {
  await seedReferenceBilling(ctx.billing.db, {
    accounts,
    routes: Math.max(1, Math.round(accounts / 500)),
    seed: 7,
    today: '2026-11-23',
  });
  await prepare(ctx);
  const job = mode === 'sets' ? runPastDue : runPastDueRowByRow;
  const timed = async () => {
    const started = performance.now();
    const counts = await job(ctx);
    return { seconds: (performance.now() - started) / 1000, counts };
  };
  const noticeDay = await timed();
  // The shut-off day: a third of the noticed accounts paid meanwhile, the rest are cut.
  const noticed = (await ctx.store.db('disconnect_notices').select('account_no', 'shut_off_date')) as {
    account_no: string;
    shut_off_date: string;
  }[];
  await ctx.billing
    .db('cis_accounts')
    .whereIn(
      'account_no',
      noticed.filter((_, i) => i % 3 === 0).map((n) => n.account_no),
    )
    .update({ balance_due: 0 });
  now = new Date(`${noticed[0]?.shut_off_date ?? '2026-12-03'}T15:00:00Z`);
  const shutOffDay = await timed();
  console.log(
    JSON.stringify({
      accounts,
      notices: noticeDay.counts.noticed,
      cuts: shutOffDay.counts.cutOrdered,
      paid: shutOffDay.counts.paid,
      noticeSeconds: noticeDay.seconds,
      shutOffSeconds: shutOffDay.seconds,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
} finally {
  await closeContext(ctx);
  if (dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    for (const db of [`fg_bench_pd_store_${mode}`, `fg_bench_pd_billing_${mode}`])
      await admin.query(`drop database if exists ${db} with (force)`);
    await admin.end();
  }
}
