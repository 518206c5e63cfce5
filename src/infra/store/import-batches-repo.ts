/**
 * Import batches: one row per inbound batch (a readings file, a dock upload, an MQTT batch, an
 * AMI file or message), keyed by its idempotency key, so the same content is stored once.
 */

import type { Knex } from 'knex';
import { insertReturningId, isUniqueViolation } from '../db/sql-utils.js';
import type { ImportBatchesInsert, ImportBatchesRow } from './tables.js';

type Db = Knex | Knex.Transaction;

export interface BatchCounts {
  lines: number;
  stored: number;
  rejected: number;
  held: number;
  skipped: number;
}

export async function batchByKey(db: Db, idempotencyKey: string): Promise<ImportBatchesRow | undefined> {
  return db('import_batches').where({ idempotency_key: idempotencyKey }).first();
}

export async function setBatchCounts(db: Db, id: number, counts: BatchCounts & { state?: string }): Promise<void> {
  await db('import_batches').where({ id }).update(counts);
}

/** Marks a batch that stopped on an error: it is resumed (not skipped) when its source comes again. */
export async function markBatchFailed(db: Db, id: number): Promise<void> {
  await db('import_batches').where({ id }).whereNot({ state: 'done' }).update({ state: 'failed' });
}

export async function exceptionCountOfBatch(db: Db, batchId: number): Promise<number> {
  const row = (await db('exceptions').count({ n: '*' }).where({ batch_id: batchId }).first()) as
    { n: number } | undefined;
  return Number(row?.n ?? 0);
}

/**
 * Begins a batch, or finds it: a batch done already is reported done; one cut off half-way is
 * resumed (its exceptions dropped, to be raised again). The same content arriving twice at once
 * (a redelivered message on a second connection) is stored by the first, and the second is done.
 */
export async function beginKeyedBatch(
  db: Knex,
  key: string,
  row: Omit<ImportBatchesInsert, 'idempotency_key'>,
): Promise<{ batchId: number; done: boolean }> {
  const existing = (await db('import_batches').select('id', 'state').where({ idempotency_key: key }).first()) as
    { id: number; state: string } | undefined;
  if (existing) {
    if (existing.state === 'done') return { batchId: Number(existing.id), done: true };
    await db('exceptions').where({ batch_id: existing.id }).delete();
    return { batchId: Number(existing.id), done: false };
  }
  try {
    return { batchId: await insertReturningId(db, 'import_batches', { ...row, idempotency_key: key }), done: false };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const other = (await db('import_batches').select('id').where({ idempotency_key: key }).first())!;
    return { batchId: other.id, done: true };
  }
}

/** Where a batch came from (file, dock, mqtt, ami-…). */
export async function sourceOfBatch(db: Db, batchId: number): Promise<string | null> {
  const row = (await db('import_batches').select('source').where({ id: batchId }).first()) as
    { source: string } | undefined;
  return row?.source ?? null;
}

/** A new batch row; its id. A second batch with the same key is a unique violation for the caller to answer. */
export async function insertBatch(db: Db, row: ImportBatchesInsert): Promise<number> {
  return insertReturningId(db, 'import_batches', row);
}
