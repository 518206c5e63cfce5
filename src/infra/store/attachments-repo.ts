import type { Knex } from 'knex';
import { AppError } from '../../errors.js';
import { insertReturningId, isUniqueViolation } from '../db/sql-utils.js';
import type { AttachmentsInsert, AttachmentsRow } from './tables.js';

type Db = Knex | Knex.Transaction;

/** What a list of photos shows: everything but the bytes. */
export type AttachmentInfo = Omit<AttachmentsRow, 'content'>;

const INFO_COLUMNS = [
  'id',
  'owner_key',
  'sha256',
  'content_type',
  'bytes',
  'route_id',
  'meter_id',
  'register',
  'work_order_id',
  'uploaded_by',
  'created_at',
] as const;

/** The owner key of a register photo: the route (its cycle's row), the meter and the register. */
export const readingOwner = (routeId: number, meterId: string, register: number) =>
  `reading:${routeId}:${register}:${meterId}`;
/** The owner key of a work order's photo. */
export const workOrderOwner = (workOrderId: number) => `order:${workOrderId}`;

/**
 * Keeps a photo once per owner: the same bytes sent again (a resend after a lost answer) give the
 * row kept the first time; past `maxPerOwner` photos of one owner a new one is refused. Returns
 * the row and whether it was new.
 */
export async function keepAttachment(
  db: Db,
  row: AttachmentsInsert,
  maxPerOwner: number,
): Promise<{ info: AttachmentInfo; created: boolean }> {
  const existing = () =>
    db('attachments')
      .select([...INFO_COLUMNS])
      .where({ owner_key: row.owner_key, sha256: row.sha256 })
      .first() as Promise<AttachmentInfo | undefined>;
  const before = await existing();
  if (before) return { info: before, created: false };
  const kept = Number((await db('attachments').where({ owner_key: row.owner_key }).count({ n: '*' }).first())?.n ?? 0);
  if (kept >= maxPerOwner)
    throw new AppError('PHOTO_LIMIT', `${kept} photos are kept of this already, the most the gateway keeps of one`, {
      field: 'photo',
    });
  try {
    await insertReturningId(db, 'attachments', row);
  } catch (err) {
    // Two sends of one photo at once: the other one kept it.
    if (!isUniqueViolation(err)) throw err;
    return { info: (await existing())!, created: false };
  }
  return { info: (await existing())!, created: true };
}

/** Photos of one meter on one route (what a CSR sees with a reading's exception), oldest first. */
export async function attachmentsOfReading(db: Db, routeId: number, meterId: string): Promise<AttachmentInfo[]> {
  return (await db('attachments')
    .select([...INFO_COLUMNS])
    .where({ route_id: routeId, meter_id: meterId })
    .orderBy('id')) as AttachmentInfo[];
}

export async function attachmentsOfWorkOrder(db: Db, workOrderId: number): Promise<AttachmentInfo[]> {
  return (await db('attachments')
    .select([...INFO_COLUMNS])
    .where({ work_order_id: workOrderId })
    .orderBy('id')) as AttachmentInfo[];
}

export async function getAttachment(db: Db, id: number): Promise<AttachmentsRow | undefined> {
  const row = (await db('attachments').where({ id }).first()) as AttachmentsRow | undefined;
  // PostgreSQL answers bytea as a Buffer; SQLite a Buffer too; SQL Server a Buffer.
  return row ? { ...row, content: Buffer.from(row.content) } : undefined;
}
