import { calendarDay } from '../../core/calendar.js';
import { z } from 'zod';
import { WORK_ORDER_TYPES } from '../../core/work-orders.js';

/** What work-order changes look like at every input boundary: REST bodies and MQTT messages. */
/** Billing's order numbers are 12 characters at most; so are the gateway's. */
export const orderNo = z.string().min(1).max(12);
export const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO 8601 time');
export const day = calendarDay;
export const gps = z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) });

export const newOrder = z.strictObject({
  orderNo: orderNo.optional(),
  type: z.enum(WORK_ORDER_TYPES),
  priority: z.number().int().min(1).max(5).optional(),
  accountNo: z.string().min(1).max(15).optional(),
  meterId: z.string().min(1).max(12).optional(),
  area: z.string().max(20).optional(),
  dueDate: day.optional(),
  windowStart: isoTime.optional(),
  windowEnd: isoTime.optional(),
  notes: z.string().max(500).optional(),
});

export const completion = z.strictObject({
  outcome: z.string().min(1).max(20),
  completedAt: isoTime,
  finalRead: z.number().int().min(0).nullable().optional(),
  newMeterSerial: z.string().min(1).max(12).nullable().optional(),
  newMeterRead: z.number().int().min(0).nullable().optional(),
  seals: z.array(z.string().min(1).max(20)).max(10).optional(),
  notes: z.string().max(500).nullable().optional(),
  gps: gps.nullable().optional(),
  photos: z.array(z.string().min(1).max(200)).max(20).optional(),
  reason: z.string().max(500).nullable().optional(),
});

/** A technician's change to one order: the version it was made on, the new state, and what goes with it. */
export const techMove = z.strictObject({
  version: z.number().int().min(1),
  state: z.enum(['accepted', 'en_route', 'on_site', 'completed', 'failed']),
  at: isoTime.optional(),
  note: z.string().max(500).optional(),
  gps: gps.optional(),
  completion: completion.optional(),
  /** The app's own id for this change: the same change sent again (a lost answer) is answered, not refused as stale. */
  updateId: z.string().min(1).max(64).optional(),
});

/** The same change sent over MQTT: it names its order, and an id the reply will carry. */
export const techUpdate = techMove.extend({ orderNo, updateId: z.string().min(1).max(64) });
