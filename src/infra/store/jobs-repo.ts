/**
 * Job leases and run history. A lease row per job says which gateway runs it and until when;
 * taking it is one insert (or one conditional update of an expired lease), so two gateways on
 * one store can never both hold it. Written without dialect-specific upserts so it also runs
 * on SQL Server.
 */

import type { Knex } from 'knex';
import type { JobLeasesRow } from './tables.js';
import { insertReturningId, isUniqueViolation } from '../db/sql-utils.js';

type Db = Knex | Knex.Transaction;

export interface LeaseRow {
  job: string;
  holder: string;
  run_id: number | null;
  acquired_at: string;
  expires_at: string;
}

export async function tryAcquireLease(
  db: Knex,
  job: string,
  holder: string,
  now: Date,
  ttlMs: number,
): Promise<boolean> {
  const row = {
    job,
    holder,
    run_id: null,
    acquired_at: now.toISOString(),
    expires_at: new Date(now.getTime() + ttlMs).toISOString(),
  };
  try {
    await db('job_leases').insert(row);
    return true;
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  // A lease that runs out more than two lease lengths from now was stamped by a clock far ahead
  // of ours: a gateway killed after its clock jumped forward, whose lease would otherwise hold the
  // job for the size of the jump (fault suite finding: +16 h). A live holder renews by its clock,
  // so only one more than a lease length ahead of this one could look like that.
  const farAhead = new Date(now.getTime() + 2 * ttlMs).toISOString();
  const taken = await db('job_leases')
    .where({ job })
    .andWhere((w) =>
      w.where('expires_at', '<', now.toISOString()).orWhere('expires_at', '>', farAhead).orWhere({ holder }),
    )
    .update({ holder, run_id: null, acquired_at: row.acquired_at, expires_at: row.expires_at });
  return Number(taken) === 1;
}

/** Extends a lease this holder still has; false if it was lost (expired and taken by another). */
export async function renewLease(
  db: Knex,
  job: string,
  holder: string,
  now: Date,
  ttlMs: number,
  runId?: number,
): Promise<boolean> {
  const patch: Partial<JobLeasesRow> = { expires_at: new Date(now.getTime() + ttlMs).toISOString() };
  if (runId !== undefined) patch.run_id = runId;
  return Number(await db('job_leases').where({ job, holder }).update(patch)) === 1;
}

export async function releaseLease(db: Knex, job: string, holder: string): Promise<void> {
  await db('job_leases').where({ job, holder }).del();
}

export async function getLease(db: Db, job: string): Promise<LeaseRow | undefined> {
  return db<LeaseRow>('job_leases').where({ job }).first();
}

export interface JobRunRow {
  id: number;
  job: string;
  trigger: string;
  holder: string;
  status: 'running' | 'ok' | 'failed' | 'abandoned';
  started_at: string;
  finished_at: string | null;
  counts: string | null;
  error: string | null;
}

export async function startRun(db: Knex, job: string, trigger: string, holder: string, now: Date): Promise<number> {
  return insertReturningId(db, 'job_runs', { job, trigger, holder, status: 'running', started_at: now.toISOString() });
}

export async function finishRun(
  db: Knex,
  id: number,
  status: 'ok' | 'failed',
  now: Date,
  counts: Record<string, number>,
  error?: string,
): Promise<void> {
  await db('job_runs')
    .where({ id })
    .update({ status, finished_at: now.toISOString(), counts: JSON.stringify(counts), error: error ?? null });
}

/** Runs left `running` by a gateway that died: their lease is gone or expired. */
export async function abandonStaleRuns(db: Knex, now: Date): Promise<number> {
  const live = db('job_leases').select('run_id').whereNotNull('run_id').andWhere('expires_at', '>=', now.toISOString());
  return Number(
    await db('job_runs')
      .where({ status: 'running' })
      .whereNotIn('id', live)
      .update({ status: 'abandoned', finished_at: now.toISOString(), error: 'gateway stopped during the run' }),
  );
}

export async function recentRuns(db: Db, opts: { job?: string; limit: number; offset?: number }): Promise<JobRunRow[]> {
  const q = db<JobRunRow>('job_runs')
    .orderBy('id', 'desc')
    .limit(opts.limit)
    .offset(opts.offset ?? 0);
  if (opts.job) q.where({ job: opts.job });
  return q;
}
