/**
 * Exceptions for the CSR's queue that come one at a time (a message, a file), with every column
 * cut to what the table holds, so a long value from outside can never fail the insert.
 */

import type { Knex } from 'knex';
import type { ExceptionsInsert, ExceptionsRow } from './tables.js';
import { insertMany, insertReturningId, selectWhereIn } from '../db/sql-utils.js';
import { storedMeterId } from '../../core/meter-id.js';

export interface NewException {
  source: string;
  kind: string;
  severity: 'reject' | 'error' | 'warn' | 'info';
  message: string;
  field?: string | null;
  value?: string | null;
  meterId?: string | null;
  lineNo?: number | null;
  raw?: string | null;
}

export async function recordException(db: Knex, e: NewException, now: string): Promise<void> {
  await db('exceptions').insert(exceptionRow(e, now));
}

function exceptionRow(e: NewException, now: string): ExceptionsInsert {
  return {
    source: e.source.slice(0, 20),
    kind: e.kind.slice(0, 30),
    severity: e.severity,
    field: e.field?.slice(0, 40) ?? null,
    value: e.value?.slice(0, 100) ?? null,
    meter_id: e.meterId == null ? null : storedMeterId(e.meterId),
    line_no: e.lineNo ?? null,
    message: e.message.slice(0, 500),
    raw: e.raw ?? null,
    status: e.severity === 'info' ? 'closed' : 'open',
    created_at: now,
  };
}

/** The same, returning the new row's id (a summary row that is updated as its count grows). */
export async function recordExceptionReturningId(db: Knex, e: NewException, now: string): Promise<number> {
  return insertReturningId(db, 'exceptions', exceptionRow(e, now));
}

export async function updateExceptionMessage(db: Knex, id: number, message: string): Promise<void> {
  await db('exceptions')
    .where({ id })
    .update({ message: message.slice(0, 500) });
}

/** An exception as `fieldgate exceptions` lists it (a type alias: the CLI prints rows as records). */
export type ExceptionListRow = {
  id: number;
  route: string | null;
  line: number | null;
  meter: string | null;
  kind: string;
  severity: string;
  field: string | null;
  value: string | null;
  message: string;
};

/** Exceptions as `fieldgate exceptions` lists them, with their route code. */
export async function listExceptionsWithRoute(
  db: Knex,
  f: { route?: string; kind?: string; all?: boolean; limit: number },
): Promise<ExceptionListRow[]> {
  const q = db('exceptions')
    .leftJoin('routes', 'routes.id', 'exceptions.route_id')
    .select(
      'exceptions.id',
      'routes.route_code as route',
      'exceptions.line_no as line',
      'exceptions.meter_id as meter',
      'exceptions.kind',
      'exceptions.severity',
      'exceptions.field',
      'exceptions.value',
      'exceptions.message',
    )
    .orderBy('exceptions.id')
    .limit(f.limit);
  if (!f.all) q.where('exceptions.status', 'open');
  if (f.route) q.where('routes.route_code', f.route);
  if (f.kind) q.where('exceptions.kind', f.kind);
  return (await q) as ExceptionListRow[];
}

/** The open exception of a source, kind and meter (one per unknown meter, say). */
export async function openExceptionFor(
  db: Knex,
  source: string,
  kind: string,
  meterId: string,
): Promise<{ id: number } | undefined> {
  return db('exceptions')
    .select('id')
    .where({ source, kind, meter_id: storedMeterId(meterId), status: 'open' })
    .first();
}

export interface QueueFilter {
  status?: string;
  kind?: string;
  route?: string;
  meter?: string;
  batch?: number;
  /** Only exceptions raised at or before this instant (ISO). */
  createdBefore?: string;
  order?: 'oldest' | 'newest';
  limit: number;
  offset: number;
}

/** A row of the exception queue: the exception without its raw input, and its route. */
export type QueueRow = Omit<ExceptionsRow, 'raw' | 'route_id' | 'read_key'> & RouteOf;
/** The route an exception belongs to (null for an input that matched none). */
export interface RouteOf {
  route_code: string | null;
  cycle: string | null;
}

/** A page of the exception queue: what a row of the queue shows (the raw input comes with one exception). */
export async function exceptionQueue(db: Knex, q: QueueFilter): Promise<QueueRow[]> {
  const query = db('exceptions')
    .leftJoin('routes', 'routes.id', 'exceptions.route_id')
    .select(
      'exceptions.id',
      'exceptions.source',
      'exceptions.batch_id',
      'exceptions.line_no',
      'exceptions.meter_id',
      'exceptions.kind',
      'exceptions.severity',
      'exceptions.field',
      'exceptions.value',
      'exceptions.message',
      'exceptions.status',
      'exceptions.resolution',
      'exceptions.resolved_by',
      'exceptions.resolved_at',
      'exceptions.created_at',
      'routes.route_code',
      'routes.cycle',
    );
  if (q.status) query.where('exceptions.status', q.status);
  if (q.kind) query.where('exceptions.kind', q.kind);
  // A route code names the route in every cycle: its ids first, so the queue's own index does the rest.
  if (q.route) query.whereIn('exceptions.route_id', db('routes').select('id').where('route_code', q.route));
  if (q.meter) query.where('exceptions.meter_id', q.meter);
  if (q.batch) query.where('exceptions.batch_id', q.batch);
  if (q.createdBefore !== undefined) query.where('exceptions.created_at', '<=', q.createdBefore);
  return (await query
    .orderBy('exceptions.id', q.order === 'oldest' ? 'asc' : 'desc')
    .limit(q.limit)
    .offset(q.offset)) as QueueRow[];
}

