import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postReadings } from '../../jobs/post-readings.js';
import { Billing } from '../../src/infra/billing/billing.js';
import type { ReadUploadRow } from '../../src/infra/billing/queries.js';
import { BillingError } from '../../src/errors.js';
import { bufferLineSource } from '../../src/flows/readings/file-source.js';
import { BILLING_READ, importReadings } from '../../src/flows/readings/import-readings.js';
import { exportRoute } from '../../src/flows/routes/export-route.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { nextPending, pendingCount, sentCount } from '../../src/infra/store/outbox-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { simulateReads } from '../helpers/read-file.js';

/** Billing that goes down after `okBatches` batches: the outage a night job meets. */
class FailingBilling extends Billing {
  calls = 0;
  constructor(
    inner: Billing,
    private readonly okBatches: number,
  ) {
    super(inner.db, inner.mapping);
  }
  override async postReads(rows: readonly ReadUploadRow[], opts: { source: string; now: Date }) {
    if (++this.calls > this.okBatches)
      throw new BillingError('BILLING_UNAVAILABLE', 'billing database unreachable: connect ECONNREFUSED');
    return super.postReads(rows, opts);
  }
}

describe.each(availableDialects())('posting through billing faults on $name', (dialect) => {
  let gw: TestGateway;
  let valid: number;

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'faults', accounts: 400, routes: 1 });
    gw.ctx.config.billing.postBatchSize = 50;
    const exported = await exportRoute(gw.ctx, { routeCode: 'R01', actor: 'test' });
    const day = simulateReads(gw.ctx, exported.content.toString('latin1'), new Date('2026-11-22T20:00:00Z'), 11);
    await importReadings(
      gw.ctx,
      bufferLineSource('r.txt', Buffer.from(day.lines.map((l) => `${l}\r\n`).join(''), 'latin1')),
      { source: 'file', actor: 'test' },
    );
    valid = await pendingCount(gw.ctx.store.db, BILLING_READ);
    expect(valid).toBeGreaterThan(300);
  });
  afterAll(async () => gw?.close());

  it('leaves reads queued when billing fails mid-run, and the next run posts the rest once', async () => {
    const failing = new FailingBilling(gw.ctx.billing, 2);
    const broken = await runJob({ ...gw.ctx, billing: failing }, postReadings, { trigger: 'schedule' });
    expect(broken.status).toBe('failed');
    expect(broken.error).toMatch(/posting stopped after 100 reads: billing database unreachable/);
    expect(broken.counts.posted).toBe(100);
    expect(await pendingCount(gw.ctx.store.db, BILLING_READ)).toBe(valid - 100);
    const run = (await gw.ctx.store.db('job_runs').where({ id: broken.runId }).first()) as {
      status: string;
      error: string;
    };
    expect(run).toMatchObject({ status: 'failed', error: expect.stringMatching(/ECONNREFUSED/) });

    const recovered = await runJob(gw.ctx, postReadings, { trigger: 'schedule' });
    expect(recovered).toMatchObject({ status: 'ok', counts: { posted: valid - 100, alreadyPosted: 0 } });
    const staged = await gw.ctx.billing
      .db('cis_read_upload')
      .countDistinct({ n: 'read_key' })
      .count({ all: '*' })
      .first();
    expect(staged).toMatchObject({ n: valid, all: valid });
  });

  it("posts nothing twice when the gateway died between billing's commit and its own", async () => {
    const again = await exportRoute(gw.ctx, {
      routeCode: 'R01',
      actor: 'test',
      reload: true,
      reason: 're-read after a storm',
    });
    const day = simulateReads(gw.ctx, again.content.toString('latin1'), new Date('2026-11-23T09:00:00Z'), 12);
    await importReadings(
      gw.ctx,
      bufferLineSource('r2.txt', Buffer.from(day.lines.map((l) => `${l}\r\n`).join(''), 'latin1')),
      { source: 'file', actor: 'test' },
    );
    const pending = await nextPending<ReadUploadRow>(gw.ctx.store.db, BILLING_READ, 10_000);
    expect(pending.length).toBeGreaterThan(300);
    // Billing commits the batch; the gateway dies before recording it, so the reads are still queued.
    await gw.ctx.billing.postReads(
      pending.map((p) => p.payload),
      { source: 'fieldgate', now: gw.ctx.clock() },
    );
    const rerun = await runJob(gw.ctx, postReadings, { trigger: 'manual' });
    expect(rerun.counts).toEqual({ posted: 0, alreadyPosted: pending.length, batches: 0 });
    expect(await pendingCount(gw.ctx.store.db, BILLING_READ)).toBe(0);
    expect(await sentCount(gw.ctx.store.db, BILLING_READ)).toBe(valid + pending.length);
    const staged = await gw.ctx.billing
      .db('cis_read_upload')
      .countDistinct({ n: 'read_key' })
      .count({ all: '*' })
      .first();
    expect(staged).toMatchObject({ n: valid + pending.length, all: valid + pending.length });
  });

  it('names the missing table when billing does not match the mapping', async () => {
    await gw.ctx.billing.db.schema.renameTable('cis_read_upload', 'cis_read_upload_old');
    try {
      await expect(gw.ctx.billing.verify()).rejects.toThrow(
        /billing mapping 'readUpload': table cis_read_upload with columns read_key, .* cannot be read/,
      );
    } finally {
      await gw.ctx.billing.db.schema.renameTable('cis_read_upload_old', 'cis_read_upload');
    }
  });
});
