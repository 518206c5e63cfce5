import { DateTime } from 'luxon';
import type { Interval } from './types.js';
import type { Profile } from './estimate.js';

/**
 * The same-day-type historical average: for each day type (weekday, Saturday, Sunday) and local
 * time of day, the mean of the actual intervals in the history given. Local time, so a
 * 7 a.m. peak stays at 7 a.m. across a DST change.
 */
export function historicalProfile(history: readonly Interval[], zone: string): Profile {
  const sums = new Map<string, { total: number; n: number }>();
  for (const iv of history) {
    if (iv.quality !== 'A') continue;
    const key = slotKey(iv.startAt, zone);
    const s = sums.get(key) ?? { total: 0, n: 0 };
    s.total += iv.value;
    s.n++;
    sums.set(key, s);
  }
  return (startAt) => {
    const s = sums.get(slotKey(startAt, zone));
    return s ? s.total / s.n : null;
  };
}

function slotKey(startAt: number, zone: string): string {
  const t = DateTime.fromSeconds(startAt, { zone });
  const dayType = t.weekday === 7 ? 'SU' : t.weekday === 6 ? 'SA' : 'WD';
  return `${dayType}${t.hour * 60 + t.minute}`;
}
