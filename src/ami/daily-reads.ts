import { DateTime } from 'luxon';
import type { Knex } from 'knex';
import { wrapOnDials } from '../core/consumption.js';
import type { VeeConfig } from '../core/vee/config.js';
import { checkDayAgainstHistory, dailyTotals, intervalsInDay, zeroRuns, type DayTotal } from '../core/vee/rules/daily.js';
import { checkRegisterAdvance } from '../core/vee/rules/register-advance.js';
import { sumCheck } from '../core/vee/rules/sum-check.js';
import { isoAt, type Interval, type VeeFinding } from '../core/vee/types.js';
import type { ReadUploadRow } from '../billing/queries.js';
import { BILLING_READ } from '../readings/import-readings.js';
import type { TouchedSpan } from './day-ledger.js';
import type { AmiRegister } from './meter-directory.js';

/**
 * Derived reads: billing needs a register read, not intervals. For every complete local day
 * (all of its 92, 96 or 100 intervals present, actual or estimated) the register at the day's
 * end is the previous day's derived read plus the day's consumption over the meter's
 * multiplier, wrapped on its dials. A register's first derived day starts from billing's last
 * billed read and is marked estimated (the use between that read and the day is not known).
 * Each derived read goes to the outbox once; the post-readings job takes it to billing.
 */
export interface DerivedRead {
  meterId: string;
  channel: number;
  date: string;
  value: number;
  consumption: number;
  readType: 'A' | 'E';
  flags: string | null;
  intervals: number;
  estimated: number;
}

export interface DerivationResult {
  reads: DerivedRead[];
  findings: (VeeFinding & { meterId: string })[];
}

/** Pure: a register's stored days and history in, derived reads and daily findings out. */
export function deriveRegisterDays(
  span: TouchedSpan,
  days: readonly DayTotal[],
  reg: AmiRegister,
  previous: { date: string; value: number; consumption: number }[],
  vee: VeeConfig,
): DerivationResult {
  const reads: DerivedRead[] = [];
  const findings: DerivationResult['findings'] = [];
  const complete = days.filter((d) => d.intervals === intervalsInDay(d, span.seconds));
  const history = previous.filter((p) => complete.length === 0 || p.date < complete[0]!.date);
  const average = history.length >= vee.daily.minHistoryDays ? history.reduce((s, p) => s + p.consumption, 0) / history.length : null;
  let prev = history[0] ?? null;
  for (const day of complete) {
    const chained = prev !== null && prev.date === dayBefore(day.date);
    const start = chained ? prev!.value : reg.lastReadValue;
    const value = round6(wrapOnDials(start + day.total / reg.multiplier, reg.dials));
    const flags = [day.estimated > 0 ? `EST:${day.estimated}` : null, chained ? null : 'ANCHOR:BILLING'].filter(Boolean).join(',') || null;
    reads.push({ meterId: reg.meterId, channel: reg.registerNo, date: day.date, value, consumption: day.total, readType: day.estimated > 0 || !chained ? 'E' : 'A', flags, intervals: day.intervals, estimated: day.estimated });
    for (const f of checkDayAgainstHistory(day, average, vee.daily)) findings.push({ ...f, meterId: reg.meterId });
    prev = { date: day.date, value, consumption: day.total };
  }
  for (const f of zeroRuns(complete, vee.zeroDays)) findings.push({ ...f, meterId: reg.meterId });
  return { reads, findings };
}

