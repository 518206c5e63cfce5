import type { ReadUploadRow } from '../src/billing/queries.js';
import { errorMessage } from '../src/errors.js';
import { BILLING_READ } from '../src/readings/import-readings.js';
import { markFailedAttempt, markSent, nextPending } from '../src/store/outbox-repo.js';
import type { JobDefinition } from '../src/scheduler/job.js';

/**
 * Posts validated reads from the outbox to billing's read-upload staging, one billing
 * transaction per batch. Billing's unique read key makes a retry harmless: reads billing holds
 * already are marked done without being inserted again. If billing is down the reads stay
 * pending and the next run posts them.
 */
export const postReadings: JobDefinition = {
  name: 'post-readings',
  description: 'Post validated readings to the billing read-upload table in batches',
  async run(ctx) {
    const counts = { posted: 0, alreadyPosted: 0, batches: 0 };
    let afterId = 0;
    while (!ctx.signal.aborted) {
      const items = await nextPending<ReadUploadRow>(ctx.store.db, BILLING_READ, ctx.config.billing.postBatchSize, afterId);
      if (items.length === 0) break;
      afterId = items[items.length - 1]!.id;
      const ids = items.map((i) => i.id);
      let result;
      try {
        result = await ctx.billing.postReads(items.map((i) => i.payload), { source: 'fieldgate', now: ctx.clock() });
      } catch (err) {
        await markFailedAttempt(ctx.store.db, ids, errorMessage(err));
        throw Object.assign(new Error(`posting stopped after ${counts.posted} reads: ${errorMessage(err)}`), { counts });
      }
      const now = ctx.clock().toISOString();
      await ctx.store.db.transaction(async (trx) => {
        if (result.batchId) {
          await trx('posted_batches').insert({ batch_id: result.batchId, kind: 'READS', row_count: result.posted, checksum: result.checksum, job_run_id: ctx.runId, posted_at: now });
        }
        await markSent(trx, items, result.batchId, now);
      });
      counts.posted += result.posted;
      counts.alreadyPosted += result.alreadyPosted;
      if (result.batchId) counts.batches++;
      ctx.log.info('batch posted', { module: 'post-readings', batch: result.batchId, posted: result.posted, alreadyPosted: result.alreadyPosted });
    }
    return counts;
  },
};
