/** Stored readings as the API and the CLI list them: filtered, paged, with their route. */

import type { Knex } from 'knex';
import type { ReadingsInsert, ReadingsRow } from './tables.js';
import { insertMany, selectWhereIn } from '../db/sql-utils.js';

export interface ReadingFilter {
  route?: string;
  status?: 'valid' | 'held' | 'skipped';
  meter?: string;
  limit: number;
  offset: number;
}

export async function listReadings(
  db: Knex,
  f: ReadingFilter,
): Promise<(ReadingsRow & { route_code: string | null; cycle: string | null })[]> {
  const query = db('readings')
    .leftJoin('routes', 'routes.id', 'readings.route_id')
    .select('readings.*', 'routes.route_code', 'routes.cycle');
  if (f.route) query.where('routes.route_code', f.route);
  if (f.status) query.where('readings.status', f.status);
  if (f.meter) query.where('readings.meter_id', f.meter);
  return (await query.orderBy('readings.id').limit(f.limit).offset(f.offset)) as (ReadingsRow & {
    route_code: string | null;
    cycle: string | null;
  })[];
}

/** A cycle's valid readings with a value, and the source of each (what a sign-off queues for billing). */
export async function validReadingsOfCycle<T>(trx: Knex | Knex.Transaction, cycle: string): Promise<T[]> {
  return (await trx('readings')
    .join('routes', 'routes.id', 'readings.route_id')
    .join('import_batches', 'import_batches.id', 'readings.batch_id')
    .select('readings.*', 'import_batches.source')
    .where('routes.cycle', cycle)
    .where('readings.status', 'valid')
    .whereNotNull('readings.reading')) as T[];
}

/** Which of these read keys are stored already. */
export async function storedReadKeys(db: Knex | Knex.Transaction, keys: readonly string[]): Promise<Set<string>> {
  const rows = await selectWhereIn<{ read_key: string }>(db, keys, (part) =>
    db('readings').select('read_key').whereIn('read_key', part),
  );
  return new Set(rows.map((r) => r.read_key));
}

export async function readingRowByKey(db: Knex | Knex.Transaction, readKey: string): Promise<ReadingsRow | undefined> {
  return db('readings').where({ read_key: readKey }).first();
}

export async function updateReading(
  db: Knex | Knex.Transaction,
  id: number,
  patch: Partial<ReadingsRow>,
): Promise<void> {
  await db('readings').where({ id }).update(patch);
}

export async function insertReading(db: Knex | Knex.Transaction, row: NewReadingRow): Promise<void> {
  await db('readings').insert(row);
}

/** A readings row to insert. */
export type NewReadingRow = ReadingsInsert;

export async function insertReadings(db: Knex | Knex.Transaction, rows: readonly NewReadingRow[]): Promise<void> {
  await insertMany(db, 'readings', rows);
}
