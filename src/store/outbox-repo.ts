import type { Knex } from 'knex';
import { chunk, insertMany } from '../db/sql-utils.js';

/**
 * Work that must reach an outside system (billing, a device) is written to the outbox in the
 * same transaction as the data it comes from, so nothing is lost between "stored" and "sent".
 * (kind, key) is unique: enqueueing the same work twice keeps one row.
 */
type Db = Knex | Knex.Transaction;

export interface OutboxItem<T = unknown> {
  id: number;
  kind: string;
  key: string;
  payload: T;
  attempts: number;
}

export async function enqueue(trx: Db, kind: string, items: readonly { key: string; payload: unknown }[], now: string): Promise<void> {
  await insertMany(
    trx,
    'outbox',
    items.map((i) => ({ kind, key: i.key, payload: JSON.stringify(i.payload), status: 'pending', attempts: 0, created_at: now })),
  );
}

export async function nextPending<T>(db: Db, kind: string, limit: number, afterId = 0): Promise<OutboxItem<T>[]> {
  const rows = (await db('outbox')
    .select('id', 'kind', 'key', 'payload', 'attempts')
    .where({ kind, status: 'pending' })
    .andWhere('id', '>', afterId)
    .orderBy('id')
    .limit(limit)) as { id: number; kind: string; key: string; payload: string; attempts: number }[];
  return rows.map((r) => ({ ...r, id: Number(r.id), payload: JSON.parse(r.payload) as T }));
}

export async function markDone(db: Db, ids: readonly number[], ref: string | null, now: string): Promise<void> {
  for (const part of chunk(ids, 1000)) {
    await db('outbox').whereIn('id', part as number[]).update({ status: 'done', ref, done_at: now, last_error: null });
  }
}

export async function markFailedAttempt(db: Db, ids: readonly number[], error: string): Promise<void> {
  for (const part of chunk(ids, 1000)) {
    await db('outbox').whereIn('id', part as number[]).update({ attempts: db.raw('attempts + 1'), last_error: error.slice(0, 1000) });
  }
}

export async function pendingCount(db: Db, kind: string): Promise<number> {
  const row = (await db('outbox').count({ n: '*' }).where({ kind, status: 'pending' }).first()) as { n: number } | undefined;
  return Number(row?.n ?? 0);
}
