/**
 * High/low limits for a keyed read, from the account's own history: the expected daily use
 * (recent periods, blended with the same season last year when there is one) times the days
 * since the last billed read. A reader keying outside [low, high] is asked to re-key.
 */

import { wrapOnDials } from './consumption.js';

export interface HistoryPoint {
  /** YYYY-MM-DD of the read that ended the period. */
  date: string;
  /** Units used in the period ending at `date` (already allowing for rollover). */
  consumption: number;
}

export interface LimitSettings {
  historyPeriods: number;
  lowFactor: number;
  highFactor: number;
  minHighSpan: number;
}

export interface LimitInput {
  prevRead: number;
  prevReadDate: string;
  scheduledReadDate: string;
  dials: number;
  /** Oldest first. */
  history: readonly HistoryPoint[];
}

export interface Limits {
  low: number;
  high: number;
  expectedUnits: number;
}

const DAY_MS = 86_400_000;
const days = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS);

export function expectedDailyUse(
  history: readonly HistoryPoint[],
  scheduledReadDate: string,
  periods: number,
): number | null {
  const rates: { date: string; perDay: number }[] = [];
  for (let i = 1; i < history.length; i++) {
    const span = days(history[i - 1]!.date, history[i]!.date);
    if (span > 0 && history[i]!.consumption >= 0)
      rates.push({ date: history[i]!.date, perDay: history[i]!.consumption / span });
  }
  if (rates.length === 0) return null;
  const recent = rates.slice(-periods);
  const recentAvg = recent.reduce((s, r) => s + r.perDay, 0) / recent.length;
  const yearAgo = Date.parse(scheduledReadDate) - 365 * DAY_MS;
  const seasonal = rates.find((r) => Math.abs(Date.parse(r.date) - yearAgo) <= 20 * DAY_MS);
  return seasonal ? (recentAvg + seasonal.perDay) / 2 : recentAvg;
}

export function computeLimits(input: LimitInput, settings: LimitSettings): Limits {
  const capacity = 10 ** input.dials;
  const daily = expectedDailyUse(input.history, input.scheduledReadDate, settings.historyPeriods);
  const span = Math.max(1, days(input.prevReadDate, input.scheduledReadDate));
  const expectedUnits = daily === null ? 0 : Math.round(daily * span);
  const lowSpan = Math.floor(expectedUnits * settings.lowFactor);
  // Never let the window cover the whole dial: then every read would pass.
  const highSpan = Math.min(
    capacity - 1,
    Math.max(Math.ceil(expectedUnits * settings.highFactor), settings.minHighSpan),
  );
  return {
    low: wrapOnDials(input.prevRead + Math.min(lowSpan, highSpan), input.dials),
    high: wrapOnDials(input.prevRead + highSpan, input.dials),
    expectedUnits,
  };
}
