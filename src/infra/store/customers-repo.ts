import type { Knex } from 'knex';
import type { AlertPreferencesRow, PortalInvitesInsert, PortalInvitesRow } from './tables.js';

/** Portal customers: their invitations, the accounts they may see, their alert preferences. */
type Db = Knex | Knex.Transaction;

export async function insertInvite(db: Db, row: PortalInvitesInsert): Promise<void> {
  await db('portal_invites').insert(row);
}

/** An unused, unexpired invitation for the account with this code hash. */
export async function findOpenInvite(
  db: Db,
  accountNo: string,
  codeHash: string,
  now: string,
): Promise<PortalInvitesRow | undefined> {
  return db('portal_invites')
    .where({ account_no: accountNo, code_hash: codeHash })
    .whereNull('used_at')
    .andWhere('expires_at', '>', now)
    .first();
}

/** Marks an invitation used, once: false when another registration used it first. */
export async function markInviteUsed(db: Db, id: number, userId: number, at: string): Promise<boolean> {
  const n = await db('portal_invites').where({ id }).whereNull('used_at').update({ used_at: at, used_by: userId });
  return n === 1;
}

export async function linkCustomerAccount(db: Db, userId: number, accountNo: string, at: string): Promise<void> {
  await db('customer_accounts')
    .insert({ user_id: userId, account_no: accountNo, linked_at: at })
    .onConflict(['user_id', 'account_no'])
    .ignore();
}

export async function accountsOfCustomer(db: Db, userId: number): Promise<string[]> {
  const rows = (await db('customer_accounts')
    .select('account_no')
    .where({ user_id: userId })
    .orderBy('account_no')) as {
    account_no: string;
  }[];
  return rows.map((r) => r.account_no);
}

/** Whether the customer registered this account. */
export async function customerHasAccount(db: Db, userId: number, accountNo: string): Promise<boolean> {
  return Boolean(await db('customer_accounts').where({ user_id: userId, account_no: accountNo }).first());
}

/** The customers of an account (who hears of its alerts). */
export async function customersOfAccount(db: Db, accountNo: string): Promise<number[]> {
  const rows = (await db('customer_accounts').select('user_id').where({ account_no: accountNo })) as {
    user_id: number;
  }[];
  return rows.map((r) => Number(r.user_id));
}

export async function alertPreferences(db: Db, userId: number): Promise<AlertPreferencesRow | undefined> {
  return db('alert_preferences').where({ user_id: userId }).first();
}

export async function saveAlertPreferences(db: Db, row: AlertPreferencesRow): Promise<void> {
  await db('alert_preferences')
    .insert(row)
    .onConflict('user_id')
    .merge(['email', 'phone', 'by_email', 'by_sms', 'updated_at']);
}

export interface PendingDelivery {
  alert_id: number;
  user_id: number;
  account_no: string;
  rule: string;
  message: string;
  to: string;
  attempts: number;
}

/**
 * Open alerts not yet delivered on a channel to a customer of the account who asked for that
 * channel: never sent, or failed fewer than `maxAttempts` times.
 */
export async function pendingDeliveries(
  db: Db,
  channel: 'email' | 'sms',
  maxAttempts: number,
  limit: number,
): Promise<PendingDelivery[]> {
  const address = channel === 'email' ? 'p.email' : 'p.phone';
  const wants = channel === 'email' ? 'p.by_email' : 'p.by_sms';
  const rows = (await db({ a: 'usage_alerts' })
    .join({ c: 'customer_accounts' }, 'c.account_no', 'a.account_no')
    .join({ p: 'alert_preferences' }, 'p.user_id', 'c.user_id')
    .leftJoin({ d: 'alert_deliveries' }, (j) =>
      j
        .on('d.alert_id', 'a.id')
        .andOn('d.user_id', 'c.user_id')
        .andOn('d.channel', db.raw('?', [channel])),
    )
    .select('a.id as alert_id', 'c.user_id', 'a.account_no', 'a.rule', 'a.message', `${address} as to`, 'd.attempts')
    .whereNull('a.cleared_at')
    .where(wants, true)
    .whereNotNull(address)
    .andWhere((w) =>
      w.whereNull('d.status').orWhere((f) => f.where('d.status', 'failed').andWhere('d.attempts', '<', maxAttempts)),
    )
    .orderBy('a.id')
    .limit(limit)) as Record<string, unknown>[];
  return rows.map((r) => ({
    alert_id: Number(r.alert_id),
    user_id: Number(r.user_id),
    account_no: String(r.account_no),
    rule: String(r.rule),
    message: String(r.message),
    to: String(r.to),
    attempts: r.attempts == null ? 0 : Number(r.attempts),
  }));
}

/** Records a delivery attempt (one row per alert, customer and channel). */
export async function recordDelivery(
  db: Db,
  row: {
    alert_id: number;
    user_id: number;
    channel: string;
    status: 'sent' | 'failed';
    attempts: number;
    error: string | null;
    at: string;
  },
): Promise<void> {
  await db('alert_deliveries')
    .insert({ ...row, error: row.error?.slice(0, 300) ?? null })
    .onConflict(['alert_id', 'user_id', 'channel'])
    .merge(['status', 'attempts', 'error', 'at']);
}
