import type { Billing, PostResult } from '../src/infra/billing/billing.js';
import { errorMessage } from '../src/errors.js';
import { markFailedAttempt, markSent, nextPending, recordPostedBatch } from '../src/infra/store/outbox-repo.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/**
 * A job that posts one kind of outbox work to billing, one billing transaction per batch.
 * Billing's unique key per row makes a retry harmless: rows billing holds already are marked
 * done without being inserted again. If billing is down the rows stay pending and the next run
 * posts them.
 */
export function postOutboxJob<T>(spec: {
  name: string;
  description: string;
  /** Outbox kind, and the kind recorded in posted_batches. */
  kind: string;
  batchKind: string;
  noun: string;
  post(billing: Billing, rows: T[], opts: { source: string; now: Date }): Promise<PostResult>;
}): JobDefinition {
  return {
    name: spec.name,
    description: spec.description,
    async run(ctx) {
      const counts = { posted: 0, alreadyPosted: 0, batches: 0 };
      let afterId = 0;
      while (!ctx.signal.aborted) {
        const items = await nextPending<T>(ctx.store.db, spec.kind, ctx.config.billing.postBatchSize, afterId);
        if (items.length === 0) break;
        afterId = items[items.length - 1]!.id;
        const ids = items.map((i) => i.id);
        let result;
        try {
          result = await spec.post(
            ctx.billing,
            items.map((i) => i.payload),
            { source: 'fieldgate', now: ctx.clock() },
          );
        } catch (err) {
          await markFailedAttempt(ctx.store.db, ids, errorMessage(err));
          throw Object.assign(new Error(`posting stopped after ${counts.posted} ${spec.noun}: ${errorMessage(err)}`), {
            counts,
          });
        }
        const now = ctx.clock().toISOString();
        await ctx.store.db.transaction(async (trx) => {
          if (result.batchId) {
            await recordPostedBatch(trx, {
              batchId: result.batchId,
              kind: spec.batchKind,
              rowCount: result.posted,
              checksum: result.checksum,
              jobRunId: ctx.runId,
              postedAt: now,
            });
          }
          await markSent(trx, items, result.batchId, now);
        });
        counts.posted += result.posted;
        counts.alreadyPosted += result.alreadyPosted;
        if (result.batchId) counts.batches++;
        ctx.log.info('batch posted', {
          module: spec.name,
          batch: result.batchId,
          posted: result.posted,
          alreadyPosted: result.alreadyPosted,
        });
      }
      return counts;
    },
  };
}
