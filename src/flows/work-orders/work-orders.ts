import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { localDate } from '../../core/local-time.js';
import type { FieldWorkUploadRow, ReadUploadRow } from '../../infra/billing/queries.js';
import {
  checkMove,
  FINAL_STATES,
  technicianNotices,
  WorkOrderError,
  type Actor,
  type Completion,
  type WorkOrderState,
  type WorkOrderType,
} from '../../core/work-orders.js';
import type { Config } from '../../infra/config/schema.js';
import { isUniqueViolation } from '../../infra/db/sql-utils.js';
import type { WorkOrderEventsInsert, WorkOrdersInsert } from '../../infra/store/tables.js';
import {
  existingOrderNos,
  insertOrderEvent,
  insertOrderRow,
  insertOrdersWithEvents,
  orderRowByNo,
  orderRows,
  updateApplied,
  updateOrderAtVersion,
  type WorkOrderRow,
} from '../../infra/store/work-orders-repo.js';
import { AppError, NotFoundError } from '../../errors.js';
import { BILLING_READ } from '../readings/import-readings.js';
import { enqueue } from '../../infra/store/outbox-repo.js';

/**
 * Work orders in the store. Every change names the version it was made on: a change on an
 * older version is refused with the order as it is now, never applied over it. A completion
 * queues its field-work row for billing (and, for types that end a meter's service, the final
 * read) in the same transaction.
 */
export const BILLING_FIELDWORK = 'billing.fieldwork';

export interface WorkOrder {
  orderNo: string;
  source: string;
  type: WorkOrderType;
  state: WorkOrderState;
  version: number;
  priority: number;
  accountNo: string | null;
  meterId: string | null;
  area: string | null;
  dueDate: string | null;
  windowStart: string | null;
  windowEnd: string | null;
  technician: string | null;
  notes: string | null;
  completion: Completion | null;
  createdAt: string;
  updatedAt: string;
  overdue: boolean;
}

export class StaleUpdateError extends AppError {
  constructor(
    readonly current: WorkOrder,
    seen: number,
  ) {
    super(
      'STALE_VERSION',
      `order ${current.orderNo} is at version ${current.version}, the change was made on version ${seen}; nothing ` +
        `was changed`,
      { status: 409, field: 'version', value: seen, record: current.orderNo },
    );
  }
}

/** Types whose completion ends a meter's reading: their read goes to billing as a final read. */
const FINAL_READ_TYPES: readonly WorkOrderType[] = ['TurnOff', 'CutForNonPayment', 'ExchangeMeter', 'Remove'];

type Db = Knex | Knex.Transaction;

export interface NewWorkOrder {
  orderNo?: string;
  source: string;
  type: WorkOrderType;
  priority?: number;
  accountNo?: string | null;
  meterId?: string | null;
  area?: string | null;
  dueDate?: string | null;
  windowStart?: string | null;
  windowEnd?: string | null;
  notes?: string | null;
}

/** 12 characters, as billing's order numbers are: WO, the day, four random letters and digits. */
export function drawOrderNo(now: Date): string {
  const day = now.toISOString().slice(2, 10).replace(/-/g, '');
  const random = randomBytes(3).readUIntBE(0, 3).toString(36).toUpperCase().padStart(4, '0').slice(-4);
  return `WO${day}${random}`;
}

/** The row of a new order. */
function newOrderRow(config: Config, input: NewWorkOrder, orderNo: string, at: string): WorkOrdersInsert {
  return {
    order_no: orderNo,
    source: input.source,
    type: input.type,
    state: 'created',
    version: 1,
    priority: input.priority ?? config.workOrders.defaultPriority,
    account_no: input.accountNo ?? null,
    meter_id: input.meterId ?? null,
    area: input.area ?? null,
    due_date: input.dueDate ?? null,
    window_start: input.windowStart ?? null,
    window_end: input.windowEnd ?? null,
    technician: null,
    notes: input.notes ?? null,
    completion: null,
    created_at: at,
    updated_at: at,
  };
}

/** An order's first event: created, by whom and from where. */
function createdEvent(orderId: number, source: string, actor: Actor, at: string): WorkOrderEventsInsert {
  return {
    order_id: orderId,
    from_state: null,
    to_state: 'created',
    version: 1,
    actor: actorName(actor),
    at,
    recorded_at: at,
    detail: JSON.stringify({ source }),
  };
}

