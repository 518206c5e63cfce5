import { reprocessSuspense } from '../src/flows/ami/suspense.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/** Imports the parked AMI data of meters billing has learned since (src/flows/ami/suspense.ts). */
export const reprocessSuspenseJob: JobDefinition = {
  name: 'reprocess-suspense',
  description: 'Import the AMI data parked in suspense for meters billing now knows',
  async run(ctx) {
    const r = await reprocessSuspense(
      { ...ctx, db: ctx.store.db },
      { actor: 'reprocess-suspense', signal: ctx.signal },
    );
    return {
      matched: r.matched.length,
      intervals: r.matched.reduce((s, m) => s + m.intervals, 0),
      reads: r.matched.reduce((s, m) => s + m.reads, 0),
      waiting: r.waiting,
    };
  },
};
