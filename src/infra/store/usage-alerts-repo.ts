import type { Knex } from 'knex';
import { insertReturningId } from '../db/sql-utils.js';
import type { UsageAlertsRow } from './tables.js';

/** Usage alerts in the store: one row per condition seen on a register, open until it ends. */
export type UsageAlertRow = UsageAlertsRow;

type Db = Knex | Knex.Transaction;

// PostgreSQL returns bigint as text.
const normal = (r: UsageAlertRow): UsageAlertRow => ({ ...r, id: Number(r.id), since_at: Number(r.since_at) });

/** The open alerts of some meters. */
export async function openAlertsOfMeters(db: Db, meterIds: readonly string[]): Promise<UsageAlertRow[]> {
  const out: UsageAlertRow[] = [];
  for (let i = 0; i < meterIds.length; i += 500)
    out.push(
      ...(
        (await db('usage_alerts')
          .whereIn('meter_id', meterIds.slice(i, i + 500))
          .whereNull('cleared_at')) as UsageAlertRow[]
      ).map(normal),
    );
  return out;
}

/** An account's alerts: the open ones, and those cleared since `clearedSince`, newest first. */
export async function alertsOfAccount(db: Db, accountNo: string, clearedSince: string): Promise<UsageAlertRow[]> {
  const rows = (await db('usage_alerts')
    .where({ account_no: accountNo })
    .andWhere((w) => w.whereNull('cleared_at').orWhere('cleared_at', '>=', clearedSince))
    .orderBy('opened_at', 'desc')
    .limit(200)) as UsageAlertRow[];
  return rows.map(normal);
}

export async function insertAlert(db: Db, row: Omit<UsageAlertRow, 'id'>): Promise<number> {
  return insertReturningId(db, 'usage_alerts', { ...row, message: row.message.slice(0, 300) });
}

export async function markAlertSeen(
  db: Db,
  id: number,
  seen: { at: string; measured: number; message: string },
): Promise<void> {
  await db('usage_alerts')
    .where({ id })
    .update({ seen_at: seen.at, measured: seen.measured, message: seen.message.slice(0, 300) });
}

export async function clearAlert(db: Db, id: number, at: string): Promise<void> {
  await db('usage_alerts').where({ id }).whereNull('cleared_at').update({ cleared_at: at });
}

/** Meters with intervals since `after` (epoch seconds), as the AMI imports noted them heard, in pages. */
export async function metersHeardSince(db: Db, after: number, afterMeter: string, limit: number): Promise<string[]> {
  const rows = (await db('ami_meters_heard')
    .select('meter_id')
    .where('last_at', '>=', after)
    .andWhere('meter_id', '>', afterMeter)
    .orderBy('meter_id')
    .limit(limit)) as { meter_id: string }[];
  return rows.map((r) => r.meter_id);
}