/**
 * Many orders in one transaction with whatever `alongside` records of them (the notices that name
 * them), so a crash leaves both or neither. An order with a number of its own (billing's) that
 * exists already is left out (null in the answer: it was made before); the others' numbers are
 * drawn free of those in the store. A number another gateway took meanwhile makes the whole set go
 * again. Returns each input's order number, in input order.
 */
export async function createWorkOrders(
  db: Knex,
  config: Config,
  inputs: readonly NewWorkOrder[],
  actor: Actor,
  now: Date,
  alongside: (trx: Knex.Transaction, orderNos: readonly (string | null)[]) => Promise<void> = async () => {},
): Promise<(string | null)[]> {
  // No orders: nothing to number, make or record.
  if (inputs.length === 0) return [];
  const at = now.toISOString();
  for (let attempt = 0; ; attempt++) {
    const given = inputs.flatMap((o) => (o.orderNo === undefined ? [] : [o.orderNo]));
    const taken = await existingOrderNos(db, given);
    const drawn = await drawFreeOrderNos(db, inputs.length - given.length, now);
    let next = 0;
    // A number given twice in one set is one order: the first.
    const orderNos = inputs.map((o) => {
      if (o.orderNo === undefined) return drawn[next++]!;
      if (taken.has(o.orderNo)) return null;
      taken.add(o.orderNo);
      return o.orderNo;
    });
    try {
      await db.transaction(async (trx) => {
        await insertOrdersWithEvents(
          trx,
          inputs.flatMap((input, i) => (orderNos[i] ? [newOrderRow(config, input, orderNos[i], at)] : [])),
          (row, orderId) => createdEvent(orderId, row.source, actor, at),
        );
        await alongside(trx, orderNos);
      });
      return orderNos;
    } catch (err) {
      if (!isUniqueViolation(err) || attempt >= 5) throw err;
    }
  }
}

async function drawFreeOrderNos(db: Knex, count: number, now: Date): Promise<string[]> {
  const chosen = new Set<string>();
  while (chosen.size < count) {
    const drawn = new Set<string>();
    while (drawn.size < count - chosen.size) {
      const no = drawOrderNo(now);
      if (!chosen.has(no)) drawn.add(no);
    }
    const taken = await existingOrderNos(db, [...drawn]);
    for (const no of drawn) if (!taken.has(no)) chosen.add(no);
  }
  return [...chosen];
}

/**
 * Creates an order; an order number that exists already is a 409 naming it. A number the gateway drew itself is drawn again when taken: four random
 * characters a day collide once thousands of orders are made in one (past-due at 100,000 accounts did).
 */
export async function createWorkOrder(
  db: Db,
  config: Config,
  input: NewWorkOrder,
  actor: Actor,
  now: Date,
  opts: { draw?: (now: Date) => string } = {},
): Promise<{ order: WorkOrder; created: boolean }> {
  const at = now.toISOString();
  for (let attempt = 0; ; attempt++) {
    const orderNo = input.orderNo ?? (opts.draw ?? drawOrderNo)(now);
    try {
      await db.transaction(async (trx) => {
        const orderId = await insertOrderRow(trx, newOrderRow(config, input, orderNo, at));
        await insertOrderEvent(trx, createdEvent(orderId, input.source, actor, at));
      });
      return { order: (await findWorkOrder(db, orderNo, config.timeZone, now))!, created: true };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      if (input.orderNo === undefined && attempt < 10) continue;
      throw new AppError('DUPLICATE', `order ${orderNo} exists already`, {
        status: 409,
        field: 'orderNo',
        value: orderNo,
      });
    }
  }
}

export async function findWorkOrder(db: Db, orderNo: string, zone: string, now: Date): Promise<WorkOrder | null> {
  const row = await orderRowByNo(db, orderNo);
  return row ? toOrder(row, localDate(now, zone)) : null;
}

export async function getWorkOrder(db: Db, orderNo: string, zone: string, now: Date): Promise<WorkOrder> {
  const order = await findWorkOrder(db, orderNo, zone, now);
  if (!order) throw orderNotFound(orderNo);
  return order;
}

function orderNotFound(orderNo: string): NotFoundError {
  return Object.assign(new NotFoundError('order', orderNo), { detail: { field: 'orderNo', record: orderNo } });
}

