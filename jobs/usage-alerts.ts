import { checkUsageAlerts } from '../src/flows/ami/usage-alerts.js';
import { configuredSenders, deliverAlerts } from '../src/flows/portal/alert-delivery.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/**
 * Checks every AMI register heard recently against the usage-alert rules
 * (src/flows/ami/usage-alerts.ts), then tells the customers who asked (src/flows/portal/alert-delivery.ts).
 */
export const usageAlertsJob: JobDefinition = {
  name: 'usage-alerts',
  description:
    'Check AMI usage for leaks, backflow, stopped meters, high use and silence (config alerts); tell customers',
  async run(ctx) {
    const checked = await checkUsageAlerts(ctx, { now: ctx.clock(), signal: ctx.signal });
    const senders = configuredSenders(ctx);
    try {
      const delivered = await deliverAlerts(ctx, senders);
      return { ...checked, delivered: delivered.sent, deliveryFailed: delivered.failed };
    } finally {
      for (const s of senders) s.close();
    }
  },
};
