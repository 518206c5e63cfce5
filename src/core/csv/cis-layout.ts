/**
 * A CIS's hand-held exchange files as data (`config/cis-layouts/*.json`): which column holds what
 * in the route export it writes, and in the readings and field-work files it imports. Pure: the
 * layout's JSON is checked here, and a route record's fields read against it, each problem naming
 * its field.
 */

import { z } from 'zod';
import { isCalendarDate } from '../calendar.js';

const header = z.string().min(1).max(60);
const trailer = z.strictObject({
  /** The first field of the trailer row. */
  first: z.string().min(1).max(20),
  /** Which field (0-based) holds the record count. */
  count: z.number().int().min(1).max(20),
  sumOf: z.string().optional(),
  sum: z.number().int().min(1).max(20).optional(),
  batch: z.number().int().min(1).max(20).optional(),
});

export const ROUTE_FIELDS = [
  'route',
  'routeDescription',
  'cycle',
  'readDate',
  'sequence',
  'accountNo',
  'customerName',
  'accountStatus',
  'rateCode',
  'premiseId',
  'address',
  'city',
  'meterId',
  'serial',
  'meterType',
  'dials',
  'multiplier',
  'radioId',
  'register',
  'uom',
  'prevRead',
  'prevReadDate',
  'prevConsumption',
  'location',
  'recordCode',
] as const;
export const READ_FIELDS = [
  'batchId',
  'meterId',
  'register',
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
] as const;
export const ORDER_FIELDS = [
  'orderNo',
  'accountNo',
  'meterId',
  'orderType',
  'status',
  'createdAt',
  'dueDate',
  'notes',
] as const;
export const REQUIRED_ORDER_FIELDS = ['orderNo', 'accountNo', 'orderType'] as const;

export const FIELDWORK_FIELDS = [
  'batchId',
  'orderNo',
  'outcome',
  'completedAt',
  'technician',
  'finalRead',
  'newMeterSerial',
  'newMeterRead',
] as const;

/** The route export's columns a record cannot be read without. */
export const REQUIRED_ROUTE_FIELDS = [
  'route',
  'accountNo',
  'meterId',
  'register',
  'dials',
  'prevRead',
  'prevReadDate',
] as const;
export const REQUIRED_READ_FIELDS = ['batchId', 'meterId', 'register', 'readValue', 'readAt'] as const;

const columns = <K extends string>(keys: readonly K[], required: readonly K[]) =>
  z
    .record(z.enum(keys as unknown as [K, ...K[]]), header)
    .refine((c) => required.every((k) => k in c), { message: `needs columns for ${required.join(', ')}` });

export const cisLayoutSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]{1,40}$/),
  description: z.string().max(500),
  delimiter: z.string().length(1),
  lineEnding: z.enum(['\r\n', '\n']),
  routes: z.strictObject({
    header: z.literal(true),
    trailer: trailer.nullable(),
    columns: columns(ROUTE_FIELDS, REQUIRED_ROUTE_FIELDS),
    dateFormat: z.literal('YYYY-MM-DD'),
  }),
  orders: z.strictObject({
    header: z.literal(true),
    trailer: trailer.nullable(),
    columns: columns(ORDER_FIELDS, REQUIRED_ORDER_FIELDS),
  }),
  reads: z.strictObject({
    header: z.literal(true),
    trailer: trailer.nullable(),
    columns: columns(READ_FIELDS, REQUIRED_READ_FIELDS),
  }),
  fieldwork: z.strictObject({
    header: z.literal(true),
    trailer: trailer.nullable(),
    columns: columns(FIELDWORK_FIELDS, ['batchId', 'orderNo', 'outcome', 'completedAt']),
  }),
});
export type CisLayout = z.infer<typeof cisLayoutSchema>;

export interface CisRouteRecord {
  route: string;
  routeDescription: string;
  cycle: number;
  readDate: string;
  sequence: number;
  accountNo: string;
  customerName: string;
  accountStatus: string;
  rateCode: string;
  premiseId: string;
  address: string;
  city: string;
  meterId: string;
  serial: string;
  meterType: 'W' | 'E' | 'G';
  dials: number;
  multiplier: number;
  radioId: string | null;
  register: number;
  uom: string;
  prevRead: number;
  prevReadDate: string;
  prevConsumption: number | null;
  location: string | null;
  recordCode: string | null;
}

