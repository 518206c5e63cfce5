/**
 * The intervals a meter owes for one local day, as UTC instants. Interval data is stored in UTC,
 * so a day across a DST change simply has fewer or more of them: in America/Chicago, 2026-03-08
 * has 92 fifteen-minute intervals and 2026-11-01 has 100. Gaps and duplicates are found against
 * this grid, never against "96 a day". Pure: zone and date in, instants out.
 */

import { DateTime } from 'luxon';

export interface LocalDayGrid {
  date: string;
  zone: string;
  intervalMinutes: number;
  /** Interval start instants, UTC ISO strings, in order. */
  starts: string[];
}

export function localDayGrid(date: string, zone: string, intervalMinutes: number): LocalDayGrid {
  if (!Number.isInteger(intervalMinutes) || intervalMinutes <= 0 || 1440 % intervalMinutes !== 0) {
    throw new RangeError(`interval length ${intervalMinutes} min does not divide a day`);
  }
  const start = DateTime.fromISO(date, { zone });
  if (!start.isValid) throw new RangeError(`${date} is not a date in ${zone}`);
  const end = start.plus({ days: 1 }).startOf('day');
  const starts: string[] = [];
  // Step in absolute time: local clocks repeat or skip an hour, UTC does not.
  for (let t = start.toUTC().toMillis(); t < end.toUTC().toMillis(); t += intervalMinutes * 60_000)
    starts.push(new Date(t).toISOString());
  return { date, zone, intervalMinutes, starts };
}

/** Which expected intervals are missing and which received ones are not on the grid or repeated. */
export function compareToGrid(
  grid: LocalDayGrid,
  received: readonly string[],
): { missing: string[]; offGrid: string[]; duplicates: string[] } {
  const expected = new Set(grid.starts);
  const seen = new Set<string>();
  const offGrid: string[] = [];
  const duplicates: string[] = [];
  for (const r of received) {
    const at = new Date(r).toISOString();
    if (!expected.has(at)) offGrid.push(at);
    else if (seen.has(at)) duplicates.push(at);
    seen.add(at);
  }
  return { missing: grid.starts.filter((s) => !seen.has(s)), offGrid, duplicates };
}
