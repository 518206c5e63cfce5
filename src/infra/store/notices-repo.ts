import type { Knex } from 'knex';
import { insertMany } from '../db/sql-utils.js';

/** Disconnect notices (the past-due flow): open ones, their status, one per account and day. */
const OPEN = ['noticed', 'cut_ordered', 'cut'];

export interface Notice {
  id: number;
  account_no: string;
  status: string;
  shut_off_date: string;
  cut_order_no: string | null;
}

export interface NewNotice {
  account_no: string;
  customer_name: string | null;
  address: string;
  balance: number;
  due_date: string | null;
  notice_date: string;
  shut_off_date: string;
  status: 'noticed';
  warning_order_no: string | null;
  created_at: string;
  updated_at: string;
}

/** Notices not yet settled (noticed, cut ordered, cut), oldest first. */
export async function openNotices(db: Knex): Promise<Notice[]> {
  return (await db('disconnect_notices').whereIn('status', OPEN).orderBy('id')) as Notice[];
}

export async function openNoticeAccounts(db: Knex): Promise<Set<string>> {
  return new Set(
    (await db('disconnect_notices').whereIn('status', OPEN).select('account_no')).map((r) => r.account_no),
  );
}

/** The accounts that got a notice on that day (a second run of the day sends none again): one query. */
export async function accountsNoticedOn(db: Knex, day: string): Promise<Set<string>> {
  return new Set(
    (await db('disconnect_notices').where({ notice_date: day }).select('account_no')).map((r) => r.account_no),
  );
}

/** Many notices in the caller's transaction, in statements sized for the dialect. */
export async function insertNotices(trx: Knex | Knex.Transaction, rows: readonly NewNotice[]): Promise<void> {
  await insertMany(trx, 'disconnect_notices', rows);
}

/** Several notices' new statuses in one transaction (each with the order it names, if any). */
export async function setNoticeStatuses(
  trx: Knex.Transaction,
  changes: readonly { id: number; status: string; cut_order_no?: string; reconnect_order_no?: string }[],
  now: string,
): Promise<void> {
  for (const { id, ...change } of changes)
    await trx('disconnect_notices')
      .where({ id })
      .update({ ...change, updated_at: now });
}
