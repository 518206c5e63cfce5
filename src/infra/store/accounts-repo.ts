import type { Knex } from 'knex';
import type { DisconnectNoticesRow, ExceptionsRow, ReadingsRow } from './tables.js';

/** What the store holds about one account, for the CSR's account page (billing holds the rest). */
type Db = Knex | Knex.Transaction;

/** The account's disconnect notices, newest first. */
export async function noticesOfAccount(db: Db, accountNo: string): Promise<DisconnectNoticesRow[]> {
  return db('disconnect_notices').where({ account_no: accountNo }).orderBy('id', 'desc').limit(20);
}

export type AccountReading = ReadingsRow & { route_code: string | null; source: string | null };

/** Readings of some meters made here (hand-held, field app, file), newest first, with their route and source. */
export async function readingsOfMeters(db: Db, meterIds: readonly string[], limit: number): Promise<AccountReading[]> {
  if (meterIds.length === 0) return [];
  return (await db('readings')
    .leftJoin('routes', 'routes.id', 'readings.route_id')
    .leftJoin('import_batches', 'import_batches.id', 'readings.batch_id')
    .select('readings.*', 'routes.route_code', 'import_batches.source')
    .whereIn('readings.meter_id', [...meterIds])
    .orderBy([
      { column: 'readings.read_at', order: 'desc' },
      { column: 'readings.id', order: 'desc' },
    ])
    .limit(limit)) as AccountReading[];
}

export type AccountException = Pick<
  ExceptionsRow,
  | 'id'
  | 'source'
  | 'kind'
  | 'severity'
  | 'field'
  | 'value'
  | 'meter_id'
  | 'line_no'
  | 'message'
  | 'status'
  | 'created_at'
  | 'resolved_by'
  | 'resolved_at'
  | 'resolution'
>;

/** Exceptions of some meters: the open ones and the last resolved, newest first. */
export async function exceptionsOfMeters(
  db: Db,
  meterIds: readonly string[],
  limit: number,
): Promise<AccountException[]> {
  if (meterIds.length === 0) return [];
  return db('exceptions')
    .select(
      'id',
      'source',
      'kind',
      'severity',
      'field',
      'value',
      'meter_id',
      'line_no',
      'message',
      'status',
      'created_at',
      'resolved_by',
      'resolved_at',
      'resolution',
    )
    .whereIn('meter_id', [...meterIds])
    .orderByRaw("CASE WHEN status = 'open' THEN 0 ELSE 1 END")
    .orderBy('id', 'desc')
    .limit(limit);
}
