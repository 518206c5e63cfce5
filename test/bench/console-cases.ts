import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { prepare } from '../../src/entry/gateway.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { packageRoot } from '../../src/infra/config/paths.js';
import { insertMany } from '../../src/infra/db/sql-utils.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { bufferLineSource } from '../../src/flows/readings/file-source.js';
import { importReadings } from '../../src/flows/readings/import-readings.js';
import { exportRoute } from '../../src/flows/routes/export-route.js';
import { readRoute } from '../../src/flows/sim/read-route.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { freePort } from '../helpers/dock.js';
import { openLoop, type LoadResult } from './open-loop.js';

/**
 * The console's busiest lists under load (`node console-cases.js <sqlite|postgres> <dir>`): the
 * exception queue with 100,000 exceptions and the pre-bill ledger of one 5,000-account cycle,
 * served by `fieldgate start` as its own process, hit at 200 requests a second by autocannon
 * for BENCH_CONSOLE_SECONDS each: a steady open-loop stream (./open-loop.ts) and autocannon's
 * bursts. The baseline is the same ledger built afresh for every request (prebill.cacheSeconds
 * 0). One JSON line: the rows.
 */
const [dialect, dir] = process.argv.slice(2) as [string, string];
const NOW = new Date('2026-11-23T23:00:00Z');
const ACCOUNTS = Number(process.env.BENCH_CONSOLE_ACCOUNTS ?? 5000);
const EXCEPTIONS = Number(process.env.BENCH_CONSOLE_EXCEPTIONS ?? 100_000);
const SECONDS = Number(process.env.BENCH_CONSOLE_SECONDS ?? 20);
const RATE = 200;
// Each connection is a CSR's browser; autocannon paces each one at RATE / CONNECTIONS, all in step (bursts of
// CONNECTIONS at once).
const CONNECTIONS = Number(process.env.BENCH_CONSOLE_CONNECTIONS ?? 20);

async function databases(): Promise<{ store: string; billing: string }> {
  if (dialect !== 'postgres')
    return {
      store: `sqlite:${path.join(dir, 'console-store.sqlite')}`,
      billing: `sqlite:${path.join(dir, 'console-billing.sqlite')}`,
    };
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  for (const db of ['fg_bench_console_store', 'fg_bench_console_billing']) {
    await admin.query(`drop database if exists ${db} with (force)`);
    await admin.query(`create database ${db}`);
  }
  await admin.end();
  const at = (db: string) => Object.assign(new URL(process.env.DATABASE_URL!), { pathname: `/${db}` }).toString();
  return { store: at('fg_bench_console_store'), billing: at('fg_bench_console_billing') };
}

/** 5,000 accounts read on their routes in one cycle, and the exception queue topped up to 100,000. */
async function seed(urls: { store: string; billing: string }): Promise<{ token: string; cycle: string }> {
  const config = loadConfig({
    env: {},
    overrides: {
      store: { url: urls.store },
      billing: { url: urls.billing, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
    },
  });
  const ctx = openContext(config, silentLogger(), () => NOW);
  try {
    await seedReferenceBilling(ctx.billing.db, { accounts: ACCOUNTS, routes: 10, seed: 42, today: '2026-11-23' });
    // One cycle: every route read this month.
    await ctx.billing.db('cis_routes').update({ next_read_date: '2026-11-24' });
    await prepare(ctx);
    let cycle = '';
    for (const route of await ctx.billing.listRoutes()) {
      const exported = await exportRoute(ctx, { routeCode: route.code, actor: 'bench' });
      cycle = exported.route.cycle;
      const day = readRoute(exported.content.toString('latin1'), {
        routeLayout: ctx.layout('route-v1'),
        readLayout: ctx.layout('read-v1'),
        zone: config.timeZone,
        start: new Date('2026-11-23T07:00:00Z'),
        seed: 5,
        readerId: 'BENCH',
      });
      await importReadings(
        ctx,
        bufferLineSource(`${route.code}.txt`, Buffer.from(day.lines.map((l) => `${l}\r\n`).join(''), 'latin1')),
        { source: 'file', actor: 'bench', route: { code: route.code } },
      );
    }
    const db = ctx.store.db;
    const have = Number(((await db('exceptions').count({ n: '*' }).first()) as { n: number }).n);
    const routes = (await db('routes').select('id')) as { id: number }[];
    const batch = (await db('import_batches').select('id').first()) as { id: number };
    const meters = (await db('route_lines').select('meter_id', 'route_id')) as { meter_id: string; route_id: number }[];
    const kinds = [
      ['HIGH_READ', 'hold'],
      ['LOW_READ', 'hold'],
      ['SKIPPED', 'info'],
      ['TROUBLE', 'info'],
      ['NOT_READ', 'info'],
      ['UNKNOWN_METER', 'reject'],
      ['BAD_FIELD', 'reject'],
    ] as const;
    const rows = [];
    for (let i = 0; i < EXCEPTIONS - have; i++) {
      const m = meters[i % meters.length]!;
      const [kind, severity] = kinds[i % kinds.length]!;
      const open = i % 5 === 0;
      const created = new Date(NOW.getTime() - (i % 90) * 86_400_000 - (i % 1440) * 60_000).toISOString();
      rows.push({
        source: 'file',
        batch_id: batch.id,
        route_id: m.route_id ?? routes[0]!.id,
        line_no: (i % 500) + 1,
        meter_id: m.meter_id,
        kind,
        severity,
        field: 'reading',
        value: String(i % 99_999),
        message: `${kind.toLowerCase().replace('_', ' ')} on meter ${m.meter_id}`,
        raw: `${m.meter_id} ${'0'.repeat(60)}`,
        status: open ? 'open' : 'resolved',
        resolution: open ? null : 'accepted',
        resolved_by: open ? null : 'csr:bench',
        resolved_at: open ? null : created,
        created_at: created,
      });
      if (rows.length === 5000) await insertMany(db, 'exceptions', rows.splice(0));
    }
    await insertMany(db, 'exceptions', rows);
    if (dialect === 'postgres') await db.raw('analyze');
    return { token: await createToken(db, 'bench-csr', 'csr', NOW), cycle };
  } finally {
    await closeContext(ctx);
  }
}

async function startGateway(
  urls: { store: string; billing: string },
  cacheSeconds: number,
): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const configFile = path.join(dir, `console-${cacheSeconds}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      dataDir: path.join(dir, 'data'),
      store: { url: urls.store },
      billing: { url: urls.billing, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
      server: { port },
      auth: { createDemoToken: false, createDemoUsers: false },
      log: { level: 'warn', format: 'json' },
      mqtt: { enabled: false },
      prebill: {
        reviewBeforePosting: false,
        flagZero: true,
        unusualFactor: 3,
        cacheSeconds,
        maxAgeSeconds: cacheSeconds === 0 ? 0 : 300,
      },
      jobs: {
        schedules: Object.fromEntries(
          ['post-readings', 'pull-headend', 'pull-service-orders', 'post-field-work', 'past-due'].map((j) => [
            j,
            { cron: '0 0 1 1 *', enabled: false },
          ]),
        ),
      },
    }),
  );
  // The config file names the databases: the bench's own DATABASE_URL must not override the store.
  const env = { ...process.env, DATABASE_URL: undefined, BILLING_DATABASE_URL: undefined, MQTT_URL: undefined };
  const child = spawn(
    process.execPath,
    [path.join(packageRoot, 'bin', 'fieldgate.js'), 'start', '--config', configFile],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('fieldgate is running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${out}`)));
  });
  return { base: `http://127.0.0.1:${port}`, child };
}