/** Reads a touched span's intervals and history from the store, derives, and stores the reads. */
export async function deriveAndStore(db: Knex, span: TouchedSpan, reg: AmiRegister, zone: string, vee: VeeConfig, now: string): Promise<DerivationResult> {
  const rows = (await db('ami_intervals')
    .select('start_at', 'seconds', 'value', 'quality')
    .where({ meter_id: span.meterId, channel: span.channel })
    .andWhere('start_at', '>=', span.from)
    .andWhere('start_at', '<', span.to)
    .orderBy('start_at')) as { start_at: number; seconds: number; value: number; quality: 'A' | 'E' }[];
  const intervals: Interval[] = rows.map((r) => ({ startAt: Number(r.start_at), seconds: r.seconds, value: r.value, quality: r.quality, flags: null }));
  const days = dailyTotals(intervals, zone);
  const firstDate = DateTime.fromSeconds(span.from, { zone }).toISODate()!;
  const previous = (await db('ami_daily_reads')
    .select({ date: 'read_date', value: 'value', consumption: 'consumption' })
    .where({ meter_id: span.meterId, channel: span.channel })
    .andWhere('read_date', '<', firstDate)
    .orderBy('read_date', 'desc')
    .limit(vee.daily.historyDays)) as { date: string; value: number; consumption: number }[];
  const result = deriveRegisterDays(span, days, reg, previous, vee);
  result.findings.push(...(await registerSumChecks(db, span, reg, intervals, vee)));
  if (result.reads.length > 0) {
    await db.transaction(async (trx) => {
      await trx('ami_daily_reads')
        .insert(result.reads.map((r) => ({ meter_id: r.meterId, channel: r.channel, read_date: r.date, value: r.value, consumption: r.consumption, read_type: r.readType, flags: r.flags, intervals: r.intervals, estimated: r.estimated, derived_at: now })))
        .onConflict(['meter_id', 'channel', 'read_date'])
        .merge();
      const outbox = result.reads.map((r) => ({ kind: BILLING_READ, key: readKey(r), payload: JSON.stringify(uploadRow(r, zone)), status: 'pending', attempts: 0, created_at: now }));
      // A day already sent keeps its key: billing is told about a day once.
      await trx('outbox').insert(outbox).onConflict(['kind', 'key']).ignore();
    });
  }
  return result;
}

/** Sum check wherever two register reads bracket intervals in the span. */
async function registerSumChecks(db: Knex, span: TouchedSpan, reg: AmiRegister, intervals: readonly Interval[], vee: VeeConfig): Promise<DerivationResult['findings']> {
  const reads = (await db('ami_register_reads')
    .select('read_at', 'value')
    .where({ meter_id: span.meterId, channel: span.channel })
    .andWhere('read_at', '>=', span.from)
    .andWhere('read_at', '<=', span.to)
    .orderBy('read_at')) as { read_at: number; value: number }[];
  const findings: DerivationResult['findings'] = [];
  for (let i = 1; i < reads.length; i++) {
    const a = reads[i - 1]!;
    const b = reads[i]!;
    const advance = checkRegisterAdvance(a.value, b.value, reg.dials, Number(b.read_at));
    for (const f of advance.findings) findings.push({ ...f, meterId: reg.meterId });
    if (advance.units < 0) continue;
    const within = intervals.filter((iv) => iv.startAt >= Number(a.read_at) && iv.startAt + iv.seconds <= Number(b.read_at));
    const expected = (Number(b.read_at) - Number(a.read_at)) / span.seconds;
    if (within.length !== expected) continue; // a sum over missing intervals proves nothing
    const sum = within.reduce((s, iv) => s + iv.value, 0);
    for (const f of sumCheck(sum, advance.units * reg.multiplier, vee.sumTolerance, Number(a.read_at))) findings.push({ ...f, meterId: reg.meterId, message: `${isoAt(Number(a.read_at))} to ${isoAt(Number(b.read_at))}: ${f.message}` });
  }
  return findings;
}

export function readKey(r: Pick<DerivedRead, 'meterId' | 'channel' | 'date'>): string {
  return `AMI:${r.meterId}:${r.channel}:${r.date}`;
}

function uploadRow(r: DerivedRead, zone: string): ReadUploadRow {
  return {
    readKey: readKey(r),
    meterId: r.meterId,
    registerNo: r.channel,
    readValue: Math.floor(r.value),
    readAt: DateTime.fromISO(r.date, { zone }).plus({ days: 1 }).toUTC().toISO()!,
    readType: r.readType === 'A' ? 'actual' : 'estimated',
    source: 'AMI',
    readerId: null,
    method: 'R',
    readCode: null,
    skipCode: null,
    troubleCode: null,
    note: r.flags?.slice(0, 40) ?? null,
  };
}

function dayBefore(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