export interface Move {
  to: WorkOrderState;
  /** The version the change was made on. */
  version: number;
  /** When it happened in the field (an offline device sends it later); defaults to now. */
  at?: string;
  technician?: string | null;
  completion?: Completion | null;
  reason?: string | null;
  note?: string | null;
  gps?: { lat: number; lon: number } | null;
  /** A device's id for this change: the same change delivered again is answered, not refused as stale. */
  updateId?: string | null;
}

/** Applies one move, or refuses it without changing anything. */
export async function moveWorkOrder(
  db: Knex,
  config: Config,
  orderNo: string,
  move: Move,
  actor: Actor,
  now: Date,
): Promise<WorkOrder> {
  return db.transaction(async (trx) => {
    const row = await orderRowByNo(trx, orderNo);
    // A technician learns nothing of an order that is not theirs, not even that it exists: the
    // check comes before the version's (security probe: a stale version answered 409 with the
    // whole order, name and address, to any technician who guessed its number).
    if (!row || (actor.role === 'tech' && row.technician !== actor.name)) throw orderNotFound(orderNo);
    const current = toOrder(row, localDate(now, config.timeZone));
    const id = Number(row.id);
    if (move.updateId) {
      if (await updateApplied(trx, orderNo, move.updateId)) return current;
    }
    if (current.version !== move.version) throw new StaleUpdateError(current, move.version);
    checkMove(current, move.to, actor, move, config.workOrders.types);
    if (move.to === 'completed' && !config.workOrders.outcomes.includes(move.completion!.outcome)) {
      throw new WorkOrderError('BAD_INPUT', `outcome must be one of ${config.workOrders.outcomes.join(', ')}`, {
        field: 'outcome',
        value: move.completion!.outcome,
        record: orderNo,
      });
    }
    const at = move.at ?? now.toISOString();
    const recorded = now.toISOString();
    const technician = move.to === 'dispatched' ? move.technician! : current.technician;
    const completion = move.to === 'completed' || move.to === 'failed' ? (move.completion ?? null) : current.completion;
    const changed = await updateOrderAtVersion(trx, orderNo, current.version, {
      state: move.to,
      version: current.version + 1,
      technician,
      completion: completion ? JSON.stringify(completion) : null,
      updated_at: recorded,
    });
    // Another change committed between the read and this update (two devices at once): theirs stands.
    if (!changed) throw new StaleUpdateError(await getWorkOrder(trx, orderNo, config.timeZone, now), move.version);
    const detail = {
      technician: move.to === 'dispatched' ? technician : undefined,
      reason: move.reason ?? undefined,
      note: move.note ?? undefined,
      gps: move.gps ?? undefined,
    };
    await insertOrderEvent(trx, {
      order_id: id,
      from_state: current.state,
      to_state: move.to,
      version: current.version + 1,
      actor: actorName(actor),
      at,
      recorded_at: recorded,
      detail: JSON.stringify(detail),
      update_id: move.updateId ?? null,
    });
    if (move.to === 'completed' || move.to === 'failed')
      await queueForBilling(trx, current, move.to, completion!, technician, recorded);
    const updated = await getWorkOrder(trx, orderNo, config.timeZone, now);
    if (config.mqtt.enabled) await queueForTechnicians(trx, current, updated, recorded);
    return updated;
  });
}

async function queueForBilling(
  trx: Knex.Transaction,
  order: WorkOrder,
  state: 'completed' | 'failed',
  c: Completion,
  technician: string | null,
  now: string,
): Promise<void> {
  const row: FieldWorkUploadRow = {
    completionKey: `WO:${order.orderNo}`,
    orderNo: order.orderNo,
    outcome: state === 'failed' ? 'FAILED' : c.outcome,
    completedAt: c.completedAt,
    technician,
    finalRead: c.finalRead ?? null,
    newMeterSerial: c.newMeterSerial ?? null,
    newMeterRead: c.newMeterRead ?? null,
  };
  await enqueue(trx, BILLING_FIELDWORK, [{ key: row.completionKey, payload: row }], now);
  if (state === 'completed' && FINAL_READ_TYPES.includes(order.type) && order.meterId && c.finalRead != null) {
    const read: ReadUploadRow = {
      readKey: `WO:${order.orderNo}:FINAL`,
      meterId: order.meterId,
      registerNo: 1,
      readValue: c.finalRead,
      readAt: c.completedAt,
      readType: 'actual',
      source: 'FIELD',
      readerId: technician?.slice(0, 8) ?? null,
      method: 'K',
      readCode: 'FN',
      skipCode: null,
      troubleCode: null,
      note: `final read, ${order.type} ${order.orderNo}`.slice(0, 40),
    };
    await enqueue(trx, BILLING_READ, [{ key: read.readKey, payload: read }], now);
  }
}

