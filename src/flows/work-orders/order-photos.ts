import type { GatewayContext } from '../context.js';
import type { Actor } from '../../core/work-orders.js';
import { AppError, NotFoundError } from '../../errors.js';
import {
  attachmentsOfWorkOrder,
  keepAttachment,
  workOrderOwner,
  type AttachmentInfo,
} from '../../infra/store/attachments-repo.js';
import { orderEvents, orderRowByNo } from '../../infra/store/work-orders-repo.js';
import { checkedPhoto } from '../field/photos.js';

/**
 * A technician's photo of an order (the meter left off, the seal, the new meter): only the order's
 * own technician adds one, it is checked to be an image and kept once however often it is sent. The
 * completion names its photos by their hash.
 */
export async function keepOrderPhoto(
  ctx: GatewayContext,
  orderNo: string,
  actor: Actor,
  bytes: Buffer,
): Promise<{ info: AttachmentInfo; created: boolean }> {
  const db = ctx.store.db;
  const row = await orderRowByNo(db, orderNo);
  if (!row) throw new NotFoundError('order', orderNo);
  if (actor.role === 'tech' && row.technician !== actor.name)
    throw new AppError('NOT_YOURS', `order ${orderNo} is not dispatched to ${actor.name}`, { record: orderNo });
  return keepAttachment(
    db,
    {
      ...checkedPhoto(bytes, ctx.config.fieldApp.photoMaxBytes),
      owner_key: workOrderOwner(row.id),
      work_order_id: row.id,
      meter_id: row.meter_id,
      uploaded_by: `${actor.role}:${actor.name}`,
      created_at: ctx.clock().toISOString(),
    },
    ctx.config.fieldApp.maxPhotosPerItem,
  );
}

/** An order's history and photos, for the CSR. */
export async function orderHistory(ctx: GatewayContext, orderNo: string) {
  const db = ctx.store.db;
  const row = await orderRowByNo(db, orderNo);
  if (!row) return { history: [], photos: [] as AttachmentInfo[] };
  const [history, photos] = await Promise.all([orderEvents(db, row.id), attachmentsOfWorkOrder(db, row.id)]);
  return { history, photos };
}
