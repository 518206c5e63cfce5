/**
 * The AMI suspense area: intervals and register reads of meters billing does not know yet,
 * kept with their source batch until the meter is known (or a CSR claims the name for a
 * meter), then taken out and imported. Rows are keyed (name, channel, kind, time), so the
 * same data parked twice is kept once.
 */

import type { Knex } from 'knex';
import type { AmiSuspenseInsert, AmiSuspenseRow } from './tables.js';

export type ParkedRow = AmiSuspenseInsert;

export async function parkRows(db: Knex | Knex.Transaction, rows: readonly ParkedRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500)
    await db('ami_suspense')
      .insert(rows.slice(i, i + 500))
      .onConflict(['meter_ref', 'channel', 'kind', 'at'])
      .ignore();
}

/** Register-read values parked for a name between two times (epoch seconds, inclusive). */
export async function parkedReadValues(
  db: Knex,
  ref: string,
  channel: number,
  from: number,
  to: number,
): Promise<number[]> {
  const rows = (await db('ami_suspense')
    .select('value')
    .where({ meter_ref: ref, channel, kind: 'R' })
    .andWhere('at', '>=', from)
    .andWhere('at', '<=', to)) as { value: number }[];
  return rows.map((r) => r.value);
}

/** The names in suspense, with what each holds: the CSR's list, and the reprocess pass's work. */
export async function parkedNames(
  db: Knex,
  opts: { refs?: readonly string[]; limit: number },
): Promise<
  {
    meter_ref: string;
    alt_refs: string | null;
    channels: number;
    intervals: number;
    reads: number;
    source: string;
    first_at: number;
    last_at: number;
  }[]
> {
  const q = db('ami_suspense')
    .select('meter_ref')
    .min({ alt_refs: 'alt_refs', source: 'source', first_at: 'at' })
    .max({ last_at: 'at' })
    .countDistinct({ channels: 'channel' })
    .select(db.raw("sum(case when kind = 'I' then 1 else 0 end) as intervals"))
    .select(db.raw("sum(case when kind = 'R' then 1 else 0 end) as reads"))
    .groupBy('meter_ref')
    .orderBy('meter_ref')
    .limit(opts.limit);
  if (opts.refs) q.whereIn('meter_ref', opts.refs);
  const rows = (await q) as Record<string, unknown>[];
  return rows.map((r) => ({
    meter_ref: String(r.meter_ref),
    alt_refs: r.alt_refs == null ? null : String(r.alt_refs),
    channels: Number(r.channels),
    intervals: Number(r.intervals),
    reads: Number(r.reads),
    source: String(r.source),
    first_at: Number(r.first_at),
    last_at: Number(r.last_at),
  }));
}

/** Takes every parked row of a name for one reprocess run: rows parked after this are left for the next. */
export async function takeParked(db: Knex, ref: string, runId: string): Promise<number> {
  return db('ami_suspense').where({ meter_ref: ref }).update({ run_id: runId });
}

/** A run's rows in a stable order (channel, kind, time), a page at a time. */
export async function parkedOfRun(db: Knex, runId: string, offset: number, limit: number): Promise<AmiSuspenseRow[]> {
  return db('ami_suspense')
    .select('*')
    .where({ run_id: runId })
    .orderBy(['channel', 'kind', 'at'])
    .offset(offset)
    .limit(limit);
}

export async function dropRun(db: Knex, runId: string): Promise<number> {
  return db('ami_suspense').where({ run_id: runId }).delete();
}

export async function claimsList(db: Knex): Promise<{ meter_ref: string; meter_id: string }[]> {
  return db('ami_claims').select('meter_ref', 'meter_id');
}

export async function recordClaim(
  db: Knex,
  claim: { ref: string; meterId: string; by: string; at: string },
): Promise<void> {
  await db('ami_claims')
    .insert({ meter_ref: claim.ref, meter_id: claim.meterId, claimed_by: claim.by.slice(0, 64), claimed_at: claim.at })
    .onConflict('meter_ref')
    .merge(['meter_id', 'claimed_by', 'claimed_at']);
}
