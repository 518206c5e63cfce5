import { addDays } from './local-time.js';

/**
 * Past due to cut-off, pure. A notice gives the customer `noticeDays` calendar days; a shut-off
 * never falls on a weekend or a holiday (utilities may not cut service when the office cannot
 * take a payment), so it moves on to the next business day.
 */
export function isBusinessDay(date: string, holidays: ReadonlySet<string>): boolean {
  const weekday = new Date(`${date}T12:00:00Z`).getUTCDay();
  return weekday !== 0 && weekday !== 6 && !holidays.has(date);
}

export function shutOffDate(noticeDate: string, noticeDays: number, holidays: ReadonlySet<string>): string {
  let day = addDays(noticeDate, noticeDays);
  while (!isBusinessDay(day, holidays)) day = addDays(day, 1);
  return day;
}

export interface Standing {
  balanceDue: number;
  arrangementUntil: string | null;
}

/** Whether an account still owes enough to be cut on `today`: not paid down, no arrangement running. */
export function stillCuttable(s: Standing, today: string, minBalance: number): 'cut' | 'paid' | 'arranged' {
  if (s.arrangementUntil !== null && s.arrangementUntil >= today) return 'arranged';
  if (s.balanceDue < minBalance) return 'paid';
  return 'cut';
}
