import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { prepare } from '../../src/entry/gateway.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { packageRoot } from '../../src/infra/config/paths.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { exportRoute } from '../../src/flows/routes/export-route.js';
import { FieldDevice } from '../../src/flows/sim/field-device/device.js';

/**
 * End-to-end MQTT ingest, one case per process: `node mqtt-cases.js <gateways> [kill]`. 100
 * simulated devices each send one route's readings in batches at QoS 1 through the broker at
 * MQTT_URL; 1, 2 or 3 gateway processes (one shared-subscription group) store them in one
 * PostgreSQL store and acknowledge. Prints { readings, seconds, rate, p50Ms, p99Ms } where
 * latency is publish → ack at the device, and the CPU seconds the gateways (summed) and
 * PostgreSQL spent. With `kill`, the first gateway is killed (SIGKILL) once 30% of the readings
 * are stored: the others must store every reading exactly once, and the time until they have
 * is measured (the killed gateway's unacknowledged batches come back by the devices' resend).
 */
const DEVICES = Number(process.env.BENCH_MQTT_DEVICES ?? 100);
const PER_DEVICE = Number(process.env.BENCH_MQTT_READINGS ?? 200);
const BATCH = Number(process.env.BENCH_MQTT_BATCH ?? 100);

const gateways = Number(process.argv[2] ?? 1);
const kill = process.argv[3] === 'kill';
const SESSION_EXPIRY = Number(process.env.BENCH_MQTT_SESSION_EXPIRY ?? 10);
const RESEND_MS = kill ? Number(process.env.BENCH_MQTT_RESEND_MS ?? 15_000) : 120_000;