/** The outbox kind of a technician's order notice; the field flow (MQTT) delivers it. */
export const TECH_ORDER_NOTICE = 'field.tech-order';

/** What a technician's tablet is to hold for one order: the order as it is now, or nothing (cleared). */
export interface TechOrderNotice {
  technician: string;
  orderNo: string;
  order: WorkOrder | null;
}

/**
 * The order as each technician's tablet should see it, through the outbox (sent once the
 * transport takes it): held while it is theirs; cleared from a technician it was taken from and
 * once it is completed or failed; a cancellation stays, so the tablet learns of it.
 */
async function queueForTechnicians(trx: Knex.Transaction, before: WorkOrder, after: WorkOrder, now: string) {
  const items = technicianNotices(before, after).map((n) => ({
    key: `tech-order:${after.orderNo}:${after.version}:${n.what}:${n.technician}`,
    payload: {
      technician: n.technician,
      orderNo: after.orderNo,
      order: n.what === 'order' ? after : null,
    } satisfies TechOrderNotice,
  }));
  if (items.length) await enqueue(trx, TECH_ORDER_NOTICE, items, now);
}

export interface OrderFilter {
  state?: WorkOrderState;
  open?: boolean;
  technician?: string;
  type?: WorkOrderType;
  area?: string;
  accountNo?: string;
  limit?: number;
  offset?: number;
}

export async function listWorkOrders(db: Db, f: OrderFilter, zone: string, now: Date): Promise<WorkOrder[]> {
  const rows = await orderRows(db, {
    state: f.state,
    notIn: f.open ? FINAL_STATES : undefined,
    technician: f.technician,
    type: f.type,
    area: f.area,
    accountNo: f.accountNo,
    limit: f.limit ?? 500,
    offset: f.offset ?? 0,
  });
  const day = localDate(now, zone);
  return rows.map((r) => toOrder(r, day));
}

/** For the CSR's dispatch board: open orders counted by type, state, technician, area and age; overdue ones listed. */
export async function dispatchView(db: Db, zone: string, now: Date) {
  const open = await listWorkOrders(db, { open: true, limit: 100_000 }, zone, now);
  const count = (key: (o: WorkOrder) => string) => {
    const out: Record<string, number> = {};
    for (const o of open) out[key(o)] = (out[key(o)] ?? 0) + 1;
    return out;
  };
  const ageDays = (o: WorkOrder) => Math.floor((now.getTime() - Date.parse(o.createdAt)) / 86_400_000);
  return {
    open: open.length,
    byType: count((o) => o.type),
    byState: count((o) => o.state),
    byTechnician: count((o) => o.technician ?? '(unassigned)'),
    byArea: count((o) => o.area ?? '(none)'),
    byAge: count((o) =>
      ageDays(o) < 1 ? 'today' : ageDays(o) < 3 ? '1-2 days' : ageDays(o) < 7 ? '3-6 days' : '7+ days',
    ),
    overdue: open.filter((o) => o.overdue),
  };
}

function toOrder(r: WorkOrderRow, todayDate: string): WorkOrder {
  const { state, due_date: dueDate } = r;
  return {
    orderNo: r.order_no,
    source: r.source,
    type: r.type,
    state,
    version: Number(r.version),
    priority: Number(r.priority),
    accountNo: r.account_no,
    meterId: r.meter_id,
    area: r.area,
    dueDate,
    windowStart: r.window_start,
    windowEnd: r.window_end,
    technician: r.technician,
    notes: r.notes,
    completion: r.completion ? (JSON.parse(r.completion) as Completion) : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    overdue: dueDate !== null && dueDate < todayDate && !FINAL_STATES.includes(state),
  };
}

function actorName(a: Actor): string {
  return `${a.role}:${a.name}`.slice(0, 80);
}
