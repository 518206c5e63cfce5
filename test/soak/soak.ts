import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/infra/config/paths.js';
import { freePort } from '../helpers/dock.js';
import { demoToken } from '../helpers/cli.js';
import { openLoop } from '../bench/open-loop.js';
import { cmepLine } from '../tools/ami-fixtures.js';
import type { Interval } from '../../src/core/vee/types.js';

/**
 * `npm run soak`: `fieldgate start` as its own process under continuous load for SOAK_MINUTES
 * (30 unless set): the console's lists at 50 requests a second, and an AMI file of 500 meters'
 * day dropped into the inbox every 10 seconds (imported by the drop folder). The gateway's RSS
 * is sampled every 5 seconds. After a warm-up fifth, the peak of the last third may not exceed
 * the peak of the middle third by more than 15%: memory stays flat under load, or the soak fails.
 */
const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const METERS = 500;

const dir = mkdtempSync(path.join(tmpdir(), 'fg-soak-'));
const port = await freePort();
const mqttPort = await freePort();
writeFileSync(
  path.join(dir, 'fieldgate.json'),
  JSON.stringify({
    dataDir: path.join(dir, 'data'),
    store: { url: `sqlite:${path.join(dir, 'store.sqlite')}` },
    billing: {
      url: `sqlite:${path.join(dir, 'billing.sqlite')}`,
      demo: { seedOnFirstRun: true, accounts: 2000, routes: 4, seed: 42 },
    },
    server: { port },
    auth: { createDemoToken: true, createDemoUsers: false },
    log: { level: 'warn', format: 'json' },
    mqtt: { broker: { host: '127.0.0.1', port: mqttPort, portFallback: true } },
    ami: { dropPollMs: 1000 },
  }),
);
const env = { ...process.env, DATABASE_URL: undefined, BILLING_DATABASE_URL: undefined, MQTT_URL: undefined };
const gateway = spawn(
  process.execPath,
  [path.join(packageRoot, 'bin', 'fieldgate.js'), 'start', '--config', 'fieldgate.json'],
  { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] },
);
let out = '';
const token = await new Promise<string>((resolve, reject) => {
  gateway.stdout.on('data', (d) => {
    out += d;
    const token = demoToken(path.join(dir, 'data'));
    if (token && out.includes('fieldgate is running')) resolve(token);
  });
  gateway.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${out}`)));
});
const base = `http://127.0.0.1:${port}`;
const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${gateway.pid}/status`, 'utf8'))![1]) / 1024;

// The demo billing's own meters, so every interval has a home.
const billing = new Database(path.join(dir, 'billing.sqlite'), { readonly: true });
const registers = billing
  .prepare('select meter_id, uom from cis_registers where register_no = 1 order by meter_id limit ?')
  .all(METERS) as { meter_id: string; uom: string }[];
billing.close();
process.stderr.write(`[soak] gateway up; ${MINUTES} min of load…\n`);

// AMI: a new day of 500 meters every 10 s, written beside the inbox and moved in whole.
const inbox = path.join(dir, 'data', 'ami', 'inbox');
mkdirSync(inbox, { recursive: true });
let day = 0;
const dropTimer = setInterval(() => {
  const start = Date.UTC(2026, 0, 1, 6) / 1000 + day * 86_400;
  const lines = registers.map((r, m) => {
    const ivs: Interval[] = Array.from({ length: 96 }, (_, k) => ({
      startAt: start + k * 900,
      seconds: 900,
      value: Math.round((0.3 + ((m + k) % 10) / 20) * 1000) / 1000,
      quality: 'A',
      flags: null,
    }));
    return cmepLine(r.meter_id, r.uom, ivs);
  });
  const tmp = path.join(dir, `day-${day}.csv`);
  writeFileSync(tmp, `${lines.join('\n')}\n`);
  renameSync(tmp, path.join(inbox, `day-${day}.csv`));
  day++;
}, 10_000);

const samples: { at: number; mb: number }[] = [];
const started = Date.now();
const sampler = setInterval(() => samples.push({ at: (Date.now() - started) / 1000, mb: rssMb() }), 5000);
const paths = [
  '/api/exceptions?status=open&limit=100',
  '/api/routes',
  '/api/jobs/runs?limit=20',
  `/api/usage/meters/${registers[0]!.meter_id}?from=2026-01-01&to=2026-01-31&grain=day`,
  '/healthz',
];
const load = await openLoop({
  base,
  paths,
  rate: 50,
  seconds: MINUTES * 60,
  connections: 5,
  headers: { authorization: `Bearer ${token}` },
});
clearInterval(dropTimer);
clearInterval(sampler);
// Files the drop folder took in and finished (moved to done/); the last one or two may still be on their way.
await new Promise((r) => setTimeout(r, 5000));
const imported = readdirSync(path.join(inbox, 'done')).filter((f) => f.endsWith('.csv')).length;
gateway.kill('SIGTERM');
await new Promise((r) => gateway.once('exit', r));
rmSync(dir, { recursive: true, force: true });

const span = (from: number, to: number) =>
  samples.filter((s) => s.at >= from * MINUTES * 60 && s.at < to * MINUTES * 60).map((s) => s.mb);
const middle = Math.max(...span(0.2, 0.6));
const last = Math.max(...span(0.6, 1.01));
const growth = (last - middle) / middle;
console.log(`| soak: ${MINUTES} min, 50 req/s + an AMI day of ${METERS} meters every 10 s | value |`);
console.log('|---|---:|');
console.log(`| requests (errors) | ${load.requests} (${load.errors}) |`);
console.log(`| request p50 / p99 ms | ${load.p50.toFixed(1)} / ${load.p99.toFixed(1)} |`);
console.log(
  `| AMI files dropped / imported | ${day} / ${imported} (${(imported * METERS * 96).toLocaleString('en-US')} ` +
    `intervals imported) |`,
);
console.log(
  `| gateway RSS: first sample / peak of 20–60% / peak of 60–100% | ${samples[0]?.mb.toFixed(0)} / ` +
    `${middle.toFixed(0)} / ${last.toFixed(0)} MB |`,
);
console.log(`| RSS growth, last third vs middle | ${(growth * 100).toFixed(1)}% (limit 15%) |`);
console.log(`\nRSS every 5 s (MB): ${samples.map((s) => s.mb.toFixed(0)).join(' ')}`);
if (growth > 0.15 || load.errors > 0 || imported < day - 2) {
  console.error(
    `soak FAILED: ` +
      (growth > 0.15 ? `RSS grew ${(growth * 100).toFixed(1)}%` : '') +
      (load.errors ? ` ${load.errors} request errors` : '') +
      (imported < day - 2 ? ` only ${imported} of ${day} AMI files imported` : ''),
  );
  process.exit(1);
}
