import type { FieldWorkUploadRow } from '../src/infra/billing/queries.js';
import { BILLING_FIELDWORK } from '../src/flows/work-orders/work-orders.js';
import { postOutboxJob } from './post-outbox.js';

/** Completed (and failed) work orders to billing's field-work upload table, once each. */
export const postFieldWork = postOutboxJob<FieldWorkUploadRow>({
  name: 'post-field-work',
  description: 'Post completed work orders to the billing field-work upload table in batches',
  kind: BILLING_FIELDWORK,
  batchKind: 'FIELDWORK',
  noun: 'completions',
  post: (billing, rows, opts) => billing.postFieldWork(rows, opts),
});
