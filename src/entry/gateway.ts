import { listen } from './http-server.js';
import { ALL_JOBS } from '../../jobs/index.js';
import { createApi } from './api/app.js';
import {
  migrateReferenceBilling,
  referenceBillingIsEmpty,
  seedReferenceBilling,
} from '../infra/billing/reference/seed.js';
import { connect, dialectOf } from '../infra/db/connect.js';
import type { Knex } from 'knex';
import { importDemoCisFiles, writeDemoRouteExports } from '../infra/billing/reference/demo-cis-files.js';
import { pullRoutes } from '../flows/routes/pull-routes.js';
import { errorMessage } from '../errors.js';
import { Scheduler } from '../flows/scheduler/scheduler.js';
import { abandonStaleRuns } from '../infra/store/jobs-repo.js';
import { migrateStore } from '../infra/store/store.js';
import { ping } from '../infra/db/sql-utils.js';
import { createToken, tokenCount, type Role } from '../infra/store/tokens-repo.js';
import { userCount } from '../infra/store/users-repo.js';
import { addUser } from '../flows/users.js';
import { randomPassword } from '../infra/security/passwords.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isDemoBilling } from '../infra/config/demo.js';
import { ensurePrivateDir } from '../infra/config/private-files.js';
import { closeContext, type GatewayContext } from '../flows/context.js';
import { HealthTracker, healthText, startAll, stopAll, type Component } from '../flows/lifecycle.js';
import { DockService } from '../flows/dock/dock-service.js';
import { FieldService } from '../flows/field/field-service.js';
import { AmiService } from '../flows/ami/ami-service.js';
import { FileBilling } from '../infra/billing/file-billing.js';
import { seedDemoUsage } from '../flows/ami/demo-usage.js';
import { checkUsageAlerts } from '../flows/ami/usage-alerts.js';

/**
 * Makes the databases ready: migrates the store; on the embedded demo (SQLite billing with
 * seedOnFirstRun) creates and seeds the reference CIS once; then checks the billing mapping.
 * A real CIS is never written to here.
 */
export async function prepare(ctx: GatewayContext): Promise<{ seeded: boolean }> {
  const applied = await migrateStore(ctx.store.db);
  if (applied.length) ctx.log.info('store migrated', { module: 'store', applied });
  let seeded = false;
  const demo = ctx.config.billing.demo;
  if (ctx.billing instanceof FileBilling) {
    // File mode: the mirror is fieldgate's own; the CIS is reached through the exchange folder.
    await migrateReferenceBilling(ctx.billing.db);
    await ctx.billing.exchange.ensureFolders();
    await ctx.billing.exchange.removeLeftovers();
    const cisUrl = ctx.config.billing.files.demoCisUrl;
    if (cisUrl && isDemoBilling(ctx.config)) {
      const cis = connect(cisUrl);
      try {
        if (await seedDemoCis(ctx, cis)) {
          // The demo CIS's first night: its route exports, read at once so the routes are there.
          const files = await writeDemoRouteExports(cis, ctx.billing.exchange, ctx.clock().toISOString().slice(0, 10));
          const pulled = await pullRoutes(ctx);
          ctx.log.info('demo CIS route exports written and read', {
            module: 'cis-files',
            ...pulled,
            exports: files.length,
          });
          seeded = true;
        }
      } finally {
        await cis.destroy();
      }
    }
  } else if (isDemoBilling(ctx.config)) {
    if (await seedDemoCis(ctx, ctx.billing.db)) {
      seeded = true;
      if (demo.usageMeters > 0) await seedUsage(ctx);
    }
  }
  await ctx.billing.verify();
  return { seeded };
}

/** The reference CIS migrated, and seeded when empty; true when it was seeded now. */
async function seedDemoCis(ctx: GatewayContext, db: Knex): Promise<boolean> {
  const demo = ctx.config.billing.demo;
  await migrateReferenceBilling(db);
  if (!(await referenceBillingIsEmpty(db))) return false;
  ctx.log.info('seeding the demo billing database', {
    module: 'billing',
    accounts: demo.accounts,
    routes: demo.routes,
  });
  const summary = await seedReferenceBilling(db, { ...demo, today: ctx.clock().toISOString().slice(0, 10) });
  ctx.log.info('demo billing seeded', { module: 'billing', ...summary });
  return true;
}

