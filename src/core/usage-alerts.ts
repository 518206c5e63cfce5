/**
 * Usage alerts from a register's AMI intervals: the conditions a customer or a CSR should hear
 * about before the bill does (a leak, backflow, a stopped meter, a high bill coming, a meter that
 * stopped reporting). Each rule is a pure function of the intervals, the zone and "now"; each
 * alert says in plain words what was seen, for the customer's portal, and names its rule and
 * settings for the CSR's queue. A condition that is no longer seen gives no alert: the caller
 * clears what it had opened.
 *
 * Times are UTC epoch seconds and days are the utility's local days, so a DST day is 23 or 25
 * hours and is complete when that many hours were read. Estimated intervals are not evidence:
 * they neither prove water ran nor that it stopped.
 */

import { DateTime } from 'luxon';
import type { Interval } from './vee/types.js';

export const ALERT_RULES = [
  'continuous-flow',
  'night-flow',
  'reverse-flow',
  'stopped-meter',
  'high-usage',
  'gone-quiet',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

/** What each rule does when it fires, besides showing the alert on the account page and portal. */
interface RuleActions {
  enabled: boolean;
  /** Opens a CSR exception (and resolves it when the condition ends). */
  exception: boolean;
  /** Also opens an Investigation work order for the meter. */
  workOrder: boolean;
}

export interface AlertSettings {
  /** Water that never stops: no interval of zero for `hours` (the classic leak). */
  continuousFlow: RuleActions & { hours: number };
  /** Water running every night in the quietest hours at a leak's rate (a running toilet, a dripping line). */
  nightFlow: RuleActions & {
    /** Local hours [fromHour, toHour) on each date. */
    fromHour: number;
    toHour: number;
    /** Nights in a row, each with every hour at or above the rate. */
    nights: number;
    /** The smallest hourly flow that counts, per register unit (a unit not listed is not checked). */
    minPerHour: Record<string, number>;
  };
  /** An interval below zero, or a register reading lower than the one before it (backflow or tamper). */
  reverseFlow: RuleActions & { days: number; tolerance: number };
  /** An active account whose meter reports but recorded nothing for `days` complete days. */
  stoppedMeter: RuleActions & { days: number };
  /** The last `days` days' average at least `factor` times the usual of the `baselineDays` before them. */
  highUsage: RuleActions & { days: number; baselineDays: number; minBaselineDays: number; factor: number };
  /** No data from the meter of an active account for `hours`. */
  goneQuiet: RuleActions & { hours: number };
}

export const RULE_SETTING: Record<AlertRule, keyof AlertSettings> = {
  'continuous-flow': 'continuousFlow',
  'night-flow': 'nightFlow',
  'reverse-flow': 'reverseFlow',
  'stopped-meter': 'stoppedMeter',
  'high-usage': 'highUsage',
  'gone-quiet': 'goneQuiet',
};

export interface AlertSubject {
  meterId: string;
  channel: number;
  /** W water, E electric, G gas. */
  meterType: string;
  /** The register's unit, as billing names it (GAL, CF, KWH, THERM). */
  unit: string;
  accountActive: boolean;
  /** The register's intervals, oldest first. */
  intervals: readonly Interval[];
  /** Register readings (for a register that runs backwards), oldest first. */
  registerReads?: readonly { at: number; value: number }[];
  /**
   * Data before this instant belongs to another meter or customer (a meter exchange, a move-in):
   * no rule looks at it.
   */
  since?: number;
  zone: string;
  /** Epoch seconds. */
  now: number;
}

export interface UsageAlert {
  rule: AlertRule;
  /** When the condition began, as far as the data shows (epoch seconds). */
  since: number;
  /** In plain words, for the customer; the CSR sees it with the rule's settings. */
  message: string;
  /** The figure the rule measured (hours of flow, units an hour, days, a ratio). */
  measured: number;
}

const HOUR = 3600;

/** Every rule that is enabled, over one register. */
export function usageAlerts(subject: AlertSubject, settings: AlertSettings): UsageAlert[] {
  const s = trimmed(subject);
  const alerts: (UsageAlert | null)[] = [
    settings.continuousFlow.enabled ? continuousFlow(s, settings.continuousFlow) : null,
    settings.nightFlow.enabled ? nightFlow(s, settings.nightFlow) : null,
    settings.reverseFlow.enabled ? reverseFlow(s, settings.reverseFlow) : null,
    settings.stoppedMeter.enabled ? stoppedMeter(s, settings.stoppedMeter) : null,
    settings.highUsage.enabled ? highUsage(s, settings.highUsage) : null,
    settings.goneQuiet.enabled ? goneQuiet(s, settings.goneQuiet) : null,
  ];
  return alerts.filter((a): a is UsageAlert => a !== null);
}

function trimmed(s: AlertSubject): AlertSubject {
  if (s.since === undefined) return s;
  const since = s.since;
  return {
    ...s,
    intervals: s.intervals.filter((i) => i.startAt >= since),
    registerReads: s.registerReads?.filter((r) => r.at >= since),
  };
}

const isWater = (s: AlertSubject) => s.meterType === 'W';
const end = (i: Interval) => i.startAt + i.seconds;
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1).replace(/\.?0+$/, ''));
const localStamp = (at: number, zone: string) =>
  DateTime.fromSeconds(at, { zone }).toFormat("LLL d 'at' h:mm a").replace(':00 ', ' ');

