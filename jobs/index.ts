import type { JobDefinition } from '../src/flows/scheduler/job.js';
import { postReadings } from './post-readings.js';
import { pullHeadEndJob } from './pull-headend.js';
import { postFieldWork } from './post-field-work.js';
import { pullServiceOrders } from './pull-service-orders.js';
import { pastDue } from './past-due.js';
import { silentMeters } from './silent-meters.js';
import { reprocessSuspenseJob } from './reprocess-suspense.js';
import { amiPartitions } from './ami-partitions.js';
import { usageAlertsJob } from './usage-alerts.js';
import { pullRoutesJob } from './pull-routes.js';

/** Every job the gateway knows. A job runs on a schedule when config.jobs.schedules names it. */
export const ALL_JOBS: readonly JobDefinition[] = [
  postReadings,
  pullHeadEndJob,
  pullServiceOrders,
  postFieldWork,
  pastDue,
  silentMeters,
  reprocessSuspenseJob,
  amiPartitions,
  usageAlertsJob,
  pullRoutesJob,
];

export function findJob(name: string): JobDefinition | undefined {
  return ALL_JOBS.find((j) => j.name === name);
}