interface Row extends LoadResult {
  name: string;
  /** steady: open loop, one request every 5 ms; bursts: autocannon, every connection firing in step. */
  load: 'steady' | 'bursts';
}

async function load(
  base: string,
  token: string,
  name: string,
  paths: string[],
  mode: Row['load'],
  seconds = SECONDS,
  warm = true,
): Promise<Row> {
  const headers = { authorization: `Bearer ${token}` };
  // Warm up once (the kept ledger, prepared statements), then measure at a fixed rate.
  for (const p of paths) {
    const res = await fetch(base + p, { headers });
    if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
  // Two seconds of the same load first, not counted: JIT, the connection pool growing to its size.
  if (!warm) {
    // The baseline cannot keep up at this rate: warming it would only build a queue.
  } else if (mode === 'steady')
    await openLoop({ base, paths, rate: RATE, seconds: 2, connections: CONNECTIONS, headers });
  else
    await autocannon({
      url: base,
      connections: CONNECTIONS,
      overallRate: RATE,
      duration: 2,
      headers,
      requests: paths.map((p) => ({ method: 'GET' as const, path: p })),
    });
  if (mode === 'steady')
    return {
      name,
      load: mode,
      ...(await openLoop({ base, paths, rate: RATE, seconds, connections: CONNECTIONS, headers })),
    };
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    overallRate: RATE,
    duration: seconds,
    headers,
    requests: paths.map((p) => ({ method: 'GET' as const, path: p })),
  });
  return {
    name,
    load: mode,
    requests: result.requests.total,
    rate: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}

const urls = await databases();
process.stderr.write(
  `[console] ${dialect}: seeding ${ACCOUNTS} accounts and ${EXCEPTIONS.toLocaleString('en-US')} exceptions…\n`,
);
const { token, cycle } = await seed(urls);
const rows: Row[] = [];
const exceptionPaths = [
  '/api/exceptions?status=open&limit=100',
  '/api/exceptions?status=open&route=R03&limit=100',
  '/api/exceptions?status=open&kind=HIGH_READ&limit=100&offset=200',
  '/api/exceptions?status=open&minAgeDays=30&limit=50',
];
const ledgerPaths = [
  `/api/prebill/${cycle}?limit=100`,
  `/api/prebill/${cycle}?limit=100&sort=estimatedCharge&dir=desc`,
  `/api/prebill/${cycle}?flagged=true&limit=100`,
  `/api/prebill/${cycle}?search=W00012&limit=100&offset=0`,
];
for (const cache of [5, 0]) {
  const gw = await startGateway(urls, cache);
  try {
    if (cache > 0) {
      for (const mode of ['steady', 'bursts'] as const) {
        process.stderr.write(`[console] ${dialect}: exceptions list and ledger at ${RATE}/s (${mode})…\n`);
        rows.push(await load(gw.base, token, 'exceptions', exceptionPaths, mode));
        rows.push(await load(gw.base, token, 'ledger', ledgerPaths, mode));
      }
    } else {
      process.stderr.write(`[console] ${dialect}: baseline ledger (built per request) at ${RATE}/s…\n`);
      // It cannot keep up (a queue builds), so two seconds of the same stream show it.
      rows.push(await load(gw.base, token, 'ledger-uncached', ledgerPaths, 'steady', 2, false));
    }
  } finally {
    gw.child.kill('SIGTERM');
    await new Promise((r) => gw.child.once('exit', r));
  }
}
if (dialect === 'postgres' && !process.env.BENCH_CONSOLE_KEEP) {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  for (const db of ['fg_bench_console_store', 'fg_bench_console_billing'])
    await admin.query(`drop database if exists ${db} with (force)`);
  await admin.end();
}
console.log(JSON.stringify(rows));