/** The run of actual, non-zero, back-to-back intervals that reaches the last interval. */
export function continuousFlow(s: AlertSubject, opts: { hours: number }): UsageAlert | null {
  if (!isWater(s) || s.intervals.length === 0) return null;
  const list = s.intervals;
  let i = list.length - 1;
  const last = list[i]!;
  if (!(last.quality === 'A' && last.value > 0)) return null;
  let start = last.startAt;
  while (i > 0) {
    const prev = list[i - 1]!;
    if (prev.quality !== 'A' || !(prev.value > 0) || end(prev) !== list[i]!.startAt) break;
    start = prev.startAt;
    i--;
  }
  const hours = (end(last) - start) / HOUR;
  if (hours < opts.hours) return null;
  return {
    rule: 'continuous-flow',
    since: start,
    measured: Math.floor(hours),
    message: `water has run for ${Math.floor(hours)} hours without a break: check for a leak`,
  };
}

/** Intervals' actual units and seconds within [from, to). */
function coverage(list: readonly Interval[], from: number, to: number): { units: number; seconds: number } {
  let units = 0;
  let seconds = 0;
  for (const i of list) {
    if (i.startAt < from || end(i) > to || i.quality !== 'A') continue;
    units += i.value;
    seconds += i.seconds;
  }
  return { units, seconds };
}

