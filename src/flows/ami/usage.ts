/**
 * A meter register's usage for CSRs and customers: intervals, days or months between two
 * local dates, each with its quality (how many estimated) so a chart can mark them. Reads the
 * store a register at a time, so an account-year export streams.
 */

import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { dailyTotals, localDay } from '../../core/vee/rules/daily.js';
import { isoAt, round6, type Interval } from '../../core/vee/types.js';
import { espiFeed, type EspiFeedOptions } from './espi-writer.js';
import { registerDayTotals, registerDerivedDays, registerIntervals } from '../../infra/store/ami-repo.js';

export { meterChannels } from '../../infra/store/ami-repo.js';

export type UsageGrain = 'interval' | 'day' | 'month';

export interface UsagePoint {
  /** Interval start (UTC ISO) or local date (YYYY-MM-DD) or month (YYYY-MM). */
  at: string;
  value: number;
  /** Intervals behind the value, and how many of them were estimated. */
  intervals: number;
  estimated: number;
  flags?: string | null;
}

export interface RegisterUsage {
  meterId: string;
  channel: number;
  seconds: number | null;
  grain: UsageGrain;
  points: UsagePoint[];
  total: number;
}

export interface UsageRange {
  from: string;
  to: string;
  zone: string;
}

/** UTC epoch seconds of local midnight at the start of `from` and after `to` (inclusive range). */
export function rangeSeconds(r: UsageRange): [number, number] {
  return [
    DateTime.fromISO(r.from, { zone: r.zone }).toSeconds(),
    DateTime.fromISO(r.to, { zone: r.zone }).plus({ days: 1 }).toSeconds(),
  ];
}

export async function registerUsage(
  db: Knex,
  meterId: string,
  channel: number,
  r: UsageRange,
  grain: UsageGrain,
): Promise<RegisterUsage> {
  if (grain !== 'interval') {
    const byDay = await dayTotals(db, meterId, channel, r);
    const points = grain === 'day' ? byDay.days : byMonth(byDay.days);
    const total = round6(points.reduce((s, p) => s + p.value, 0));
    return { meterId, channel, seconds: byDay.seconds, grain, points, total };
  }
  const intervals = await registerIntervals(db, meterId, channel, rangeSeconds(r));
  const points = intervals.map((iv) => ({
    at: isoAt(iv.startAt),
    value: iv.value,
    intervals: 1,
    estimated: iv.quality === 'E' ? 1 : 0,
    flags: iv.flags,
  }));
  const total = round6(points.reduce((s, p) => s + p.value, 0));
  return { meterId, channel, seconds: intervals[0]?.seconds ?? null, grain, points, total };
}

/**
 * A register's days: a day the import derived (all its intervals there) from its derived read, the
 * others (today, a day with a gap) summed from the intervals by the store. A year of a register with
 * every day derived is 365 rows by key, not 35,040 intervals.
 */
async function dayTotals(
  db: Knex,
  meterId: string,
  channel: number,
  r: UsageRange,
): Promise<{ days: UsagePoint[]; seconds: number | null }> {
  const days = localDays(r);
  if (days.length === 0) return { days: [], seconds: null };
  const derived = await registerDerivedDays(db, meterId, channel, r.from, r.to);
  const open = days.map((d, i) => ({ ...d, i })).filter((d) => !derived.has(d.date));
  const summed = new Map<number, UsagePoint>();
  let seconds: number | null = null;
  if (open.length > 0) {
    // Only the span of the days not derived is read from the intervals.
    const span = days.slice(open[0]!.i, open[open.length - 1]!.i + 1);
    const bounds: [number, number] = [span[0]!.dayStart, span[span.length - 1]!.dayEnd];
    const rows = await registerDayTotals(db, meterId, channel, [...span.map((d) => d.dayStart), bounds[1]]);
    if (rows) {
      seconds = rows[0]?.seconds ?? null;
      for (const x of rows) {
        const day = span[x.day]!;
        summed.set(day.dayStart, {
          at: day.date,
          value: round6(x.total),
          intervals: x.intervals,
          estimated: x.estimated,
        });
      }
    } else {
      // A store with no time zones in SQL (SQLite): the span's intervals summed here.
      const intervals = await registerIntervals(db, meterId, channel, bounds);
      seconds = intervals[0]?.seconds ?? null;
      for (const d of dailyTotals(intervals, r.zone))
        summed.set(d.dayStart, { at: d.date, value: d.total, intervals: d.intervals, estimated: d.estimated });
    }
  }
  const points: UsagePoint[] = [];
  for (const d of days) {
    const kept = derived.get(d.date);
    const point = kept
      ? { at: d.date, value: round6(kept.consumption), intervals: kept.intervals, estimated: kept.estimated }
      : summed.get(d.dayStart);
    if (point) points.push(point);
  }
  // No interval read (every day derived): the interval length from a derived day's count.
  const first = days.find((d) => derived.has(d.date));
  if (seconds === null && first)
    seconds = Math.round((first.dayEnd - first.dayStart) / derived.get(first.date)!.intervals);
  return { days: points, seconds };
}