/** CPU seconds (user + system) a process has used, from /proc; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of every PostgreSQL process now, by pid. */
function postgresCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/stat`, 'utf8').includes('(postgres)')) continue;
      out.set(Number(d), cpuSeconds(Number(d)));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** What PostgreSQL's processes spent since `before` (processes started since count whole). */
function postgresSpent(before: Map<number, number>): number {
  let sum = 0;
  for (const [pid, now] of postgresCpu()) sum += now - (before.get(pid) ?? 0);
  return sum;
}
const mqttUrl = process.env.MQTT_URL;
const dbUrl = process.env.DATABASE_URL;
if (!mqttUrl || !dbUrl) {
  console.error('mqtt-cases needs MQTT_URL and DATABASE_URL');
  process.exit(2);
}

async function admin(sql: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  for (const s of sql) await c.query(s);
  await c.end();
}

const tag = `g${gateways}${kill ? 'k' : ''}`;
const at = (name: string) => Object.assign(new URL(dbUrl), { pathname: `/${name}` }).toString();
const storeUrl = at(`fg_bench_mq_store_${tag}`);
const billingUrl = at(`fg_bench_mq_billing_${tag}`);
await admin([
  `drop database if exists fg_bench_mq_store_${tag} with (force)`,
  `drop database if exists fg_bench_mq_billing_${tag} with (force)`,
  `create database fg_bench_mq_store_${tag}`,
  `create database fg_bench_mq_billing_${tag}`,
]);

const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-mqtt-'));
const children: ChildProcess[] = [];
const devices: FieldDevice[] = [];
const config = loadConfig({
  env: {},
  overrides: {
    store: { url: storeUrl },
    billing: { url: billingUrl, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
  },
});
const ctx = openContext(config, silentLogger());
try {
  await seedReferenceBilling(ctx.billing.db, {
    accounts: DEVICES * PER_DEVICE,
    routes: DEVICES,
    seed: 42,
    today: new Date().toISOString().slice(0, 10),
  });
  await prepare(ctx);
  const prefix = `fgbench/${randomBytes(3).toString('hex')}`;
  const group = `bench${randomBytes(3).toString('hex')}`;
  for (let n = 0; n < gateways; n++) {
    const file = path.join(dir, `gw${n}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        dataDir: path.join(dir, `gw${n}`),
        store: { url: storeUrl },
        server: { port: 0 },
        auth: { createDemoToken: false, createDemoUsers: false },
        log: { level: 'warn', format: 'json' },
        billing: { url: billingUrl, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
        mqtt: {
          url: mqttUrl,
          prefix,
          sharedGroup: group,
          outboxPollMs: 50,
          ...(kill ? { sessionExpirySeconds: SESSION_EXPIRY } : {}),
        },
        jobs: { schedules: { 'post-readings': { cron: '0 3 * * *', enabled: false } } },
      }),
    );
    const child = spawn(process.execPath, [path.join(packageRoot, 'bin', 'fieldgate.js'), 'start', '--config', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, DATABASE_URL: undefined, MQTT_URL: undefined },
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('fieldgate is running')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
    });
  }

  const routes = (await ctx.billing.listRoutes()).map((r) => r.code);
  let expected = 0;
  // Each device holds one route, exported to it beforehand (ten at a time).
  for (let from = 0; from < routes.length; from += 10) {
    await Promise.all(
      routes.slice(from, from + 10).map(async (code, k) => {
        const i = from + k;
        const exported = await exportRoute(ctx, { routeCode: code, deviceId: `B-${i}`, actor: 'bench' });
        const lines = exported.content.toString('latin1').split('\r\n').filter(Boolean);
        expected += lines.length;
        // A device sends its next batch when the last one was acknowledged, as a tablet on cellular does.
        const device = new FieldDevice({
          deviceId: `B-${i}`,
          url: mqttUrl,
          prefix,
          dir: path.join(dir, `dev${i}`),
          batchSize: BATCH,
          window: 1,
          resendMs: RESEND_MS,
          protocolVersion: 5,
          reading: {
            routeLayout: ctx.layout('route-v1'),
            readLayout: ctx.layout('read-v1'),
            zone: config.timeZone,
            readerId: 'BENCH',
            seed: i,
          },
        });
        device.holdRoute({
          route: code,
          cycle: exported.route.cycle,
          layout: 'route-v1',
          records: lines.length,
          sha256: exported.sha256,
          lines,
        });
        devices[i] = device;
      }),
    );
  }
  await Promise.all(devices.map((d) => d.start()));

  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let stored = 0;
  let lastAck = 0;
  let extraAcks = 0;
  const storedBatches = new Set<string>();
  const done = new Promise<void>((resolve) => {
    for (const d of devices) {
      d.on(
        'sent',
        (id) => sentAt.has(`${d.topics.prefix}${id}`) || sentAt.set(`${d.topics.prefix}${id}`, performance.now()),
      );
      d.on('acked', (a) => {
        if (a.status !== 'stored') return;
        // An ack can arrive twice (QoS 1 is at least once): count each batch once.
        const key = `${devices.indexOf(d)}:${a.batchId}`;
        if (storedBatches.has(key)) return void extraAcks++;
        storedBatches.add(key);
        lastAck = performance.now();
        latencies.push(lastAck - sentAt.get(`${d.topics.prefix}${a.batchId}`)!);
        stored += a.stored;
        if (stored >= expected) resolve();
      });
    }
  });
  // The routes are read beforehand; the clock starts when the devices begin to publish.
  for (const d of devices) d.readRoutes({ send: false });
  const gatewayCpu0 = children.map((c) => cpuSeconds(c.pid!));
  const pg0 = postgresCpu();
  let killedAt: number | null = null;
  let killedCpu = 0;
  if (kill) {
    const watch = setInterval(() => {
      if (killedAt !== null || stored < expected * 0.3) return;
      killedCpu = cpuSeconds(children[0]!.pid!) - gatewayCpu0[0]!;
      children[0]!.kill('SIGKILL');
      killedAt = performance.now();
    }, 20);
    void done.then(() => clearInterval(watch));
  }
  const started = performance.now();
  for (const d of devices) d.flush();
  await done;
  const gatewaysCpu =
    children.reduce((sum, c, i) => sum + (kill && i === 0 ? 0 : cpuSeconds(c.pid!) - gatewayCpu0[i]!), 0) + killedCpu;
  const postgresCpuSeconds = postgresSpent(pg0);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  const seconds = (lastAck - started) / 1000;
  const inStore = Number((await ctx.store.db('readings').count({ n: '*' }).first())!.n);
  console.log(
    JSON.stringify({
      readings: stored,
      inStore,
      expected,
      batches: latencies.length,
      extraAcks,
      seconds,
      rate: stored / seconds,
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      exactlyOnce: inStore === expected,
      gatewaysCpu,
      postgresCpu: postgresCpuSeconds,
      ...(kill
        ? {
            killedAfterSeconds: (killedAt! - started) / 1000,
            recoveredSeconds: (lastAck - killedAt!) / 1000,
            sessionExpirySeconds: SESSION_EXPIRY,
            resendSeconds: RESEND_MS / 1000,
          }
        : {}),
    }),
  );
} finally {
  await Promise.all(devices.map((d) => d.stop()));
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(
    children.map(
      (c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))),
    ),
  );
  await closeContext(ctx);
  await admin([
    `drop database if exists fg_bench_mq_store_${tag} with (force)`,
    `drop database if exists fg_bench_mq_billing_${tag} with (force)`,
  ]);
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
