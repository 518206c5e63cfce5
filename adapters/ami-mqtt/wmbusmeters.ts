/**
 * wmbusmeters' JSON (one message per decoded wireless M-Bus / OMS telegram), as its `shell=`
 * or MQTT output sends it:
 *   {"_":"telegram","media":"water","meter":"multical21","name":"Tap","id":"76348799",
 *    "total_m3":6.408,"target_m3":6.408,"target_date":"2026-11-01","timestamp":"2026-11-23T06:00:05Z"}
 * Quantities are fields named with a unit suffix (`_m3`, `_kwh`, …). A meter spreads its fields
 * over several telegrams, so a field that is absent (or null) is missing, never zero. History
 * comes as `<name>_<unit>` next to `<name>_date` (`target_m3` with `target_date`,
 * `history_3_m3` with `history_3_date`), or as arrays of values and dates. Pure.
 */

import { z } from 'zod';

/** wmbusmeters' unit suffixes of register quantities, and the unit fieldgate's unit table knows them by. */
export const WMBUS_UNITS: Record<string, string> = {
  m3: 'M3',
  l: 'L',
  kwh: 'KWH',
  mwh: 'MWH',
  gj: 'GJ',
  mj: 'MJ',
  hca: 'HCA',
  kvarh: 'KVARH',
};

export interface WmbusReading {
  /** The field it came from, e.g. total_m3. */
  field: string;
  /** fieldgate's unit (M3, KWH, …). */
  unit: string;
  /** Epoch seconds: the telegram's time for a current value, the end of the stated day for history. */
  at: number;
  value: number;
  history: boolean;
}

export interface WmbusTelegram {
  meterId: string;
  driver: string | null;
  media: string | null;
  name: string | null;
  receivedAt: number;
  readings: WmbusReading[];
}

export type WmbusParse = { ok: true; telegram: WmbusTelegram } | { ok: false; field: string; message: string };

export interface WmbusOptions {
  /** Accepted receive times (epoch seconds); wmbusmeters prints 1111-11-11T11:11:11Z when it has no clock. */
  window: { from: number; to: number };
  /** Fields read as the meter's current register, by preference; the first present of each unit wins. */
  totalFields: readonly string[];
}

const MAX_HISTORY = 64;
const isoUtc = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const dayOnly = /^(\d{4}-\d\d-\d\d)(?:[ T]\d\d:\d\d(?::\d\d)?)?$/;

const envelope = z.looseObject({
  _: z.literal('telegram').optional(),
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/, 'expected the meter id wmbusmeters prints (letters and digits)'),
  meter: z.string().max(64).optional(),
  driver: z.string().max(64).optional(),
  media: z.string().max(64).optional(),
  name: z.string().max(128).optional(),
  timestamp: z.string().regex(isoUtc, 'expected a UTC time such as 2026-11-23T06:00:05Z'),
});

export function parseWmbusmeters(payload: string, opts: WmbusOptions): WmbusParse {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (err) {
    return { ok: false, field: '(json)', message: `not JSON: ${(err as Error).message}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return { ok: false, field: '(message)', message: 'expected one JSON object per telegram' };
  const env = envelope.safeParse(json);
  if (!env.success) {
    const issue = env.error.issues[0]!;
    return { ok: false, field: issue.path.join('.') || '(message)', message: issue.message };
  }
  const e = env.data;
  const receivedAt = Math.floor(Date.parse(e.timestamp) / 1000);
  const { from, to } = opts.window;
  if (!Number.isFinite(receivedAt) || receivedAt < from || receivedAt > to) {
    const when = receivedAt < from ? 'before' : 'after';
    return {
      ok: false,
      field: 'timestamp',
      message:
        `${e.timestamp} is ${when} the window of accepted times (${iso(from)} to ${iso(to)}, ami.wmbusmeters); ` +
        `is the receiver's clock set?`,
    };
  }
  const fields = json as Record<string, unknown>;
  const readings: WmbusReading[] = [];
  const currentUnits = new Set<string>();
  for (const name of opts.totalFields) {
    const unit = unitOf(name);
    const value = fields[name];
    if (!unit || currentUnits.has(unit) || typeof value !== 'number' || !Number.isFinite(value)) continue;
    currentUnits.add(unit);
    readings.push({ field: name, unit, at: receivedAt, value, history: false });
  }
  for (const [name, value] of Object.entries(fields)) {
    const unit = unitOf(name);
    if (!unit || opts.totalFields.includes(name)) continue;
    const dates = dateFieldFor(fields, name.slice(0, name.lastIndexOf('_')));
    if (dates === undefined) continue;
    if (typeof value === 'number' && typeof dates === 'string') {
      const at = endOfDay(dates);
      if (at !== null && Number.isFinite(value)) readings.push({ field: name, unit, at, value, history: true });
    } else if (Array.isArray(value) && Array.isArray(dates)) {
      for (let k = 0; k < Math.min(value.length, dates.length, MAX_HISTORY); k++) {
        const v: unknown = value[k];
        const d: unknown = dates[k];
        const at = typeof d === 'string' ? endOfDay(d) : null;
        if (typeof v === 'number' && Number.isFinite(v) && at !== null)
          readings.push({ field: `${name}[${k}]`, unit, at, value: v, history: true });
      }
    }
  }
  return {
    ok: true,
    telegram: {
      meterId: e.id,
      driver: e.driver ?? e.meter ?? null,
      media: e.media ?? null,
      name: e.name ?? null,
      receivedAt,
      readings,
    },
  };
}

function unitOf(field: string): string | null {
  const at = field.lastIndexOf('_');
  return at > 0 ? (WMBUS_UNITS[field.slice(at + 1)] ?? null) : null;
}

/**
 * The date a history value belongs to: `<name>_date`, or that of a shorter name
 * (`target_energy_consumption_kwh` is dated by `target_date`).
 */
function dateFieldFor(fields: Record<string, unknown>, stem: string): unknown {
  for (let s = stem; s.length > 0; s = s.includes('_') ? s.slice(0, s.lastIndexOf('_')) : '') {
    const d = fields[`${s}_date`];
    if (typeof d === 'string' || Array.isArray(d)) return d;
  }
  return undefined;
}

/** A stored (due-date, month-end) value is the register at the end of its day: 00:00 UTC of the next. */
function endOfDay(text: string): number | null {
  const m = dayOnly.exec(text);
  if (!m) return null;
  const start = Date.parse(`${m[1]}T00:00:00Z`);
  return Number.isFinite(start) ? start / 1000 + 86_400 : null;
}

function iso(s: number): string {
  return new Date(s * 1000).toISOString().replace('.000Z', 'Z');
}
