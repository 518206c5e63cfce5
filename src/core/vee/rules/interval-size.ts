import type { Interval, VeeFinding } from '../types.js';

/**
 * Interval size: every interval must have the channel's length and start on its grid (UTC
 * alignment to the length, up to 15 minutes, which every zone's offset respects). Others are
 * dropped with a finding; the gap they leave is estimated like any other.
 */
export function checkIntervalSize(
  intervals: readonly Interval[],
  expectedSeconds: number,
): { intervals: Interval[]; findings: VeeFinding[] } {
  const align = Math.min(expectedSeconds, 900);
  const kept: Interval[] = [];
  const findings: VeeFinding[] = [];
  for (const iv of intervals) {
    if (iv.seconds !== expectedSeconds) {
      findings.push({
        rule: 'INTERVAL_SIZE',
        severity: 'error',
        at: iv.startAt,
        field: 'duration',
        value: iv.seconds,
        message: `interval of ${iv.seconds} s where the channel records ${expectedSeconds} s`,
      });
    } else if (iv.startAt % align !== 0) {
      findings.push({
        rule: 'INTERVAL_SIZE',
        severity: 'error',
        at: iv.startAt,
        field: 'start',
        value: iv.startAt,
        message: `interval starts off the ${expectedSeconds / 60}-minute grid`,
      });
    } else {
      kept.push(iv);
    }
  }
  return { intervals: kept, findings };
}
