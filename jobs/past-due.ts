import { runPastDue } from '../src/flows/work-orders/past-due.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/** Past due to cut-off: notices, shut-off dates, cut orders, cancellations on payment, reconnects. */
export const pastDue: JobDefinition = {
  name: 'past-due',
  description:
    'Disconnect notices for past-due accounts; cut orders on the shut-off date unless paid or arranged; ' +
    'cancellations and reconnects on payment',
  run: (ctx) => runPastDue(ctx),
};
