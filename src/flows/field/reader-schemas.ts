import { z } from 'zod';
import { METER_ID_MAX } from '../../core/meter-id.js';
import { isoTime } from '../work-orders/schemas.js';

/** What the field app sends for meter reading, at the API boundary. */
export const routeCode = z.string().min(1).max(20);
export const cycle = z.string().min(1).max(20);
const code = z.string().trim().min(1).max(4).nullable().optional();

/** One meter as the reader left it: read (keyed), or skipped with a code; the phone's time and place. */
export const appReading = z
  .strictObject({
    sequence: z.number().int().min(1).max(99_999),
    account: z.string().min(1).max(15),
    meterId: z.string().min(1).max(METER_ID_MAX),
    register: z.number().int().min(1).max(99),
    reading: z.number().int().min(0).max(9_999_999_999).nullable(),
    /** When it was read, by the phone's clock (an instant: the gateway writes it in the utility's zone). */
    readAt: isoTime,
    readCode: z.enum(['HC', 'LC', 'RK']).nullable().optional(),
    skipCode: code,
    troubleCode: code,
    rekeyed: z.boolean().optional(),
    lat: z.number().min(-90).max(90).nullable().optional(),
    lon: z.number().min(-180).max(180).nullable().optional(),
    note: z.string().max(40).nullable().optional(),
  })
  .refine((r) => (r.reading === null) === Boolean(r.skipCode), {
    message: 'a reading has a value or a skip code, not both and not neither',
    path: ['skipCode'],
  });
export type AppReading = z.infer<typeof appReading>;

export const appBatch = (maxReadings: number) =>
  z.strictObject({
    /** The app's own id for this batch: the same batch sent again is stored once. */
    batchId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" and "-", at most 64'),
    route: routeCode,
    cycle,
    /** The last batch of the route: the route is committed with it. */
    final: z.boolean(),
    readings: z.array(appReading).max(maxReadings),
  });
export type AppBatch = z.infer<ReturnType<typeof appBatch>>;

export const photoQuery = z.object({
  route: routeCode,
  cycle,
  meter: z.string().min(1).max(METER_ID_MAX),
  register: z.coerce.number().int().min(1).max(99),
});
