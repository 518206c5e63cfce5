import { keepIntervalMonths } from '../src/flows/ami/interval-retention.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/** Interval months made ahead, and those past ami.retentionMonths dropped (src/flows/ami/interval-retention.ts). */
export const amiPartitions: JobDefinition = {
  name: 'ami-partitions',
  description: 'Make the coming months of AMI intervals (PostgreSQL) and drop those past ami.retentionMonths',
  run: (ctx) => keepIntervalMonths(ctx),
};
