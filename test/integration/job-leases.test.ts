import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import { bufferLineSource } from '../../src/flows/readings/file-source.js';
import { importReadings } from '../../src/flows/readings/import-readings.js';
import { exportRoute } from '../../src/flows/routes/export-route.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import {
  abandonStaleRuns,
  getLease,
  releaseLease,
  renewLease,
  startRun,
  tryAcquireLease,
} from '../../src/infra/store/jobs-repo.js';
import { availableDialects, postgresFactory } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { simulateReads } from '../helpers/read-file.js';

describe.each(availableDialects())('job leases on $name', (dialect) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'leases', accounts: 20, routes: 1 });
  });
  afterAll(async () => gw?.close());

  it('lets one holder at a time take a lease, and another take it once it expires', async () => {
    const db = gw.ctx.store.db;
    const t0 = new Date('2026-11-23T16:00:00Z');
    expect(await tryAcquireLease(db, 'x', 'gw-a', t0, 60_000)).toBe(true);
    expect(await tryAcquireLease(db, 'x', 'gw-b', new Date(t0.getTime() + 30_000), 60_000)).toBe(false);
    expect(await renewLease(db, 'x', 'gw-a', new Date(t0.getTime() + 50_000), 60_000)).toBe(true);
    expect(await tryAcquireLease(db, 'x', 'gw-b', new Date(t0.getTime() + 100_000), 60_000)).toBe(false);
    expect(await tryAcquireLease(db, 'x', 'gw-b', new Date(t0.getTime() + 111_000), 60_000)).toBe(true);
    expect(await renewLease(db, 'x', 'gw-a', new Date(t0.getTime() + 112_000), 60_000)).toBe(false);
    await releaseLease(db, 'x', 'gw-b');
    expect(await getLease(db, 'x')).toBeUndefined();
  });

  it('fault finding lease from a clock ahead: a lease stamped 16 h ahead by a gateway since killed is taken', async () => {
    const db = gw.ctx.store.db;
    const now = new Date('2026-11-23T16:00:00Z');
    // The holder took it with its clock 16 hours fast, then died; the clock here is right.
    expect(await tryAcquireLease(db, 'y', 'vm:8515', new Date(now.getTime() + 16 * 3_600_000), 6_000)).toBe(true);
    expect(await tryAcquireLease(db, 'y', 'vm:8600', now, 6_000)).toBe(true);
    expect((await getLease(db, 'y'))!.holder).toBe('vm:8600');
    // A live holder a little ahead (less than a lease length) keeps its lease.
    expect(await tryAcquireLease(db, 'y', 'vm:8700', new Date(now.getTime() - 3_000), 6_000)).toBe(false);
    await releaseLease(db, 'y', 'vm:8600');
  });

  it('refuses to run a job another gateway holds, naming the holder', async () => {
    await tryAcquireLease(gw.ctx.store.db, 'post-readings', 'other-host:99', gw.ctx.clock(), 60_000);
    const { postReadings } = await import('../../jobs/post-readings.js');
    await expect(runJob(gw.ctx, postReadings, { trigger: 'manual' })).rejects.toThrow(ConflictError);
    await expect(runJob(gw.ctx, postReadings, { trigger: 'manual' })).rejects.toThrow(
      /job post-readings is running on other-host:99/,
    );
    await releaseLease(gw.ctx.store.db, 'post-readings', 'other-host:99');
  });

  it("leaves no listener on the scheduler's stop signal after a run (a gateway runs jobs for months)", async () => {
    const { postReadings } = await import('../../jobs/post-readings.js');
    const stop = new AbortController();
    for (let i = 0; i < 12; i++) await runJob(gw.ctx, postReadings, { trigger: 'schedule', signal: stop.signal });
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('marks runs left by a dead gateway as abandoned', async () => {
    const db = gw.ctx.store.db;
    const id = await startRun(db, 'ghost', 'schedule', 'dead:1', new Date('2026-11-23T10:00:00Z'));
    expect(await abandonStaleRuns(db, new Date('2026-11-23T16:00:00Z'))).toBe(1);
    expect(await db('job_runs').where({ id }).first()).toMatchObject({
      status: 'abandoned',
      error: 'gateway stopped during the run',
    });
  });
});