/** The demo's AMI usage, and the alerts it raises, so the first start has charts and a leak to look at. */
async function seedUsage(ctx: GatewayContext): Promise<void> {
  const demo = ctx.config.billing.demo;
  const { plan, result } = await seedDemoUsage(
    { db: ctx.store.db, billing: ctx.billing, config: ctx.config, log: ctx.log, clock: ctx.clock },
    { meters: demo.usageMeters, days: demo.usageDays, seed: demo.seed },
  );
  const alerts = await checkUsageAlerts(ctx, { now: ctx.clock(), meterIds: plan.map((p) => p.meterId) });
  ctx.log.info('demo usage seeded', {
    module: 'ami',
    meters: plan.length,
    intervals: result.stored,
    dailyReads: result.dailyReads,
    alerts: alerts.opened,
    stories: Object.fromEntries(plan.filter((p) => p.story !== 'normal').map((p) => [p.meterId, p.story])),
  });
}

export interface DemoCredentials {
  /** dataDir/demo-credentials.txt, readable by the gateway's user only. */
  file: string;
  /** An admin API token, when one was made. */
  token: string | null;
  /** A CSR, a technician and an admin, when they were made. */
  users: { username: string; role: Role; password: string }[];
}

export interface RunningGateway {
  url: string;
  /** Made on the first run of the demo only (never against a real billing database). */
  demoCredentials: DemoCredentials | null;
  ctx: GatewayContext;
  scheduler: Scheduler;
  dock: DockService;
  /** Field devices over MQTT; null when mqtt.enabled is false. */
  field: FieldService | null;
  /** AMI files from the drop folder. */
  ami: AmiService;
  stop(): Promise<void>;
}

async function createDemoUsers(ctx: GatewayContext): Promise<{ username: string; role: Role; password: string }[]> {
  const users = (['csr', 'tech', 'reader', 'admin'] as const).map((role) => ({
    username: `demo-${role}`,
    role,
    password: randomPassword(),
  }));
  for (const u of users) await addUser(ctx, { ...u, displayName: `Demo ${u.role === 'csr' ? 'CSR' : u.role}` });
  return users;
}

/** `fieldgate start`: prepare, schedule jobs, serve HTTP. */
export async function startGateway(ctx: GatewayContext): Promise<RunningGateway> {
  await ensurePrivateDir(ctx.config.dataDir);
  await prepare(ctx);
  const abandoned = await abandonStaleRuns(ctx.store.db, ctx.clock());
  if (abandoned)
    ctx.log.warn('job runs left unfinished by a stopped gateway marked abandoned', { module: 'scheduler', abandoned });
  const demoCredentials = await makeDemoCredentials(ctx);

  const scheduler = new Scheduler(ctx, ALL_JOBS);
  const dock = new DockService(ctx);
  const field = ctx.config.mqtt.enabled ? new FieldService(ctx) : null;
  const ami = new AmiService(ctx);
  const app = createApi({
    ctx,
    dock,
    field,
    ami,
    jobs: ALL_JOBS,
    runJobNow: (job) => scheduler.trigger(job, 'manual'),
    health: async () => {
      const checks: Record<string, string> = {};
      await ping(ctx.store.db).then(
        () => (checks.store = 'ok'),
        (e) => (checks.store = errorMessage(e)),
      );
      await ping(ctx.billing.db).then(
        () => (checks.billing = 'ok'),
        (e) => (checks.billing = errorMessage(e)),
      );
      checks.dock = healthText(dock.health());
      if (field) checks.mqtt = healthText(field.health());
      checks.ami = healthText(ami.health());
      // A dock port waiting to reopen is reported, but the gateway still serves: only the databases decide.
      return { ok: checks.store === 'ok' && checks.billing === 'ok', checks };
    },
  });
  const { server, url } = await listen(app, ctx.config.server);
  // In stopping order: the inputs first (no new work comes in), then the jobs finish theirs.
  const demoCis =
    ctx.billing instanceof FileBilling && ctx.config.billing.files.demoCisUrl && isDemoBilling(ctx.config)
      ? demoCisComponent(ctx, ctx.billing, ctx.config.billing.files.demoCisUrl)
      : null;
  const components: Component[] = [
    dock,
    ...(field ? [field] : []),
    ami,
    ...(demoCis ? [demoCis] : []),
    schedulerComponent(scheduler, ctx.config.jobs.shutdownGraceSeconds * 1000),
  ];
  await startAll(components);
  ctx.log.info('gateway listening', {
    module: 'gateway',
    url,
    store: ctx.store.dialect,
    billing: dialectOf(ctx.config.billing.url),
    mqtt: field?.brokerUrl ?? 'off',
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      ctx.log.info('gateway stopping: finishing work in flight', { module: 'gateway' });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Each part is bounded by its own grace; this bound is for one that does not keep it.
      await stopAll(components, (ctx.config.jobs.shutdownGraceSeconds + 10) * 1000, ctx.log);
      await Promise.race([
        closed,
        new Promise((r) => setTimeout(r, ctx.config.jobs.shutdownGraceSeconds * 1000).unref()),
      ]);
      server.closeAllConnections();
      await closeContext(ctx);
      ctx.log.info('gateway stopped', { module: 'gateway' });
    })());
  return { url, demoCredentials, ctx, scheduler, dock, field, ami, stop };
}

