import { DateTime } from 'luxon';

/** Result of reading a wall-clock time in the utility's zone. */
export type LocalTimeResult = { ok: true; utc: string; ambiguous: boolean } | { ok: false; reason: string };

/**
 * `YYYYMMDDhhmmss` in an IANA zone → UTC ISO string. A time inside the spring-forward gap does
 * not exist and is refused (luxon would silently shift it an hour). A time in the fall-back hour
 * happens twice; we take the first (daylight) occurrence and say it was ambiguous.
 */
export function localToUtc(digits: string, zone: string): LocalTimeResult {
  if (!/^\d{14}$/.test(digits)) return { ok: false, reason: 'not a date-time YYYYMMDDhhmmss' };
  const second = Number(digits.slice(12));
  if (second > 59) return { ok: false, reason: 'not a real date and time (second out of range)' };
  // Zone offsets change only on minute boundaries, and a route's reads share few minutes:
  // resolve each local minute once (the Intl lookups behind it are the costly part).
  const key = `${zone}|${digits.slice(0, 12)}`;
  let minute = minuteCache.get(key);
  if (!minute) {
    if (minuteCache.size > 50_000) minuteCache.clear();
    minuteCache.set(key, (minute = resolveMinute(`${digits.slice(0, 12)}00`, zone)));
  }
  if (!minute.ok)
    return minute.reason.includes('does not exist')
      ? { ok: false, reason: minute.reason.replace(':00 does not exist', `:${digits.slice(12)} does not exist`) }
      : minute;
  return { ok: true, utc: new Date(Date.parse(minute.utc) + second * 1000).toISOString(), ambiguous: minute.ambiguous };
}

const minuteCache = new Map<string, LocalTimeResult>();

function resolveMinute(digits: string, zone: string): LocalTimeResult {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(digits)!;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const dt = DateTime.fromObject({ year, month, day, hour, minute, second }, { zone });
  if (!dt.isValid)
    return { ok: false, reason: `not a real date and time (${dt.invalidExplanation ?? dt.invalidReason})` };
  if (dt.year !== year || dt.month !== month || dt.day !== day || dt.hour !== hour || dt.minute !== minute) {
    return { ok: false, reason: `${formatLocal(digits)} does not exist in ${zone} (daylight-saving change)` };
  }
  // Every offset in force around this time that maps back to the same wall clock is a real
  // instant for it: two of them means the fall-back hour, and the earlier one is taken.
  const wallAsUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const instants = [...new Set([dt.offset, dt.minus({ hours: 2 }).offset, dt.plus({ hours: 2 }).offset])]
    .map((offset) => wallAsUtc - offset * 60_000)
    .filter((ms) => DateTime.fromMillis(ms, { zone }).toFormat('yyyyMMddHHmmss') === digits)
    .sort((a, b) => a - b);
  const ambiguous = instants.length > 1;
  return { ok: true, utc: new Date(instants[0] ?? dt.toMillis()).toISOString(), ambiguous };
}

/** UTC instant → `YYYYMMDDhhmmss` wall-clock time in the zone (for writing readings files). */
export function utcToLocalDigits(utc: Date | string, zone: string): string {
  const dt = (typeof utc === 'string' ? DateTime.fromISO(utc, { zone: 'utc' }) : DateTime.fromJSDate(utc)).setZone(
    zone,
  );
  return dt.toFormat('yyyyMMddHHmmss');
}

/** A calendar date (YYYY-MM-DD) moved by whole days; no zone, so no DST hour to trip on. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The calendar date (YYYY-MM-DD) of an instant in the zone. */
export function localDate(utc: Date, zone: string): string {
  return DateTime.fromJSDate(utc).setZone(zone).toISODate()!;
}

function formatLocal(d: string): string {
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)} ${d.slice(8, 10)}:${d.slice(10, 12)}:${d.slice(12, 14)}`;
}