const pgUrl = process.env.DATABASE_URL;
describe.skipIf(!pgUrl)('two gateway processes on one PostgreSQL store', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await testGateway(postgresFactory(pgUrl!), { label: 'twoproc', accounts: 1000, routes: 1 });
    const exported = await exportRoute(gw.ctx, { routeCode: 'R01', actor: 'test' });
    const day = simulateReads(gw.ctx, exported.content.toString('latin1'), new Date('2026-11-22T20:00:00Z'), 5);
    await importReadings(
      gw.ctx,
      bufferLineSource('r.txt', Buffer.from(day.lines.map((l) => `${l}\r\n`).join(''), 'latin1')),
      { source: 'file', actor: 'test' },
    );
  });
  afterAll(async () => gw?.close());

  const cli = (args: string[]) => {
    const child = spawn(process.execPath, ['bin/fieldgate.js', ...args], {
      env: {
        ...process.env,
        DATABASE_URL: gw.store.url,
        BILLING_DATABASE_URL: gw.billing.url,
        FIELDGATE_BILLING__POST_BATCH_SIZE: '1',
        FIELDGATE_BILLING__DEMO__SEED_ON_FIRST_RUN: 'false',
        LOG_LEVEL: 'warn',
      },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    return new Promise<{ code: number | null; out: string }>((resolve) =>
      child.on('close', (code) => resolve({ code, out })),
    );
  };

  it('never runs post-readings in both at once, and billing gets each read once', async () => {
    const first = cli(['job', 'run', 'post-readings']);
    // Start the second gateway's run once the first holds the lease.
    for (let i = 0; i < 200 && !(await getLease(gw.ctx.store.db, 'post-readings')); i++)
      await new Promise((r) => setTimeout(r, 25));
    const second = await cli(['job', 'run', 'post-readings']);
    const a = await first;
    expect(a.code, a.out).toBe(0);
    expect(second.code).toBe(1);
    expect(second.out).toMatch(/job post-readings is running on .*:\d+ \(lease until/);
    const pending = await gw.ctx.store.db('outbox').where({ status: 'pending' }).count({ n: '*' }).first();
    expect(Number(pending!.n)).toBe(0);
    const staged = await gw.ctx.billing
      .db('cis_read_upload')
      .countDistinct({ keys: 'read_key' })
      .count({ rows: '*' })
      .first();
    const valid = await gw.ctx.store.db('outbox_sent').count({ n: '*' }).first();
    expect(staged).toEqual({ keys: Number(valid!.n), rows: Number(valid!.n) });
    const runs = await gw.ctx.store.db('job_runs').where({ job: 'post-readings' });
    expect(runs.map((r) => r.status)).toEqual(['ok']);
  });
});

describe('the scheduler', () => {
  it('runs an enabled job on its cron schedule and waits for it on stop', async () => {
    const { sqliteFactory } = await import('../helpers/databases.js');
    const { Scheduler } = await import('../../src/flows/scheduler/scheduler.js');
    const gw = await testGateway(sqliteFactory(), { label: 'cron', accounts: 10, routes: 1, clock: () => new Date() });
    try {
      gw.ctx.config.jobs.schedules['every-second'] = { cron: '* * * * * *', enabled: true };
      let started = 0;
      const job = {
        name: 'every-second',
        description: 'test',
        run: async () => {
          started++;
          await new Promise((r) => setTimeout(r, 50));
          return { ticks: 1 };
        },
      };
      const scheduler = new Scheduler(gw.ctx, [job]);
      scheduler.start();
      const deadline = Date.now() + 5000;
      while (started === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await scheduler.stop(2000);
      expect(started).toBeGreaterThan(0);
      const runs = await gw.ctx.store.db('job_runs').where({ job: 'every-second' });
      expect(runs[0]).toMatchObject({ trigger: 'schedule', status: 'ok', counts: JSON.stringify({ ticks: 1 }) });
      expect(await getLease(gw.ctx.store.db, 'every-second')).toBeUndefined();
    } finally {
      await gw.close();
    }
  });
});
