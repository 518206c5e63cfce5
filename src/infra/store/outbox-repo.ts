/**
 * Work that must reach an outside system (billing, a device) is written to the outbox in the
 * same transaction as the data it comes from, so nothing is lost between "stored" and "sent".
 * (kind, key) is unique: enqueueing the same work twice keeps one row. Sent work leaves the
 * queue and is recorded in outbox_sent with the reference the receiver gave it.
 */

import type { Knex } from 'knex';
import { dialectOf } from '../db/connect.js';
import { insertMany, whereIdIn } from '../db/sql-utils.js';

type Db = Knex | Knex.Transaction;

export interface OutboxItem<T = unknown> {
  id: number;
  kind: string;
  key: string;
  payload: T;
  attempts: number;
}

export async function enqueue(
  trx: Db,
  kind: string,
  items: readonly { key: string; payload: unknown }[],
  now: string,
): Promise<void> {
  await insertMany(trx, 'outbox', outboxRows(kind, items, now));
}

/** New pending outbox rows for these items. */
function outboxRows(kind: string, items: readonly { key: string; payload: unknown }[], now: string) {
  return items.map((i) => ({
    kind,
    key: i.key,
    payload: JSON.stringify(i.payload),
    status: 'pending',
    attempts: 0,
    created_at: now,
  }));
}

export async function nextPending<T>(db: Db, kind: string, limit: number, afterId = 0): Promise<OutboxItem<T>[]> {
  const rows = await db('outbox')
    .select('id', 'kind', 'key', 'payload', 'attempts')
    .where({ kind, status: 'pending' })
    .andWhere('id', '>', afterId)
    .orderBy('id')
    .limit(limit);
  return rows.map((r) => ({ ...r, id: Number(r.id), payload: JSON.parse(r.payload) as T }));
}

/** Records items as sent (call inside the caller's transaction) and removes them from the queue. */
export async function markSent(
  trx: Db,
  items: readonly Pick<OutboxItem, 'id' | 'kind' | 'key'>[],
  ref: string | null,
  now: string,
): Promise<void> {
  await insertMany(
    trx,
    'outbox_sent',
    items.map((i) => ({ id: i.id, kind: i.kind, key: i.key, ref, sent_at: now })),
  );
  for (const q of whereIdIn(
    trx,
    items.map((i) => i.id),
    'id',
    () => trx('outbox'),
  ))
    await q.del();
}

export async function sentCount(db: Db, kind: string): Promise<number> {
  const row = (await db('outbox_sent').count({ n: '*' }).where({ kind }).first()) as { n: number } | undefined;
  return Number(row?.n ?? 0);
}

export async function markFailedAttempt(db: Db, ids: readonly number[], error: string): Promise<void> {
  for (const q of whereIdIn(db, ids, 'id', () => db('outbox')))
    await q.update({ attempts: db.raw('attempts + 1'), last_error: error.slice(0, 1000) });
}

export async function pendingCount(db: Db, kind: string): Promise<number> {
  const row = (await db('outbox').count({ n: '*' }).where({ kind, status: 'pending' }).first()) as
    { n: number } | undefined;
  return Number(row?.n ?? 0);
}

/**
 * Claims up to `limit` pending items of a kind for `holder` (unclaimed, or claimed longer than
 * `staleMs` ago by a sender that died), so gateways sharing the outbox do not send the same item.
 */
export async function claimPending<T>(
  db: Knex,
  kind: string,
  limit: number,
  holder: string,
  now: Date,
  staleMs: number,
): Promise<OutboxItem<T>[]> {
  const at = now.toISOString();
  const staleBefore = new Date(now.getTime() - staleMs).toISOString();
  // A claim stamped later than now + staleMs came from a clock that has since stepped back: stale too
  // (fault suite finding: after a 15-minute step back a dead sender's claim held a message 15 minutes).
  const fromTheFuture = new Date(now.getTime() + staleMs).toISOString();
  const claimable = (q: Knex.QueryBuilder) =>
    q.whereNull('claimed_by').orWhere('claimed_at', '<', staleBefore).orWhere('claimed_at', '>', fromTheFuture);
  const candidates = db('outbox')
    .select('id')
    .where({ kind, status: 'pending' })
    .andWhere(claimable)
    .orderBy('id')
    .limit(limit);
  // Gateways sharing a PostgreSQL store skip the rows another is claiming instead of queueing
  // behind its lock (SQLite has one writer at a time anyway).
  if (dialectOf(db) === 'postgres') candidates.forUpdate().skipLocked();
  const claimed = await db('outbox')
    .whereIn('id', candidates)
    .andWhere(claimable)
    .update({ claimed_by: holder, claimed_at: at });
  // Nothing to send (a poll of a quiet outbox, every outboxPollMs on every gateway): one statement.
  if (claimed === 0) return [];
  const rows = await db('outbox')
    .select('id', 'kind', 'key', 'payload', 'attempts')
    .where({ kind, status: 'pending', claimed_by: holder, claimed_at: at })
    .orderBy('id');
  return rows.map((r) => ({ ...r, id: Number(r.id), payload: JSON.parse(r.payload) as T }));
}

/**
 * Gives back what a sender of this name claimed in an earlier life (killed mid-send): a sender's
 * name is stable across restarts, and no live sender shares it. Without this its claims waited out
 * the stale time after every restart.
 */
export async function releaseOwnClaims(db: Db, kind: string, holder: string): Promise<number> {
  return db('outbox')
    .where({ kind, status: 'pending', claimed_by: holder })
    .update({ claimed_by: null, claimed_at: null });
}

/** Gives claimed items back (the send failed), for this or another sender to try again. */
export async function releaseClaims(db: Db, ids: readonly number[]): Promise<void> {
  for (const q of whereIdIn(db, ids, 'id', () => db('outbox'))) await q.update({ claimed_by: null, claimed_at: null });
}

/** What one posting batch put into billing, for the run history and reconciliation. */
export async function recordPostedBatch(
  trx: Knex.Transaction,
  b: { batchId: string; kind: string; rowCount: number; checksum: string; jobRunId: number; postedAt: string },
): Promise<void> {
  await trx('posted_batches').insert({
    batch_id: b.batchId,
    kind: b.kind,
    row_count: b.rowCount,
    checksum: b.checksum,
    job_run_id: b.jobRunId,
    posted_at: b.postedAt,
  });
}

/** Which of these keys of a kind are queued or sent already (queued work is never queued twice). */
export async function knownKeys(db: Db, kind: string, keys: readonly string[]): Promise<Set<string>> {
  const known = new Set<string>();
  for (let i = 0; i < keys.length; i += 500) {
    const part = keys.slice(i, i + 500);
    for (const t of ['outbox', 'outbox_sent'] as const) {
      for (const r of await db(t).select('key').where({ kind }).whereIn('key', part)) known.add(r.key);
    }
  }
  return known;
}

/** Queues items, leaving alone any whose key is queued already (a day already queued keeps its key). */
export async function enqueueNew(
  trx: Db,
  kind: string,
  items: readonly { key: string; payload: unknown }[],
  now: string,
): Promise<void> {
  await insertMany(trx, 'outbox', outboxRows(kind, items, now), { onConflict: { columns: ['kind', 'key'] } });
}

/** Takes back an item queued and not sent yet (a changed value replaces it). */
export async function dropPending(db: Db, kind: string, key: string): Promise<void> {
  await db('outbox').where({ kind, key, status: 'pending' }).del();
}
