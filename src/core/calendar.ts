import { z } from 'zod';

/**
 * Calendar days and months as they come in (query strings, CLI options, config), checked to be
 * real: `2026-13-45` matched the old YYYY-MM-DD pattern and gave a 500 deeper down.
 */
export function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return y >= 1900 && date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

export const calendarDay = z.string().refine(isCalendarDate, 'expected a calendar date, YYYY-MM-DD');
export const MONTH_PATTERN = /^(19|20|21)\d{2}-(0[1-9]|1[0-2])$/;
export const calendarMonth = z.string().regex(MONTH_PATTERN, 'expected a month, YYYY-MM');
