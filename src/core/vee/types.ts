/**
 * Interval data as VEE sees it. Times are UTC epoch seconds: a local DST day is simply 92 or
 * 100 fifteen-minute intervals, never a gap or a double. Values are in the register's unit
 * (kWh, GAL, CF, THERM) after the source's multipliers.
 */

export type IntervalQuality = 'A' | 'E';

export interface Interval {
  startAt: number;
  seconds: number;
  value: number;
  quality: IntervalQuality;
  /** VEE and source flags, comma-separated: "SPIKE", "EST:LINEAR", "SRC:S14". Null when clean. */
  flags: string | null;
}

export type FindingSeverity = 'error' | 'warn' | 'info';

/** What a rule found, for a CSR's exception queue: names the rule, the interval and the field. */
export interface VeeFinding {
  rule: string;
  severity: FindingSeverity;
  message: string;
  /** The interval (UTC epoch seconds) or the day's first interval the finding is about. */
  at?: number;
  field?: string;
  value?: string | number;
}

export function addFlag(flags: string | null, flag: string): string {
  if (!flags) return flag;
  return flags.split(',').includes(flag) ? flags : `${flags},${flag}`;
}

/** Six decimals of the register's unit: what is stored and exported, and what survives a round trip. */
export function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

export function isoAt(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

/** Equal to six decimals of the register's unit (what is stored), whatever the float. */
export function sameValue(a: number, b: number): boolean {
  return Math.abs(Number(a) - b) <= 1e-6 * Math.max(1, Math.abs(b));
}
