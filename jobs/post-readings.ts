import type { ReadUploadRow } from '../src/infra/billing/queries.js';
import { BILLING_READ } from '../src/flows/readings/import-readings.js';
import { postOutboxJob } from './post-outbox.js';

/** Validated reads (hand-helds, field devices, AMI daily reads, final reads) to billing's read-upload staging. */
export const postReadings = postOutboxJob<ReadUploadRow>({
  name: 'post-readings',
  description: 'Post validated readings to the billing read-upload table in batches',
  kind: BILLING_READ,
  batchKind: 'READS',
  noun: 'reads',
  post: (billing, rows, opts) => billing.postReads(rows, opts),
});
