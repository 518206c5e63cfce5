/**
 * Derived reads: billing needs a register read, not intervals. For every complete local day
 * (all of its 92, 96 or 100 intervals present, actual or estimated) the register at the day's
 * end is the previous day's derived read plus the day's consumption over the meter's
 * multiplier, wrapped on its dials. A register's first derived day starts from billing's last
 * billed read and is marked estimated (the use between that read and the day is not known).
 * Each derived read goes to the outbox once; the post-readings job takes it to billing.
 */

import { DateTime } from 'luxon';
import type { Knex } from 'knex';
import { wrapOnDials } from '../../core/consumption.js';
import type { VeeConfig } from '../../core/vee/config.js';
import {
  checkDayAgainstHistory,
  dailyTotals,
  intervalsInDay,
  zeroRuns,
  type DayTotal,
} from '../../core/vee/rules/daily.js';
import { checkRegisterAdvance } from '../../core/vee/rules/register-advance.js';
import { sumCheck } from '../../core/vee/rules/sum-check.js';
import { isoAt, round6, type Interval, type VeeFinding } from '../../core/vee/types.js';
import { addDays } from '../../core/local-time.js';
import type { ReadUploadRow } from '../../infra/billing/queries.js';
import { BILLING_READ } from '../readings/import-readings.js';
import type { RegisterDays } from './day-ledger.js';
import type { AmiRegister } from './meter-directory.js';
import {
  dailyReadsBetween,
  registerIntervals,
  registerReadsBetween,
  upsertDailyReads,
} from '../../infra/store/ami-repo.js';
import { enqueueNew } from '../../infra/store/outbox-repo.js';