/**
 * On the demo's first run: demo users and an admin token, written to a file only the gateway's
 * user can read. Never on a real billing database, and never to a log: under systemd, standard
 * output is the journal, readable by more people than the admin (security probe).
 */
async function makeDemoCredentials(ctx: GatewayContext): Promise<DemoCredentials | null> {
  if (!isDemoBilling(ctx.config)) return null;
  const db = ctx.store.db;
  const token =
    ctx.config.auth.createDemoToken && (await tokenCount(db)) === 0
      ? await createToken(db, 'demo-admin', 'admin', ctx.clock())
      : null;
  const users = ctx.config.auth.createDemoUsers && (await userCount(db)) === 0 ? await createDemoUsers(ctx) : [];
  if (!token && users.length === 0) return null;
  const file = path.resolve(ctx.config.dataDir, DEMO_CREDENTIALS_FILE);
  const lines = [
    `# fieldgate demo credentials, made ${ctx.clock().toISOString()}. Keep them elsewhere and delete this file.`,
    // CSRs and admins log in to /console/, readers and technicians to the field app at /field/.
    ...users.map(
      (u) =>
        `${u.role === 'reader' || u.role === 'tech' ? 'field  ' : 'console'}  ${u.role.padEnd(6)}  ${u.username.padEnd(11)}  ${u.password}`,
    ),
    ...(token ? [`api      admin   demo-admin   ${token}`] : []),
  ];
  await ensurePrivateDir(ctx.config.dataDir);
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { file, token, users };
}

export const DEMO_CREDENTIALS_FILE = 'demo-credentials.txt';

/** The demo CIS in file mode: every 30 s it imports the readings files the gateway wrote, as a CIS would. */
function demoCisComponent(ctx: GatewayContext, billing: FileBilling, url: string): Component {
  const health = new HealthTracker();
  const cis = connect(url);
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = importDemoCisFiles(cis, billing.exchange, ctx.clock()).then(
      (r) => {
        if (r.imported.length || r.refused.length)
          ctx.log.info('demo CIS imported readings files', { module: 'cis-files', ...r });
      },
      (err: unknown) => {
        ctx.log.warn('demo CIS import failed', { module: 'cis-files', error: errorMessage(err) });
      },
    );
  };
  return {
    name: 'demo-cis',
    start: async () => {
      timer = setInterval(tick, 30_000);
      timer.unref();
      health.set('running', 'the demo CIS imports readings files every 30 s');
    },
    stop: async () => {
      if (timer) clearInterval(timer);
      await running;
      await cis.destroy();
      health.set('stopped', 'stopped');
    },
    health: () => health.get(),
  };
}

/** The scheduler as a component: its stop waits up to the grace for running jobs. */
function schedulerComponent(scheduler: Scheduler, graceMs: number): Component {
  const health = new HealthTracker();
  return {
    name: 'scheduler',
    start: async () => {
      scheduler.start();
      health.set('running', 'jobs scheduled');
    },
    stop: async () => {
      health.set('stopping', 'letting running jobs finish');
      await scheduler.stop(graceMs);
      health.set('stopped', 'stopped');
    },
    health: () => health.get(),
  };
}