export interface RecordProblem {
  field: string;
  value: string;
  message: string;
}

const TYPES: Record<string, 'W' | 'E' | 'G'> = { W: 'W', WATER: 'W', E: 'E', ELECTRIC: 'E', G: 'G', GAS: 'G' };
const UNITS: Record<'W' | 'E' | 'G', string> = { W: 'GAL', E: 'KWH', G: 'THERM' };

/**
 * Where each column of the layout is in a file, from its header row, and the required ones it
 * lacks (an optional column a CIS does not write is simply empty).
 */
export function headerIndex<K extends string>(
  cols: Partial<Record<K, string>>,
  headerFields: readonly string[],
  required: readonly NoInfer<K>[] = [],
): { index: Partial<Record<K, number>>; missing: string[] } {
  const at = new Map(headerFields.map((h, i) => [h.trim().toUpperCase(), i]));
  const index: Partial<Record<K, number>> = {};
  const missing: string[] = [];
  for (const [key, name] of Object.entries(cols) as [K, string][]) {
    const i = at.get(name.toUpperCase());
    if (i !== undefined) index[key] = i;
    else if (required.includes(key)) missing.push(name);
  }
  return { index, missing };
}

/** Reads a record's fields by the layout's column index, noting each problem. */
function fieldReader<K extends string>(
  fields: readonly string[],
  index: Partial<Record<K, number>>,
  problems: RecordProblem[],
) {
  const text = (k: K) => {
    const i = index[k];
    return i === undefined ? '' : (fields[i] ?? '').trim();
  };
  const need = (k: K, max: number) => {
    const v = text(k);
    if (!v) problems.push({ field: k, value: '', message: 'required' });
    else if (v.length > max) problems.push({ field: k, value: v.slice(0, 40), message: `at most ${max} characters` });
    return v;
  };
  return { text, need };
}

/** A file's trailer row, as the layout has it: its first field, then the count (and sum, batch) where it says. */
export function trailerFields(
  t: { first: string; count: number; sum?: number; batch?: number },
  values: { count: number; sum?: number; batch?: string },
): (string | number)[] {
  const cells: (string | number)[] = [t.first];
  cells[t.count] = values.count;
  if (t.sum !== undefined && values.sum !== undefined) cells[t.sum] = values.sum;
  if (t.batch !== undefined && values.batch !== undefined) cells[t.batch] = values.batch;
  return Array.from(cells, (c) => c ?? '');
}

