import type { Knex } from 'knex';

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

export async function setNoticeStatus(
  db: Knex,
  id: number,
  status: string,
  now: string,
  extra: { cut_order_no?: string } = {},
): Promise<void> {
  await db('disconnect_notices')
    .where({ id })
    .update({ status, updated_at: now, ...extra });
}

/** Whether the account got a notice on that day already (a second run sends none). */
export async function noticeSentOn(db: Knex, accountNo: string, day: string): Promise<boolean> {
  return Boolean(await db('disconnect_notices').where({ account_no: accountNo, notice_date: day }).first());
}

export async function insertNotice(db: Knex, n: NewNotice): Promise<void> {
  await db('disconnect_notices').insert(n);
}
