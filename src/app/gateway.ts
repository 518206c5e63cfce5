import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ALL_JOBS } from '../../jobs/index.js';
import { createApi } from '../api/app.js';
import { Billing } from '../billing/billing.js';
import { migrateReferenceBilling, referenceBillingIsEmpty, seedReferenceBilling } from '../billing/reference/seed.js';
import type { Config } from '../config/schema.js';
import { dialectOf } from '../db/connect.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { abandonStaleRuns } from '../store/jobs-repo.js';
import { openStore, migrateStore } from '../store/store.js';
import { createToken, tokenCount, type Role } from '../store/tokens-repo.js';
import { createUser, userCount } from '../store/users-repo.js';
import { randomPassword } from '../security/passwords.js';
import { layoutLoader, type GatewayContext } from './context.js';
import { DockService } from '../dock/dock-service.js';
import { FieldService } from '../field/field-service.js';
import { AmiService } from '../ami/ami-service.js';

/** Opens the store and billing connections (no migrations): what every CLI command starts from. */
export function openContext(config: Config, log: Logger, clock: () => Date = () => new Date()): GatewayContext {
  return {
    config,
    log,
    clock,
    store: openStore(config.store.url),
    billing: Billing.open(config.billing.url, config.billing.mapping, { bulkLoadMinRows: config.billing.bulkLoadMinRows }),
    layout: layoutLoader(config),
  };
}

export async function closeContext(ctx: GatewayContext): Promise<void> {
  await Promise.allSettled([ctx.store.close(), ctx.billing.close()]);
}

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
  if (demo.seedOnFirstRun && dialectOf(ctx.config.billing.url) === 'sqlite') {
    await migrateReferenceBilling(ctx.billing.db);
    if (await referenceBillingIsEmpty(ctx.billing.db)) {
      ctx.log.info('seeding the demo billing database', { module: 'billing', accounts: demo.accounts, routes: demo.routes });
      const summary = await seedReferenceBilling(ctx.billing.db, { ...demo, today: ctx.clock().toISOString().slice(0, 10) });
      ctx.log.info('demo billing seeded', { module: 'billing', ...summary });
      seeded = true;
    }
  }
  await ctx.billing.verify();
  return { seeded };
}

export interface RunningGateway {
  url: string;
  /** Created on the first run of a demo: an admin API token, to be shown to the person once. */
  demoToken: string | null;
  /** Created on the first run of a demo: a CSR, a technician and an admin, with passwords shown once. */
  demoUsers: { username: string; role: Role; password: string }[] | null;
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
  const users = (['csr', 'tech', 'admin'] as const).map((role) => ({ username: `demo-${role}`, role, password: randomPassword() }));
  for (const u of users) await createUser(ctx.store.db, { ...u, displayName: `Demo ${u.role === 'csr' ? 'CSR' : u.role}` }, ctx.clock());
  return users;
}

/** `fieldgate start`: prepare, schedule jobs, serve HTTP. */
export async function startGateway(ctx: GatewayContext): Promise<RunningGateway> {
  await prepare(ctx);
  const abandoned = await abandonStaleRuns(ctx.store.db, ctx.clock());
  if (abandoned) ctx.log.warn('job runs left unfinished by a stopped gateway marked abandoned', { module: 'scheduler', abandoned });
  const demoToken =
    ctx.config.auth.createDemoToken && (await tokenCount(ctx.store.db)) === 0 ? await createToken(ctx.store.db, 'demo-admin', 'admin', ctx.clock()) : null;
  const demoUsers = ctx.config.auth.createDemoUsers && (await userCount(ctx.store.db)) === 0 ? await createDemoUsers(ctx) : null;

  const scheduler = new Scheduler(ctx, ALL_JOBS);
  const dock = new DockService(ctx);
  const field = ctx.config.mqtt.enabled ? new FieldService(ctx) : null;
  const ami = new AmiService(ctx);
  const app = createApi({
    ctx,
    dock,
    field,
    jobs: ALL_JOBS,
    runJobNow: (job) => scheduler.trigger(job, 'manual'),
    health: async () => {
      const checks: Record<string, string> = {};
      await ctx.store.db.raw('select 1').then(() => (checks.store = 'ok'), (e) => (checks.store = errorMessage(e)));
      await ctx.billing.db.raw('select 1').then(() => (checks.billing = 'ok'), (e) => (checks.billing = errorMessage(e)));
      const docks = dock.health();
      checks.dock = docks.ok ? 'ok' : docks.detail;
      if (field) {
        const mqtt = field.health();
        checks.mqtt = mqtt.ok ? 'ok' : mqtt.detail;
      }
      checks.ami = ami.health();
      // A dock port waiting to reopen is reported, but the gateway still serves: only the databases decide.
      return { ok: checks.store === 'ok' && checks.billing === 'ok', checks };
    },
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(ctx.config.server.port, ctx.config.server.host, () => resolve(s));
    s.once('error', reject);
  });
  scheduler.start();
  await dock.start();
  await field?.start();
  await ami.start();
  const address = server.address() as AddressInfo;
  const url = `http://${ctx.config.server.host}:${address.port}`;
  ctx.log.info('gateway listening', { module: 'gateway', url, store: ctx.store.dialect, billing: dialectOf(ctx.config.billing.url), mqtt: field?.brokerUrl ?? 'off' });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      ctx.log.info('gateway stopping: finishing work in flight', { module: 'gateway' });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await dock.stop();
      await field?.stop();
      await ami.stop();
      await scheduler.stop(ctx.config.jobs.shutdownGraceSeconds * 1000);
      await Promise.race([closed, new Promise((r) => setTimeout(r, ctx.config.jobs.shutdownGraceSeconds * 1000).unref())]);
      server.closeAllConnections();
      await closeContext(ctx);
      ctx.log.info('gateway stopped', { module: 'gateway' });
    })());
  return { url, demoToken, demoUsers, ctx, scheduler, dock, field, ami, stop };
}
