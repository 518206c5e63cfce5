import type { GatewayContext } from '../context.js';
import { addDays, localDate } from '../../core/local-time.js';
import type { Actor } from '../../core/work-orders.js';
import { AppError, NotFoundError } from '../../errors.js';
import { createWorkOrder, type WorkOrder } from './work-orders.js';
import { exceptionById, resolveOpenExceptions } from '../../infra/store/exceptions-repo.js';

/**
 * A CSR looking at an exception (a high read, a suspicious skip, an AMI spike) sends someone to
 * read the meter again: a ReRead order for the exception's meter, due in two days, and the
 * exception resolved with the order's number, by whom and when.
 */
export async function orderReRead(
  ctx: GatewayContext,
  exceptionId: number,
  actor: Actor,
  note?: string,
): Promise<WorkOrder> {
  const db = ctx.store.db;
  const ex = await exceptionById(db, exceptionId);
  if (!ex)
    throw Object.assign(new NotFoundError('exception', exceptionId), { detail: { field: 'id', record: exceptionId } });
  if (ex.status !== 'open')
    throw new AppError('BAD_STATE', `exception ${exceptionId} is ${ex.status}, not open`, {
      status: 409,
      field: 'status',
      record: exceptionId,
    });
  if (!ex.meter_id)
    throw new AppError('BAD_INPUT', `exception ${exceptionId} names no meter to read again`, {
      field: 'meter',
      record: exceptionId,
    });
  const now = ctx.clock();
  const meter = (await ctx.billing.findMeters([ex.meter_id])).get(ex.meter_id);
  const today = localDate(now, ctx.config.timeZone);
  const { order } = await createWorkOrder(
    db,
    ctx.config,
    {
      source: 'exception',
      type: 'ReRead',
      meterId: ex.meter_id,
      accountNo: meter?.accountNo ?? null,
      area: meter?.routeCode ?? null,
      dueDate: addDays(today, 2),
      notes: `${ex.kind}: ${note ?? ex.message}`.slice(0, 500),
    },
    actor,
    now,
  );
  await resolveOpenExceptions(
    db,
    { id: exceptionId },
    { resolution: `re-read ordered: ${order.orderNo}`, by: `${actor.role}:${actor.name}`, at: now.toISOString() },
  );
  return order;
}
