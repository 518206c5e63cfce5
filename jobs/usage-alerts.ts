import { checkUsageAlerts } from '../src/flows/ami/usage-alerts.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/** Checks every AMI register heard recently against the usage-alert rules (src/flows/ami/usage-alerts.ts). */
export const usageAlertsJob: JobDefinition = {
  name: 'usage-alerts',
  description: 'Check AMI usage for leaks, backflow, stopped meters, high use and silence (config alerts)',
  async run(ctx) {
    return checkUsageAlerts(ctx, { now: ctx.clock(), signal: ctx.signal });
  },
};
