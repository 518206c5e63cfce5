/** The store's side of the reports (src/flows/reports): each query a report reads. */

import type { Knex } from 'knex';

export interface TimeBounds {
  /** ISO instant, inclusive. */
  from?: string;
  /** ISO instant, exclusive. */
  to?: string;
}

const within = (q: Knex.QueryBuilder, column: string, b: TimeBounds) => {
  if (b.from) q.where(column, '>=', b.from);
  if (b.to) q.where(column, '<', b.to);
  return q;
};

export type ExceptionCountRow = { kind: string; severity: string; status: string; n: number; oldest: string };

/** A missed read as the report lists it (type aliases, not interfaces: a report's rows are printed as records). */
export type MissedReadRow = {
  route: string;
  cycle: string;
  meterId: string | null;
  kind: string;
  code: string | null;
  message: string;
  status: string;
  at: string;
};

export type PostedBatchRow = {
  batchId: string;
  kind: string;
  rows: number;
  checksum: string;
  jobRun: number | null;
  postedAt: string;
};

export type FinishedWorkOrderRow = { type: string; state: string; created_at: string; updated_at: string };

export type AmiCoverageRow = { read_date: string; meters: number; estimated: number; intervals: number };

export async function exceptionCounts(db: Knex, b: TimeBounds): Promise<ExceptionCountRow[]> {
  const q = db('exceptions')
    .select('kind', 'severity', 'status')
    .count({ n: '*' })
    .min({ oldest: 'created_at' })
    .groupBy('kind', 'severity', 'status');
  return (await within(q, 'created_at', b)) as ExceptionCountRow[];
}

export async function missedReads(db: Knex, f: { cycle?: string; route?: string }): Promise<MissedReadRow[]> {
  const q = db('exceptions')
    .join('routes', 'routes.id', 'exceptions.route_id')
    .select(
      'routes.route_code as route',
      'routes.cycle',
      'exceptions.meter_id as meterId',
      'exceptions.kind',
      'exceptions.value as code',
      'exceptions.message',
      'exceptions.status',
      'exceptions.created_at as at',
    )
    .whereIn('exceptions.kind', ['NOT_READ', 'SKIPPED', 'MISSING_READ'])
    .orderBy(['routes.route_code', 'exceptions.meter_id']);
  if (f.cycle) q.where('routes.cycle', f.cycle);
  if (f.route) q.where('routes.route_code', f.route);
  return (await q) as MissedReadRow[];
}

export async function postedBatches(db: Knex, b: TimeBounds): Promise<PostedBatchRow[]> {
  const q = db('posted_batches')
    .select(
      'batch_id as batchId',
      'kind',
      'row_count as rows',
      'checksum',
      'job_run_id as jobRun',
      'posted_at as postedAt',
    )
    .orderBy('posted_at', 'desc');
  return (await within(q, 'posted_at', b)) as PostedBatchRow[];
}

export async function finishedWorkOrders(db: Knex, b: TimeBounds): Promise<FinishedWorkOrderRow[]> {
  const q = db('work_orders')
    .select('type', 'state', 'created_at', 'updated_at')
    .whereIn('state', ['completed', 'failed']);
  return (await within(q, 'updated_at', b)) as FinishedWorkOrderRow[];
}

export async function amiDailyCoverage(db: Knex, from: string, to: string): Promise<AmiCoverageRow[]> {
  return (await db('ami_daily_reads')
    .select('read_date')
    .countDistinct({ meters: 'meter_id' })
    .sum({ estimated: 'estimated' })
    .sum({ intervals: 'intervals' })
    .whereBetween('read_date', [from, to])
    .groupBy('read_date')) as AmiCoverageRow[];
}