/** The local days of a range, each with its first instant and the next day's. */
function localDays(r: UsageRange): { date: string; dayStart: number; dayEnd: number }[] {
  const [from, to] = rangeSeconds(r);
  const out: { date: string; dayStart: number; dayEnd: number }[] = [];
  for (let at = from; at < to;) {
    const day = localDay(at, r.zone);
    out.push(day);
    at = day.dayEnd;
  }
  return out;
}

/** Points summed by a key of their time (a month of days, an hour of intervals), in order. */
export function sumPointsBy(points: readonly UsagePoint[], keyOf: (at: string) => string): UsagePoint[] {
  const sums = new Map<string, UsagePoint>();
  for (const p of points) {
    const key = keyOf(p.at);
    const sum = sums.get(key) ?? { at: key, value: 0, intervals: 0, estimated: 0 };
    sum.value = round6(sum.value + p.value);
    sum.intervals += p.intervals;
    sum.estimated += p.estimated;
    sums.set(key, sum);
  }
  return [...sums.values()];
}

const byMonth = (days: readonly UsagePoint[]) => sumPointsBy(days, (at) => at.slice(0, 7));

/** CSV for a customer: one row per interval, local and UTC time, value, unit, quality. */
export async function* usageCsv(
  db: Knex,
  registers: readonly { meterId: string; channel: number; unit: string }[],
  r: UsageRange,
): AsyncGenerator<string> {
  yield 'meter,register,local_start,utc_start,duration_s,value,unit,quality,flags\r\n';
  for (const reg of registers) {
    for (const iv of await registerIntervals(db, reg.meterId, reg.channel, rangeSeconds(r))) {
      const local = DateTime.fromSeconds(iv.startAt, { zone: r.zone }).toFormat("yyyy-LL-dd'T'HH:mmZZ");
      yield (
        `${reg.meterId},${reg.channel},${local},${isoAt(iv.startAt)},${iv.seconds},${iv.value},${reg.unit},` +
        `${iv.quality === 'E' ? 'estimated' : 'actual'},${iv.flags ?? ''}\r\n`
      );
    }
  }
}

/**
 * Green Button ESPI XML for a customer: one UsagePoint per register, an IntervalBlock per local
 * day. An account's registers are read first (a year of 15-minute data is 35,000 rows each),
 * then written out as the feed streams.
 */
export async function usageEspi(
  db: Knex,
  registers: readonly { meterId: string; channel: number; unit: string }[],
  r: UsageRange,
  updated: string,
  opts: EspiFeedOptions & {
    /** Instants (epoch seconds, end exclusive) instead of the range's local days: ESPI's published-min/max. */
    seconds?: [number, number];
  } = {},
): Promise<Generator<string>> {
  const points = [];
  for (const reg of registers) {
    const intervals = await registerIntervals(db, reg.meterId, reg.channel, opts.seconds ?? rangeSeconds(r));
    if (intervals.length === 0) continue;
    const blocks: Interval[][] = [];
    let k = 0;
    for (const d of dailyTotals(intervals, r.zone)) {
      blocks.push(intervals.slice(k, k + d.intervals));
      k += d.intervals;
    }
    points.push({
      channel: { meterId: reg.meterId, channel: reg.channel, unit: reg.unit, seconds: intervals[0]!.seconds },
      blocks,
    });
  }
  return espiFeed(points, { updated, title: `usage ${r.from} to ${r.to}`, ...opts });
}