/** One exception with all its columns and its route. */
export async function exceptionWithRoute(db: Knex, id: number): Promise<(ExceptionsRow & RouteOf) | undefined> {
  return (await db('exceptions')
    .leftJoin('routes', 'routes.id', 'exceptions.route_id')
    .select('exceptions.*', 'routes.route_code', 'routes.cycle')
    .where('exceptions.id', id)
    .first()) as (ExceptionsRow & RouteOf) | undefined;
}

/** One exception's row, as the exception actions read it (in their transaction). */
export async function exceptionById(db: Knex | Knex.Transaction, id: number): Promise<ExceptionsRow | undefined> {
  return db('exceptions').where({ id }).first();
}

/**
 * Resolves an exception that is still open, or every open exception of a reading (a corrected
 * reading answers them all); says how many it resolved.
 */
export async function resolveOpenExceptions(
  db: Knex | Knex.Transaction,
  scope: { id: number } | { readKey: string },
  r: { resolution: string; by: string; at: string },
): Promise<number> {
  const where = 'id' in scope ? { id: scope.id } : { read_key: scope.readKey };
  return db('exceptions')
    .where({ ...where, status: 'open' })
    .update({
      status: 'resolved',
      resolved_by: r.by.slice(0, 64),
      resolved_at: r.at,
      resolution: r.resolution.slice(0, 500),
    });
}

/** Whether a reading still has an open exception that holds it from billing. */
export async function readingStillHeld(db: Knex | Knex.Transaction, readKey: string): Promise<boolean> {
  return Boolean(
    await db('exceptions').where({ read_key: readKey, status: 'open' }).whereIn('severity', ['hold']).first(),
  );
}

export async function setExceptionReadKey(db: Knex | Knex.Transaction, id: number, readKey: string): Promise<void> {
  await db('exceptions').where({ id }).update({ read_key: readKey });
}

/** Exception rows built by an import (already cut to the columns), many at a time. */
export async function insertExceptionRows(
  db: Knex | Knex.Transaction,
  rows: readonly ExceptionsInsert[],
): Promise<void> {
  await insertMany(db, 'exceptions', rows);
}

/**
 * The findings among `rows` that some batch already raised (same meter and finding key, open or
 * resolved): "meter|key" of each. One query per meter's few keys, on the (meter_id, finding_key) index.
 */
export async function raisedFindings(
  db: Knex | Knex.Transaction,
  rows: readonly Pick<ExceptionsInsert, 'meter_id' | 'finding_key'>[],
): Promise<Set<string>> {
  const byMeter = new Map<string, string[]>();
  for (const r of rows) {
    if (!r.meter_id || !r.finding_key) continue;
    const keys = byMeter.get(r.meter_id) ?? [];
    keys.push(r.finding_key);
    byMeter.set(r.meter_id, keys);
  }
  const raised = new Set<string>();
  for (const [meterId, keys] of byMeter) {
    const found = await selectWhereIn<{ finding_key: string }>(db, keys, (part) =>
      db('exceptions').select('finding_key').where({ meter_id: meterId }).whereIn('finding_key', part),
    );
    for (const f of found) raised.add(`${meterId}|${f.finding_key}`);
  }
  return raised;
}

/**
 * Sets the kind and message of a batch's METER_NOT_ON_ROUTE exceptions, meter by meter, once
 * billing said what each meter is (UNKNOWN_METER, or the route billing has it on).
 */
export async function reclassifyNotOnRoute(
  db: Knex,
  batchId: number,
  meters: readonly { meterId: string; kind: string; message: string }[],
): Promise<void> {
  await db.transaction(async (trx) => {
    for (const m of meters)
      await trx('exceptions')
        .where({ batch_id: batchId, kind: 'METER_NOT_ON_ROUTE', meter_id: m.meterId })
        .update({ kind: m.kind, message: m.message.slice(0, 500) });
  });
}

/** Resolves the open exceptions of one kind on these meters (a silent meter heard again); how many. */
export async function resolveOpenOfMeters(
  db: Knex,
  kind: string,
  meterIds: readonly string[],
  r: { resolution: string; by: string; at: string },
): Promise<number> {
  if (!(await db('exceptions').where({ kind, status: 'open' }).first('id'))) return 0;
  let resolved = 0;
  for (let i = 0; i < meterIds.length; i += 500)
    resolved += await db('exceptions')
      .where({ kind, status: 'open' })
      .whereIn('meter_id', meterIds.slice(i, i + 500).map(storedMeterId))
      .update({
        status: 'resolved',
        resolved_by: r.by.slice(0, 64),
        resolved_at: r.at,
        resolution: r.resolution.slice(0, 500),
      });
  return resolved;
}