export interface DerivedRead {
  meterId: string;
  channel: number;
  date: string;
  /** The end of the local day (epoch seconds): when billing's read is taken. */
  dayEnd: number;
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

/** Pure: a register's days and history in, derived reads and daily findings out. */
export function deriveRegisterDays(
  seconds: number,
  days: readonly DayTotal[],
  reg: AmiRegister,
  previous: readonly { date: string; value: number; consumption: number }[],
  vee: VeeConfig,
): DerivationResult {
  const reads: DerivedRead[] = [];
  const findings: DerivationResult['findings'] = [];
  const complete = days.filter((d) => d.intervals === intervalsInDay(d, seconds));
  const history = previous
    .filter((p) => complete.length === 0 || p.date < complete[0]!.date)
    .sort((a, b) => (a.date < b.date ? 1 : -1));
  const average =
    history.length >= vee.daily.minHistoryDays ? history.reduce((s, p) => s + p.consumption, 0) / history.length : null;
  let prev = history[0] ?? null;
  for (const day of complete) {
    const chained = prev !== null && prev.date === addDays(day.date, -1);
    const start = chained ? prev!.value : reg.lastReadValue;
    const value = round6(wrapOnDials(start + day.total / reg.multiplier, reg.dials));
    const flags =
      [day.estimated > 0 ? `EST:${day.estimated}` : null, chained ? null : 'ANCHOR:BILLING']
        .filter(Boolean)
        .join(',') || null;
    reads.push({
      meterId: reg.meterId,
      channel: reg.registerNo,
      date: day.date,
      dayEnd: day.dayEnd,
      value,
      consumption: day.total,
      readType: day.estimated > 0 || !chained ? 'E' : 'A',
      flags,
      intervals: day.intervals,
      estimated: day.estimated,
    });
    for (const f of checkDayAgainstHistory(day, average, vee.daily)) findings.push({ ...f, meterId: reg.meterId });
    prev = { date: day.date, value, consumption: day.total };
  }
  for (const f of zeroRuns(complete, vee.zeroDays)) findings.push({ ...f, meterId: reg.meterId });
  return { reads, findings };
}

/**
 * Derives the daily reads of every register an import touched and stores them, with their
 * outbox rows, in one transaction. Day totals come from the import's ledger; a register whose
 * days are incomplete in this file, or whose rows met rows already stored, is read back from
 * the store instead, so the totals are always those of the stored intervals.
 */
export async function deriveDailyReads(
  db: Knex,
  registers: readonly RegisterDays[],
  opts: { zone: string; vee: VeeConfig; now: string; withRegisterReads: ReadonlySet<string>; batchId: number },
): Promise<DerivationResult> {
  const all: DerivationResult = { reads: [], findings: [] };
  for (let i = 0; i < registers.length; i += 500) {
    const part = registers.slice(i, i + 500);
    const previous = await previousReads(db, part, opts.zone, opts.vee.daily.historyDays);
    for (const r of part) {
      const reg = r.register;
      if (r.days.length === 0) continue;
      const incomplete = r.days.some((d) => d.intervals !== intervalsInDay(d, r.seconds));
      const from = r.days[0]!.dayStart;
      const to = r.days[r.days.length - 1]!.dayEnd;
      const stored =
        r.dirty || incomplete || opts.withRegisterReads.has(`${r.meterId}|${r.channel}`)
          ? await storedIntervals(db, r, from, to)
          : null;
      const days = stored ? dailyTotals(stored, opts.zone) : r.days;
      const result = deriveRegisterDays(
        r.seconds,
        days,
        reg,
        previous.get(`${r.meterId}|${r.channel}`) ?? [],
        opts.vee,
      );
      all.reads.push(...result.reads);
      all.findings.push(...result.findings);
      if (stored && opts.withRegisterReads.has(`${r.meterId}|${r.channel}`))
        all.findings.push(
          ...(await registerSumChecks(db, r, reg, stored, { from, to, batchId: opts.batchId }, opts.vee)),
        );
    }
  }
  await storeDerivedReads(db, all.reads, opts.now);
  return all;
}

async function storedIntervals(db: Knex, r: RegisterDays, from: number, to: number): Promise<Interval[]> {
  return (await registerIntervals(db, r.meterId, r.channel, [from, to])).map((iv) => ({ ...iv, flags: null }));
}

/** The derived reads before each register's first day, for chaining and the daily average. */
async function previousReads(
  db: Knex,
  part: readonly RegisterDays[],
  zone: string,
  historyDays: number,
): Promise<Map<string, { date: string; value: number; consumption: number }[]>> {
  const out = new Map<string, { date: string; value: number; consumption: number }[]>();
  const starts = part.filter((r) => r.days.length > 0).map((r) => r.days[0]!.dayStart);
  if (starts.length === 0) return out;
  const since = DateTime.fromSeconds(Math.min(...starts), { zone })
    .minus({ days: historyDays })
    .toISODate()!;
  const until = DateTime.fromSeconds(Math.max(...starts), { zone }).toISODate()!;
  const rows = await dailyReadsBetween(db, [...new Set(part.map((r) => r.meterId))], since, until);
  for (const row of rows) {
    const key = `${row.meterId}|${row.channel}`;
    const list = out.get(key) ?? [];
    list.push({ date: row.date, value: row.value, consumption: row.consumption });
    out.set(key, list);
  }
  return out;
}

async function storeDerivedReads(db: Knex, reads: readonly DerivedRead[], now: string): Promise<void> {
  if (reads.length === 0) return;
  await db.transaction(async (trx) => {
    // In parts: rows and payloads for a whole file's meter-days at once (100,000 of them) outgrew
    // the import worker's heap and made the import run twice (nightly bench at 10 million intervals).
    for (let i = 0; i < reads.length; i += 500) {
      const part = reads.slice(i, i + 500);
      await upsertDailyReads(
        trx,
        part.map((r) => ({
          meter_id: r.meterId,
          channel: r.channel,
          read_date: r.date,
          value: r.value,
          consumption: r.consumption,
          read_type: r.readType,
          flags: r.flags,
          intervals: r.intervals,
          estimated: r.estimated,
          derived_at: now,
        })),
      );
      // A day already queued or sent keeps its key: billing hears about a day once.
      await enqueueNew(
        trx,
        BILLING_READ,
        part.map((r) => ({ key: readKey(r), payload: uploadRow(r) })),
        now,
      );
    }
  });
}

/** Sum check wherever two register reads bracket intervals in the span. */
async function registerSumChecks(
  db: Knex,
  r: RegisterDays,
  reg: AmiRegister,
  intervals: readonly Interval[],
  span: { from: number; to: number; batchId: number },
  vee: VeeConfig,
): Promise<DerivationResult['findings']> {
  const reads = await registerReadsBetween(db, r.meterId, r.channel, span.from, span.to);
  const findings: DerivationResult['findings'] = [];
  for (let i = 1; i < reads.length; i++) {
    const a = reads[i - 1]!;
    const b = reads[i]!;
    // A pair of reads both stored by earlier batches was checked then (overlapping radio messages met it again).
    if (Number(a.batch_id) !== span.batchId && Number(b.batch_id) !== span.batchId) continue;
    const advance = checkRegisterAdvance(a.value, b.value, reg.dials, Number(b.read_at));
    for (const f of advance.findings) findings.push({ ...f, meterId: reg.meterId });
    if (advance.units < 0) continue;
    const within = intervals.filter(
      (iv) => iv.startAt >= Number(a.read_at) && iv.startAt + iv.seconds <= Number(b.read_at),
    );
    const expected = (Number(b.read_at) - Number(a.read_at)) / r.seconds;
    if (within.length !== expected) continue; // a sum over missing intervals proves nothing
    const sum = within.reduce((s, iv) => s + iv.value, 0);
    for (const f of sumCheck(sum, advance.units * reg.multiplier, vee.sumTolerance, Number(a.read_at)))
      findings.push({
        ...f,
        meterId: reg.meterId,
        message: `${isoAt(Number(a.read_at))} to ${isoAt(Number(b.read_at))}: ${f.message}`,
      });
  }
  return findings;
}

export function readKey(r: Pick<DerivedRead, 'meterId' | 'channel' | 'date'>): string {
  return `AMI:${r.meterId}:${r.channel}:${r.date}`;
}

function uploadRow(r: DerivedRead): ReadUploadRow {
  return {
    readKey: readKey(r),
    meterId: r.meterId,
    registerNo: r.channel,
    readValue: Math.floor(r.value),
    // The day's end as the ledger computed it (luxon per read was an eighth of a large import).
    readAt: new Date(r.dayEnd * 1000).toISOString(),
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