/** The first index whose interval starts at or after `at` (the list is in order). */
function firstAtOrAfter(list: readonly Interval[], at: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.startAt < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Each night's smallest hour, over the nights that were read in full, newest first. */
export function nightFlow(
  s: AlertSubject,
  opts: { fromHour: number; toHour: number; nights: number; minPerHour: Record<string, number> },
): UsageAlert | null {
  const rate = opts.minPerHour[s.unit.toUpperCase()];
  if (!isWater(s) || rate === undefined || s.intervals.length === 0) return null;
  const lastEnd = end(s.intervals[s.intervals.length - 1]!);
  let date = DateTime.fromSeconds(lastEnd, { zone: s.zone }).startOf('day');
  const quietest: { night: string; start: number; perHour: number }[] = [];
  // A week back at most: a night not read in full is passed over, not counted as dry.
  for (let back = 0; back < 7 + opts.nights && quietest.length < opts.nights; back++, date = date.minus({ days: 1 })) {
    const from = date.set({ hour: opts.fromHour }).toSeconds();
    const to = date.set({ hour: opts.toHour }).toSeconds();
    if (to > lastEnd) continue;
    const at = firstAtOrAfter(s.intervals, from);
    const window = s.intervals.slice(at, firstAtOrAfter(s.intervals, to));
    let least = Infinity;
    let complete = true;
    // Hours of real time from the window's start: the fall-back night has one more, spring-forward one fewer.
    for (let h = from; h < to; h += HOUR) {
      const c = coverage(window, h, Math.min(h + HOUR, to));
      const span = Math.min(h + HOUR, to) - h;
      if (c.seconds !== span) {
        complete = false;
        break;
      }
      least = Math.min(least, (c.units * HOUR) / span);
    }
    if (complete) quietest.push({ night: date.toISODate()!, start: from, perHour: least });
  }
  if (quietest.length < opts.nights || quietest.some((n) => n.perHour < rate)) return null;
  const low = Math.min(...quietest.map((n) => n.perHour));
  const unit = s.unit.toLowerCase();
  return {
    rule: 'night-flow',
    since: quietest[quietest.length - 1]!.start,
    measured: low,
    message:
      `at least ${fmt(low)} ${unit} an hour ran every hour between ${hourName(opts.fromHour)} and ` +
      `${hourName(opts.toHour)} for ${opts.nights} nights in a row: a leak, such as a running toilet, is likely`,
  };
}

const hourName = (h: number) => (h === 0 ? 'midnight' : h < 12 ? `${h} am` : h === 12 ? 'noon' : `${h - 12} pm`);

/** Intervals below zero, or register readings lower than the one before, in the last `days`. */
export function reverseFlow(s: AlertSubject, opts: { days: number; tolerance: number }): UsageAlert | null {
  const after = s.now - opts.days * 86_400;
  const negative = s.intervals.filter((i) => i.startAt >= after && i.quality === 'A' && i.value < -opts.tolerance);
  const reads = s.registerReads ?? [];
  let fellAt: number | null = null;
  let fellBy = 0;
  for (let k = 1; k < reads.length; k++) {
    const drop = reads[k - 1]!.value - reads[k]!.value;
    if (reads[k]!.at >= after && drop > opts.tolerance) {
      fellAt ??= reads[k]!.at;
      fellBy += drop;
    }
  }
  if (negative.length === 0 && fellAt === null) return null;
  const what = isWater(s) ? 'water' : s.meterType === 'G' ? 'gas' : 'energy';
  const unit = s.unit.toLowerCase();
  if (negative.length > 0) {
    const total = -negative.reduce((sum, i) => sum + i.value, 0);
    const since = negative[0]!.startAt;
    return {
      rule: 'reverse-flow',
      since: fellAt === null ? since : Math.min(since, fellAt),
      measured: total,
      message:
        `the meter ran backwards (${fmt(total)} ${unit} since ${localStamp(since, s.zone)}): ` +
        (isWater(s)
          ? 'water flowing back into the main (backflow) or a tampered meter'
          : `${what} fed back or a tampered meter`),
    };
  }
  return {
    rule: 'reverse-flow',
    since: fellAt!,
    measured: fellBy,
    message:
      `the meter's reading went down by ${fmt(fellBy)} ${unit} on ${localStamp(fellAt!, s.zone)}: ` +
      'a meter running backwards or tampered with',
  };
}

interface LocalDay {
  date: string;
  start: number;
  units: number;
  /** Read in full with actual intervals. */
  complete: boolean;
}

/** The complete and incomplete local days up to the last interval's day, newest first (at most `max`). */
function recentDays(s: AlertSubject, max: number): LocalDay[] {
  if (s.intervals.length === 0) return [];
  const lastEnd = end(s.intervals[s.intervals.length - 1]!);
  const days: LocalDay[] = [];
  let day = DateTime.fromSeconds(lastEnd, { zone: s.zone }).startOf('day');
  const first = s.intervals[0]!.startAt;
  for (let k = 0; k < max; k++, day = day.minus({ days: 1 })) {
    const from = day.toSeconds();
    const to = day.plus({ days: 1 }).startOf('day').toSeconds();
    if (to <= first) break;
    if (to > lastEnd) continue; // today, still being read
    const window = s.intervals.slice(firstAtOrAfter(s.intervals, from), firstAtOrAfter(s.intervals, to));
    const c = coverage(window, from, to);
    days.push({ date: day.toISODate()!, start: from, units: c.units, complete: c.seconds === to - from });
  }
  return days;
}

/** Complete days in a row with nothing recorded, back from the last complete day. */
export function stoppedMeter(s: AlertSubject, opts: { days: number }): UsageAlert | null {
  if (!s.accountActive) return null;
  const days = recentDays(s, 400).filter((d) => d.complete);
  let run = 0;
  while (run < days.length && days[run]!.units === 0) run++;
  if (run < opts.days) return null;
  const what = isWater(s) ? 'water' : s.meterType === 'G' ? 'gas' : 'electricity';
  return {
    rule: 'stopped-meter',
    since: days[run - 1]!.start,
    measured: run,
    message: `no ${what} use has been recorded for ${run} days on an active account: the meter may have stopped`,
  };
}

/** The recent days' average against the usual average of the days before them. */
export function highUsage(
  s: AlertSubject,
  opts: { days: number; baselineDays: number; minBaselineDays: number; factor: number },
): UsageAlert | null {
  const days = recentDays(s, opts.days + opts.baselineDays + 7);
  const recent = days.slice(0, opts.days);
  if (recent.length < opts.days || recent.some((d) => !d.complete)) return null;
  const baseline = days.slice(opts.days, opts.days + opts.baselineDays).filter((d) => d.complete);
  if (baseline.length < opts.minBaselineDays) return null;
  const avg = (list: LocalDay[]) => list.reduce((sum, d) => sum + d.units, 0) / list.length;
  const now = avg(recent);
  const usual = avg(baseline);
  if (usual <= 0 || now < opts.factor * usual) return null;
  const ratio = now / usual;
  const unit = s.unit.toLowerCase();
  return {
    rule: 'high-usage',
    since: recent[recent.length - 1]!.start,
    measured: Math.round(ratio * 10) / 10,
    message:
      `use in the last ${opts.days} days is ${fmt(Math.round(ratio * 10) / 10)} times your usual ` +
      `(${fmt(Math.round(now * 10) / 10)} ${unit} a day against ${fmt(Math.round(usual * 10) / 10)}): ` +
      'the next bill will be higher unless it comes down',
  };
}

/** No data for `hours` from the meter of an active account. */
export function goneQuiet(s: AlertSubject, opts: { hours: number }): UsageAlert | null {
  if (!s.accountActive || s.intervals.length === 0) return null;
  const lastEnd = end(s.intervals[s.intervals.length - 1]!);
  const quiet = (s.now - lastEnd) / HOUR;
  if (quiet < opts.hours) return null;
  return {
    rule: 'gone-quiet',
    since: lastEnd,
    measured: Math.floor(quiet),
    message: `the meter has sent no readings since ${localStamp(lastEnd, s.zone)} (${Math.floor(quiet)} hours)`,
  };
}
