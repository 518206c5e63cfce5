import { pullRoutes } from '../src/flows/routes/pull-routes.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/** File mode: reads the route exports the CIS dropped (src/flows/routes/pull-routes.ts); nothing in database mode. */
export const pullRoutesJob: JobDefinition = {
  name: 'pull-routes',
  description: "Read the CIS's route export files into routes (billing.mode files)",
  async run(ctx) {
    return pullRoutes(ctx);
  },
};
