import type { Knex } from 'knex';
import type { ReadUploadRow } from '../../infra/billing/queries.js';
import type { Config } from '../../infra/config/schema.js';
import { enqueue, knownKeys } from '../../infra/store/outbox-repo.js';
import { cycleReviewed } from '../../infra/store/cycle-reviews-repo.js';

/** The outbox kind of reads on their way to billing. */
export const BILLING_READ = 'billing.read';

/** A stored reading as billing's read upload wants it. */
export interface StoredReading {
  read_key: string;
  meter_id: string;
  register: number;
  reading: number | string | null;
  read_at: string | null;
  read_type?: string | null;
  reader_id: string | null;
  method: string | null;
  read_code: string | null;
  skip_code: string | null;
  trouble_code: string | null;
  note: string | null;
}

export function billingReadPayload(r: StoredReading, source: string, fallbackAt: string): ReadUploadRow {
  return {
    readKey: r.read_key,
    meterId: r.meter_id,
    registerNo: Number(r.register),
    readValue: Number(r.reading),
    readAt: r.read_at ?? fallbackAt,
    readType: r.read_type === 'estimated' ? 'estimated' : 'actual',
    source: source === 'mqtt' || source === 'app' ? 'FIELD' : 'HANDHELD',
    readerId: r.reader_id,
    method: r.method,
    readCode: r.read_code,
    skipCode: r.skip_code,
    troubleCode: r.trouble_code,
    note: r.note,
  };
}

/**
 * Whether reads of a cycle may go to billing now. With `prebill.reviewBeforePosting` on, a
 * route's reads wait until a CSR has signed off the cycle's preliminary billing ledger; the
 * sign-off queues them.
 */
export async function cycleMayPost(
  db: Knex | Knex.Transaction,
  config: Config,
  cycle: string | null | undefined,
): Promise<boolean> {
  if (!config.prebill.reviewBeforePosting || !cycle) return true;
  return cycleReviewed(db, cycle);
}

/** Queues stored readings for billing, leaving out any already queued or sent. */
export async function queueReadings(
  trx: Knex.Transaction,
  rows: readonly (StoredReading & { source: string })[],
  now: Date,
): Promise<number> {
  if (rows.length === 0) return 0;
  const known = await knownKeys(
    trx,
    BILLING_READ,
    rows.map((r) => r.read_key),
  );
  const iso = now.toISOString();
  const fresh = rows.filter((r) => !known.has(r.read_key) && r.reading !== null);
  await enqueue(
    trx,
    BILLING_READ,
    fresh.map((r) => ({ key: r.read_key, payload: billingReadPayload(r, r.source, iso) })),
    iso,
  );
  return fresh.length;
}
