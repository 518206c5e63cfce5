import { DateTime } from 'luxon';
import { round6, type Interval, type VeeFinding } from '../types.js';

export interface DayTotal {
  /** Local date, YYYY-MM-DD. */
  date: string;
  /** First instant of the local day (UTC epoch seconds). */
  dayStart: number;
  dayEnd: number;
  total: number;
  intervals: number;
  estimated: number;
}

/**
 * Totals per local day. Day boundaries come from the zone (one lookup per day, not per
 * interval), so a spring-forward day is 23 hours and a fall-back day 25.
 */
export function dailyTotals(sorted: readonly Interval[], zone: string): DayTotal[] {
  const days: DayTotal[] = [];
  let day: DayTotal | undefined;
  for (const iv of sorted) {
    if (!day || iv.startAt >= day.dayEnd || iv.startAt < day.dayStart) {
      const span = localDay(iv.startAt, zone);
      day = { date: span.date, dayStart: span.dayStart, dayEnd: span.dayEnd, total: 0, intervals: 0, estimated: 0 };
      days.push(day);
    }
    day.total += iv.value;
    day.intervals++;
    if (iv.quality === 'E') day.estimated++;
  }
  for (const d of days) d.total = round6(d.total);
  return days;
}

/**
 * The local day an instant falls in. Zone arithmetic is slow (tens of microseconds), and an
 * import asks about the same few days for every meter, so answers are kept per zone and
 * 15-minute slot (every zone's offset is a multiple of 15 minutes, so a slot never straddles
 * a local midnight).
 */
const dayCache = new Map<string, Map<number, { date: string; dayStart: number; dayEnd: number }>>();

export function localDay(at: number, zone: string): { date: string; dayStart: number; dayEnd: number } {
  let cache = dayCache.get(zone);
  if (!cache) dayCache.set(zone, (cache = new Map()));
  const slot = Math.floor(at / 900);
  let span = cache.get(slot);
  if (!span) {
    if (cache.size > 200_000) cache.clear();
    const start = DateTime.fromSeconds(at, { zone }).startOf('day');
    span = { date: start.toISODate()!, dayStart: start.toSeconds(), dayEnd: start.plus({ days: 1 }).toSeconds() };
    cache.set(slot, span);
  }
  return span;
}

/** Intervals a local day owes at this length: 96 normally, 92 or 100 on DST days at 15 minutes. */
export function intervalsInDay(day: Pick<DayTotal, 'dayStart' | 'dayEnd'>, seconds: number): number {
  return (day.dayEnd - day.dayStart) / seconds;
}

/** High/low: a day's total against the meter's recent daily average. */
export function checkDayAgainstHistory(
  day: DayTotal,
  averageDaily: number | null,
  s: { highFactor: number; lowFactor: number },
): VeeFinding[] {
  if (averageDaily === null || averageDaily <= 0) return [];
  if (day.total > averageDaily * s.highFactor) {
    return [
      {
        rule: 'HIGH_USAGE',
        severity: 'warn',
        at: day.dayStart,
        field: 'total',
        value: day.total,
        message:
          `${day.date} used ${day.total}, over ${s.highFactor}× the recent daily average ` + `${round3(averageDaily)}`,
      },
    ];
  }
  if (day.total > 0 && day.total < averageDaily * s.lowFactor) {
    return [
      {
        rule: 'LOW_USAGE',
        severity: 'warn',
        at: day.dayStart,
        field: 'total',
        value: day.total,
        message:
          `${day.date} used ${day.total}, under ${s.lowFactor}× the recent daily average ` + `${round3(averageDaily)}`,
      },
    ];
  }
  return [];
}

/**
 * Zero consumption for `n` days or more in a row: a stopped meter, a vacant premise or a
 * bypass. `before` is how many zero days in a row ended just before the first day given.
 */
export function zeroRuns(days: readonly DayTotal[], n: number, before = 0): VeeFinding[] {
  const findings: VeeFinding[] = [];
  let run = before;
  let runStart: DayTotal | undefined;
  for (const d of days) {
    if (d.total === 0) {
      run++;
      runStart ??= d;
      if (run === n)
        findings.push({
          rule: 'ZERO_CONSUMPTION',
          severity: 'warn',
          at: runStart.dayStart,
          field: 'total',
          value: 0,
          message: `no consumption for ${n} days in a row up to ${d.date}`,
        });
    } else {
      run = 0;
      runStart = undefined;
    }
  }
  return findings;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