/** One route record, read against the layout's columns; the first problem of each field. */
export function readRouteRecord(
  fields: readonly string[],
  index: Partial<Record<(typeof ROUTE_FIELDS)[number], number>>,
  position: number,
): { record: CisRouteRecord | null; problems: RecordProblem[] } {
  const problems: RecordProblem[] = [];
  const { text, need } = fieldReader(fields, index, problems);
  const int = (k: (typeof ROUTE_FIELDS)[number], opts: { min: number; max: number; optional?: number }) => {
    const v = text(k);
    if (!v && opts.optional !== undefined) return opts.optional;
    if (!/^-?\d+$/.test(v) || Number(v) < opts.min || Number(v) > opts.max) {
      problems.push({ field: k, value: v, message: `a whole number from ${opts.min} to ${opts.max}` });
      return 0;
    }
    return Number(v);
  };
  const day = (k: (typeof ROUTE_FIELDS)[number], optional: boolean) => {
    const v = text(k);
    if (!v && optional) return '';
    if (!isCalendarDate(v)) problems.push({ field: k, value: v, message: 'a date, YYYY-MM-DD' });
    return v;
  };
  const route = need('route', 10);
  const accountNo = need('accountNo', 15);
  const meterId = need('meterId', 12);
  const register = int('register', { min: 1, max: 99 });
  const dials = int('dials', { min: 1, max: 12 });
  const prevRead = int('prevRead', { min: 0, max: 10 ** 12 });
  if (dials > 0 && prevRead >= 10 ** dials)
    problems.push({
      field: 'prevRead',
      value: String(prevRead),
      message: `a ${dials}-dial register reads at most ${10 ** dials - 1}`,
    });
  const prevReadDate = day('prevReadDate', false);
  const readDate = day('readDate', true);
  const typeText = text('meterType').toUpperCase();
  const meterType = typeText ? TYPES[typeText] : 'W';
  if (!meterType) problems.push({ field: 'meterType', value: typeText, message: 'W, E or G (water, electric, gas)' });
  const multiplierText = text('multiplier');
  const multiplier = multiplierText ? Number(multiplierText) : 1;
  if (!(multiplier > 0) || !Number.isFinite(multiplier))
    problems.push({ field: 'multiplier', value: multiplierText, message: 'a number above 0' });
  const consumptionText = text('prevConsumption');
  const prevConsumption = consumptionText ? Number(consumptionText) : null;
  if (prevConsumption !== null && !(prevConsumption >= 0))
    problems.push({ field: 'prevConsumption', value: consumptionText, message: 'a number of units, 0 or more' });
  const sequence = int('sequence', { min: 0, max: 9_999_999, optional: position * 10 });
  const cycleText = text('cycle');
  const cycle = cycleText ? int('cycle', { min: 0, max: 999 }) : readDate ? Number(readDate.slice(5, 7)) : 0;
  if (problems.length) return { record: null, problems };
  const opt = (k: (typeof ROUTE_FIELDS)[number], max: number) => text(k).slice(0, max) || null;
  return {
    record: {
      route,
      routeDescription: opt('routeDescription', 60) ?? `Route ${route}`,
      cycle,
      readDate: readDate || prevReadDate,
      sequence,
      accountNo,
      customerName: opt('customerName', 60) ?? '',
      accountStatus: opt('accountStatus', 1) ?? 'A',
      rateCode: opt('rateCode', 10) ?? `${meterType}-RES`,
      premiseId: opt('premiseId', 12) ?? `P${accountNo}`.slice(0, 12),
      address: opt('address', 60) ?? '',
      city: opt('city', 40) ?? '',
      meterId,
      serial: opt('serial', 12) ?? meterId,
      meterType: meterType!,
      dials,
      multiplier,
      radioId: opt('radioId', 10),
      register,
      uom: (opt('uom', 8) ?? UNITS[meterType!]).toUpperCase(),
      prevRead,
      prevReadDate,
      prevConsumption,
      location: opt('location', 60),
      recordCode: opt('recordCode', 4),
    },
    problems,
  };
}

export interface CisServiceOrder {
  orderNo: string;
  accountNo: string;
  meterId: string | null;
  orderType: string;
  status: string;
  createdAt: string;
  dueDate: string | null;
  notes: string | null;
}

/** One service order from the CIS's order export; the problems of a record it cannot read. */
export function readOrderRecord(
  fields: readonly string[],
  index: Partial<Record<(typeof ORDER_FIELDS)[number], number>>,
  now: string,
): { record: CisServiceOrder | null; problems: RecordProblem[] } {
  const problems: RecordProblem[] = [];
  const { text, need } = fieldReader(fields, index, problems);
  const orderNo = need('orderNo', 12);
  const accountNo = need('accountNo', 15);
  const orderType = need('orderType', 20);
  const due = text('dueDate');
  if (due && !isCalendarDate(due)) problems.push({ field: 'dueDate', value: due, message: 'a date, YYYY-MM-DD' });
  const created = text('createdAt');
  if (created && Number.isNaN(Date.parse(created)))
    problems.push({ field: 'createdAt', value: created, message: 'a date and time, ISO 8601' });
  if (problems.length) return { record: null, problems };
  return {
    record: {
      orderNo,
      accountNo,
      meterId: text('meterId').slice(0, 12) || null,
      orderType,
      status: (text('status') || 'OPEN').slice(0, 10),
      createdAt: created ? new Date(created).toISOString() : now,
      dueDate: due || null,
      notes: text('notes').slice(0, 200) || null,
    },
    problems,
  };
}
