/**
 * The store's figures that /metrics reads at scrape time: open exceptions, rows imported, the
 * outbox, job runs, transfers and open work orders.
 */

import type { Knex } from 'knex';

export interface StoreGauge {
  name: string;
  help: string;
  labelNames: string[];
  read(db: Knex): Promise<{ labels: Record<string, string>; value: number }[]>;
}

const gauge = (name: string, help: string, labelNames: string[], read: StoreGauge['read']): StoreGauge => ({
  name,
  help,
  labelNames,
  read,
});

export const STORE_GAUGES: StoreGauge[] = [
  gauge('fieldgate_exceptions_open', 'Open exceptions in the CSR queue, by kind', ['kind'], async (db) =>
    (
      (await db('exceptions').where({ status: 'open' }).select('kind').count({ n: '*' }).groupBy('kind')) as {
        kind: string;
        n: number;
      }[]
    ).map((r) => ({ labels: { kind: r.kind }, value: Number(r.n) })),
  ),
  gauge(
    'fieldgate_rows_imported',
    'Rows stored by imports (readings, AMI intervals), by source',
    ['source'],
    async (db) =>
      (
        (await db('import_batches').select('source').sum({ n: 'stored' }).groupBy('source')) as {
          source: string;
          n: number;
        }[]
      ).map((r) => ({ labels: { source: r.source }, value: Number(r.n ?? 0) })),
  ),
  gauge('fieldgate_outbox_pending', 'Work waiting to reach billing or a device, by kind', ['kind'], async (db) =>
    (
      (await db('outbox').where({ status: 'pending' }).select('kind').count({ n: '*' }).groupBy('kind')) as {
        kind: string;
        n: number;
      }[]
    ).map((r) => ({ labels: { kind: r.kind }, value: Number(r.n) })),
  ),
  gauge('fieldgate_job_runs', 'Job runs recorded, by job and status', ['job', 'status'], async (db) =>
    (
      (await db('job_runs').select('job', 'status').count({ n: '*' }).groupBy('job', 'status')) as {
        job: string;
        status: string;
        n: number;
      }[]
    ).map((r) => ({ labels: { job: r.job, status: r.status }, value: Number(r.n) })),
  ),
  gauge(
    'fieldgate_job_last_duration_seconds',
    "How long each job's last finished run took",
    ['job', 'status'],
    async (db) => {
      const runs = (await db('job_runs')
        .select('job', 'status', 'started_at', 'finished_at')
        .whereIn('id', db('job_runs').max('id').whereNotNull('finished_at').groupBy('job'))) as {
        job: string;
        status: string;
        started_at: string;
        finished_at: string;
      }[];
      return runs.map((r) => ({
        labels: { job: r.job, status: r.status },
        value: (Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000,
      }));
    },
  ),
  gauge(
    'fieldgate_dock_transfers',
    'Hand-held transfers completed: route loads and readings unloads',
    ['direction'],
    async (db) => {
      const loads = (await db('dock_commands').where({ command: 'load', status: 'done' }).count({ n: '*' }).first()) as
        { n: number } | undefined;
      const unloads = (await db('import_batches').where({ source: 'dock' }).count({ n: '*' }).first()) as
        { n: number } | undefined;
      return [
        { labels: { direction: 'load' }, value: Number(loads?.n ?? 0) },
        { labels: { direction: 'unload' }, value: Number(unloads?.n ?? 0) },
      ];
    },
  ),
  gauge('fieldgate_work_orders_open', 'Open work orders, by type and state', ['type', 'state'], async (db) =>
    (
      (await db('work_orders')
        .whereNotIn('state', ['completed', 'failed', 'cancelled'])
        .select('type', 'state')
        .count({ n: '*' })
        .groupBy('type', 'state')) as { type: string; state: string; n: number }[]
    ).map((r) => ({ labels: { type: r.type, state: r.state }, value: Number(r.n) })),
  ),
];
