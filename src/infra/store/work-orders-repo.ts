/**
 * Work orders and their step log in the store. The rules (which move is allowed, what a
 * completion needs) are the domain's (src/core/work-orders.ts) and the flow's
 * (src/flows/work-orders); here are only the rows.
 */

import type { Knex } from 'knex';
import { insertMany, insertReturningId, selectWhereIn } from '../db/sql-utils.js';
import type { WorkOrderEventsInsert, WorkOrderEventsRow, WorkOrdersInsert, WorkOrdersRow } from './tables.js';

type Db = Knex | Knex.Transaction;
export type WorkOrderRow = WorkOrdersRow;

export type OrderEventRow = WorkOrderEventsInsert;

export async function insertOrderRow(trx: Db, row: WorkOrdersInsert): Promise<number> {
  return insertReturningId(trx, 'work_orders', row);
}

export async function insertOrderEvent(trx: Db, row: OrderEventRow): Promise<void> {
  await trx('work_order_events').insert(row);
}

export async function orderRowById(db: Db, id: number): Promise<WorkOrderRow | undefined> {
  return db('work_orders').where({ id }).first();
}

export async function orderRowByNo(db: Db, orderNo: string): Promise<WorkOrderRow | undefined> {
  return db('work_orders').where({ order_no: orderNo }).first();
}

/** Whether a change with this update id (a device's own id for it) was applied to the order already. */
export async function updateApplied(trx: Db, orderNo: string, updateId: string): Promise<boolean> {
  const seen = await trx('work_order_events')
    .join('work_orders', 'work_orders.id', 'work_order_events.order_id')
    .where('work_orders.order_no', orderNo)
    .andWhere('work_order_events.update_id', updateId)
    .first();
  return Boolean(seen);
}

/** Updates the order only if it is still at `version`; says whether it was. */
export async function updateOrderAtVersion(
  trx: Db,
  orderNo: string,
  version: number,
  patch: Partial<WorkOrdersRow>,
): Promise<boolean> {
  return (await trx('work_orders').where({ order_no: orderNo, version }).update(patch)) === 1;
}

export interface OrderRowFilter {
  state?: string;
  /** Not in these (final) states. */
  notIn?: readonly string[];
  technician?: string;
  type?: string;
  area?: string;
  accountNo?: string;
  limit: number;
  offset: number;
}

/** Orders by priority, due date and number. */
export async function orderRows(db: Db, f: OrderRowFilter): Promise<WorkOrderRow[]> {
  const q = db('work_orders')
    .orderBy([{ column: 'priority' }, { column: 'due_date' }, { column: 'order_no' }])
    .limit(f.limit)
    .offset(f.offset);
  if (f.state) q.where('state', f.state);
  if (f.notIn) q.whereNotIn('state', [...f.notIn]);
  if (f.technician) q.where('technician', f.technician);
  if (f.type) q.where('type', f.type);
  if (f.area) q.where('area', f.area);
  if (f.accountNo) q.where('account_no', f.accountNo);
  return q;
}

/** An order's history, oldest first: each move, who made it, when it happened and what came with it. */
export async function orderEvents(db: Db, orderId: number): Promise<WorkOrderEventsRow[]> {
  return db('work_order_events').where({ order_id: orderId }).orderBy('id');
}

/** Which of these order numbers exist already. */
export async function existingOrderNos(db: Db, orderNos: readonly string[]): Promise<Set<string>> {
  const rows = await selectWhereIn<{ order_no: string }>(db, orderNos, (part) =>
    db('work_orders').select('order_no').whereIn('order_no', part),
  );
  return new Set(rows.map((r) => r.order_no));
}

/**
 * Many new orders with their first event, in the caller's transaction: rows in statements sized for
 * the dialect, then their ids by order number for the events.
 */
export async function insertOrdersWithEvents(
  trx: Db,
  rows: readonly WorkOrdersInsert[],
  eventOf: (row: WorkOrdersInsert, orderId: number) => WorkOrderEventsInsert,
): Promise<void> {
  if (rows.length === 0) return;
  await insertMany(trx, 'work_orders', rows);
  const ids = await selectWhereIn<{ id: number; order_no: string }>(
    trx,
    rows.map((r) => r.order_no),
    (part) => trx('work_orders').select('id', 'order_no').whereIn('order_no', part),
  );
  const idOf = new Map(ids.map((r) => [r.order_no, Number(r.id)]));
  await insertMany(
    trx,
    'work_order_events',
    rows.map((r) => eventOf(r, idOf.get(r.order_no)!)),
  );
}

/** Orders by number, for a pass over many (past-due's open notices). */
export async function orderRowsByNo(db: Db, orderNos: readonly string[]): Promise<Map<string, WorkOrderRow>> {
  const rows = await selectWhereIn<WorkOrderRow>(db, [...new Set(orderNos)], (part) =>
    db('work_orders').whereIn('order_no', part),
  );
  return new Map(rows.map((r) => [r.order_no, r]));
}
