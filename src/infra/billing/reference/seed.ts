import type { Knex } from 'knex';
import { AppError } from '../../../errors.js';
import { copyRows } from '../../db/copy.js';
import { dialectOf } from '../../db/connect.js';
import { insertMany } from '../../db/sql-utils.js';
import { runMigrations } from '../../store/migrations/index.js';
import { referenceDataChunks, type SeedData, type SeedOptions } from './seed-data.js';
import { REFERENCE_MIGRATIONS, REFERENCE_TABLES } from './schema.js';

export function migrateReferenceBilling(db: Knex): Promise<string[]> {
  return runMigrations(db, REFERENCE_MIGRATIONS, 'cis_demo_migrations');
}

export async function referenceBillingIsEmpty(db: Knex): Promise<boolean> {
  const row = (await db('cis_accounts').count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0) === 0;
}

export interface SeedSummary {
  accounts: number;
  meters: number;
  registers: number;
  historyRows: number;
  routes: number;
  serviceOrders: number;
}

/** Seeds the reference CIS in one transaction. Refuses to overwrite data unless `reset`. */
export async function seedReferenceBilling(db: Knex, opts: SeedOptions & { reset?: boolean }): Promise<SeedSummary> {
  await migrateReferenceBilling(db);
  if (!(await referenceBillingIsEmpty(db)) && !opts.reset) {
    throw new AppError(
      'BILLING_NOT_EMPTY',
      'the billing database already has accounts; pass --reset to replace the demo data',
    );
  }
  const summary = { accounts: 0, meters: 0, registers: 0, historyRows: 0, routes: 0, serviceOrders: 0 };
  // PostgreSQL loads by COPY: a million accounts (24 million history rows) in minutes, not hours.
  const load = dialectOf(db) === 'postgres' ? copyRows : insertMany;
  await db.transaction(async (trx) => {
    for (const table of [...REFERENCE_TABLES].reverse()) await trx(table).del();
    for (const data of referenceDataChunks(opts)) {
      for (const [table, rows] of tablesOf(data)) await load(trx, table, rows);
      summary.accounts += data.accounts.length;
      summary.meters += data.meters.length;
      summary.registers += data.registers.length;
      summary.historyRows += data.history.length;
      summary.routes += data.routes.length;
      summary.serviceOrders += data.serviceOrders.length;
    }
  });
  // A bulk load leaves PostgreSQL without statistics until autovacuum gets to them: the planner
  // then scans all registers to find a few meters' (seen on a million-account billing).
  if (dialectOf(db) === 'postgres') for (const table of REFERENCE_TABLES) await db.raw('ANALYZE ??', [table]);
  return summary;
}

/** A part's rows by table, parents first. */
function tablesOf(data: SeedData): [string, Record<string, unknown>[]][] {
  return [
    ['cis_routes', data.routes],
    ['cis_premises', data.premises],
    ['cis_rates', data.rates],
    ['cis_accounts', data.accounts],
    ['cis_meters', data.meters],
    ['cis_registers', data.registers],
    ['cis_read_history', data.history],
    ['cis_service_orders', data.serviceOrders],
  ];
}
