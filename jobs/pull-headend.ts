import { pullHeadEnd } from '../src/flows/ami/headend-pull.js';
import { AppError } from '../src/errors.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/** Pulls new interval and register pages from the AMI head-end (config ami.headend). */
export const pullHeadEndJob: JobDefinition = {
  name: 'pull-headend',
  description: 'Pull interval and register exports from the AMI head-end, page by page from the saved cursor',
  async run(ctx) {
    const h = ctx.config.ami.headend;
    if (!h.url)
      throw new AppError('NOT_CONFIGURED', 'no head-end configured: set ami.headend.url (and ami.headend.token)', {
        field: 'ami.headend.url',
      });
    const counts = await pullHeadEnd({ ...ctx, db: ctx.store.db }, { ...h, url: h.url }, ctx.signal);
    return { ...counts };
  },
};
