import type { Knex } from 'knex';
import { AppError } from '../../../errors.js';
import { insertMany } from '../../db/sql-utils.js';
import { runMigrations } from '../../store/migrations/index.js';
import { generateReferenceData, type SeedOptions } from './seed-data.js';
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
  const data = generateReferenceData(opts);
  await db.transaction(async (trx) => {
    for (const table of [...REFERENCE_TABLES].reverse()) await trx(table).del();
    await insertMany(trx, 'cis_routes', data.routes);
    await insertMany(trx, 'cis_premises', data.premises);
    await insertMany(trx, 'cis_rates', data.rates);
    await insertMany(trx, 'cis_accounts', data.accounts);
    await insertMany(trx, 'cis_meters', data.meters);
    await insertMany(trx, 'cis_registers', data.registers);
    await insertMany(trx, 'cis_read_history', data.history);
    await insertMany(trx, 'cis_service_orders', data.serviceOrders);
  });
  return {
    accounts: data.accounts.length,
    meters: data.meters.length,
    registers: data.registers.length,
    historyRows: data.history.length,
    routes: data.routes.length,
    serviceOrders: data.serviceOrders.length,
  };
}
