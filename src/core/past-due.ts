import { FINAL_STATES, type WorkOrderState } from './work-orders.js';
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

/** What the day's pass does with one open notice (see noticeStep). */
export type NoticeStep =
  | { kind: 'reconnect'; verdict: 'paid' | 'arranged' }
  | { kind: 'settle'; verdict: 'paid' | 'arranged'; cancelCut: boolean }
  | { kind: 'cut' }
  | { kind: 'mark-cut' }
  | { kind: 'none' };

/**
 * One open notice on `today`, from its status, the account's verdict and its cut order's state:
 * a paid or arranged account is reconnected if it was cut, else settled (its cut order called off
 * in the field if one is out); an account still owing is cut on its shut-off date; a cut order
 * the technician completed makes the notice `cut`.
 */
export function noticeStep(
  notice: { status: string; shutOffDate: string },
  verdict: 'cut' | 'paid' | 'arranged',
  cutOrderState: WorkOrderState | null,
  today: string,
): NoticeStep {
  const status = notice.status === 'cut_ordered' && cutOrderState === 'completed' ? 'cut' : notice.status;
  if (verdict !== 'cut') {
    if (status === 'cut') return { kind: 'reconnect', verdict };
    return { kind: 'settle', verdict, cancelCut: cutOrderState !== null && !FINAL_STATES.includes(cutOrderState) };
  }
  if (status === 'noticed' && notice.shutOffDate <= today) return { kind: 'cut' };
  return status !== notice.status ? { kind: 'mark-cut' } : { kind: 'none' };
}
