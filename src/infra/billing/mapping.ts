import { z } from 'zod';

/**
 * The billing mapping: logical names fieldgate uses → the CIS's own table and column names.
 * A utility maps its CIS by editing JSON, not code. Every column key is required, so a
 * mapping file with a typo fails at start-up naming the key.
 */
const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'expected a SQL identifier (letters, digits, _ and .)');

function entity<K extends string>(keys: readonly K[]) {
  const columns = Object.fromEntries(keys.map((k) => [k, name])) as Record<K, typeof name>;
  return z.strictObject({ table: name, columns: z.strictObject(columns) });
}

export const billingMappingSchema = z.strictObject({
  routes: entity(['code', 'description', 'cycle', 'nextReadDate'] as const),
  premises: entity(['id', 'address', 'city'] as const),
  rates: entity(['rateCode', 'description', 'fixedCharge', 'unitCharge'] as const),
  accounts: entity([
    'accountNo',
    'customerName',
    'premiseId',
    'status',
    'balanceDue',
    'dueDate',
    'rateCode',
    'arrangementUntil',
  ] as const),
  meters: entity([
    'meterId',
    'serial',
    'meterType',
    'dials',
    'multiplier',
    'radioId',
    'accountNo',
    'premiseId',
    'routeCode',
    'routeSeq',
    'location',
    'status',
  ] as const),
  registers: entity(['meterId', 'registerNo', 'uom', 'lastReadValue', 'lastReadDate'] as const),
  readHistory: entity(['meterId', 'registerNo', 'readDate', 'readValue', 'readType', 'consumption'] as const),
  readUpload: entity([
    'readKey',
    'batchId',
    'meterId',
    'registerNo',
    'readValue',
    'readAt',
    'readType',
    'source',
    'readerId',
    'method',
    'readCode',
    'skipCode',
    'troubleCode',
    'note',
    'receivedAt',
  ] as const),
  uploadBatch: entity(['batchId', 'kind', 'source', 'rowCount', 'checksum', 'createdAt'] as const),
  serviceOrders: entity([
    'orderNo',
    'accountNo',
    'meterId',
    'orderType',
    'status',
    'createdAt',
    'dueDate',
    'notes',
  ] as const),
  fieldWorkUpload: entity([
    'completionKey',
    'batchId',
    'orderNo',
    'outcome',
    'completedAt',
    'technician',
    'finalRead',
    'newMeterSerial',
    'newMeterRead',
  ] as const),
  values: z.strictObject({
    activeAccountStatuses: z.array(z.string()).min(1),
    activeMeterStatuses: z.array(z.string()).min(1),
    readTypeActual: z.string(),
    readTypeEstimated: z.string(),
    /** Service orders in these statuses are pulled into fieldgate as work orders. */
    openServiceOrderStatuses: z.array(z.string()).min(1),
    /** Billing's order type codes → fieldgate's work-order types; codes not listed are left in billing. */
    serviceOrderTypes: z.record(z.string(), z.string()),
  }),
});

export type BillingMapping = z.infer<typeof billingMappingSchema>;
export type MappedEntity = Exclude<keyof BillingMapping, 'values'>;
