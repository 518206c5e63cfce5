import { noteSilentMeters } from '../src/flows/ami/silent-meters.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/** Raises an exception for each AMI meter not heard for ami.silentAfterHours (src/flows/ami/silent-meters.ts). */
export const silentMeters: JobDefinition = {
  name: 'silent-meters',
  description: 'Find AMI meters that reported daily and have gone quiet for ami.silentAfterHours',
  async run(ctx) {
    return noteSilentMeters(ctx.store.db, {
      now: ctx.clock(),
      silentAfterHours: ctx.config.ami.silentAfterHours,
      signal: ctx.signal,
    });
  },
};
